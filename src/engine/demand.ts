// Which pool serves which queued job. Pure.
//
// A job matches a pool when its labels are among the pool's labels plus `self-hosted`. A job that asks for a
// run-unique label (the pre-job pattern) belongs to the pool the label names: only runners launched for that
// label serve it, and the scheduler launches them again if the pre-job's runners are gone.
import { poolOfReservedLabel } from '../contract.js';
import type { PoolConfig, QueuedJob } from '../types.js';

/** GitHub labels compare case-insensitively; `self-hosted` is implied for every pool. */
export function jobMatchesPool(job: QueuedJob, pool: PoolConfig): boolean {
  const offered = new Set([...pool.labels, 'self-hosted'].map((l) => l.toLowerCase()));
  return job.labels.every((l) => offered.has(l.toLowerCase()));
}

/** A job of a pool, with the run-unique label it asks for, if any. */
export interface PoolJob extends QueuedJob {
  reservedLabel?: string;
}

export interface UnmatchedJob {
  job: QueuedJob;
  why: string;
}

export interface Assignment {
  byPool: Map<string, PoolJob[]>;
  unmatched: UnmatchedJob[];
}

type Reserved = { pool: string; label: string } | { why: string };

function reservedAssignment(environment: string, job: QueuedJob, pools: PoolConfig[]): Reserved | undefined {
  const names = pools.map((p) => p.name);
  for (const label of job.labels) {
    const poolName = poolOfReservedLabel(environment, names, label);
    if (poolName === undefined) continue;
    const pool = pools.find((p) => p.name === poolName) as PoolConfig;
    const others = { ...job, labels: job.labels.filter((l) => l !== label) };
    if (!jobMatchesPool(others, pool)) {
      const missing = others.labels.filter((l) => !jobMatchesPool({ ...others, labels: [l] }, pool));
      return { why: `asks for ${label} of pool ${pool.name}, which does not offer ${missing.join(', ')}` };
    }
    return { pool: poolName, label };
  }
  return undefined;
}

/** Each queued job goes to the first pool (in file order) that can run it. */
export function assignJobs(environment: string, jobs: QueuedJob[], pools: PoolConfig[]): Assignment {
  const byPool = new Map<string, PoolJob[]>(pools.map((p) => [p.name, []]));
  const unmatched: UnmatchedJob[] = [];
  const seen = new Set<number>();
  for (const job of jobs) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const reserved = reservedAssignment(environment, job, pools);
    if (reserved && 'pool' in reserved)
      byPool.get(reserved.pool)?.push({ ...job, reservedLabel: reserved.label });
    else if (reserved) unmatched.push({ job, why: reserved.why });
    else {
      const pool = pools.find((p) => jobMatchesPool(job, p));
      if (pool) byPool.get(pool.name)?.push(job);
      else unmatched.push({ job, why: "no pool offers all of the job's labels" });
    }
  }
  return { byPool, unmatched };
}
