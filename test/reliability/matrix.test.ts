// The fault matrix end to end: dist/index.js against the emulator, one fresh world per scenario. The
// scenarios mostly wait (retry backoffs, throttling pauses), so they run concurrently.
import { describe, expect, it } from 'vitest';
import { runScenario, SCENARIOS } from '../../reliability/matrix.js';

describe.concurrent('fault matrix', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))(
    '%s: the invariants hold after one reconcile without faults',
    async (_name, scenario) => {
      const result = await runScenario(scenario);
      expect(result.violations).toEqual([]);
      expect(result.faults).toBeGreaterThan(0);
    },
    180_000,
  );
});
