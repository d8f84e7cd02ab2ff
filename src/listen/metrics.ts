// What a listening period did, for its job summary: job messages by type, launches, the time from a job's
// queueTime to the launch call made for it, and the errors the listener survived, by kind.
import { ActionsServiceError } from '../github/scaleset/errors.js';
import type { JobMessage } from '../github/scaleset/types.js';

export interface PendingJob {
  pool: string;
  queueTime?: number;
  receivedAt: number;
}

export interface PoolTotals {
  launches: number;
  instances: number;
  /** Messages (and session answers) whose statistics were read. */
  statistics: number;
}

export interface ListenMetrics {
  startedAt: number;
  jobs: Record<string, number>;
  pools: Record<string, PoolTotals>;
  /** queueTime -> launch call, ms, one per job a launch was made for. */
  latenciesMs: number[];
  /** Jobs that needed no launch: a runner of the pool was there for them. */
  servedByPresent: number;
  errors: Record<string, number>;
  /** Stuck statistics and other conditions worth a warning, by pool (latest text). */
  notes: Record<string, string>;
  sessions: { created: number; conflicts: number; recreated: number };
  pending: PendingJob[];
}

export function createMetrics(now: number, pools: string[]): ListenMetrics {
  return {
    startedAt: now,
    jobs: {},
    pools: Object.fromEntries(pools.map((p) => [p, { launches: 0, instances: 0, statistics: 0 }])),
    latenciesMs: [],
    servedByPresent: 0,
    errors: {},
    notes: {},
    sessions: { created: 0, conflicts: 0, recreated: 0 },
    pending: [],
  };
}

const poolTotals = (m: ListenMetrics, pool: string) =>
  (m.pools[pool] ??= { launches: 0, instances: 0, statistics: 0 });

/** Counts a message's jobs; those asking for a runner wait for the next launch decision of their pool. */
export function recordJobs(m: ListenMetrics, pool: string, jobs: JobMessage[], receivedAt: number): void {
  for (const job of jobs) {
    m.jobs[job.messageType] = (m.jobs[job.messageType] ?? 0) + 1;
    if (job.messageType === 'JobAssigned' || job.messageType === 'JobAvailable') {
      m.pending.push({
        pool,
        receivedAt,
        ...(job.queueTime ? { queueTime: job.queueTime.getTime() } : {}),
      });
    }
  }
  poolTotals(m, pool).statistics += 1;
}

/** A launch call went out for the pool: the jobs received before it were served by it. */
export function recordLaunchCall(m: ListenMetrics, pool: string, at: number): void {
  poolTotals(m, pool).launches += 1;
  m.pending = m.pending.filter((job) => {
    if (job.pool !== pool || job.receivedAt > at) return true;
    if (job.queueTime !== undefined) m.latenciesMs.push(Math.max(0, at - job.queueTime));
    return false;
  });
}

export function recordLaunched(m: ListenMetrics, pool: string, instances: number): void {
  poolTotals(m, pool).instances += instances;
}

/** A decision for the pool made at `decidedAt` launched nothing: its jobs had runners already. */
export function recordNoLaunch(m: ListenMetrics, pool: string, decidedAt: number): void {
  m.pending = m.pending.filter((job) => {
    if (job.pool !== pool || job.receivedAt > decidedAt) return true;
    m.servedByPresent += 1;
    return false;
  });
}

/** The kind an error is counted as: the protocol's error kinds, the HTTP status, or its name. */
export function errorKind(error: unknown): string {
  if (error instanceof ActionsServiceError) {
    if (error.kind !== 'http') return error.kind;
    return error.status === undefined ? 'network' : `HTTP ${error.status}`;
  }
  return error instanceof Error ? error.name : 'error';
}

export function recordError(m: ListenMetrics, kind: string): void {
  m.errors[kind] = (m.errors[kind] ?? 0) + 1;
}

/** The p-th percentile (nearest rank) of a list of numbers; undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
