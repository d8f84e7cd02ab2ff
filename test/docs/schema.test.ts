// schema/runner-scaler.schema.json is up to date with src/config.ts, validates the example pools file,
// and agrees with parseConfig on what the generator restates from zod's code-only checks.
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DURATION_PATTERN, renderSchema, SCHEMA_FILE } from '../../scripts/generate-schema.js';
import { parseConfig, parseDuration } from '../../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const committed = readFileSync(SCHEMA_FILE, 'utf8');
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(
  JSON.parse(committed),
);

const MINIMAL = {
  github: { organization: 'acme' },
  coordination: { table: 'runner-scaler-ci' },
  pools: { linux: { labels: ['linux'], region: 'eu-west-1', launchTemplate: 'runner-linux' } },
};

/** What parseConfig and the JSON schema say about one pools file. */
function verdicts(file: unknown): { config: boolean; schema: boolean } {
  let config = true;
  try {
    parseConfig(JSON.stringify(file), 'pools.yml');
  } catch {
    config = false;
  }
  return { config, schema: validate(file) };
}

describe('schema/runner-scaler.schema.json', () => {
  it('is what npm run schema generates from src/config.ts', async () => {
    // On failure: run `npm run schema` and commit the schema.
    expect(committed, 'schema/runner-scaler.schema.json is out of date: run npm run schema').toBe(
      await renderSchema(),
    );
  });

  it('validates the example pools file, which parseConfig accepts', () => {
    const text = readFileSync(path.join(ROOT, 'examples/runner-scaler.yml'), 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/runner-scaler\.schema\.json$/m);
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    expect(parseConfig(text, 'examples/runner-scaler.yml').pools.map((p) => p.name)).toEqual([
      'linux-x64',
      'linux-arm64',
      'gpu',
    ]);
  });

  it('describes every property, for editors', () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (typeof node !== 'object' || node === null) return;
      const properties = (node as { properties?: Record<string, { description?: string }> }).properties;
      for (const [key, value] of Object.entries(properties ?? {})) {
        if (!value.description) undocumented.push(`${where}.${key}`);
      }
      for (const [key, value] of Object.entries(node)) walk(value, `${where}.${key}`);
    };
    walk(JSON.parse(committed), '');
    expect(undocumented).toEqual([]);
  });

  it.each([
    ['a minimal file', MINIMAL],
    ['a repository scope', { ...MINIMAL, github: { repository: 'acme/app' } }],
    [
      'a launch template by id and version',
      {
        ...MINIMAL,
        pools: {
          linux: {
            ...MINIMAL.pools.linux,
            launchTemplate: { id: 'lt-0abc', version: 3 },
            idleTimeout: '90s',
          },
        },
      },
    ],
  ])('accepts what parseConfig accepts: %s', (_name, file) => {
    expect(verdicts(file)).toEqual({ config: true, schema: true });
  });

  it.each([
    [
      'both organization and repository',
      { ...MINIMAL, github: { organization: 'acme', repository: 'acme/app' } },
    ],
    ['neither organization nor repository', { ...MINIMAL, github: {} }],
    ['no pools', { ...MINIMAL, pools: {} }],
    [
      'a pool without labels',
      { ...MINIMAL, pools: { linux: { region: 'eu-west-1', launchTemplate: 'lt-0abc' } } },
    ],
    ['labels in defaults', { ...MINIMAL, defaults: { labels: ['linux'] } }],
    [
      'a launch template with both id and name',
      {
        ...MINIMAL,
        pools: { linux: { ...MINIMAL.pools.linux, launchTemplate: { id: 'lt-0abc', name: 'x-y' } } },
      },
    ],
    [
      'a launch template with neither id nor name',
      { ...MINIMAL, pools: { linux: { ...MINIMAL.pools.linux, launchTemplate: { version: 2 } } } },
    ],
    ['a bad duration', { ...MINIMAL, defaults: { idleTimeout: '5 minutes' } }],
    ['an unknown key', { ...MINIMAL, pools: { linux: { ...MINIMAL.pools.linux, maxx: 3 } } }],
    ['a bad pool name', { ...MINIMAL, pools: { 'linux x64': MINIMAL.pools.linux } }],
  ])('rejects what parseConfig rejects: %s', (_name, file) => {
    expect(verdicts(file)).toEqual({ config: false, schema: false });
  });

  it('takes the same durations as parseDuration', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    const text = fc.oneof(
      fc.stringMatching(/^[0-9]{1,9}[smhdw]?$/),
      fc.string({ unit: fc.constantFrom('0', '1', '9', 's', 'm', 'h', 'd', 'x', '.', '-'), maxLength: 10 }),
    );
    fc.assert(
      fc.property(text, (value) => {
        expect(pattern.test(value), value).toBe(parseDuration(value) !== undefined);
      }),
      { numRuns: 500 },
    );
  });
});
