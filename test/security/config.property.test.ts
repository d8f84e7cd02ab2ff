// Property tests of the pools file parser against malformed, mistyped and hostile files: every file either
// parses into a sane Config or fails with a ConfigError that names the path, the bad value and what is expected.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, MAX_POOL_LABELS, parseConfig } from '../../src/config.js';
import type { Config } from '../../src/types.js';
import {
  hostileKey,
  isCrash,
  junk,
  nested,
  ownProperties,
  pathsOf,
  prototypeSnapshot,
  replaceAt,
} from './arbitraries.js';
import {
  baseFile,
  dotted,
  fieldNamed,
  fieldWith,
  format,
  LABEL,
  poolFields,
  REGION,
  serialize,
  TEMPLATE_ID,
  TEMPLATE_NAME,
  type Path,
} from './pools.js';

const SOURCE = 'runner-scaler.yml';
const RUNS = { numRuns: 150 };

function parse(text: string): { config: Config } | { error: unknown } {
  try {
    return { config: parseConfig(text, SOURCE) };
  } catch (error) {
    return { error };
  }
}

/** The message's issue lines (`  path: message, got value`) for a path or its children. */
function linesAt(message: string, path: string): string[] {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(`${path}:`) || line.startsWith(`${path}.`));
}

/** The error is a ConfigError with an issue line for one of `paths` that says what it expected and got. */
function expectClearError(error: unknown, paths: string[]): void {
  if (!(error instanceof ConfigError)) throw error;
  expect(error.message.startsWith(`invalid pools file ${SOURCE}`)).toBe(true);
  const lines = paths.flatMap((path) => linesAt(error.message, path));
  expect(lines, `no line for ${paths.join(' or ')} in:\n${error.message}`).not.toEqual([]);
  for (const line of lines) expect(line).toMatch(/expected|unknown key/);
  for (const line of lines.filter((l) => !l.includes('unknown key'))) expect(line).toMatch(/, got /);
}

/** What an accepted file must satisfy: an invalid value never gets through. */
function expectSane(config: Config): void {
  expect(config.environment).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/);
  expect(Number.isSafeInteger(config.github.runnerGroupId) && config.github.runnerGroupId > 0).toBe(true);
  expect(config.pools.length).toBeGreaterThan(0);
  for (const pool of config.pools) {
    expect(pool.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/);
    expect(pool.labels.length).toBeGreaterThan(0);
    expect(pool.labels.length).toBeLessThanOrEqual(MAX_POOL_LABELS);
    for (const label of pool.labels) expect(label).toMatch(LABEL);
    expect(pool.region).toMatch(REGION);
    const { id, name, version } = pool.launchTemplate;
    expect((id === undefined) !== (name === undefined)).toBe(true);
    if (id !== undefined) expect(id).toMatch(TEMPLATE_ID);
    if (name !== undefined) expect(name).toMatch(TEMPLATE_NAME);
    expect(version).toMatch(/^(\$Latest|\$Default|[1-9]\d*)$/);
    for (const type of pool.instanceTypes) expect(type).toMatch(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/);
    for (const subnet of pool.subnets) expect(subnet).toMatch(/^subnet-[0-9a-z]+$/);
    expect(['on-demand', 'spot', 'spot-with-fallback']).toContain(pool.market);
    expect(['jit', 'token']).toContain(pool.registration);
    for (const n of [pool.min, pool.max]) expect(Number.isInteger(n) && n >= 0 && n <= 10_000).toBe(true);
    expect(pool.min).toBeLessThanOrEqual(pool.max);
    for (const ms of [pool.idleTimeoutMs, pool.bootTimeoutMs, pool.minLifetimeMs, pool.maxLifetimeMs]) {
      expect(Number.isSafeInteger(ms) && ms >= 0).toBe(true);
    }
    expect(pool.minLifetimeMs).toBeLessThanOrEqual(pool.maxLifetimeMs);
    for (const repo of pool.repositories) expect(repo).toMatch(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/);
  }
}

