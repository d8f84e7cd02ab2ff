// Insufficient capacity: a warning while launch options remain or until capacityTimeout, then a failure.
import { describe, expect, it } from 'vitest';
import { apply } from '../../src/engine/apply.js';
import { capacityErrorOf, judgeShortage, launchOptions } from '../../src/engine/capacity.js';
import type {
  CoordinationStore,
  Ec2Gateway,
  LaunchAction,
  LaunchError,
  LaunchResult,
  Plan,
  PoolConfig,
  ShortageRecord,
} from '../../src/types.js';
import { config, MIN, NOW, pool } from './fixtures.js';

const ice = (extra: Partial<LaunchError> = {}): LaunchError => ({
  code: 'InsufficientInstanceCapacity',
  message: 'no capacity',
  ...extra,
});
const fleet = pool({
  instanceTypes: ['m7i.large', 'm6i.large'],
  market: 'spot-with-fallback',
  capacityTimeoutMs: 30 * MIN,
});
const record = (minutesAgo: number, short: string[] = []): ShortageRecord => ({
  pool: 'linux',
  since: new Date(NOW.getTime() - minutesAgo * MIN),
  lastAt: new Date(NOW.getTime() - 5 * MIN),
  short,
  expiresAt: new Date(NOW.getTime() + 55 * MIN),
});

describe('judgeShortage', () => {
  it('lists the pool’s launch options', () => {
    expect(launchOptions(fleet).map((o) => o.key)).toEqual([
      "m7i.large in the template's subnet (spot)",
      "m6i.large in the template's subnet (spot)",
      "m7i.large in the template's subnet (on-demand)",
      "m6i.large in the template's subnet (on-demand)",
    ]);
  });

  it.each<[string, PoolConfig, LaunchError[], ShortageRecord | undefined, 'warning' | 'failed', number]>([
    ['a first shortage, no option left: a warning', pool(), [ice()], undefined, 'warning', 0],
    [
      'no option left for 29m: still a warning',
      pool({ capacityTimeoutMs: 30 * MIN }),
      [ice()],
      record(29),
      'warning',
      0,
    ],
    [
      'no option left for 30m: a failure',
      pool({ capacityTimeoutMs: 30 * MIN }),
      [ice()],
      record(30),
      'failed',
      0,
    ],
    [
      'spot short for an hour, on-demand never found short: a warning',
      fleet,
      [
        ice({ market: 'spot', instanceType: 'm7i.large' }),
        ice({ market: 'spot', instanceType: 'm6i.large' }),
      ],
      record(60),
      'warning',
      2,
    ],
    [
      'on-demand short now, spot short in earlier runs, past the timeout: a failure',
      fleet,
      [ice({ market: 'on-demand' })],
      record(45, ["m7i.large in the template's subnet (spot)", "m6i.large in the template's subnet (spot)"]),
      'failed',
      0,
    ],
    [
      'one type short of four options, past the timeout: a warning',
      fleet,
      [ice({ market: 'spot', instanceType: 'm7i.large' })],
      record(45),
      'warning',
      3,
    ],
  ])('%s', (_name, thePool, errors, current, status, fallbacks) => {
    const verdict = judgeShortage(thePool, errors, current, NOW);
    expect(verdict.status).toBe(status);
    expect(verdict.shortage.fallbacks).toHaveLength(fallbacks);
    expect(verdict.record.since).toEqual(current?.since ?? NOW);
    expect(verdict.record.lastAt).toEqual(NOW);
  });

  it('says which types and zones were short, as EC2 named them', () => {
    const error = capacityErrorOf(
      'InsufficientInstanceCapacity',
      'RunInstances for pool linux failed: InsufficientInstanceCapacity: We currently do not have sufficient m7i.large capacity in the Availability Zone you requested (eu-west-1a). Our system will be working on provisioning additional capacity.',
      'on-demand',
    );
    expect(error).toMatchObject({ instanceType: 'm7i.large', zone: 'eu-west-1a', market: 'on-demand' });
    expect(judgeShortage(pool(), [error as LaunchError], undefined, NOW).shortage.short).toEqual([
      'm7i.large in eu-west-1a (on-demand)',
    ]);
    expect(capacityErrorOf('UnauthorizedOperation', 'no', 'spot')).toBeUndefined();
  });
});

