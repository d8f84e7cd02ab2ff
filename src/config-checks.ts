// The checks of the pools file that combine fields or pools. They run on every value that is valid by itself,
// also when other values are not, so that one run of the action reports every error of the file at once.
//
// Errors stop the run before any API call; warnings are printed (and shown in the job summary) and the run goes
// on. An error is a file the scaler cannot run safely or as written; a warning is a file that works, but not the
// way it reads.
import type { MinSchedule } from './engine/schedule.js';

export type FieldPath = (string | number)[];

export interface Problem {
  path: FieldPath;
  message: string;
  /** The value as written, when there is one to echo. */
  got?: unknown;
}

/** A pool field's value: parsed (undefined when invalid by itself), as written, and where it was written. */
export interface FieldValue<T = unknown> {
  value: T | undefined;
  raw: unknown;
  /** Where the value is written; undefined for a built-in default. */
  path?: FieldPath;
}

export interface LoosePool {
  name: string;
  field<T>(key: string): FieldValue<T>;
  /** Whether the key is given in the pool or in defaults. */
  given(key: string): boolean;
}

export interface CheckResult {
  errors: Problem[];
  warnings: Problem[];
}

const MIN_SAFE_IDLE_TIMEOUT_MS = 60_000;

/** Where to report a pool field: where it is written, else the pool. */
const at = (pool: LoosePool, key: string, field: FieldValue): FieldPath =>
  field.path ?? ['pools', pool.name, key];

function requiredFields(pool: LoosePool, result: CheckResult): void {
  const path = ['pools', pool.name];
  if (!pool.given('labels'))
    result.errors.push({
      path: [...path, 'labels'],
      message: 'expected a list of runner labels',
      got: undefined,
    });
  if (!pool.given('region'))
    result.errors.push({
      path: [...path, 'region'],
      message: 'expected an AWS region (here or in defaults)',
      got: undefined,
    });
  if (!pool.given('launchTemplate')) {
    result.errors.push({
      path: [...path, 'launchTemplate'],
      message: 'expected a launch template name or id (here or in defaults)',
      got: undefined,
    });
  }
}

function limits(pool: LoosePool, result: CheckResult): void {
  const min = pool.field<number>('min');
  const max = pool.field<number>('max');
  if (min.value !== undefined && max.value !== undefined && min.value > max.value) {
    result.errors.push({
      path: at(pool, 'min', min),
      message: `expected at most max (${max.value})`,
      got: min.raw,
    });
  }
  if (max.value === 0) {
    result.warnings.push({
      path: at(pool, 'max', max),
      message:
        'max 0: the pool never launches and its idle runners are removed; to retire the pool, remove it from the file',
    });
  }
  const schedule = pool.field<MinSchedule>('schedule');
  for (const [index, window] of (schedule.value?.windows ?? []).entries()) {
    if (max.value !== undefined && window.min > max.value) {
      result.errors.push({
        path: [...at(pool, 'schedule', schedule), 'windows', index, 'min'],
        message: `expected at most max (${max.value})`,
        got: window.min,
      });
    }
  }
}

function durations(pool: LoosePool, result: CheckResult): void {
  const minLifetime = pool.field<number>('minLifetime');
  const maxLifetime = pool.field<number>('maxLifetime');
  if (
    minLifetime.value !== undefined &&
    maxLifetime.value !== undefined &&
    minLifetime.value > maxLifetime.value
  ) {
    result.errors.push({
      path: at(pool, 'minLifetime', minLifetime),
      message: `expected at most maxLifetime (${String(maxLifetime.raw)})`,
      got: minLifetime.raw,
    });
  }
  const zero: [string, string][] = [
    [
      'idleTimeout',
      "an idle runner is removed once seen idle twice this far apart; that is what protects a job GitHub's busy flag does not show yet (1m or more)",
    ],
    [
      'bootTimeout',
      'an instance with no runner online after bootTimeout is dead: instances take minutes to boot',
    ],
    ['maxLifetime', 'idle runners older than maxLifetime are replaced: 0s would replace every one on sight'],
  ];
  for (const [key, why] of zero) {
    const field = pool.field<number>(key);
    if (field.value === 0)
      result.errors.push({
        path: at(pool, key, field),
        message: `expected more than 0s: ${why}`,
        got: field.raw,
      });
  }
  const idle = pool.field<number>('idleTimeout');
  if (idle.value !== undefined && idle.value > 0 && idle.value < MIN_SAFE_IDLE_TIMEOUT_MS) {
    result.warnings.push({
      path: at(pool, 'idleTimeout', idle),
      message: `${String(idle.raw)} is shorter than GitHub's busy flag can lag a job start (up to a minute): only the instance's job-started tag then protects a runner that just took a job; 1m or more`,
    });
  }
}

