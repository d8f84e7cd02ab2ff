// `npm run schema`: writes schema/runner-scaler.schema.json, the JSON Schema of the pools file, from its
// zod schema in src/config.ts. test/docs/schema.test.ts fails when the committed file is out of date.
//
// zod converts the structure, types, patterns and enums. What zod checks in code (refinements and the
// duration transform) has no JSON Schema form, so the few of those that editors can check are restated
// below, each by path; test/docs/schema.test.ts checks that both agree.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { z } from 'zod';
import { fileSchema } from '../src/config.js';

export const SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../schema/runner-scaler.schema.json',
);

/** What parseDuration in src/config.ts accepts (the test checks this against it). */
export const DURATION_PATTERN = '^\\d{1,7}(s|m|h|d)$';

const DURATION_FIELDS = ['idleTimeout', 'bootTimeout', 'minLifetime', 'maxLifetime', 'capacityTimeout'];

const POOL_FIELD_DESCRIPTIONS: Record<string, string> = {
  labels:
    'Runner labels. A job runs on this pool when its runs-on labels are a subset of these plus self-hosted.',
  region: 'AWS region of the instances, such as eu-west-1.',
  launchTemplate:
    'EC2 launch template: a name, an id lt-…, or { id | name, version } (version $Default when not given).',
  instanceTypes: "Instance types to launch (fleet overrides); the launch template's type when empty.",
  subnets: "Subnets to launch in (fleet overrides); the launch template's network when empty.",
  market:
    'on-demand (default), spot, or spot-with-fallback (spot first, on-demand for what spot did not launch).',
  registration:
    'jit (default): one just-in-time config per runner. token: one registration token per pool and run, for very large bursts.',
  min: 'Idle runners kept warm (default 0). Each costs its instance while it waits.',
  max: 'Never more instances than this in the pool, booting, idle and busy together (default 10).',
  idleTimeout:
    'An idle runner above min is removed once seen idle twice this far apart (default 5m). 90s, 10m, 12h or 1d.',
  bootTimeout: 'An instance with no runner online after this is dead and terminated (default 10m).',
  minLifetime: 'A runner is never removed younger than this (default 2m).',
  maxLifetime: 'Idle runners older than this are replaced (default 24h).',
  capacityTimeout:
    'An insufficient-capacity shortfall is a warning until the pool has been short this long with no fallback left (other instance types, subnets, on-demand); then the run fails (default 30m).',
  schedule:
    'min by time of day and day of week: inside a window the largest min of the windows that match, outside every window the pool min.',
  repositories:
    'owner/name of the repositories whose queued jobs this pool serves (polling and workflow_run).',
  scaleSet:
    'Pools only: make the pool a GitHub runner scale set (true: named <environment>-<pool>; or the name), served within seconds by mode listen. Needs registration jit.',
};

const TOP_DESCRIPTIONS: Record<string, string> = {
  environment:
    'Names this deployment: instance tag runner-scaler:environment, runner names <env>-<instance-id>, SSM paths /runner-scaler/<env>/… (default runner-scaler).',
  github: 'Where the runners register: exactly one of organization or repository.',
  metrics:
    "Publish per-pool CloudWatch metrics once per run (one PutMetricData call): runners by state, queued jobs, the oldest queued job's wait, launched, removed, failed.",
  coordination:
    'The DynamoDB table shared by every run of this environment (launch lease, launch records, boot-failure breakers).',
  defaults: 'Any pool field but labels, applied to every pool that does not set it.',
  pools: "The pools by name (1-40 letters, digits, '-', '_' or '.').",
};

const GITHUB_DESCRIPTIONS: Record<string, string> = {
  organization: 'Organization login: organization-level runners.',
  repository: 'owner/name: repository-level runners.',
  runnerGroupId: 'Runner group id of JIT runners (default 1, the Default group).',
  runnerGroup: 'Runner group name, for token registration.',
};

const COORDINATION_DESCRIPTIONS: Record<string, string> = {
  table: 'DynamoDB table name (examples/launch-template/cloudformation.yml creates it).',
  region: "The table's region (default: the first pool's region).",
};

const METRICS_DESCRIPTIONS: Record<string, string> = {
  namespace:
    'CloudWatch namespace, such as RunnerScaler (the IAM policy grants PutMetricData in this one only).',
  region: "The metrics' region (default: the coordination table's region).",
};

const SCHEDULE_DESCRIPTIONS: Record<string, string> = {
  timeZone: 'IANA time zone of the windows, such as Europe/Berlin or UTC.',
  windows: 'Windows of a min: days and/or hours, or a cron expression.',
};

