import { describe, expect, it } from 'vitest';
import { groupOutcomes, renderSummary, resultJson, totals } from '../../src/report/summary.js';
import type { Outcome, Plan } from '../../src/types.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const plan: Plan = {
  mode: 'drain',
  now: NOW,
  actions: [],
  pools: [
    {
      pool: 'linux',
      queued: 0,
      before: { booting: 0, idle: 3000, busy: 2, total: 3002 },
      after: { booting: 0, idle: 0, busy: 2, total: 2 },
    },
  ],
  notes: ['a | note'],
  problems: [],
};

function outcomes(n: number): Outcome[] {
  return Array.from({ length: n }, (_, i): Outcome[] => [
    {
      action: 'unregister',
      target: `ci-i-${i}`,
      pool: 'linux',
      status: 'done',
      reason: 'drain: idle runner',
    },
    { action: 'terminate', target: `i-${i}`, pool: 'linux', status: 'done', reason: 'drain: idle runner' },
  ]).flat();
}

describe('summary', () => {
  it('stays far under 1 MiB for a fleet of thousands, failures listed first', () => {
    const list: Outcome[] = [
      ...outcomes(3000),
      ...Array.from({ length: 150 }, (_, i): Outcome => ({
        action: 'terminate',
        target: `i-bad${i}`,
        status: 'failed',
        reason: 'drain: idle runner',
        code: `Code${i}`,
      })),
    ];
    const markdown = renderSummary({
      plan,
      outcomes: list,
      totals: totals(list, 0),
      environment: 'ci',
      dryRun: false,
    });
    expect(Buffer.byteLength(markdown)).toBeLessThan(64 * 1024);
    expect(markdown).toMatch(/\*\*0 launched, 3000 removed, 150 failed, 0 skipped\.\*\*/);
    const rows = markdown.split('\n').filter((l) => l.startsWith('| failed'));
    expect(rows).toHaveLength(100);
    expect(markdown).toMatch(/… and 52 more: 50 × terminate failed, 1 × unregister done, 1 × terminate done/);
    expect(markdown).toContain('- a \\| note');
    expect(Buffer.byteLength(resultJson(plan, list, totals(list, 0)))).toBeLessThan(1024 * 1024);
  });

  it('groups alike outcomes into one row, keeps small groups apart', () => {
    const grouped = groupOutcomes(outcomes(5));
    expect(grouped).toHaveLength(2);
    expect(grouped[0]?.target).toBe('5 × ci-i-0, ci-i-1, ci-i-2, …');
    expect(groupOutcomes(outcomes(3))).toHaveLength(6);
  });

  it('counts a runner and its instance as one removal, ghosts as one each', () => {
    const list: Outcome[] = [
      ...outcomes(2),
      {
        action: 'unregister',
        target: 'ci-i-x',
        status: 'done',
        reason: 'ghost: runner registered for an instance that no longer exists',
      },
      { action: 'unregister', target: 'ci-i-y', status: 'skipped', code: 'busy', reason: 'idle' },
    ];
    expect(totals(list, 4)).toEqual({ launched: 4, removed: 3, failed: 0, skipped: 1 });
  });

  it('a dry run shows the plan', () => {
    const markdown = renderSummary({
      plan: {
        ...plan,
        actions: [{ kind: 'terminate', instanceId: 'i-1', region: 'eu-west-1', reason: 'orphan: no runner' }],
      },
      environment: 'ci',
      dryRun: true,
    });
    expect(markdown).toContain('(dry run: nothing changed)');
    expect(markdown).toContain('| terminate | i-1 | orphan: no runner |');
  });
});
