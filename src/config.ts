import { parseDocument } from 'yaml';
import { z } from 'zod';
import { crossChecks, type FieldPath, type LoosePool, type Problem } from './config-checks.js';
import { closeKey, valueHint } from './config-hints.js';
import {
  canonicalTimeZone,
  parseCron,
  parseDays,
  parseHours,
  type ScheduleWindow,
} from './engine/schedule.js';
import type { Config, PoolConfig } from './types.js';

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `10m`, `12h`, `1d` → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,7})(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
}

const DURATION_EXPECTED = 'expected a duration such as 90s, 10m, 12h or 1d';
const duration = z.string({ error: DURATION_EXPECTED }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: DURATION_EXPECTED, input: text });
    return z.NEVER;
  }
  return ms;
});

const name = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
      `expected ${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what} of 1-40 letters, digits, '-', '_' or '.'`,
    );

const label = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^,\s]+$/, 'expected a label without commas or spaces');

/**
 * GitHub takes at most 100 labels per runner; the scaler adds `self-hosted` and, with `unique-label`,
 * one more: 98 of the pool's own keep a JIT request valid after the instances were launched.
 */
export const MAX_POOL_LABELS = 98;

const repository = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/name');

const count = z.number().int().min(0).max(10_000);

const LAUNCH_TEMPLATE_ID = /^lt-[0-9a-f]{1,17}$/;
// EC2's rule for launch template names.
const LAUNCH_TEMPLATE_NAME = /^[A-Za-z0-9()./_-]{3,128}$/;

const launchTemplateId = z
  .string()
  .regex(LAUNCH_TEMPLATE_ID, 'expected a launch template id lt-<hex digits>');
const launchTemplateName = z
  .string()
  .regex(LAUNCH_TEMPLATE_NAME, "expected a launch template name of 3-128 letters, digits, '().-/_'");

const launchTemplate = z.union([
  z
    .string()
    .regex(
      new RegExp(`${LAUNCH_TEMPLATE_ID.source}|${LAUNCH_TEMPLATE_NAME.source}`),
      "expected a launch template name (3-128 letters, digits, '().-/_') or id lt-<hex digits>",
    ),
  z
    .strictObject({
      id: launchTemplateId.optional(),
      name: launchTemplateName.optional(),
      version: z
        .union([
          z.string().regex(/^(\$Latest|\$Default|[1-9]\d{0,17})$/, 'expected $Latest, $Default or a number'),
          z.number().int().positive(),
        ])
        .optional(),
    })
    .refine((t) => (t.id === undefined) !== (t.name === undefined), {
      message: 'expected exactly one of id or name',
    }),
]);

// Instance type names: family (with generation and options), a dot, size (m7i.large, u-6tb1.metal).
const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, 'expected an EC2 instance type such as m7i.large');

/** The message of a parser's Error without its `, got …` tail (the issue line adds what was written). */
const expected = (error: unknown) => (error as Error).message.replace(/, got ".*$/s, '');

const scheduleWindow = z
  .strictObject({
    days: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    hours: z.string().optional(),
    cron: z.string().optional(),
    min: z.number().int().min(0).max(10_000),
  })
  .transform((w, ctx): ScheduleWindow => {
    if ((w.cron === undefined) === (w.days === undefined && w.hours === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected either cron, or days and/or hours', input: w });
      return z.NEVER;
    }
    const parse = <T>(key: 'days' | 'hours' | 'cron', fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: [key], message: expected(error), input: w[key] });
        return undefined;
      }
    };
    const days = w.days === undefined ? undefined : parse('days', () => parseDays(w.days as string));
    const hours = w.hours === undefined ? undefined : parse('hours', () => parseHours(w.hours as string));
    const cron = w.cron === undefined ? undefined : parse('cron', () => parseCron(w.cron as string));
    const text =
      w.cron !== undefined
        ? `cron "${w.cron}"`
        : [w.days === undefined ? undefined : [w.days].flat().join(','), w.hours].filter(Boolean).join(' ');
    return {
      ...(days ? { days } : {}),
      ...(hours ? { hours } : {}),
      ...(cron ? { cron } : {}),
      min: w.min,
      text,
    };
  });

