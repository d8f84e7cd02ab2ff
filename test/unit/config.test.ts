import { describe, expect, it } from 'vitest';
import { parseConfig, parseDuration } from '../../src/config.js';

const base = `
environment: acme-ci
github:
  organization: acme
coordination:
  table: runner-scaler-acme-ci
defaults:
  region: eu-west-1
  launchTemplate: runner-linux
pools:
  linux:
    labels: [linux, x64]
`;

describe('pools file', () => {
  it('applies defaults, then built-in defaults', () => {
    const config = parseConfig(base, 'runner-scaler.yml');
    expect(config.environment).toBe('acme-ci');
    // The table is beside the fleet unless its region is given: the first pool's region.
    expect(config.coordination).toEqual({ table: 'runner-scaler-acme-ci', region: 'eu-west-1' });
    expect(config.github).toEqual({
      scope: { kind: 'org', org: 'acme' },
      runnerGroupId: 1,
      runnerGroup: undefined,
    });
    expect(config.pools[0]).toMatchObject({
      name: 'linux',
      region: 'eu-west-1',
      launchTemplate: { name: 'runner-linux', version: '$Default' },
      market: 'on-demand',
      registration: 'jit',
      min: 0,
      max: 10,
      idleTimeoutMs: 300_000,
      bootTimeoutMs: 600_000,
    });
  });

  it('reads every pool field', () => {
    const config = parseConfig(
      `
github: { repository: acme/app, runnerGroupId: 3 }
coordination: { table: rs.app, region: eu-central-1 }
pools:
  gpu:
    labels: [gpu]
    region: us-east-1
    launchTemplate: { id: lt-0abc, version: 4 }
    instanceTypes: [g5.xlarge, g6.xlarge]
    subnets: [subnet-1a, subnet-1b]
    market: spot-with-fallback
    registration: token
    min: 1
    max: 4
    idleTimeout: 90s
    bootTimeout: 15m
    minLifetime: 1m
    maxLifetime: 12h
    repositories: [acme/app, acme/ml]
`,
      'f.yml',
    );
    expect(config.environment).toBe('runner-scaler');
    expect(config.coordination).toEqual({ table: 'rs.app', region: 'eu-central-1' });
    expect(config.github.scope).toEqual({ kind: 'repo', owner: 'acme', repo: 'app' });
    expect(config.pools[0]).toEqual({
      name: 'gpu',
      labels: ['gpu'],
      region: 'us-east-1',
      launchTemplate: { id: 'lt-0abc', name: undefined, version: '4' },
      instanceTypes: ['g5.xlarge', 'g6.xlarge'],
      subnets: ['subnet-1a', 'subnet-1b'],
      market: 'spot-with-fallback',
      registration: 'token',
      min: 1,
      max: 4,
      idleTimeoutMs: 90_000,
      bootTimeoutMs: 900_000,
      minLifetimeMs: 60_000,
      maxLifetimeMs: 43_200_000,
      repositories: ['acme/app', 'acme/ml'],
    });
  });

  const bad: { name: string; yaml: string; message: RegExp }[] = [
    {
      name: 'a mistyped number',
      yaml: `${base}    max: ten\n`,
      message: /pools\.linux\.max: .*number.*got "ten"/,
    },
    {
      name: 'a bad duration',
      yaml: `${base}    idleTimeout: 5 minutes\n`,
      message: /pools\.linux\.idleTimeout: expected a duration.*got "5 minutes"/,
    },
    {
      name: 'an unknown pool key',
      yaml: `${base}    maximum: 3\n`,
      message: /pools\.linux\.maximum: unknown key/,
    },
    { name: 'an unknown top-level key', yaml: `${base}extra: 1\n`, message: /extra: unknown key/ },
    {
      name: 'min above max',
      yaml: `${base}    min: 5\n    max: 2\n`,
      message: /pools\.linux\.min: expected at most max \(2\), got 5/,
    },
    { name: 'a negative count', yaml: `${base}    max: -1\n`, message: /pools\.linux\.max: .*got -1/ },
    {
      name: 'a huge count',
      yaml: `${base}    max: 1e12\n`,
      message: /pools\.linux\.max: .*got 1000000000000/,
    },
    {
      name: 'a label with a comma',
      yaml: base.replace('[linux, x64]', '["linux,x64"]'),
      message: /pools\.linux\.labels\.0: expected a label without commas/,
    },
    {
      name: 'no labels',
      yaml: base.replace('labels: [linux, x64]', 'max: 3'),
      message: /pools\.linux\.labels: expected a list of runner labels/,
    },
    {
      name: 'both org and repository',
      yaml: base.replace('organization: acme', 'organization: acme\n  repository: a/b'),
      message: /github: expected exactly one of organization or repository/,
    },
    {
      name: 'a bad region',
      yaml: base.replace('eu-west-1', 'Europe'),
      message: /defaults\.region: expected an AWS region.*got "Europe"/,
    },
    {
      name: 'a bad market',
      yaml: `${base}    market: cheap\n`,
      message: /pools\.linux\.market: .*got "cheap"/,
    },
    {
      name: 'no pools',
      yaml: 'github: { organization: acme }\ncoordination: { table: rs-ci }\npools: {}\n',
      message: /pools: expected at least one pool/,
    },
    {
      name: 'a bad pool name',
      yaml: base.replace('  linux:', '  "linux pool":'),
      message: /pools\.linux pool: expected a pool name/,
    },
    { name: 'YAML syntax', yaml: 'pools: [', message: /invalid pools file f\.yml: .*line/ },
    {
      name: 'no coordination store',
      yaml: base.replace('coordination:\n  table: runner-scaler-acme-ci\n', ''),
      message:
        /coordination: expected the coordination store: add `coordination: \{ table: <DynamoDB table> \}`.*cloudformation\.yml/,
    },
    {
      name: 'a bad table name',
      yaml: base.replace('table: runner-scaler-acme-ci', 'table: "runner scaler"'),
      message: /coordination\.table: expected a DynamoDB table name.*got "runner scaler"/,
    },
    {
      name: 'an unknown coordination key',
      yaml: base.replace('table: runner-scaler-acme-ci', 'table: rs-ci\n  lease: 60s'),
      message: /coordination\.lease: unknown key, expected one of table, region/,
    },
    {
      name: 'a duplicate key',
      yaml: `${base}  linux:\n    labels: [a]\n`,
      message: /invalid pools file f\.yml: .*[Dd]uplicate|unique/,
    },
  ];
  it.each(bad)('rejects $name, naming the path and the value', ({ yaml, message }) => {
    expect(() => parseConfig(yaml, 'f.yml')).toThrow(message);
    expect(() => parseConfig(yaml, 'f.yml')).toThrow(/f\.yml/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['12h', 43_200_000],
    ['1d', 86_400_000],
    ['10', undefined],
    ['1.5h', undefined],
    ['-1m', undefined],
    ['', undefined],
  ])('%s → %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
});
