// The job summary of a listening period: what the listener heard, what it launched and how fast, and
// what it survived. Holds counts and names only (never a token or a job's content).
import { formatDuration } from '../engine/format.js';
import type { PoolConfig } from '../types.js';
import type { DemandState } from './demand.js';
import { percentile, type ListenMetrics } from './metrics.js';
import type { Scaler } from './scaler.js';

export interface ListenSummaryInput {
  environment: string;
  pools: PoolConfig[];
  metrics: ListenMetrics;
  decisions: Scaler['decisions'];
  demand?: Map<string, DemandState>;
  stoppedAt: number;
  /** deadline, SIGINT, SIGTERM, or why it gave way to another listener. */
  reason: string;
  unsettled: boolean;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);

function poolRows(input: ListenSummaryInput): string[] {
  const rows = input.pools.map((pool) => {
    const totals = input.metrics.pools[pool.name] ?? { launches: 0, instances: 0, statistics: 0 };
    const s = input.demand?.get(pool.name)?.statistics;
    const stats = s
      ? `${s.totalAssignedJobs} assigned, ${s.totalRunningJobs} running, ${s.totalIdleRunners} idle`
      : 'none read';
    return `| ${pool.name} | ${pool.scaleSet?.name ?? ''} | ${pool.min}-${pool.max} | ${stats} | ${totals.launches} | ${totals.instances} |`;
  });
  return [
    '| pool | scale set | min-max | last statistics | launch calls | instances launched |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ];
}

function latencyLines(metrics: ListenMetrics): string[] {
  const l = metrics.latenciesMs;
  if (l.length === 0) {
    return [
      `No launch served a queued job (${metrics.servedByPresent} job(s) found a runner of the pool present).`,
    ];
  }
  return [
    `Queue → launch call (a job's queueTime to the launch call made for it), ${l.length} job(s): ` +
      `p50 ${seconds(percentile(l, 50))}, p95 ${seconds(percentile(l, 95))}, max ${seconds(Math.max(...l))}. ` +
      `${metrics.servedByPresent} job(s) found a runner of the pool present.`,
  ];
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

function decisionLines(input: ListenSummaryInput): string[] {
  const { decisions } = input;
  const launchDecisions = decisions.filter((d) => d.kind === 'launch').length;
  const problems = [...new Set(decisions.flatMap((d) => d.plan.problems))].slice(0, 5);
  const removed = decisions
    .flatMap((d) => d.outcomes ?? [])
    .filter((o) => o.status === 'done' && (o.action === 'unregister' || o.action === 'terminate')).length;
  return [
    `Decisions: ${decisions.length} (${launchDecisions} to launch, ${decisions.length - launchDecisions} reconcile), ` +
      `${removed} runner(s) or instance(s) removed by the usual rules.`,
    ...problems.map((p) => `- ${p}`),
  ];
}

export function renderListenSummary(input: ListenSummaryInput): string {
  const { metrics } = input;
  const elapsed = Math.max(0, input.stoppedAt - metrics.startedAt);
  const period = elapsed < 60_000 ? `${(elapsed / 1000).toFixed(1)} s` : formatDuration(elapsed);
  const warnings = Object.values(metrics.notes);
  return [
    `## runner-scaler: listen (${input.environment})`,
    '',
    `Listened for ${period}; stopped: ${input.reason}.`,
    '',
    ...poolRows(input),
    '',
    `Job messages: ${counts(metrics.jobs)}.`,
    '',
    ...latencyLines(metrics),
    '',
    `Sessions: ${metrics.sessions.created} created, ${metrics.sessions.conflicts} conflict(s) waited out.`,
    '',
    `Errors survived: ${counts(metrics.errors)}.`,
    '',
    ...decisionLines(input),
    ...(warnings.length ? ['', '### Warnings', '', ...warnings.map((w) => `- ${w}`)] : []),
    ...(input.unsettled
      ? ['', 'Stopped before every decision in flight finished: the next run picks up what they left.']
      : []),
    '',
  ].join('\n');
}
