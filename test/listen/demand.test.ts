// A scale set's demand from its statistics: desired = min(max, min + assigned); stuck statistics (jobs shown
// waiting beside idle runners for minutes) are counted out until they come down.
import { describe, expect, it } from 'vitest';
import type { ScaleSetStatistics } from '../../src/github/scaleset/types.js';
import {
  demandOf,
  initialDemand,
  observeStatistics,
  STALE_AFTER_MS,
  staleNote,
  type DemandState,
} from '../../src/listen/demand.js';
import { parseDays, parseHours } from '../../src/engine/schedule.js';
import { pool } from '../engine/fixtures.js';

const stats = (assigned: number, running: number, idle = 0): ScaleSetStatistics => ({
  totalAvailableJobs: 0,
  totalAcquiredJobs: assigned,
  totalAssignedJobs: assigned,
  totalRunningJobs: running,
  totalRegisteredRunners: running + idle,
  totalBusyRunners: running,
  totalIdleRunners: idle,
});

const scaleSetPool = (min: number, max: number) => pool({ min, max, scaleSet: { name: 'ci-linux' } });

describe('desired size', () => {
  it.each([
    { name: 'no statistics yet: unknown', min: 0, max: 10, s: undefined, desired: undefined },
    { name: 'nothing assigned, min 0', min: 0, max: 10, s: stats(0, 0), desired: 0 },
    { name: 'min is headroom on top of assigned jobs', min: 2, max: 10, s: stats(3, 1), desired: 5 },
    { name: 'never above max', min: 1, max: 4, s: stats(40, 4), desired: 4 },
  ])('$name', ({ min, max, s, desired }) => {
    const state = s ? observeStatistics(initialDemand(), s, 0) : initialDemand();
    expect(demandOf(scaleSetPool(min, max), state, 0)?.desired).toBe(desired);
  });

  it("a pool with a schedule keeps the schedule's min at that time, as the scheduler would", () => {
    const office = pool({
      min: 0,
      max: 10,
      scaleSet: { name: 'ci-linux' },
      schedule: {
        timeZone: 'UTC',
        windows: [
          {
            days: parseDays('mon-fri'),
            hours: parseHours('08:00-18:00'),
            min: 4,
            text: 'mon-fri 08:00-18:00',
          },
        ],
      },
    });
    const state = observeStatistics(initialDemand(), stats(3, 1), 0);
    // Tuesday 1 December 2026, 10:00 UTC: in the window; 20:00: outside it.
    expect(demandOf(office, state, Date.parse('2026-12-01T10:00:00Z'))?.desired).toBe(7);
    expect(demandOf(office, state, Date.parse('2026-12-01T20:00:00Z'))?.desired).toBe(3);
  });

  it('waiting = assigned jobs not running yet', () => {
    expect(demandOf(scaleSetPool(0, 10), observeStatistics(initialDemand(), stats(5, 2), 0), 0)).toEqual({
      desired: 5,
      waiting: 3,
    });
  });

  it('a poll without news keeps the last statistics', () => {
    const state = observeStatistics(initialDemand(), stats(3, 0), 0);
    expect(observeStatistics(state, undefined, 1000).statistics).toEqual(stats(3, 0));
  });
});

describe('stuck statistics', () => {
  const p = scaleSetPool(0, 4);
  const after = (state: DemandState, s: ScaleSetStatistics, at: number) => observeStatistics(state, s, at);

  it('waiting jobs beside idle runners for a moment are not judged stuck', () => {
    let state = after(initialDemand(), stats(30, 0, 4), 0);
    state = after(state, stats(30, 0, 4), STALE_AFTER_MS - 1);
    expect(state.phantom).toBe(0);
    expect(demandOf(p, state, 0)?.desired).toBe(4);
    expect(staleNote(p, state)).toBeUndefined();
  });

  it('past the bound they are counted out: desired falls to min, the idle runners are surplus', () => {
    let state = after(initialDemand(), stats(30, 0, 4), 0);
    state = after(state, stats(30, 0, 4), STALE_AFTER_MS);
    expect(state.phantom).toBe(30);
    expect(demandOf(p, state, 0)).toEqual({ desired: 0, waiting: 0 });
    expect(staleNote(p, state)).toContain('statistics stuck at 30 assigned job(s)');
  });

  it('also judged on a poll without news, as time passes', () => {
    const state = after(initialDemand(), stats(30, 0, 4), 0);
    expect(observeStatistics(state, undefined, STALE_AFTER_MS).phantom).toBe(30);
  });

  it('a job assigned after that counts again (no churn, no blindness)', () => {
    let state = after(initialDemand(), stats(30, 0, 4), 0);
    state = after(state, stats(30, 0, 4), STALE_AFTER_MS);
    state = after(state, stats(31, 0, 0), STALE_AFTER_MS + 1000);
    expect(demandOf(p, state, 0)).toEqual({ desired: 1, waiting: 1 });
  });

  it('the phantoms go when the statistics come down', () => {
    let state = after(initialDemand(), stats(30, 0, 4), 0);
    state = after(state, stats(30, 0, 4), STALE_AFTER_MS);
    state = after(state, stats(2, 1, 0), STALE_AFTER_MS + 5000);
    expect(state.phantom).toBe(1);
    state = after(state, stats(1, 1, 0), STALE_AFTER_MS + 6000);
    expect(state.phantom).toBe(0);
    expect(staleNote(p, state)).toBeUndefined();
    expect(demandOf(p, state, 0)?.desired).toBe(1);
  });

  it('running jobs are never counted out', () => {
    let state = after(initialDemand(), stats(10, 3, 1), 0);
    state = after(state, stats(10, 3, 1), STALE_AFTER_MS);
    expect(demandOf(scaleSetPool(0, 10), state, 0)).toEqual({ desired: 3, waiting: 0 });
  });

  it('waiting jobs without idle runners are real: runners are booting for them', () => {
    let state = after(initialDemand(), stats(6, 0, 0), 0);
    state = after(state, stats(6, 0, 0), 10 * STALE_AFTER_MS);
    expect(state.phantom).toBe(0);
    expect(demandOf(scaleSetPool(0, 10), state, 0)?.desired).toBe(6);
  });
});
