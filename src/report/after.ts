// What a run actually changed, per pool: the counts before, minus the instances whose termination was done (in
// the state they were in), plus the instances the launch calls returned. Computed from the outcomes, not the plan.
import type { CountedState, Outcome, PoolCounts, PoolPlan } from '../types.js';

const STATES: CountedState[] = ['booting', 'idle', 'busy', 'dead'];

export function actualAfter(pool: PoolPlan, outcomes: Outcome[]): PoolCounts {
  const done = outcomes.filter((o) => o.status === 'done' && o.pool === pool.pool);
  const terminated = new Set(done.filter((o) => o.action === 'terminate').map((o) => o.target));
  const counts: PoolCounts = { ...pool.before };
  const planned = new Set<string>();
  for (const state of STATES) {
    for (const id of pool.removing?.[state] ?? []) {
      planned.add(id);
      if (terminated.has(id)) counts[state] -= 1;
    }
  }
  const launched = done.filter((o) => o.action === 'launch').reduce((n, o) => n + (o.count ?? 0), 0);
  // This run's own new instances that could not get a runner config were taken back at once.
  const takenBack = [...terminated].filter((id) => !planned.has(id)).length;
  counts.booting += Math.max(0, launched - takenBack);
  counts.total = STATES.reduce((n, state) => n + counts[state], 0);
  return counts;
}