describe('pools file: one field at a time', () => {
  it('a valid value in any field parses', () => {
    fc.assert(
      fc.property(fieldWith('valid'), format, ([name, value], how) => {
        const f = fieldNamed(name);
        const result = parse(serialize(replaceAt(baseFile(), f.path, value), how));
        if ('error' in result) throw result.error;
        expectSane(result.config);
      }),
      RUNS,
    );
  });

  it('an invalid value in any field is a ConfigError naming that path, the value and what is expected', () => {
    fc.assert(
      fc.property(fieldWith('invalid'), format, ([name, value], how) => {
        const f = fieldNamed(name);
        const result = parse(serialize(replaceAt(baseFile(), f.path, value), how));
        expect('config' in result, `accepted ${JSON.stringify(value)} at ${dotted(f.path)}`).toBe(false);
        if ('error' in result)
          expectClearError(result.error, [f.path, ...(f.alsoReportedAt ?? [])].map(dotted));
      }),
      { numRuns: 300 },
    );
  });

  it('a missing required field is named', () => {
    for (const [path, reported] of [
      [['github'], 'github'],
      [['pools'], 'pools'],
      [['pools', 'linux', 'labels'], 'pools.linux.labels'],
      [['defaults', 'region'], 'pools.linux.region'],
      [['defaults', 'launchTemplate'], 'pools.linux.launchTemplate'],
    ] as [Path, string][]) {
      const file = structuredClone(baseFile());
      let node = file as Record<string | number, unknown>;
      for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
      delete node[path[path.length - 1] as string];
      if (path.join('.') === 'defaults.launchTemplate') {
        delete ((file.pools as Record<string, Record<string, unknown>>).linux as Record<string, unknown>)
          .launchTemplate;
      }
      const result = parse(stringify(file));
      expect('error' in result).toBe(true);
      if ('error' in result) expectClearError(result.error, [reported]);
    }
  });
});