const WINDOW_DESCRIPTIONS: Record<string, string> = {
  days: 'Days of week: mon-fri, sat,sun, or a list of those.',
  hours: 'Local time of day start-end, such as 08:00-18:00 (an end before the start runs past midnight).',
  cron: 'Instead of days and hours: five cron fields (minute hour day-of-month month day-of-week), active every minute they match, such as "* 8-17 * * mon-fri".',
  min: 'Idle runners kept warm while the window is active.',
};

const LAUNCH_TEMPLATE_DESCRIPTIONS: Record<string, string> = {
  id: 'Launch template id lt-… (or give name).',
  name: 'Launch template name (or give id).',
  version: '$Default (default), $Latest, or a version number.',
};

type JsonSchema = { [key: string]: unknown };

/** The sub-schema at `keys`; throws when src/config.ts no longer has that shape. */
function at(schema: JsonSchema, keys: (string | number)[]): JsonSchema {
  let node: unknown = schema;
  for (const key of keys) {
    node = (node as Record<string | number, unknown> | undefined)?.[key];
    if (typeof node !== 'object' || node === null) {
      throw new Error(`generate-schema: no ${keys.join('.')} in the generated schema; update this script`);
    }
  }
  return node as JsonSchema;
}

function describe(object: JsonSchema, descriptions: Record<string, string>, where: string): void {
  const properties = at(object, ['properties']);
  for (const key of Object.keys(properties)) {
    const description = descriptions[key];
    if (!description) throw new Error(`generate-schema: no description for ${where}.${key}; add one here`);
    at(properties, [key]).description = description;
  }
}

function completePoolFields(object: JsonSchema, where: string): void {
  describe(object, POOL_FIELD_DESCRIPTIONS, where);
  for (const field of DURATION_FIELDS) at(object, ['properties', field]).pattern = DURATION_PATTERN;
  // launchTemplate's object form: exactly one of id or name.
  const objectForm = at(object, ['properties', 'launchTemplate', 'anyOf', 1]);
  describe(objectForm, LAUNCH_TEMPLATE_DESCRIPTIONS, `${where}.launchTemplate`);
  objectForm.oneOf = [{ required: ['id'] }, { required: ['name'] }];
  const schedule = at(object, ['properties', 'schedule']);
  describe(schedule, SCHEDULE_DESCRIPTIONS, `${where}.schedule`);
  const window = at(schedule, ['properties', 'windows', 'items']);
  describe(window, WINDOW_DESCRIPTIONS, `${where}.schedule.windows`);
  // Either cron, or days and/or hours.
  window.oneOf = [{ required: ['cron'] }, { anyOf: [{ required: ['days'] }, { required: ['hours'] }] }];
}

export function buildSchema(): JsonSchema {
  const schema = z.toJSONSchema(fileSchema, { io: 'input', target: 'draft-07' }) as JsonSchema;
  const github = at(schema, ['properties', 'github']);
  const defaults = at(schema, ['properties', 'defaults']);
  const pools = at(schema, ['properties', 'pools']);
  const pool = at(pools, ['additionalProperties']);

  describe(schema, TOP_DESCRIPTIONS, '(top level)');
  describe(github, GITHUB_DESCRIPTIONS, 'github');
  describe(at(schema, ['properties', 'coordination']), COORDINATION_DESCRIPTIONS, 'coordination');
  describe(at(schema, ['properties', 'metrics']), METRICS_DESCRIPTIONS, 'metrics');
  github.oneOf = [{ required: ['organization'] }, { required: ['repository'] }];
  completePoolFields(defaults, 'defaults');
  completePoolFields(pool, 'pools.<name>');
  pools.minProperties = 1;
  // Labels cannot come from defaults: every pool names its own.
  pool.required = ['labels'];

  return {
    $schema: schema.$schema,
    title: 'runner-scaler pools file',
    description:
      'The pools of ephemeral self-hosted GitHub Actions runners that runner-scaler keeps on AWS EC2 (.github/runner-scaler.yml). Generated from src/config.ts by npm run schema.',
    ...schema,
  };
}

/** The schema file's text, formatted as the repository's prettier formats it. */
export async function renderSchema(): Promise<string> {
  const options = (await prettier.resolveConfig(SCHEMA_FILE)) ?? {};
  return prettier.format(JSON.stringify(buildSchema(), null, 2), { ...options, parser: 'json' });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(SCHEMA_FILE, await renderSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
