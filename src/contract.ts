// The resource contract (DESIGN.md): users' IAM policies and tests depend on these names.

export const TAG_ENVIRONMENT = 'runner-scaler:environment';
export const TAG_POOL = 'runner-scaler:pool';
export const TAG_IDLE_SINCE = 'runner-scaler:idle-since';
/** First sighting of the instance's runner offline past bootTimeout: a stale runner goes on a second sighting. */
export const TAG_STALE_SINCE = 'runner-scaler:stale-since';
/**
 * Set by the instance (the root side of bootstrap/runner-bootstrap.sh, when the runner's job-started hook leaves
 * its marker): UTC ISO time of the job start, milliseconds included.
 */
export const TAG_JOB_STARTED = 'runner-scaler:job-started';
/**
 * Set by the instance when its runner exited with 7, "this runner version is deprecated": UTC ISO time. GitHub
 * sends such a runner no job; the AMI needs a newer runner.
 */
export const TAG_RUNNER_OUTDATED = 'runner-scaler:runner-outdated';
/**
 * Set by the instance when IMDS announces a spot interruption: `<action>@<time>` from
 * `meta-data/spot/instance-action` (e.g. `terminate@2026-11-22T10:02:00Z`).
 */
export const TAG_SPOT_INTERRUPTION = 'runner-scaler:spot-interruption';
/**
 * Tag of each per-instance JIT config parameter: the instance id. The instance role may read and delete only
 * the parameter whose tag names the calling instance (`ec2:SourceInstanceARN`), so a job that learns another
 * instance's id still cannot take its runner.
 */
export const PARAMETER_TAG_INSTANCE_ID = 'runner-scaler:instance-id';
export const TAG_NAME = 'Name';
/**
 * On instances launched for the jobs that ask for a run-unique label (the pre-job pattern): that label. Their
 * runners carry only the labels those jobs ask for, so no other job can take them.
 */
export const TAG_LABEL = 'runner-scaler:label';

export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8,17}$/;

export function instanceTags(environment: string, pool: string): Record<string, string> {
  return { [TAG_ENVIRONMENT]: environment, [TAG_POOL]: pool, [TAG_NAME]: `${environment}-${pool}` };
}

export function runnerName(environment: string, instanceId: string): string {
  return `${environment}-${instanceId}`;
}

/** The instance id a runner name refers to, or undefined when the runner is not one of ours. */
export function instanceIdOfRunner(environment: string, name: string): string | undefined {
  const prefix = `${environment}-`;
  if (!name.startsWith(prefix)) return undefined;
  const id = name.slice(prefix.length);
  return INSTANCE_ID_PATTERN.test(id) ? id : undefined;
}

/** Folder of the per-instance JIT config parameters. */
export function parameterPath(environment: string): string {
  return `/runner-scaler/${environment}`;
}

export function parameterName(environment: string, instanceId: string): string {
  return `${parameterPath(environment)}/${instanceId}`;
}

/** The tags of an instance's JIT config parameter. */
export function parameterTags(instanceId: string): Record<string, string> {
  return { [PARAMETER_TAG_INSTANCE_ID]: instanceId };
}

/** Token registration: one parameter per pool, read (not deleted) by every instance of the pool. */
export function poolParameterName(environment: string, pool: string): string {
  return `${parameterPath(environment)}/pools/${pool}`;
}

export function instanceIdOfParameter(environment: string, name: string): string | undefined {
  const prefix = `${parameterPath(environment)}/`;
  if (!name.startsWith(prefix)) return undefined;
  const id = name.slice(prefix.length);
  return INSTANCE_ID_PATTERN.test(id) ? id : undefined;
}

/**
 * The run-unique label of a pre-job (`unique-label`): names the environment and the pool, so that the
 * scheduler can serve a job that asks for it even when the runners launched for it are gone.
 */
export function reservedLabel(environment: string, pool: string, runId: string, attempt: string): string {
  return `runner-scaler-${environment}-${pool}-${runId}-${attempt}`;
}

/** The pool a run-unique label of this environment names, among `pools`; undefined for any other label. */
export function poolOfReservedLabel(environment: string, pools: string[], label: string): string | undefined {
  const prefix = `runner-scaler-${environment}-`.toLowerCase();
  const lower = label.toLowerCase();
  if (!lower.startsWith(prefix)) return undefined;
  // Run id and attempt are digits: `<pool>-<digits>-<digits>` is unambiguous even when pool names contain '-'.
  return pools.find((pool) => {
    const rest = lower.slice(prefix.length);
    return rest.startsWith(`${pool.toLowerCase()}-`) && /^\d+-\d+$/.test(rest.slice(pool.length + 1));
  });
}
