// The multi-trigger soak (reliability/soak.ts), one emulated hour of it; `npm run reliability` runs four.
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../reliability/soak.js';

describe('multi-trigger soak', () => {
  it('an hour of a scheduler, pre-jobs and dispatches at random, faults and interruptions: no promise broken', async () => {
    const result = await runSoak({ hours: 1 });
    expect(result.violations).toEqual([]);
    // The soak proves something only if every trigger ran and jobs went through.
    expect(result.runs.scheduler).toBe(12);
    expect(result.runs.preJob + result.runs.dispatch).toBeGreaterThan(0);
    expect(result.jobs.completed).toBeGreaterThan(10);
    expect(result.launched).toBeGreaterThan(0);
  }, 300_000);
});
