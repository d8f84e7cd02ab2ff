// Pure classification of what was observed: which instance is booting, idle, busy or dead.
import { instanceIdOfParameter, instanceIdOfRunner, TAG_LABEL } from '../contract.js';
import type { Instance, Parameter, PoolConfig, Runner, Snapshot } from '../types.js';

export { assignJobs, jobMatchesPool } from './demand.js';

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
  /** The run-unique label the instance's runner is reserved for (tag runner-scaler:label). */
  reservedLabel?: string;
}

const ALIVE = new Set(['pending', 'running', 'stopped']);

export function classifyInstance(
  instance: Instance,
  runner: Runner | undefined,
  pool: PoolConfig,
  now: Date,
): ClassifiedInstance {
  const ageMs = now.getTime() - instance.launchTime.getTime();
  const label = instance.tags[TAG_LABEL];
  const base = { instance, runner, ageMs, ...(label ? { reservedLabel: label } : {}) };
  if (!ALIVE.has(instance.state)) return { ...base, cls: 'leaving' };
  // A launch the listing does not show yet: booting until its record expires.
  if (instance.unlisted) return { ...base, cls: 'booting' };
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

/** Our runners whose instance is not listed and was not launched recently (terminated or never existed). */
export function ghostRunners(environment: string, snapshot: Snapshot, recentIds: Set<string>): Runner[] {
  const listed = new Set(snapshot.instances.items.map((i) => i.id));
  return snapshot.runners.items.filter((runner) => {
    const id = instanceIdOfRunner(environment, runner.name);
    return id !== undefined && !listed.has(id) && !recentIds.has(id);
  });
}

/**
 * Per-instance parameters whose instance is not listed, was not launched recently, and that are older than
 * `graceMs`: a parameter is written right after its instance's launch, which the listing may not show yet.
 */
export function leakedParameters(
  environment: string,
  snapshot: Snapshot,
  recentIds: Set<string>,
  now: Date,
  graceMs: number,
) {
  const listed = new Set(snapshot.instances.items.map((i) => i.id));
  return snapshot.parameters.items.filter((p) => {
    const id = p.instanceId ?? instanceIdOfParameter(environment, p.name);
    if (id === undefined || listed.has(id) || recentIds.has(id)) return false;
    return p.lastModified !== undefined && now.getTime() - p.lastModified.getTime() >= graceMs;
  });
}