const timeZone = z.string().transform((text, ctx) => {
  const zone = canonicalTimeZone(text);
  if (zone === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected an IANA time zone such as Europe/Berlin or UTC',
      input: text,
    });
    return z.NEVER;
  }
  return zone;
});

const schedule = z.strictObject({ timeZone, windows: z.array(scheduleWindow).min(1).max(50) });

const poolFields = {
  labels: z.array(label).min(1).max(MAX_POOL_LABELS),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1'),
  launchTemplate,
  instanceTypes: z.array(instanceType).max(50),
  subnets: z.array(z.string().regex(/^subnet-[0-9a-z]+$/, 'expected a subnet id subnet-…')).max(50),
  market: z.enum(['on-demand', 'spot', 'spot-with-fallback']),
  registration: z.enum(['jit', 'token']),
  min: count,
  max: count,
  idleTimeout: duration,
  bootTimeout: duration,
  minLifetime: duration,
  maxLifetime: duration,
  capacityTimeout: duration,
  repositories: z.array(repository),
  schedule,
};

/** A runner scale set name: `true` names it `<environment>-<pool>`. */
const scaleSet = z.union([
  z.boolean(),
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
      "expected true, false or a scale set name of 1-100 letters, digits, '-', '_' or '.'",
    ),
]);

/** Keys a pool may have that defaults may not. */
const poolOnlyFields = { scaleSet };

const poolSchema = z.strictObject({ ...poolFields, ...poolOnlyFields }).partial();
const defaultsSchema = z.strictObject(poolFields).omit({ labels: true }).partial();

/** DynamoDB table names: 3-255 letters, digits, '_', '-' or '.'. */
const tableName = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]{3,255}$/,
    "expected a DynamoDB table name of 3-255 letters, digits, '_', '-' or '.'",
  );

export const COORDINATION_MISSING =
  'expected the coordination store: add `coordination: { table: <DynamoDB table> }` (the table ' +
  'examples/launch-template/cloudformation.yml creates; see the README, "The coordination store")';

/**
 * CloudWatch's rule for namespaces: 1-255 letters, digits, '.', '-', '_', '/', '#', ':' or spaces, at least one
 * not a space, and not AWS/ (reserved for AWS services).
 */
const metricsNamespace = z
  .string()
  .regex(
    /^(?!AWS\/)(?=.*\S)[A-Za-z0-9._\-/#: ]{1,255}$/,
    "expected a CloudWatch namespace of 1-255 letters, digits, '.', '-', '_', '/', '#', ':' or spaces, not starting with AWS/",
  );

const metrics = z.strictObject({
  namespace: metricsNamespace,
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1')
    .optional(),
});

export const fileSchema = z.strictObject({
  environment: name('environment name').default('runner-scaler'),
  coordination: z.strictObject(
    {
      table: tableName,
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1')
        .optional(),
    },
    { error: (issue) => (issue.input === undefined ? COORDINATION_MISSING : undefined) },
  ),
  github: z
    .strictObject({
      organization: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/, 'expected an organization login')
        .optional(),
      repository: repository.optional(),
      runnerGroupId: z.number().int().positive().default(1),
      runnerGroup: z.string().min(1).optional(),
    })
    .refine((g) => (g.organization === undefined) !== (g.repository === undefined), {
      message: 'expected exactly one of organization or repository',
    }),
  metrics: metrics.optional(),
  defaults: defaultsSchema.default({}),
  pools: z.record(name('pool name'), poolSchema).refine((pools) => Object.keys(pools).length > 0, {
    message: 'expected at least one pool',
  }),
});

