// The listener's decisions with fake gateways: one at a time, requests merged, a scale-set pool grown to its
// desired size through its scale set's runner back end (never GitHub's REST JIT), the next decision free
// to start once the launch is recorded while the runner configs are still being delivered.
import { describe, expect, it } from 'vitest';
import type { ScaleSetDemand } from '../../src/engine/plan.js';
import { createMetrics } from '../../src/listen/metrics.js';
import { createScaler } from '../../src/listen/scaler.js';
import type {
  CoordinationStore,
  Ec2Gateway,
  Gateways,
  GitHubGateway,
  Instance,
  RunnerBackend,
  SsmGateway,
} from '../../src/types.js';
import { createRecordingLog } from '../github/fake-log.js';
import { ENV, config, pool } from '../engine/fixtures.js';

const POOL = pool({ scaleSet: { name: 'ci-linux' }, max: 10 });

function fakes() {
  const calls: string[] = [];
  const instances: Instance[] = [];
  let release!: () => void;
  const delivering = new Promise<void>((resolve) => (release = resolve));
  let next = 0;
  const rest = {
    listRunners: async () => [],
    generateJitConfig: async () => {
      calls.push('REST jit');
      throw new Error('a scale-set pool must not get a REST JIT config');
    },
  } as unknown as GitHubGateway;
  const backend: RunnerBackend = {
    async generateJitConfig(name) {
      calls.push(`scale-set jit ${name}`);
      await delivering;
      return { runnerId: 1, encodedJitConfig: 'secret' };
    },
    deleteRunner: async () => 'deleted',
    findRunner: async () => undefined,
  };
  const ec2 = {
    listOwnedInstances: async () => [...instances],
    describeInstances: async () => [],
    async launchInstances(request) {
      calls.push(`launch ${request.count}`);
      const ids = Array.from({ length: request.count }, () => `i-${(++next).toString(16).padStart(17, '0')}`);
      for (const id of ids) {
        instances.push({
          id,
          region: 'eu-west-1',
          state: 'pending',
          launchTime: new Date(),
          pool: 'linux',
          tags: { 'runner-scaler:environment': ENV, 'runner-scaler:pool': 'linux' },
        });
      }
      return { instanceIds: ids, errors: [] };
    },
  } as Partial<Ec2Gateway> as Ec2Gateway;
  const ssm = {
    listParameters: async () => [],
    putSecureParameter: async () => void calls.push('put'),
  } as Partial<SsmGateway> as SsmGateway;
  const store: CoordinationStore = {
    tryAcquireLease: async () => ({ acquired: true }),
    renewLease: async () => true,
    releaseLease: async () => void calls.push('lease released'),
    read: async () => ({ launches: [], breakers: [], shortages: [] }),
    recordLaunch: async (record) => void calls.push(`record ${record.state}`),
    writeBreaker: async () => true,
    recordShortage: async () => undefined,
    clearShortage: async () => undefined,
  };
  const gateways: Gateways = {
    github: rest,
    ec2: () => ec2,
    ssm: () => ssm,
    store,
    runners: (name) => (name === 'linux' ? backend : rest),
  };
  return { gateways, calls, release };
}

function scaler(gateways: Gateways, demand: () => Record<string, ScaleSetDemand>) {
  return createScaler({
    gateways,
    config: config(POOL),
    log: createRecordingLog(),
    holder: 'acme/infra#1/1',
    registrationUrl: 'https://github.com/acme',
    demand,
    metrics: createMetrics(Date.now(), ['linux']),
  });
}

describe('the listener\u2019s decisions', () => {
  it("grows the pool to its desired size through the scale set's back end", async () => {
    const f = fakes();
    const s = scaler(f.gateways, () => ({ linux: { desired: 3, waiting: 3 } }));
    s.request('launch');
    await expect.poll(() => f.calls.filter((c) => c.startsWith('scale-set jit')).length).toBe(3);
    expect(f.calls).toContain('launch 3');
    expect(f.calls).not.toContain('REST jit');
    expect(s.known('linux')).toBe(3);
    f.release();
    expect(await s.settle(2_000)).toBe(true);
    expect(f.calls.filter((c) => c === 'put')).toHaveLength(3);
  });

  it('starts the next decision once the launch is recorded, while configs are still being delivered', async () => {
    const f = fakes();
    let desired = 2;
    const s = scaler(f.gateways, () => ({ linux: { desired, waiting: desired } }));
    s.request('launch');
    await expect.poll(() => s.decisions.length).toBe(1);
    await expect.poll(() => f.calls.includes('record launched')).toBe(true);
    desired = 5;
    s.request('launch');
    // The second decision sees the first's instances and launches only the difference.
    await expect.poll(() => f.calls.filter((c) => c.startsWith('launch')).length).toBe(2);
    expect(f.calls.filter((c) => c.startsWith('launch'))).toEqual(['launch 2', 'launch 3']);
    expect(f.calls.filter((c) => c === 'put')).toHaveLength(0);
    f.release();
    expect(await s.settle(2_000)).toBe(true);
  });

  it('merges the requests that come while a decision runs into one more decision', async () => {
    const f = fakes();
    const s = scaler(f.gateways, () => ({ linux: { desired: 0, waiting: 0 } }));
    s.request('launch');
    s.request('launch');
    s.request('reconcile');
    s.request('launch');
    f.release();
    expect(await s.settle(2_000)).toBe(true);
    expect(s.decisions.map((d) => d.kind)).toEqual(['launch', 'reconcile']);
  });
});
