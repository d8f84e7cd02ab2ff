import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { Config, PoolConfig } from './types.js';

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `10m`, `12h`, `1d` → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,7})(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
}

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90s, 10m, 12h or 1d', input: text });
    return z.NEVER;
  }
  return ms;
});

const name = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/,
      `expected a ${what} of 1-40 letters, digits, '-', '_' or '.'`,
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
  repositories: z.array(repository),
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

const poolSchema = z.strictObject({ ...poolFields, scaleSet }).partial();
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
  repositories: [] as string[],
};

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
const POOL_ONLY_KEYS = ['scaleSet'];
const LAUNCH_TEMPLATE_KEYS = ['id', 'name', 'version'];

/** The keys allowed where an unknown key was found, for the error message. */
function allowedKeys(path: PropertyKey[]): string[] {
  const [first, second, third] = path;
  if (path.length === 0) return Object.keys(fileSchema.shape);
  if (first === 'github' && path.length === 1)
    return ['organization', 'repository', 'runnerGroupId', 'runnerGroup'];
  if (first === 'coordination' && path.length === 1) return ['table', 'region'];
  if (first === 'defaults' && path.length === 1) return POOL_KEYS.filter((key) => key !== 'labels');
  if (first === 'pools' && path.length === 2) return [...POOL_KEYS, ...POOL_ONLY_KEYS];
  if (
    (first === 'defaults' && second === 'launchTemplate') ||
    (first === 'pools' && third === 'launchTemplate')
  ) {
    return LAUNCH_TEMPLATE_KEYS;
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

function formatIssues(source: string, allIssues: z.core.$ZodIssue[]): string {
  const issues = allIssues.flatMap(flattenUnion);
  const lines = issues.slice(0, 10).map((issue) => {
    const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : '(top level)');
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(issue.path);
      const expected = allowed.length > 0 ? `, expected one of ${allowed.join(', ')}` : '';
      return issue.keys.map((key) => `  ${where([...issue.path, key])}: unknown key${expected}`).join('\n');
    }
    const got = 'input' in issue ? `, got ${describeValue(issue.input)}` : '';
    // A bad record key: the key's own rule says what was expected.
    const message =
      issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return `  ${where(issue.path)}: ${message}${got}`;
  });
  const more = issues.length > 10 ? [`  ... and ${issues.length - 10} more`] : [];
  return [`invalid pools file ${source}:`, ...lines, ...more].join('\n');
}

function resolveTemplate(value: z.infer<typeof launchTemplate>): PoolConfig['launchTemplate'] {
  if (typeof value === 'string') {
    return LAUNCH_TEMPLATE_ID.test(value)
      ? { id: value, version: '$Default' }
      : { name: value, version: '$Default' };
  }
  return { id: value.id, name: value.name, version: String(value.version ?? '$Default') };
}

/** Scale set names are unique in a runner group: two pools cannot share one. */
function checkScaleSetNames(
  pools: PoolConfig[],
  problem: (path: (string | number)[], message: string, input: unknown) => void,
): void {
  const owner = new Map<string, string>();
  for (const pool of pools) {
    if (!pool.scaleSet) continue;
    const key = pool.scaleSet.name.toLowerCase();
    const other = owner.get(key);
    if (other) {
      problem(
        ['pools', pool.name, 'scaleSet'],
        `expected a scale set name of its own (pool ${other} uses it)`,
        pool.scaleSet.name,
      );
    } else owner.set(key, pool.name);
  }
}

/** Parses and validates the pools file; throws ConfigError naming the path and the bad value. */
export function parseConfig(text: string, source: string): Config {
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
  const parsed = fileSchema.safeParse(data ?? {}, { reportInput: true });
  if (!parsed.success) throw new ConfigError(formatIssues(source, parsed.error.issues));
  const file = parsed.data;

  const issues: z.core.$ZodIssue[] = [];
  const problem = (path: (string | number)[], message: string, input: unknown) =>
    issues.push({ code: 'custom', path, message, input } as z.core.$ZodIssue);

  const pools: PoolConfig[] = Object.entries(file.pools).map(([poolName, raw]) => {
    const merged = { ...BUILT_IN_DEFAULTS, ...file.defaults, ...raw };
    const path = ['pools', poolName];
    if (!merged.labels) problem([...path, 'labels'], 'expected a list of runner labels', undefined);
    if (!merged.region)
      problem([...path, 'region'], 'expected an AWS region (here or in defaults)', undefined);
    if (!merged.launchTemplate) {
      problem(
        [...path, 'launchTemplate'],
        'expected a launch template name or id (here or in defaults)',
        undefined,
      );
    }
    if (merged.min > merged.max)
      problem([...path, 'min'], `expected at most max (${merged.max})`, merged.min);
    if (raw.scaleSet && merged.registration !== 'jit') {
      problem(
        [...path, 'scaleSet'],
        "expected registration 'jit' for a scale-set pool (its runners register through the scale set)",
        raw.scaleSet,
      );
    }
    if (merged.minLifetime > merged.maxLifetime) {
      problem(
        [...path, 'minLifetime'],
        'expected at most maxLifetime',
        raw.minLifetime ?? file.defaults.minLifetime,
      );
    }
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
      repositories: merged.repositories,
      ...(raw.scaleSet
        ? { scaleSet: { name: raw.scaleSet === true ? `${file.environment}-${poolName}` : raw.scaleSet } }
        : {}),
    };
  });
  checkScaleSetNames(pools, problem);
  if (issues.length > 0) throw new ConfigError(formatIssues(source, issues));

  const { organization, repository: repo } = file.github;
  const [owner = '', repoName = ''] = (repo ?? '').split('/');
  return {
    environment: file.environment,
    coordination: {
      table: file.coordination.table,
      // The table lives beside the fleet: the first pool's region unless given.
      region: file.coordination.region ?? pools[0]?.region ?? '',
    },
    github: {
      scope: organization ? { kind: 'org', org: organization } : { kind: 'repo', owner, repo: repoName },
      runnerGroupId: file.github.runnerGroupId,
      runnerGroup: file.github.runnerGroup,
    },
    pools,
  };
}