const BUILT_IN_DEFAULTS = {
  instanceTypes: [] as string[],
  subnets: [] as string[],
  market: 'on-demand' as const,
  registration: 'jit' as const,
  min: 0,
  max: 10,
  idleTimeout: 5 * 60_000,
  bootTimeout: 10 * 60_000,
  minLifetime: 2 * 60_000,
  maxLifetime: 24 * 3_600_000,
  capacityTimeout: 30 * 60_000,
  repositories: [] as string[],
};

/** The built-in defaults as they would be written in the file, for messages. */
const BUILT_IN_TEXT: Record<string, unknown> = {
  ...BUILT_IN_DEFAULTS,
  idleTimeout: '5m',
  bootTimeout: '10m',
  minLifetime: '2m',
  maxLifetime: '24h',
  capacityTimeout: '30m',
};

/** At most this many problems are listed; the rest are counted. */
const MAX_LISTED = 50;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  if (typeof value === 'number' || typeof value === 'bigint') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      // Too deeply nested for JSON.stringify (and for String() of nested arrays).
      text = Array.isArray(value) ? 'a deeply nested list' : 'a deeply nested value';
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const POOL_KEYS = Object.keys(poolFields);
const LAUNCH_TEMPLATE_KEYS = ['id', 'name', 'version'];

/** The keys allowed where an unknown key was found, for the error message. */
function allowedKeys(path: PropertyKey[]): string[] {
  const [first, second, third] = path;
  const inPool = (first === 'defaults' && path.length >= 2) || (first === 'pools' && path.length >= 3);
  const poolKey = first === 'defaults' ? second : third;
  if (path.length === 0) return Object.keys(fileSchema.shape);
  if (first === 'github' && path.length === 1)
    return ['organization', 'repository', 'runnerGroupId', 'runnerGroup'];
  if (first === 'coordination' && path.length === 1) return ['table', 'region'];
  if (first === 'metrics' && path.length === 1) return ['namespace', 'region'];
  if (first === 'defaults' && path.length === 1) return POOL_KEYS.filter((key) => key !== 'labels');
  if (first === 'pools' && path.length === 2) return [...POOL_KEYS, ...Object.keys(poolOnlyFields)];
  if (inPool && poolKey === 'launchTemplate') return LAUNCH_TEMPLATE_KEYS;
  if (inPool && poolKey === 'schedule') {
    return path.at(-2) === 'windows' ? ['days', 'hours', 'cron', 'min'] : ['timeZone', 'windows'];
  }
  return [];
}

/**
 * A failed union (a launch template string or object, a version string or number) as the issues of the
 * branch whose type matched, or one issue naming every type the branches expected.
 */
function flattenUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const wrongType = (inner: z.core.$ZodIssue) => inner.code === 'invalid_type' && inner.path.length === 0;
  const matched = issue.errors.find((branch) => branch.length > 0 && !branch.some(wrongType));
  if (matched)
    return matched.flatMap((inner) => flattenUnion({ ...inner, path: [...issue.path, ...inner.path] }));
  const expected = issue.errors.flatMap((branch) =>
    branch.flatMap((inner) => (inner.code === 'invalid_type' && wrongType(inner) ? [inner.expected] : [])),
  );
  return [{ ...issue, message: `expected ${[...new Set(expected)].join(' or ')}` }];
}

const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : '(top level)');

interface Line {
  path: PropertyKey[];
  text: string;
}

function zodLines(issue: z.core.$ZodIssue): Line[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(issue.path);
    const expected = allowed.length > 0 ? `, expected one of ${allowed.join(', ')}` : '';
    return issue.keys.map((key) => {
      const meant = closeKey(key, allowed);
      const path = [...issue.path, key];
      return {
        path,
        text: `${where(path)}: unknown key${expected}${meant ? `; did you mean ${meant}?` : ''}`,
      };
    });
  }
  const got = 'input' in issue ? `, got ${describeValue(issue.input)}` : '';
  // A bad record key: the key's own rule says what was expected.
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  const options = issue.code === 'invalid_value' ? issue.values.map(String) : [];
  const hint = 'input' in issue ? valueHint(issue.path, issue.input, options) : undefined;
  return [{ path: issue.path, text: `${where(issue.path)}: ${message}${got}${hint ? `; ${hint}` : ''}` }];
}

