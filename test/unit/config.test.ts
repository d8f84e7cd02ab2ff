import { describe, expect, it } from 'vitest';
import { parseConfig, parseDuration, validateConfig } from '../../src/config.js';

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
      capacityTimeoutMs: 1_800_000,
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

describe('validation in one pass', () => {
  const errorOf = (yaml: string) => {
    try {
      validateConfig(yaml, 'f.yml');
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('reports type errors and cross-field errors of every pool at once, in file order', () => {
    const message = errorOf(
      `${base}    max: ten\n    min: 3\n  arm:\n    labels: [arm]\n    min: 5\n    max: 2\n    minLifetime: 3h\n    maxLifetime: 2h\n`,
    );
    const lines = message.split('\n').slice(1);
    expect(lines).toEqual([
      expect.stringMatching(/^ {2}pools\.linux\.max: .*expected number.*got "ten"/),
      '  pools.arm.min: expected at most max (2), got 5',
      '  pools.arm.minLifetime: expected at most maxLifetime (2h), got "3h"',
    ]);
  });

  it('echoes durations from defaults as written, not in milliseconds', () => {
    const message = errorOf(
      base.replace('  region: eu-west-1', '  region: eu-west-1\n  minLifetime: 2h\n  maxLifetime: 90m'),
    );
    expect(message).toContain('defaults.minLifetime: expected at most maxLifetime (90m), got "2h"');
    expect(message).not.toMatch(/7200000/);
  });

  it.each([
    ['bootTimeout: 15', /pools\.linux\.bootTimeout: expected a duration.*got 15; write 15m for minutes/],
    ['idleTimeout: 300000', /got 300000; write 5m if 300000 meant milliseconds/],
    ['idleTimeout: 5 minutes', /got "5 minutes"; write 5m$/m],
    ['maxLifetime: 1.5h', /got "1\.5h"; write 90m$/m],
    ['bootTimeout: PT15M', /got "PT15M"; write 15m$/m],
    ['max: "10"', /pools\.linux\.max: .*got "10"; write 10 without quotes/],
    ['market: Spot', /pools\.linux\.market: .*got "Spot"; write spot$/m],
    ['registration: JIT', /got "JIT"; write jit$/m],
    [
      'region: eu-west-1a',
      /got "eu-west-1a"; eu-west-1a is an availability zone: write its region eu-west-1/,
    ],
    [
      'instanceTypes: m7i.large, m6i.large',
      /got "m7i\.large, m6i\.large"; write a list: \[m7i\.large, m6i\.large\]/,
    ],
    [
      'repositories: [app]',
      /pools\.linux\.repositories\.0: expected owner\/name, got "app"; write <owner>\/app/,
    ],
    [
      'instanceType: [m7i.large]',
      /pools\.linux\.instanceType: unknown key, .*; did you mean instanceTypes\?/,
    ],
    ['boot_timeout: 15m', /pools\.linux\.boot_timeout: unknown key.*; did you mean bootTimeout\?/],
  ])('hints at what to write: %s', (line, message) => {
    expect(errorOf(`${base}    ${line}\n`)).toMatch(message);
  });

  it('says "an environment name"', () => {
    expect(errorOf(base.replace('acme-ci', '"-x"'))).toMatch(/environment: expected an environment name/);
  });

  it.each([
    ['idleTimeout: 0s', /pools\.linux\.idleTimeout: expected more than 0s: .*busy flag/],
    ['bootTimeout: 0m', /pools\.linux\.bootTimeout: expected more than 0s: .*boot/],
    ['maxLifetime: 0h', /pools\.linux\.maxLifetime: expected more than 0s/],
  ])('refuses %s', (line, message) => {
    expect(errorOf(`${base}    ${line}\n`)).toMatch(message);
  });

  it('refuses pool names that differ only in case', () => {
    expect(errorOf(`${base}  Linux:\n    labels: [linux, arm]\n`)).toMatch(
      /pools\.Linux: expected a pool name that differs from linux in more than letter case: .*got "Linux"/,
    );
  });

  it('warns about what works, but not the way it reads, once per value', () => {
    const { warnings } = validateConfig(
      `${base}    max: 0\n  second:\n    labels: [X64, linux, self-hosted]\n  third:\n    labels: [gpu, gpu]\n`.replace(
        '  launchTemplate: runner-linux',
        '  launchTemplate: runner-linux\n  idleTimeout: 30s',
      ),
      'f.yml',
    );
    expect(warnings).toEqual([
      expect.stringMatching(/^defaults\.idleTimeout: 30s is shorter than GitHub's busy flag/),
      expect.stringMatching(/^pools\.linux\.max: max 0: the pool never launches/),
      expect.stringMatching(/^pools\.second\.labels: self-hosted is implied/),
      expect.stringMatching(/^pools\.third\.labels: gpu is listed twice/),
    ]);
    const same = validateConfig(`${base}  other:\n    labels: [X64, Linux]\n`, 'f.yml').warnings;
    expect(same).toEqual([
      "pools.other.labels: the same labels as pool linux: queued jobs always go to linux (the first in the file); other launches only for its min and for runs that name it (input 'pool')",
    ]);
  });

  it('lists at most 50 problems and counts the rest', () => {
    const pools = Array.from({ length: 60 }, (_, i) => `  p${i}:\n    labels: [l${i}]\n    max: x\n`).join(
      '',
    );
    const message = errorOf(base.replace(/pools:[^]*$/, `pools:\n${pools}`));
    expect(message.split('\n')).toHaveLength(52);
    expect(message).toMatch(/\.\.\. and 10 more$/);
  });
});

describe('schedules and metrics', () => {
  it('reads a schedule and metrics', () => {
    const config = parseConfig(
      `${base}    max: 8
    schedule:
      timeZone: europe/berlin
      windows:
        - { days: mon-fri, hours: "08:00-18:00", min: 4 }
        - { cron: "* 9-11 * * sat", min: 1 }
metrics: { namespace: RunnerScaler }
`,
      'f.yml',
    );
    expect(config.metrics).toEqual({ namespace: 'RunnerScaler', region: 'eu-west-1' });
    const schedule = config.pools[0]?.schedule;
    expect(schedule?.timeZone).toBe('Europe/Berlin');
    expect(schedule?.windows[0]).toEqual({
      days: [1, 2, 3, 4, 5],
      hours: { start: 480, end: 1080 },
      min: 4,
      text: 'mon-fri 08:00-18:00',
    });
    expect(schedule?.windows[1]).toMatchObject({ min: 1, text: 'cron "* 9-11 * * sat"' });
  });

  it.each([
    [
      'timeZone: Berlin',
      /schedule\.timeZone: expected an IANA time zone such as Europe\/Berlin or UTC, got "Berlin"/,
    ],
    [
      'windows: [{ days: weekdays, min: 2 }]',
      /schedule\.windows\.0\.days: expected days such as mon-fri.*got "weekdays"/,
    ],
    [
      'windows: [{ hours: "8-25", min: 2 }]',
      /schedule\.windows\.0\.hours: expected hours such as 08:00-18:00.*got "8-25"/,
    ],
    ['windows: [{ cron: "* * * *", min: 2 }]', /schedule\.windows\.0\.cron: expected five cron fields/],
    [
      'windows: [{ cron: "* 25 * * *", min: 2 }]',
      /schedule\.windows\.0\.cron: expected a cron expression .*\("25" is not in 0-23\), got "\* 25 \* \* \*"/,
    ],
    ['windows: [{ days: mon, min: 20 }]', /schedule\.windows\.0\.min: expected at most max \(10\), got 20/],
    ['windows: [{ min: 2 }]', /schedule\.windows\.0: expected either cron, or days and\/or hours/],
  ])('refuses a bad schedule: %s', (line, message) => {
    const schedule = line.startsWith('timeZone')
      ? `{ ${line}, windows: [{ days: mon, min: 1 }] }`
      : `{ timeZone: UTC, ${line} }`;
    expect(() => parseConfig(`${base}    schedule: ${schedule}\n`, 'f.yml')).toThrow(message);
  });

  it.each([
    ['{ namespace: AWS/EC2 }', /metrics\.namespace: expected a CloudWatch namespace/],
    [
      '{ namespace: RunnerScaler, dimensions: [Pool] }',
      /metrics\.dimensions: unknown key, expected one of namespace, region/,
    ],
    ['RunnerScaler', /metrics: .*expected object.*got "RunnerScaler"/],
  ])('refuses bad metrics: %s', (value, message) => {
    expect(() => parseConfig(`${base}metrics: ${value}\n`, 'f.yml')).toThrow(message);
  });
});