describe('pools file: hostile structure', () => {
  const OBJECT_PATHS: { path: Path; allowed: string[] }[] = [
    { path: [], allowed: ['environment', 'github', 'defaults', 'pools'] },
    { path: ['github'], allowed: ['organization', 'repository', 'runnerGroupId', 'runnerGroup'] },
    { path: ['defaults'], allowed: Object.keys(baseFile().defaults as object) },
    { path: ['pools', 'linux'], allowed: ['labels', 'launchTemplate'] },
    { path: ['pools', 'linux', 'launchTemplate'], allowed: ['id', 'name', 'version'] },
  ];
  const KNOWN = new Set([
    'environment',
    'github',
    'defaults',
    'pools',
    'organization',
    'repository',
    'runnerGroupId',
    'runnerGroup',
    'id',
    'name',
    'version',
    'labels',
    ...Object.keys(ownFieldNames()),
  ]);
  function ownFieldNames() {
    return Object.fromEntries(poolFields('pool').map((f) => [f.path[f.path.length - 1], true]));
  }

  it('an unknown key at any level (prototype keys, unicode, blank, 300 chars) is named and rejected', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OBJECT_PATHS),
        hostileKey.filter((key) => !KNOWN.has(key)),
        junk,
        format,
        ({ path }, key, value, how) => {
          const file = baseFile();
          let node = file as Record<string, unknown>;
          for (const step of path) node = node[step] as Record<string, unknown>;
          Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
          const before = prototypeSnapshot();
          const result = parse(serialize(file, how));
          expect(prototypeSnapshot()).toBe(before);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect('config' in result, `accepted unknown key ${JSON.stringify(key)}`).toBe(false);
          if (!('error' in result)) return;
          if (!(result.error instanceof ConfigError)) throw result.error;
          const where = path.length ? `${dotted(path)}.${key}` : key;
          expect(result.error.message).toContain(`${where}: unknown key, expected one of `);
        },
      ),
      RUNS,
    );
  });

  it('junk anywhere (wrong types, huge numbers, __proto__, deep nesting) parses sanely or is named', () => {
    const paths = pathsOf(baseFile());
    fc.assert(
      fc.property(fc.constantFrom(...paths), junk, format, (path, value, how) => {
        const before = prototypeSnapshot();
        const result = parse(serialize(replaceAt(baseFile(), path, value), how));
        expect(prototypeSnapshot()).toBe(before);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        if ('config' in result) {
          expectSane(result.config);
          return;
        }
        if (isCrash(result.error) || !(result.error instanceof ConfigError)) throw result.error;
        if (path.length === 0) return;
        // A value from defaults is checked where it is used, in each pool.
        const reported = path[0] === 'defaults' ? [dotted(path), 'pools.linux'] : [dotted(path)];
        expectClearError(result.error, reported);
      }),
      { numRuns: 300 },
    );
  });

  it('mangled YAML text is a ConfigError or a sane config, never a crash', () => {
    const text = stringify(baseFile());
    const edit = fc.record({
      at: fc.nat({ max: text.length }),
      remove: fc.nat({ max: 6 }),
      insert: fc.array(
        fc.constantFrom(
          '{',
          '}',
          '[',
          ']',
          ':',
          '-',
          '&a',
          '*a',
          '!!',
          '|',
          '>',
          '\n',
          '  ',
          '"',
          "'",
          '#',
          '?',
          ',',
          '%',
          '@',
          '`',
          '\t',
          '<<',
          '---',
          '...',
          'x',
        ),
        { maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let mangled = text;
        for (const { at, remove, insert } of edits) {
          const i = Math.min(at, mangled.length);
          mangled = mangled.slice(0, i) + insert.join('') + mangled.slice(i + remove);
        }
        const result = parse(mangled);
        if ('config' in result) expectSane(result.config);
        else if (!(result.error instanceof ConfigError)) throw result.error;
        else expect(result.error.message.startsWith(`invalid pools file ${SOURCE}`)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('random text is a ConfigError or a sane config, never a crash', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ unit: 'binary' })),
        (text) => {
          const result = parse(text);
          if ('config' in result) expectSane(result.config);
          else if (!(result.error instanceof ConfigError)) throw result.error;
        },
      ),
      RUNS,
    );
  });

  it.each([
    [
      'aliases that expand exponentially',
      'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
      /Excessive alias count/,
    ],
    [
      'nesting 100,000 levels deep',
      `pools: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
      /invalid pools file/,
    ],
    [
      'nesting 500 levels deep in a pool',
      stringify(replaceAt(baseFile(), ['pools', 'linux', 'labels'], nested(500))),
      /pools\.linux\.labels/,
    ],
    [
      'a duplicate key',
      'github: { organization: acme }\ngithub: { organization: evil }\npools: {}\n',
      /Map keys must be unique/,
    ],
    [
      'two documents',
      'github: { organization: acme }\n---\npools: {}\n',
      /multiple documents|Source contains/,
    ],
    [
      'a YAML merge key',
      'github: { organization: acme }\npools:\n  linux:\n    <<: { labels: [x] }\n',
      /pools\.linux\.<<: unknown key/,
    ],
    ['a binary value', stringify(baseFile()).replace('- x64', '- !!binary aGVsbG8='), /pools\.linux\.labels/],
    [
      'a 1 MiB label',
      stringify(replaceAt(baseFile(), ['pools', 'linux', 'labels'], ['x'.repeat(1 << 20)])),
      /pools\.linux\.labels\.0: Too big: expected string to have <=256 characters, got "xxx/,
    ],
    [
      'an infinite max',
      stringify(replaceAt(baseFile(), ['pools', 'linux', 'max'], Infinity)),
      /pools\.linux\.max: .*expected number.*got Infinity/,
    ],
    [
      'a pool named __proto__',
      'github: { organization: acme }\ncoordination: { table: rs-ci }\ndefaults: { region: eu-west-1, launchTemplate: runner }\npools:\n  __proto__: { labels: [x] }\n',
      /pools\.__proto__: expected a pool name/,
    ],
  ])('%s', (_name, text, message) => {
    const before = prototypeSnapshot();
    const result = parse(text);
    expect(prototypeSnapshot()).toBe(before);
    expect('error' in result).toBe(true);
    if (!('error' in result)) return;
    expect(result.error).toBeInstanceOf(ConfigError);
    expect((result.error as Error).message).toMatch(message);
  });

  it('99 labels are refused: with self-hosted and a unique label they would pass GitHub’s 100', () => {
    const labels = Array.from({ length: 99 }, (_, i) => `l${i}`);
    const result = parse(stringify(replaceAt(baseFile(), ['pools', 'linux', 'labels'], labels)));
    expect('error' in result && (result.error as Error).message).toMatch(
      /pools\.linux\.labels: Too big: expected array to have <=98 items, got \["l0"/,
    );
    expect(
      parse(stringify(replaceAt(baseFile(), ['pools', 'linux', 'labels'], labels.slice(1)))),
    ).toHaveProperty('config');
  });

  it('an own __proto__ key in the data is never taken for the prototype', () => {
    const file = replaceAt(baseFile(), ['pools', 'linux'], ownProperties([['__proto__', { labels: ['x'] }]]));
    const result = parse(JSON.stringify(file));
    expect('error' in result && (result.error as Error).message).toMatch(
      /pools\.linux\.__proto__: unknown key/,
    );
  });
});