function problemLine(problem: Problem): Line {
  const got = 'got' in problem ? `, got ${describeValue(problem.got)}` : '';
  return { path: problem.path, text: `${where(problem.path)}: ${problem.message}${got}` };
}

/** Problems in the order of the file: top-level keys as the schema lists them, pools as the file does. */
function inFileOrder(lines: Line[], data: unknown): Line[] {
  const top = Object.keys(fileSchema.shape);
  const poolNames = Object.keys(asRecord(asRecord(data).pools));
  const rank = (path: PropertyKey[]) => [
    top.indexOf(String(path[0])),
    path[0] === 'pools' ? poolNames.indexOf(String(path[1])) : -1,
  ];
  return lines
    .map((line, index) => ({ line, index, rank: rank(line.path) }))
    .sort(
      (a, b) =>
        (a.rank[0] as number) - (b.rank[0] as number) ||
        (a.rank[1] as number) - (b.rank[1] as number) ||
        a.index - b.index,
    )
    .map(({ line }) => line);
}

function formatProblems(
  source: string,
  issues: z.core.$ZodIssue[],
  problems: Problem[],
  data: unknown,
): string {
  const lines = inFileOrder(
    [...issues.flatMap(flattenUnion).flatMap(zodLines), ...problems.map(problemLine)],
    data,
  );
  const more = lines.length > MAX_LISTED ? [`  ... and ${lines.length - MAX_LISTED} more`] : [];
  return [
    `invalid pools file ${source}:`,
    ...lines.slice(0, MAX_LISTED).map((l) => `  ${l.text}`),
    ...more,
  ].join('\n');
}

