// A scale set's statistics, computed from the live state each time (the listener's scaling input),
// with the stale-statistics faults applied on top.
import type { RunnerRecord } from '../../state.js';
import type { ScaleSetContext, ScaleSetRecord, Statistics } from './context.js';

/** The set's registered runners that still exist (a runner deleted elsewhere leaves the set). */
export function setRunners(sc: ScaleSetContext, set: ScaleSetRecord): RunnerRecord[] {
  const runners: RunnerRecord[] = [];
  for (const id of set.runnerIds) {
    const runner = sc.gh.state.runners.get(id);
    if (runner) runners.push(runner);
    else {
      set.runnerIds.delete(id);
      set.idleRunners.delete(id);
      sc.store.runnerSets.delete(id);
    }
  }
  return runners;
}

/** Jobs assigned to the set: waiting for a runner or running (totalAssignedJobs >= totalRunningJobs). */
export function assignedCount(set: ScaleSetRecord): number {
  let assigned = 0;
  for (const job of set.jobs.values()) if (job.state === 'assigned' || job.state === 'running') assigned += 1;
  return assigned;
}

export function statistics(sc: ScaleSetContext, set: ScaleSetRecord): Statistics {
  const counts = { available: 0, acquired: 0, assigned: 0, running: 0 };
  for (const job of set.jobs.values()) {
    if (job.state === 'available') counts.available += 1;
    if (job.state === 'acquired' || job.state === 'assigned' || job.state === 'running') counts.acquired += 1;
    if (job.state === 'assigned' || job.state === 'running') counts.assigned += 1;
    if (job.state === 'running') counts.running += 1;
  }
  const runners = setRunners(sc, set);
  const busy = runners.filter((runner) => runner.busy).length;
  const idle = runners.filter((runner) => runner.status === 'online' && !runner.busy).length;
  const zero = set.stale?.zero === true;
  const extra = zero ? 0 : (set.stale?.extraAssigned ?? 0);
  return {
    totalAvailableJobs: zero ? 0 : counts.available,
    totalAcquiredJobs: zero ? 0 : counts.acquired + extra,
    totalAssignedJobs: zero ? 0 : counts.assigned + extra,
    totalRunningJobs: zero ? 0 : counts.running,
    totalRegisteredRunners: runners.length,
    totalBusyRunners: busy,
    totalIdleRunners: idle,
  };
}
