// A valid pools file and, per field, generators of valid and invalid values: shared by the parser's
// property tests and the end-to-end validation tests.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { MAX_POOL_LABELS } from '../../src/config.js';
import { hostileNumber, hostileString } from './arbitraries.js';

export type Path = (string | number)[];

/** A valid file; each property changes one part of it. */
export function baseFile(): Record<string, unknown> {
  return {
    environment: 'ci',
    github: { organization: 'acme' },
    coordination: { table: 'runner-scaler-ci' },
    defaults: { region: 'eu-west-1', launchTemplate: 'runner-linux', minLifetime: '0s' },
    pools: { linux: { labels: ['linux', 'x64'], launchTemplate: { name: 'runner-linux', version: 3 } } },
  };
}

/** YAML or JSON text (JSON is YAML too), so both writers' quoting is exercised. */
export const serialize = (file: unknown, format: 'yaml' | 'json') =>
  format === 'json' ? (JSON.stringify(file) ?? '') : stringify(file);
export const format = fc.constantFrom<'yaml' | 'json'>('yaml', 'json');

export const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const LABEL = /^[^,\s]{1,256}$/;
export const TEMPLATE_ID = /^lt-[0-9a-f]{1,17}$/;
export const TEMPLATE_NAME = /^[A-Za-z0-9()./_-]{3,128}$/;

// ---------------------------------------------------------------- per-field generators

export const notString = fc.oneof(
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
);
export const label = fc.stringMatching(/^[^,\s]{1,30}$/);
export const badLabel = fc.oneof(
  fc.constantFrom('', 'a,b', 'a b', 'tab\there', 'new\nline', 'x'.repeat(300)),
  fc.string({ unit: 'grapheme', minLength: 257, maxLength: 300 }),
);

export function durationArbitrary(minMs: number, maxMs: number): fc.Arbitrary<string> {
  const units: [string, number][] = [
    ['s', 1_000],
    ['m', 60_000],
    ['h', 3_600_000],
    ['d', 86_400_000],
  ];
  return fc
    .tuple(fc.constantFrom(...units), fc.integer({ min: 0, max: 9_999_999 }))
    .filter(([[, unitMs], n]) => n * unitMs >= minMs && n * unitMs <= maxMs)
    .map(([[unit], n]) => `${n}${unit}`);
}
export const badDuration = fc.oneof(
  fc.constantFrom('5', '5x', '-5m', '1.5h', '10 m', '', 'm', '5M', '1h30m', '12345678s', '٣m', 'PT5M', '5mm'),
  hostileNumber,
  fc.constant(null),
  fc.constant([]),
);

export interface Field {
  /** Path in the file, e.g. ['pools', 'linux', 'min']. */
  path: Path;
  valid: fc.Arbitrary<unknown>;
  invalid: fc.Arbitrary<unknown>;
  /** Other paths that may report an invalid value (a value from defaults is checked in each pool). */
  alsoReportedAt?: Path[];
}

