// A scale set's demand from its statistics. Pure.
//
// desired = min(max, min + totalAssignedJobs), as GitHub's own listeners scale. Statistics can get stuck high
// after an incident (assigned jobs that no runner ever gets): GitHub hands a waiting job to an idle runner of
// the set within seconds, so jobs shown waiting while runners of the set stay idle for `staleAfterMs` are
// phantoms. They are counted out (never below the running jobs) until the statistics come down again; a job
// assigned after that counts as usual.
import type { ScaleSetStatistics } from '../github/scaleset/types.js';
import type { ScaleSetDemand } from '../engine/plan.js';
import { scheduledMin } from '../engine/schedule.js';
import type { PoolConfig } from '../types.js';

/** Waiting jobs beside idle runners for this long mean the statistics are stuck. */
export const STALE_AFTER_MS = 2 * 60_000;

export interface DemandState {
  statistics?: ScaleSetStatistics;
  /** Assigned jobs counted out as phantoms. */
  phantom: number;
  /** When waiting jobs were first seen beside idle runners (not yet judged stale). */
  suspectSince?: number;
  /** When the statistics were judged stuck (the phantoms counted out). */
  staleSince?: number;
}

export const initialDemand = (): DemandState => ({ phantom: 0 });

const waitingOf = (s: ScaleSetStatistics) => Math.max(0, s.totalAssignedJobs - s.totalRunningJobs);

/** The state after new statistics (or, without them, after time passed with the last ones). */
export function observeStatistics(
  state: DemandState,
  statistics: ScaleSetStatistics | undefined,
  now: number,
  staleAfterMs = STALE_AFTER_MS,
): DemandState {
  const current = statistics ?? state.statistics;
  if (!current) return state;
  const waiting = waitingOf(current);
  // The statistics came down: phantoms they no longer show are gone.
  let phantom = Math.min(state.phantom, waiting);
  let staleSince = phantom > 0 ? state.staleSince : undefined;
  let suspectSince = state.suspectSince;
  const real = waiting - phantom;
  if (real > 0 && current.totalIdleRunners > 0) {
    suspectSince ??= now;
    if (now - suspectSince >= staleAfterMs) {
      phantom = waiting;
      staleSince ??= now;
      suspectSince = undefined;
    }
  } else suspectSince = undefined;
  return {
    statistics: current,
    phantom,
    ...(suspectSince !== undefined ? { suspectSince } : {}),
    ...(staleSince !== undefined ? { staleSince } : {}),
  };
}

/**
 * The pool's size to reach and the jobs waiting for a runner, with the phantoms counted out. A pool with a
 * schedule keeps the schedule's min at `now`, as the scheduler's reconcile would.
 */
export function demandOf(pool: PoolConfig, state: DemandState, now: number): ScaleSetDemand | undefined {
  const s = state.statistics;
  if (!s) return undefined;
  const assigned = Math.max(s.totalRunningJobs, s.totalAssignedJobs - state.phantom);
  const min = pool.schedule ? scheduledMin(pool.schedule, pool.min, new Date(now)).min : pool.min;
  return {
    desired: Math.min(pool.max, min + assigned),
    waiting: Math.max(0, waitingOf(s) - state.phantom),
  };
}

/** What the summary and the watchdog say of stuck statistics; undefined while they look right. */
export function staleNote(pool: PoolConfig, state: DemandState): string | undefined {
  if (state.phantom === 0 || !state.statistics) return undefined;
  const s = state.statistics;
  return (
    `scale set ${pool.scaleSet?.name ?? pool.name}: statistics stuck at ${s.totalAssignedJobs} assigned job(s) ` +
    `(${s.totalRunningJobs} running) while ${s.totalIdleRunners} runner(s) of the set stayed idle: ` +
    `${state.phantom} counted out as phantoms (the pool never exceeds max ${pool.max}; idle runners above ` +
    'min go by the idle rules). If it lasts, delete the scale set and let the listener create it again.'
  );
}
