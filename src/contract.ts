// The resource contract (DESIGN.md): users' IAM policies and tests depend on these names.

export const TAG_ENVIRONMENT = 'runner-scaler:environment';
export const TAG_POOL = 'runner-scaler:pool';
export const TAG_IDLE_SINCE = 'runner-scaler:idle-since';
/** Written by the instance's job-started hook (bootstrap/runner-bootstrap.sh). */
export const TAG_JOB_STARTED = 'runner-scaler:job-started';
export const TAG_NAME = 'Name';

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
