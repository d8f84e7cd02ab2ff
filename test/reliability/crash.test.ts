// Crash recovery: the action killed (SIGKILL) right after its k-th API call, for every k of a
// launch-and-remove reconcile, then reconciled without faults.
import { describe, expect, it } from 'vitest';
import { callsOfOneReconcile, crashAt, crashPoints } from '../../reliability/crash.js';

const calls = await callsOfOneReconcile();

describe.concurrent('crash recovery', () => {
  it('the reconcile under test both launches and removes', () => {
    expect(calls).toContain('ec2 RunInstances');
    expect(calls).toContain('ec2 TerminateInstances');
    expect(calls.filter((c) => c.startsWith('github DELETE')).length).toBeGreaterThan(0);
  });

  it.each(crashPoints(calls.length))(
    'killed after call %i: the invariants hold and nothing is launched twice',
    async (k) => {
      const result = await crashAt(k);
      expect(result.violations).toEqual([]);
      expect(result.launched).toBeLessThanOrEqual(result.demand);
    },
    180_000,
  );
});
