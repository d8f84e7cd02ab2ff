// The run's CloudWatch metrics, from the Plan and the Outcomes. Pure.
//
// Per pool (dimensions Environment, Pool): the runners by state as observed, the queued jobs and the oldest one's
// wait, and what the run launched, removed and failed. Per environment (dimension Environment), for alarms that need
// no pool names: the queued jobs, the oldest one's wait, boot failures and failed items. Per run (dimensions
// Environment, Mode): Runs, always 1, for an alarm when the scheduler stops running, and FailedRuns. A gauge is
// published only from a complete read: a failed read publishes no number rather than a wrong one.
import type { Metric } from '../aws/cloudwatch.js';
import type { BreakerAction, Outcome, Plan } from '../types.js';

export const METRIC_NAMES = {
  idle: 'IdleRunners',
  busy: 'BusyRunners',
  booting: 'BootingInstances',
  dead: 'DeadInstances',
  queued: 'QueuedJobs',
  oldestWait: 'OldestQueuedJobWait',
  launched: 'LaunchedInstances',
  removed: 'RemovedInstances',
  failed: 'FailedItems',
  bootFailures: 'BootFailures',
  runs: 'Runs',
  failedRuns: 'FailedRuns',
} as const;

export interface MetricsInput {
  plan: Plan;
  outcomes: Outcome[];
  environment: string;
  /** Whether the run polled the pools' repositories for queued jobs (the cron path). */
  polled: boolean;
  /** Whether the run fails (an item failed, a read failed, a problem). */
  failed: boolean;
}

function poolCounters(input: MetricsInput, pool: string) {
  const own = input.outcomes.filter((o) => o.pool === pool);
  const terminated = new Set(
    input.outcomes.filter((o) => o.action === 'terminate' && o.status === 'done').map((o) => o.target),
  );
  const breakers = input.plan.actions.filter(
    (a): a is BreakerAction => a.kind === 'breaker' && a.pool === pool,
  );
  return {
    launched: own
      .filter((o) => o.action === 'launch' && o.status === 'done')
      .reduce((n, o) => n + (o.count ?? 0), 0),
    removed: own.filter((o) => o.action === 'terminate' && o.status === 'done').length,
    failed: own.filter((o) => o.status === 'failed').length,
    bootFailures: breakers.reduce((n, a) => n + a.failedBoots.filter((id) => terminated.has(id)).length, 0),
  };
}

export function runMetrics(input: MetricsInput): Metric[] {
  const { plan, environment } = input;
  const unread = new Set((plan.unread ?? []).map((r) => r.what));
  const observed = !unread.has('instances') && !unread.has('runners');
  const metrics: Metric[] = [];
  const add = (
    name: string,
    dimensions: Record<string, string>,
    value: number,
    unit: Metric['unit'] = 'Count',
  ) => metrics.push({ name, dimensions, value, unit });
  const queue = { jobs: 0, waitSeconds: 0, known: input.polled && !unread.has('jobs') };
  const totals = { bootFailures: 0, failed: input.outcomes.filter((o) => o.status === 'failed').length };
  for (const p of plan.pools) {
    const dimensions = { Environment: environment, Pool: p.pool };
    if (observed) {
      add(METRIC_NAMES.idle, dimensions, p.before.idle);
      add(METRIC_NAMES.busy, dimensions, p.before.busy);
      add(METRIC_NAMES.booting, dimensions, p.before.booting);
      add(METRIC_NAMES.dead, dimensions, p.before.dead);
    }
    if (input.polled && p.demandKnown !== false && !unread.has('jobs')) {
      add(METRIC_NAMES.queued, dimensions, p.queued);
      const waitMs = p.oldestQueuedAt ? Math.max(0, plan.now.getTime() - p.oldestQueuedAt.getTime()) : 0;
      add(METRIC_NAMES.oldestWait, dimensions, Math.round(waitMs / 1000), 'Seconds');
      queue.jobs += p.queued;
      queue.waitSeconds = Math.max(queue.waitSeconds, Math.round(waitMs / 1000));
    } else queue.known = false;
    const counters = poolCounters(input, p.pool);
    totals.bootFailures += counters.bootFailures;
    add(METRIC_NAMES.launched, dimensions, counters.launched);
    add(METRIC_NAMES.removed, dimensions, counters.removed);
    add(METRIC_NAMES.failed, dimensions, counters.failed);
    add(METRIC_NAMES.bootFailures, dimensions, counters.bootFailures);
  }
  const all = { Environment: environment };
  if (queue.known) {
    add(METRIC_NAMES.queued, all, queue.jobs);
    add(METRIC_NAMES.oldestWait, all, queue.waitSeconds, 'Seconds');
  }
  add(METRIC_NAMES.bootFailures, all, totals.bootFailures);
  add(METRIC_NAMES.failed, all, totals.failed);
  const run = { Environment: environment, Mode: plan.mode };
  add(METRIC_NAMES.runs, run, 1);
  add(METRIC_NAMES.failedRuns, run, input.failed ? 1 : 0);
  return metrics;
}