function resolveTemplate(value: z.infer<typeof launchTemplate>): PoolConfig['launchTemplate'] {
  if (typeof value === 'string') {
    return LAUNCH_TEMPLATE_ID.test(value)
      ? { id: value, version: '$Default' }
      : { name: value, version: '$Default' };
  }
  return { id: value.id, name: value.name, version: String(value.version ?? '$Default') };
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * Each pool's fields parsed one by one, from the pool, defaults or the built-in defaults: the cross checks see
 * every value that is valid by itself, whatever else is wrong in the file.
 */
/** The environment as written, for the default scale set names the cross-checks compare. */
function environmentOf(data: unknown): string {
  const environment = asRecord(data).environment;
  return typeof environment === 'string' ? environment : '';
}

function loosePools(data: unknown): LoosePool[] {
  const root = asRecord(data);
  const defaults = asRecord(root.defaults);
  const rawPools = root.pools;
  const pools = Object.entries(asRecord(rawPools)).filter(
    ([, pool]) => pool !== null && typeof pool === 'object' && !Array.isArray(pool),
  );
  return pools.map(([name, rawPool]) => {
    const pool = asRecord(rawPool);
    const own = (key: string) => Object.hasOwn(pool, key);
    const inDefaults = (key: string) =>
      key !== 'labels' && !Object.hasOwn(poolOnlyFields, key) && Object.hasOwn(defaults, key);
    const field = (key: string) => {
      const schema = ({ ...poolFields, ...poolOnlyFields } as Record<string, z.ZodType>)[key];
      if (!own(key) && !inDefaults(key)) {
        return { value: (BUILT_IN_DEFAULTS as Record<string, unknown>)[key], raw: BUILT_IN_TEXT[key] };
      }
      const raw = own(key) ? pool[key] : defaults[key];
      const path: FieldPath = own(key) ? ['pools', name, key] : ['defaults', key];
      const parsed = schema?.safeParse(raw);
      return { value: parsed?.success ? parsed.data : undefined, raw, path };
    };
    return { name, field, given: (key: string) => own(key) || inDefaults(key) } as LoosePool;
  });
}

function readYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`invalid pools file ${source}: ${doc.errors[0]?.message ?? 'YAML error'}`);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // e.g. aliases that expand exponentially ("Excessive alias count…").
    throw new ConfigError(
      `invalid pools file ${source}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // zod's record drops a `__proto__` key without a word: a pool of that name would vanish unnoticed.
  const rawPools = (data as { pools?: unknown } | null)?.pools;
  if (rawPools !== null && typeof rawPools === 'object' && Object.hasOwn(rawPools, '__proto__')) {
    throw new ConfigError(
      `invalid pools file ${source}:\n  pools.__proto__: expected a pool name of 1-40 letters, digits, '-', '_' or '.', got "__proto__"`,
    );
  }
  return data;
}

function buildConfig(file: z.infer<typeof fileSchema>): Config {
  const pools: PoolConfig[] = Object.entries(file.pools).map(([poolName, raw]) => {
    const merged = { ...BUILT_IN_DEFAULTS, ...file.defaults, ...raw };
    return {
      name: poolName,
      labels: merged.labels ?? [],
      region: merged.region ?? '',
      launchTemplate: merged.launchTemplate
        ? resolveTemplate(merged.launchTemplate)
        : { version: '$Default' },
      instanceTypes: merged.instanceTypes,
      subnets: merged.subnets,
      market: merged.market,
      registration: merged.registration,
      min: merged.min,
      max: merged.max,
      idleTimeoutMs: merged.idleTimeout,
      bootTimeoutMs: merged.bootTimeout,
      minLifetimeMs: merged.minLifetime,
      maxLifetimeMs: merged.maxLifetime,
      capacityTimeoutMs: merged.capacityTimeout,
      repositories: merged.repositories,
      ...(merged.schedule ? { schedule: merged.schedule } : {}),
      ...(raw.scaleSet
        ? { scaleSet: { name: raw.scaleSet === true ? `${file.environment}-${poolName}` : raw.scaleSet } }
        : {}),
    };
  });
  const { organization, repository: repo } = file.github;
  const [owner = '', repoName = ''] = (repo ?? '').split('/');
  // The table lives beside the fleet: the first pool's region unless given.
  const coordinationRegion = file.coordination.region ?? pools[0]?.region ?? '';
  return {
    environment: file.environment,
    coordination: { table: file.coordination.table, region: coordinationRegion },
    github: {
      scope: organization ? { kind: 'org', org: organization } : { kind: 'repo', owner, repo: repoName },
      runnerGroupId: file.github.runnerGroupId,
      runnerGroup: file.github.runnerGroup,
    },
    ...(file.metrics
      ? { metrics: { namespace: file.metrics.namespace, region: file.metrics.region ?? coordinationRegion } }
      : {}),
    pools,
  };
}

export interface ValidatedConfig {
  config: Config;
  /** What works, but not the way it reads: `path: why`. */
  warnings: string[];
}

/**
 * Parses and validates the pools file in one pass: throws a ConfigError listing every error (each naming the path,
 * the value as written and what is expected), else returns the config and the warnings.
 */
export function validateConfig(text: string, source: string): ValidatedConfig {
  const data = readYaml(text, source);
  const parsed = fileSchema.safeParse(data ?? {}, { reportInput: true });
  const checks = crossChecks(loosePools(data), environmentOf(data));
  if (!parsed.success || checks.errors.length > 0) {
    throw new ConfigError(formatProblems(source, parsed.error?.issues ?? [], checks.errors, data));
  }
  return {
    config: buildConfig(parsed.data),
    warnings: inFileOrder(checks.warnings.map(problemLine), data).map((line) => line.text),
  };
}

/** Parses and validates the pools file; throws ConfigError naming every bad path and value. */
export function parseConfig(text: string, source: string): Config {
  return validateConfig(text, source).config;
}