export function poolFields(at: 'pool' | 'defaults'): Field[] {
  const base: Path = at === 'pool' ? ['pools', 'linux'] : ['defaults'];
  const inPool = (key: string): Path[] => (at === 'defaults' ? [['pools', 'linux', key]] : []);
  const fields: Field[] = [
    {
      path: [...base, 'region'],
      valid: fc.constantFrom('eu-west-1', 'us-east-2', 'us-gov-west-1', 'ap-southeast-4', 'il-central-1'),
      invalid: fc.oneof(
        fc.constantFrom('EU-WEST-1', 'eu-west', 'euwest1', '', 'eu_west_1', 'eu-west-1a', 'eu-west-12'),
        hostileString.filter((s) => !REGION.test(s)),
        notString,
      ),
    },
    {
      path: [...base, 'launchTemplate'],
      valid: fc.oneof(
        fc.stringMatching(TEMPLATE_NAME),
        fc.stringMatching(TEMPLATE_ID),
        fc.record({ id: fc.stringMatching(TEMPLATE_ID) }),
        fc.record({
          name: fc.stringMatching(TEMPLATE_NAME),
          version: fc.oneof(
            fc.integer({ min: 1, max: 10_000 }),
            fc.constantFrom('$Latest', '$Default', '12'),
          ),
        }),
      ),
      invalid: fc.oneof(
        fc.constantFrom(
          '',
          'ab',
          'has space',
          'x'.repeat(129),
          'ünïcödé',
          {},
          { id: 'lt-0abc', name: 'runner' },
          { id: 'lt-xyz' },
          { id: 'launch-template' },
          { name: 'runner', version: 'junk' },
          { name: 'runner', version: 0 },
          { name: 'runner', version: -1 },
          { name: 'runner', version: 1.5 },
          { name: 'runner', version: '' },
          { name: 'runner', extra: 1 },
        ),
        notString.filter((v) => typeof v !== 'object' || Array.isArray(v) || v === null),
      ),
    },
    {
      path: [...base, 'instanceTypes'],
      valid: fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}\.[a-z0-9-]{1,10}$/), { maxLength: 50 }),
      invalid: fc.oneof(
        fc.constantFrom([''], ['m5 large'], ['M5.LARGE'], ['m5'], 'm5.large', [1], [null], [['m5.large']]),
        fc.array(fc.constant('m5.large'), { minLength: 51, maxLength: 60 }),
      ),
    },
    {
      path: [...base, 'subnets'],
      valid: fc.array(fc.stringMatching(/^subnet-[0-9a-z]{1,17}$/), { maxLength: 50 }),
      invalid: fc.oneof(
        fc.constantFrom(['sub-123'], ['subnet-'], ['subnet-ABC'], 'subnet-1', [7], [{}]),
        fc.array(fc.constant('subnet-1'), { minLength: 51, maxLength: 55 }),
      ),
    },
    {
      path: [...base, 'market'],
      valid: fc.constantFrom('on-demand', 'spot', 'spot-with-fallback'),
      invalid: fc.oneof(fc.constantFrom('Spot', 'on_demand', 'reserved', ''), notString),
    },
    {
      path: [...base, 'registration'],
      valid: fc.constantFrom('jit', 'token'),
      invalid: fc.oneof(fc.constantFrom('JIT', 'pat', ''), notString),
    },
    {
      // At most the built-in max (10).
      path: [...base, 'min'],
      valid: fc.integer({ min: 0, max: 10 }),
      invalid: fc.oneof(
        fc.integer({ max: -1 }),
        fc.integer({ min: 10_001 }),
        fc.constantFrom(0.5, 1.5, 1e300, '5', true, null),
        ...(at === 'pool' ? [fc.integer({ min: 11, max: 10_000 })] : []),
      ),
      alsoReportedAt: inPool('min'),
    },
    {
      path: [...base, 'max'],
      valid: fc.integer({ min: 0, max: 10_000 }),
      invalid: fc.oneof(
        fc.integer({ max: -1 }),
        fc.integer({ min: 10_001 }),
        fc.constantFrom(2.5, 2 ** 53 + 2, '10', false, null, []),
      ),
    },
    // 0s is refused: no protection against GitHub's lagging busy flag, every instance dead at launch.
    {
      path: [...base, 'idleTimeout'],
      valid: durationArbitrary(1_000, Infinity),
      invalid: fc.oneof(badDuration, fc.constantFrom('0s', '0m')),
    },
    {
      path: [...base, 'bootTimeout'],
      valid: durationArbitrary(1_000, Infinity),
      invalid: fc.oneof(badDuration, fc.constantFrom('0s', '0h')),
    },
    {
      // At most the built-in maxLifetime (24h).
      path: [...base, 'minLifetime'],
      valid: durationArbitrary(0, 86_400_000),
      invalid: at === 'pool' ? fc.oneof(badDuration, fc.constantFrom('2d', '25h', '1441m')) : badDuration,
      alsoReportedAt: inPool('minLifetime'),
    },
    {
      path: [...base, 'maxLifetime'],
      valid: durationArbitrary(1_000, Infinity),
      invalid: fc.oneof(badDuration, fc.constant('0d')),
    },
    { path: [...base, 'capacityTimeout'], valid: durationArbitrary(0, Infinity), invalid: badDuration },
    {
      path: [...base, 'repositories'],
      valid: fc.array(fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}\/[A-Za-z0-9_.-]{1,20}$/), { maxLength: 5 }),
      invalid: fc.oneof(fc.constantFrom(['acme'], ['a/b/c'], ['/b'], [''], 'acme/app', [1], ['acme app/x'])),
    },
  ];
  const window = fc.record({
    days: fc.constantFrom('mon-fri', 'sat,sun', 'fri-mon', 'wed'),
    hours: fc.constantFrom('08:00-18:00', '8-18', '22:00-06:00', '00:00-24:00'),
    min: fc.integer({ min: 0, max: 10 }),
  });
  fields.push({
    path: [...base, 'schedule'],
    valid: fc.record({
      timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'asia/kolkata'),
      windows: fc.array(
        fc.oneof(
          window,
          fc.record({
            cron: fc.constantFrom('* 8-17 * * mon-fri', '*/5 * * * *'),
            min: fc.integer({ min: 0, max: 10 }),
          }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    }),
    invalid: fc.oneof(
      fc.constantFrom(
        'mon-fri 08:00-18:00',
        { timeZone: 'Mars/Olympus', windows: [{ days: 'mon', min: 1 }] },
        { timeZone: 'CEST+2', windows: [{ days: 'mon', min: 1 }] },
        { timeZone: 'UTC', windows: [] },
        { timeZone: 'UTC', windows: [{ days: 'funday', min: 1 }] },
        { timeZone: 'UTC', windows: [{ hours: '25:00-26:00', min: 1 }] },
        { timeZone: 'UTC', windows: [{ hours: '08:00-08:00', min: 1 }] },
        { timeZone: 'UTC', windows: [{ cron: '* * *', min: 1 }] },
        { timeZone: 'UTC', windows: [{ cron: '61 * * * *', min: 1 }] },
        { timeZone: 'UTC', windows: [{ cron: '* * * * *', days: 'mon', min: 1 }] },
        { timeZone: 'UTC', windows: [{ min: 1 }] },
        { timeZone: 'UTC', windows: [{ days: 'mon', min: -1 }] },
        { windows: [{ days: 'mon', min: 1 }] },
      ),
      ...(at === 'pool' ? [fc.constant({ timeZone: 'UTC', windows: [{ days: 'mon', min: 11 }] })] : []),
    ),
    alsoReportedAt: inPool('schedule'),
  });
  if (at === 'pool') {
    fields.push({
      path: [...base, 'labels'],
      valid: fc.array(label, { minLength: 1, maxLength: MAX_POOL_LABELS }),
      invalid: fc.oneof(
        fc.constant([]),
        fc.array(label, { minLength: MAX_POOL_LABELS + 1, maxLength: 130 }),
        fc
          .tuple(fc.array(label, { maxLength: 5 }), badLabel, fc.array(label, { maxLength: 5 }))
          .map(([before, bad, after]) => [...before, bad, ...after]),
        notString.filter((v) => !Array.isArray(v)),
        fc.constant('linux'),
      ),
    });
  }
  return fields;
}

export const FIELDS: Field[] = [
  ...poolFields('pool'),
  ...poolFields('defaults'),
  {
    path: ['metrics'],
    valid: fc.record(
      {
        namespace: fc.stringMatching(/^[A-Za-z][A-Za-z0-9._/#: -]{0,40}$/),
        region: fc.constantFrom('eu-west-1', 'us-east-1'),
      },
      { requiredKeys: ['namespace'] },
    ),
    invalid: fc.oneof(
      fc.constantFrom(
        'RunnerScaler',
        {},
        { namespace: 'AWS/EC2' },
        { namespace: '' },
        { namespace: '   ' },
        { namespace: 'ü' },
        { namespace: 'x'.repeat(256) },
        { namespace: 'RunnerScaler', region: 'eu-west-1a' },
        { namespace: 'RunnerScaler', extra: 1 },
      ),
      notString.filter((v) => v !== null && typeof v !== 'object'),
    ),
  },
  {
    path: ['environment'],
    valid: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/),
    invalid: fc.oneof(
      fc.constantFrom('', '-x', '.x', 'a'.repeat(41), 'has space', 'ü', '__proto__', 'a/b'),
      notString,
    ),
  },
  {
    path: ['github', 'organization'],
    valid: fc.stringMatching(/^[A-Za-z0-9-]{1,39}$/),
    invalid: fc.oneof(fc.constantFrom('acme/app', '', 'ac me', 'ac_me', 'ü'), notString),
  },
  {
    path: ['github', 'runnerGroupId'],
    valid: fc.integer({ min: 1, max: 2 ** 31 }),
    invalid: fc.oneof(fc.integer({ max: 0 }), fc.constantFrom(1.5, '1', 2 ** 60, 1e300, null, [1])),
  },
  {
    path: ['github', 'runnerGroup'],
    valid: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    invalid: fc.oneof(fc.constant(''), notString),
  },
];

export const dotted = (path: Path) => path.map(String).join('.');
export const FIELD_BY_NAME = new Map(FIELDS.map((f) => [dotted(f.path), f]));
/** A field's name and a value from its valid or invalid generator (names keep counterexamples readable). */
export const fieldWith = (kind: 'valid' | 'invalid') =>
  fc.constantFrom(...FIELDS).chain((f) => fc.tuple(fc.constant(dotted(f.path)), f[kind]));
export const fieldNamed = (name: string) => FIELD_BY_NAME.get(name) as Field;
