// Pure classification of what was observed: which instance is booting, idle, busy or dead.
import { instanceIdOfParameter, instanceIdOfRunner } from '../contract.js';
import type { Instance, Parameter, PoolConfig, QueuedJob, Runner, Snapshot } from '../types.js';

export type InstanceClass =
  /** Launched, runner not online yet, within bootTimeout. */
  | 'booting'
  /** Runner online and not running a job. */
  | 'idle'
  /** Runner running a job (GitHub says busy, or the instance reported a job start). */
  | 'busy'
  /** Runner registered but offline past bootTimeout (never booted, or lost). */
  | 'stale'
  /** No runner registration past bootTimeout. */
  | 'orphan'
  /** Shutting down, stopping: leaving by itself. */
  | 'leaving';

export interface ClassifiedInstance {
  instance: Instance;
  runner?: Runner;
  cls: InstanceClass;
  ageMs: number;
  /** Name of the instance's JIT config parameter when one was seen. */
  parameter?: string;
}

const ALIVE = new Set(['pending', 'running', 'stopped']);

export function classifyInstance(
  instance: Instance,
  runner: Runner | undefined,
  pool: PoolConfig,
  now: Date,
): ClassifiedInstance {
  const ageMs = now.getTime() - instance.launchTime.getTime();
  const base = { instance, runner, ageMs };
  if (!ALIVE.has(instance.state)) return { ...base, cls: 'leaving' };
  // GitHub's busy flag lags a job start; the instance's own report wins.
  if (runner?.busy || (instance.jobStartedAt && runner)) return { ...base, cls: 'busy' };
  // Its one job started and the ephemeral runner is gone: the job is over, the instance should be leaving.
  if (instance.jobStartedAt) return { ...base, cls: 'orphan' };
  if (runner?.status === 'online' && instance.state !== 'stopped') return { ...base, cls: 'idle' };
  if (ageMs < pool.bootTimeoutMs && instance.state !== 'stopped') return { ...base, cls: 'booting' };
  return { ...base, cls: runner ? 'stale' : 'orphan' };
}

/** Runners that are ours, keyed by the instance id in their name. */
export function runnersByInstance(environment: string, runners: Runner[]): Map<string, Runner> {
  const byInstance = new Map<string, Runner>();
  for (const runner of runners) {
    const id = instanceIdOfRunner(environment, runner.name);
    if (id) byInstance.set(id, runner);
  }
  return byInstance;
}

export function parametersByInstance(environment: string, parameters: Parameter[]): Map<string, string> {
  const byInstance = new Map<string, string>();
  for (const p of parameters) {
    const id = p.instanceId ?? instanceIdOfParameter(environment, p.name);
    if (id) byInstance.set(id, p.name);
  }
  return byInstance;
}

/** Our runners whose instance is not listed (terminated or never existed). */
export function ghostRunners(environment: string, snapshot: Snapshot): Runner[] {
  const listed = new Set(snapshot.instances.items.map((i) => i.id));
  return snapshot.runners.items.filter((runner) => {
    const id = instanceIdOfRunner(environment, runner.name);
    return id !== undefined && !listed.has(id);
  });
}

/** Per-instance parameters whose instance is not listed. */
export function leakedParameters(environment: string, snapshot: Snapshot) {
  const listed = new Set(snapshot.instances.items.map((i) => i.id));
  return snapshot.parameters.items.filter((p) => {
    const id = p.instanceId ?? instanceIdOfParameter(environment, p.name);
    return id !== undefined && !listed.has(id);
  });
}

/** GitHub labels compare case-insensitively; `self-hosted` is implied for every pool. */
export function jobMatchesPool(job: QueuedJob, pool: PoolConfig): boolean {
  const offered = new Set([...pool.labels, 'self-hosted'].map((l) => l.toLowerCase()));
  return job.labels.every((l) => offered.has(l.toLowerCase()));
}

/** Each queued job goes to the first pool (in file order) that can run it. */
export function assignJobs(jobs: QueuedJob[], pools: PoolConfig[]) {
  const byPool = new Map<string, QueuedJob[]>(pools.map((p) => [p.name, []]));
  const unmatched: QueuedJob[] = [];
  const seen = new Set<number>();
  for (const job of jobs) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    const pool = pools.find((p) => jobMatchesPool(job, p));
    if (pool) byPool.get(pool.name)?.push(job);
    else unmatched.push(job);
  }
  return { byPool, unmatched };
}