function labels(pool: LoosePool, result: CheckResult): void {
  const field = pool.field<string[]>('labels');
  const list = field.value ?? [];
  const path = at(pool, 'labels', field);
  if (list.some((l) => l.toLowerCase() === 'self-hosted')) {
    result.warnings.push({
      path,
      message: 'self-hosted is implied (every runner has it, any job may ask for it): remove it from labels',
    });
  }
  const seen = new Set<string>();
  for (const label of list) {
    if (seen.has(label.toLowerCase()))
      result.warnings.push({ path, message: `${label} is listed twice (labels compare without case)` });
    seen.add(label.toLowerCase());
  }
}

/** Pool names that differ only in case, and pools whose labels are the same. */
function acrossPools(pools: LoosePool[], result: CheckResult): void {
  const byLower = new Map<string, string>();
  for (const pool of pools) {
    const other = byLower.get(pool.name.toLowerCase());
    if (other !== undefined) {
      result.errors.push({
        path: ['pools', pool.name],
        message:
          `expected a pool name that differs from ${other} in more than letter case: GitHub compares labels ` +
          'without case, so the run-unique labels of the two pools would be the same',
        got: pool.name,
      });
    } else byLower.set(pool.name.toLowerCase(), pool.name);
  }
  const labelKey = (pool: LoosePool) => {
    const list = pool.field<string[]>('labels').value;
    return list === undefined
      ? undefined
      : JSON.stringify([...new Set(list.map((l) => l.toLowerCase()))].sort());
  };
  const firstWith = new Map<string, string>();
  for (const pool of pools) {
    const key = labelKey(pool);
    if (key === undefined) continue;
    const first = firstWith.get(key);
    if (first === undefined) firstWith.set(key, pool.name);
    else {
      result.warnings.push({
        path: ['pools', pool.name, 'labels'],
        message:
          `the same labels as pool ${first}: queued jobs always go to ${first} (the first in the file); ` +
          `${pool.name} launches only for its min and for runs that name it (input 'pool')`,
      });
    }
  }
}

/** Scale-set pools register through the set (JIT only), and a scale set name belongs to one pool. */
function scaleSets(pools: LoosePool[], environment: string, result: CheckResult): void {
  const owner = new Map<string, string>();
  for (const pool of pools) {
    const field = pool.field<boolean | string>('scaleSet');
    if (!field.value) continue;
    const path = at(pool, 'scaleSet', field);
    if (pool.field<string>('registration').value !== 'jit') {
      result.errors.push({
        path,
        message:
          "expected registration 'jit' for a scale-set pool (its runners register through the scale set)",
        got: field.raw,
      });
    }
    const name = field.value === true ? `${environment}-${pool.name}` : field.value;
    const other = owner.get(name.toLowerCase());
    if (other !== undefined) {
      result.errors.push({
        path,
        message: `expected a scale set name of its own (pool ${other} uses it)`,
        got: field.raw,
      });
    } else owner.set(name.toLowerCase(), pool.name);
  }
}

export function crossChecks(pools: LoosePool[], environment = ''): CheckResult {
  const result: CheckResult = { errors: [], warnings: [] };
  for (const pool of pools) {
    requiredFields(pool, result);
    limits(pool, result);
    durations(pool, result);
    labels(pool, result);
  }
  acrossPools(pools, result);
  scaleSets(pools, environment, result);
  // A value from defaults is reported once, not once per pool.
  const unique = (problems: Problem[]) => {
    const seen = new Set<string>();
    return problems.filter((p) => {
      const key = JSON.stringify([p.path, p.message]);
      return !seen.has(key) && seen.add(key);
    });
  };
  return { errors: unique(result.errors), warnings: unique(result.warnings) };
}