describe('a launch short of capacity', () => {
  function world(result: LaunchResult | Error, shortage?: ShortageRecord) {
    const writes: string[] = [];
    const ec2 = {
      launchInstances: async () => {
        if (result instanceof Error) throw result;
        return result;
      },
    } as unknown as Ec2Gateway;
    const store = {
      recordLaunch: async () => {},
      recordShortage: async (r: ShortageRecord) =>
        void writes.push(`shortage ${r.pool} since ${r.since.toISOString()}`),
      clearShortage: async (name: string) => void writes.push(`clear ${name}`),
    } as unknown as CoordinationStore;
    const action: LaunchAction = {
      kind: 'launch',
      pool: 'linux',
      count: 2,
      clientToken: 'rs-t',
      jobIds: [],
      reason: 'demand',
      ...(shortage ? { shortage } : {}),
    };
    const thePlan: Plan = {
      mode: 'reconcile',
      now: NOW,
      actions: [action],
      pools: [],
      notes: [],
      problems: [],
    };
    const ctx = {
      gateways: {
        github: { generateJitConfig: async () => ({ runnerId: 1, encodedJitConfig: 'x' }) },
        ec2: () => ec2,
        ssm: () => ({ putSecureParameter: async () => {} }),
        store,
      },
      config: config(pool({ capacityTimeoutMs: 30 * MIN })),
      log: { info: () => {}, warning: () => {} },
      registrationUrl: 'https://github.com/acme',
      now: () => NOW.getTime(),
    } as unknown as Parameters<typeof apply>[1];
    return { run: () => apply(thePlan, ctx), writes };
  }

  it('is a warning the first time, recorded since now', async () => {
    const { run, writes } = world({ instanceIds: ['i-00000000000000001'], errors: [ice()] });
    const result = await run();
    expect(result.outcomes.find((o) => o.action === 'launch' && o.status !== 'done')).toMatchObject({
      status: 'warning',
      code: 'InsufficientInstanceCapacity',
      count: 1,
      shortage: { fallbacks: [], timeoutMs: 30 * MIN },
    });
    expect(writes).toEqual([`shortage linux since ${NOW.toISOString()}`]);
  });

  it('fails once the shortage has lasted capacityTimeout, naming it', async () => {
    const error = Object.assign(
      new Error(
        'RunInstances for pool linux failed: InsufficientInstanceCapacity: We currently do not have sufficient m7i.large capacity in the Availability Zone you requested (eu-west-1b).',
      ),
      { name: 'InsufficientInstanceCapacity', code: 'InsufficientInstanceCapacity' },
    );
    const { run, writes } = world(error, record(31));
    const [outcome] = (await run()).outcomes;
    expect(outcome).toMatchObject({
      status: 'failed',
      code: 'InsufficientInstanceCapacity',
      count: 2,
      shortage: { short: ['m7i.large in eu-west-1b (on-demand)'] },
    });
    expect(outcome?.detail).toMatch(
      /short of capacity for 31m \(capacityTimeout 30m\) with no launch option left/,
    );
    expect(writes).toEqual([`shortage linux since ${record(31).since.toISOString()}`]);
  });

  it('ends the shortage when the pool launches all it asked for', async () => {
    const { run, writes } = world(
      { instanceIds: ['i-00000000000000001', 'i-00000000000000002'], errors: [] },
      record(10),
    );
    const result = await run();
    expect(result.outcomes.filter((o) => o.status !== 'done')).toEqual([]);
    expect(writes).toEqual(['clear linux']);
  });

  it('other launch errors still fail at once', async () => {
    const { run } = world({
      instanceIds: [],
      errors: [{ code: 'InvalidLaunchTemplateName.NotFoundException', message: 'no' }],
    });
    const [outcome] = (await run()).outcomes;
    expect(outcome).toMatchObject({ status: 'failed', code: 'InvalidLaunchTemplateName.NotFoundException' });
  });
});
