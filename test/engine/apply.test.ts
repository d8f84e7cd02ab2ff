import { describe, expect, it, vi } from 'vitest';
import { apply, type ApplyContext } from '../../src/engine/apply.js';
import type {
  Action,
  DeleteRunnerResult,
  Ec2Gateway,
  GitHubGateway,
  Instance,
  Plan,
  Runner,
  SsmGateway,
  TerminateResult,
} from '../../src/types.js';
import { ENV, NOW, config, instanceId } from './fixtures.js';

interface FakeOptions {
  launchIds?: string[];
  launchErrors?: { code: string; message: string }[];
  jitFailsFor?: string[];
  deleteRunner?: (id: number) => DeleteRunnerResult | Error;
  fresh?: (id: string) => Partial<Instance> | undefined;
  describeFails?: boolean;
  terminate?: (ids: string[]) => TerminateResult;
  /** Every TerminateInstances call is answered only once this settles. */
  terminateWaits?: Promise<void>;
  /** The runner a name lookup finds (or an error it throws); none by default. */
  findRunner?: (name: string) => Runner | Error | undefined;
  /** Milliseconds each DELETE takes on the fake clock (the paced write rate is 340). Default 0. */
  deleteMs?: number;
}

/** Plain fakes that record every call in order. */
function fakes(options: FakeOptions = {}) {
  const calls: string[] = [];
  const clock = { ms: 0 };
  /** Per instance id: the fake time of the last DescribeInstances that covered it. */
  const describedAt = new Map<string, number>();
  /** Per runner id: how old its instance's evidence was when its DELETE went out. */
  const evidenceAge = new Map<number, number>();
  /** DELETEs go out one at a time, as the throttling plugin's write queue sends them. */
  let writeQueue: Promise<unknown> = Promise.resolve();
  const github: GitHubGateway = {
    listRunners: async () => [],
    findRunner: async (name) => {
      calls.push(`find ${name}`);
      const found = options.findRunner?.(name);
      if (found instanceof Error) throw found;
      return found;
    },
    generateJitConfig: async (name) => {
      calls.push(`jit ${name}`);
      if (options.jitFailsFor?.some((id) => name.endsWith(id)))
        throw Object.assign(new Error('boom'), { status: 500 });
      return { runnerId: 1, encodedJitConfig: `secret-${name}` };
    },
    createRegistrationToken: async () => {
      calls.push('registration-token');
      return { token: 'tok', expiresAt: '' };
    },
    deleteRunner: (id, beforeSend) => {
      const send = async (): Promise<DeleteRunnerResult> => {
        clock.ms += options.deleteMs ?? 0;
        if (beforeSend && !(await beforeSend())) {
          calls.push(`cancelled ${id}`);
          return 'cancelled';
        }
        evidenceAge.set(id, clock.ms - (describedAt.get(instanceId(id)) ?? -Infinity));
        calls.push(`unregister ${id}`);
        const result = options.deleteRunner?.(id) ?? 'deleted';
        if (result instanceof Error) throw result;
        return result;
      };
      const sent = writeQueue.then(send);
      writeQueue = sent.catch(() => {});
      return sent;
    },
    listQueuedJobs: async () => [],
    listQueuedJobsOfRun: async () => [],
  };
  const ec2: Ec2Gateway = {
    listOwnedInstances: async () => [],
    describeInstances: async (ids) => {
      calls.push(`describe ${ids.length}`);
      for (const id of ids) describedAt.set(id, clock.ms);
      if (options.describeFails)
        throw Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded' });
      return ids.map((id) => ({
        id,
        region: 'eu-west-1',
        state: 'running',
        launchTime: new Date(NOW.getTime() - 3_600_000),
        tags: { 'runner-scaler:environment': ENV },
        ...options.fresh?.(id),
      }));
    },
    launchInstances: async (request) => {
      calls.push(`launch ${request.count} token=${request.clientToken}`);
      return { instanceIds: options.launchIds ?? [], errors: options.launchErrors ?? [] };
    },
    terminateInstances: async (ids) => {
      calls.push(`terminate ${ids.join(',')}`);
      await options.terminateWaits;
      return options.terminate?.(ids) ?? { terminated: ids, notFound: [], failed: [] };
    },
    createTags: async (ids, tags) => void calls.push(`tag ${ids.length} ${Object.keys(tags).join(',')}`),
    deleteTags: async (ids) => void calls.push(`untag ${ids.length}`),
  };
  const ssm: SsmGateway = {
    putSecureParameter: async (name) => void calls.push(`put ${name}`),
    listParameters: async () => [],
    deleteParameters: async (names) => {
      calls.push(`delete-parameters ${names.join(',')}`);
      return { deleted: names, invalid: [], failed: [] };
    },
  };
  const ctx: ApplyContext = {
    gateways: { github, ec2: () => ec2, ssm: () => ssm },
    config: config(),
    log: { info: () => {}, warning: () => {} },
    registrationUrl: 'https://github.com/acme',
    now: () => clock.ms,
  };
  return { ctx, calls, clock, evidenceAge };
}

const planOf = (...actions: Action[]): Plan => ({
  mode: 'reconcile',
  now: NOW,
  actions,
  pools: [],
  notes: [],
  problems: [],
});

const removeRunner = (n: number, extra: Partial<Action> = {}): Action =>
  ({
    kind: 'remove-runner',
    pool: 'linux',
    runnerId: n,
    runnerName: `${ENV}-${instanceId(n)}`,
    instanceId: instanceId(n),
    region: 'eu-west-1',
    parameter: `/runner-scaler/${ENV}/${instanceId(n)}`,
    reason: 'idle',
    ...extra,
  }) as Action;

describe('apply: launch', () => {
  const launch: Action = {
    kind: 'launch',
    pool: 'linux',
    count: 3,
    clientToken: 'rs-abc',
    jobIds: [1, 2, 3],
    reason: 'demand',
  };

  it('launches, then generates a JIT config and writes its parameter per instance', async () => {
    const ids = [instanceId(1), instanceId(2), instanceId(3)];
    const { ctx, calls } = fakes({ launchIds: ids });
    const result = await apply(planOf(launch), ctx);
    expect(result.launched).toBe(3);
    expect(calls[0]).toBe('launch 3 token=rs-abc');
    for (const id of ids) {
      expect(calls).toContain(`jit ${ENV}-${id}`);
      expect(calls).toContain(`put /runner-scaler/${ENV}/${id}`);
    }
    expect(result.outcomes.filter((o) => o.status === 'done')).toHaveLength(4);
    expect(JSON.stringify(result.outcomes)).not.toContain('secret-');
  });

  it('reports a partial launch precisely: launched, and the shortfall with its error code', async () => {
    const { ctx } = fakes({
      launchIds: [instanceId(1)],
      launchErrors: [{ code: 'InsufficientInstanceCapacity', message: 'no m7i.large in eu-west-1a' }],
    });
    const result = await apply(planOf(launch), ctx);
    expect(result.launched).toBe(1);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({
        action: 'launch',
        status: 'done',
        detail: expect.stringMatching(/^1 of 3 launched/),
      }),
    );
    // Short of capacity for the first time: a warning, not yet a failure (engine/capacity.ts).
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ action: 'launch', status: 'warning', code: 'InsufficientInstanceCapacity' }),
    );
  });

  it('terminates an instance whose JIT config could not be generated', async () => {
    const ids = [instanceId(1), instanceId(2)];
    const { ctx, calls } = fakes({ launchIds: ids, jitFailsFor: [instanceId(2)] });
    const result = await apply(planOf(launch), ctx);
    expect(calls).toContain(`terminate ${instanceId(2)}`);
    expect(calls).not.toContain(`put /runner-scaler/${ENV}/${instanceId(2)}`);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ action: 'register', status: 'failed', code: 'HTTP 500' }),
    );
  });

  it('configures the booting instances a launch adopts, and never terminates them when that fails', async () => {
    const adopted = [instanceId(7), instanceId(8)];
    const { ctx, calls } = fakes({ launchIds: [], jitFailsFor: [instanceId(8)] });
    const adopting = { ...launch, count: 0, adopt: adopted } as Action;
    const result = await apply(planOf(adopting), ctx);
    expect(result.launched).toBe(0);
    expect(calls).toContain(`put /runner-scaler/${ENV}/${instanceId(7)}`);
    expect(calls.some((c) => c.startsWith('terminate'))).toBe(false);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({
        target: `${ENV}-${instanceId(7)}`,
        status: 'done',
        reason: 'JIT config delivered to a booting instance without one',
      }),
    );
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ target: `${ENV}-${instanceId(8)}`, status: 'failed' }),
    );
  });

  it('token registration: one token and one pool parameter for the whole launch', async () => {
    const { ctx, calls } = fakes({ launchIds: [instanceId(1), instanceId(2)] });
    ctx.config = config({ ...ctx.config.pools[0]!, registration: 'token' });
    await apply(planOf(launch), ctx);
    expect(calls.filter((c) => c === 'registration-token')).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith('put '))).toEqual([`put /runner-scaler/${ENV}/pools/linux`]);
    expect(calls.some((c) => c.startsWith('jit'))).toBe(false);
  });
});

describe('apply: removal', () => {
  it('re-checks right before each group of 5 unregisters; terminates in batches of 100 after the unregisters', async () => {
    const { ctx, calls } = fakes();
    await apply(planOf(...Array.from({ length: 220 }, (_, i) => removeRunner(i + 1))), ctx);
    const steps = calls
      .map((c) => c.split(' ')[0])
      .filter((c) => c === 'describe' || c === 'unregister')
      .filter((c, i, all) => c !== all[i - 1]);
    expect(steps).toEqual(Array.from({ length: 44 }, () => ['describe', 'unregister']).flat());
    expect(calls.filter((c) => c.startsWith('describe'))).toEqual(
      Array.from({ length: 44 }, () => 'describe 5'),
    );
    // Each batch is terminated after its own unregisters, and only its own instances.
    const terminates = calls.filter((c) => c.startsWith('terminate'));
    expect(terminates.map((c) => c.split(',').length)).toEqual([100, 100, 20]);
    for (const call of terminates) {
      const lastId = call.split(',').at(-1) as string;
      const runner = Number.parseInt(lastId.slice(-8), 16);
      expect(calls.indexOf(call)).toBeGreaterThan(calls.indexOf(`unregister ${runner}`));
    }
  });

  it('no DELETE acts on evidence older than 2 s, at the paced write rate or when held up longer', async () => {
    for (const deleteMs of [340, 900]) {
      const { ctx, calls, evidenceAge } = fakes({ deleteMs });
      await apply(planOf(...Array.from({ length: 40 }, (_, i) => removeRunner(i + 1))), ctx);
      expect(evidenceAge.size, `${deleteMs} ms a DELETE`).toBe(40);
      for (const [runner, age] of evidenceAge) expect(age, `runner ${runner}`).toBeLessThanOrEqual(2_000);
      // At the paced rate the group's own re-check suffices; held up, each late DELETE is re-checked alone.
      const alone = calls.filter((c) => c === 'describe 1').length;
      if (deleteMs === 340) expect(alone).toBe(0);
      else expect(alone).toBeGreaterThan(0);
    }
  });

  it('a job that starts while a DELETE waits for its turn cancels that DELETE', async () => {
    let started = false;
    const { ctx, calls } = fakes({
      deleteMs: 900,
      fresh: (id) => (id === instanceId(4) && started ? { jobStartedAt: NOW } : {}),
    });
    ctx.gateways.github.deleteRunner = ((inner) => async (id, beforeSend) => {
      if (id === 2) started = true; // the job starts on runner 4 after the group was checked
      return inner(id, beforeSend);
    })(ctx.gateways.github.deleteRunner);
    const result = await apply(planOf(...Array.from({ length: 5 }, (_, i) => removeRunner(i + 1))), ctx);
    expect(calls).toContain('cancelled 4');
    expect(calls).not.toContain('unregister 4');
    expect(calls.join(' ')).not.toContain(instanceId(4));
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ target: `${ENV}-${instanceId(4)}`, status: 'skipped', code: 'busy' }),
    );
  });

  it("a batch's terminations do not hold up the next unregisters; parameters go with each runner's 204", async () => {
    let release!: () => void;
    const { ctx, calls } = fakes({ terminateWaits: new Promise<void>((resolve) => (release = resolve)) });
    const done = apply(planOf(...Array.from({ length: 150 }, (_, i) => removeRunner(i + 1))), ctx);
    await vi.waitFor(() => expect(calls).toContain('unregister 150'));
    // The first batch's TerminateInstances went out after the 100th unregister and is still unanswered.
    const first = calls.findIndex((c) => c.startsWith('terminate'));
    expect(first).toBeGreaterThan(calls.indexOf('unregister 100'));
    expect(first).toBeLessThan(calls.indexOf('unregister 101'));
    expect(calls.filter((c) => c.startsWith('delete-parameters')).length).toBeGreaterThanOrEqual(10);
    release();
    const result = await done;
    expect(result.outcomes.filter((o) => o.action === 'terminate' && o.status === 'done')).toHaveLength(150);
    expect(calls.filter((c) => c.startsWith('delete-parameters'))).toHaveLength(15);
  });

  it('unregisters, then terminates, then deletes the parameters, in that order', async () => {
    const { ctx, calls } = fakes();
    await apply(planOf(removeRunner(1), removeRunner(2)), ctx);
    expect(calls).toEqual([
      'describe 2',
      'unregister 1',
      'unregister 2',
      `terminate ${instanceId(1)},${instanceId(2)}`,
      `delete-parameters /runner-scaler/${ENV}/${instanceId(1)},/runner-scaler/${ENV}/${instanceId(2)}`,
    ]);
    // The parameters are deleted because the runners they configure are gone (not because of the terminate).
  });

  it('a 422 busy answer keeps the runner and its instance: skipped, not failed', async () => {
    const { ctx, calls } = fakes({ deleteRunner: (id) => (id === 1 ? 'busy' : 'deleted') });
    const result = await apply(planOf(removeRunner(1), removeRunner(2)), ctx);
    expect(calls).toContain(`terminate ${instanceId(2)}`);
    expect(calls.join('\n')).not.toContain(`terminate ${instanceId(1)}`);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ status: 'skipped', code: 'busy', action: 'unregister' }),
    );
  });

  it('a 404 means another run or the runner itself got there first: its instance is not terminated twice', async () => {
    const { ctx, calls } = fakes({ deleteRunner: (id) => (id === 1 ? 'not-found' : 'deleted') });
    const result = await apply(planOf(removeRunner(1), removeRunner(2)), ctx);
    expect(calls).toContain(`terminate ${instanceId(2)}`);
    expect(calls.filter((c) => c.startsWith('terminate'))).toEqual([`terminate ${instanceId(2)}`]);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ action: 'unregister', status: 'done', detail: 'already unregistered' }),
    );
  });

  it('an orphan already shutting down when re-checked is not terminated again', async () => {
    const { ctx, calls } = fakes({ fresh: (id) => (id === instanceId(1) ? { state: 'shutting-down' } : {}) });
    const orphan = (n: number): Action => ({
      kind: 'terminate',
      pool: 'linux',
      instanceId: instanceId(n),
      region: 'eu-west-1',
      reason: 'orphan',
    });
    const result = await apply(planOf(orphan(1), orphan(2)), ctx);
    expect(calls.filter((c) => c.startsWith('terminate'))).toEqual([`terminate ${instanceId(2)}`]);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ target: instanceId(1), status: 'skipped', code: 'changed' }),
    );
  });

  const orphanOf = (n: number): Action => ({
    kind: 'terminate',
    pool: 'linux',
    instanceId: instanceId(n),
    region: 'eu-west-1',
    reason: 'orphan',
  });

  it("looks an orphan's runner up by name before terminating it: one the paged listing missed is kept", async () => {
    const missed = `${ENV}-${instanceId(1)}`;
    const { ctx, calls } = fakes({
      findRunner: (name) =>
        name === missed ? { id: 7, name, status: 'online', busy: true, labels: ['self-hosted'] } : undefined,
    });
    const result = await apply(planOf(orphanOf(1), orphanOf(2)), ctx);
    expect(calls).toContain(`find ${missed}`);
    expect(calls).toContain(`find ${ENV}-${instanceId(2)}`);
    expect(calls.filter((c) => c.startsWith('terminate'))).toEqual([`terminate ${instanceId(2)}`]);
    expect(calls.indexOf(`find ${ENV}-${instanceId(2)}`)).toBeLessThan(
      calls.indexOf(`terminate ${instanceId(2)}`),
    );
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({
        target: instanceId(1),
        status: 'skipped',
        code: 'changed',
        detail: expect.stringContaining('(id 7) is registered after all'),
      }),
    );
  });

  it('an orphan whose runner lookup fails is kept and the item fails', async () => {
    const { ctx, calls } = fakes({
      findRunner: () => Object.assign(new Error('bad gateway'), { status: 502 }),
    });
    const result = await apply(planOf(orphanOf(1)), ctx);
    expect(calls.some((c) => c.startsWith('terminate') || c.startsWith('describe'))).toBe(false);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ target: instanceId(1), status: 'failed', code: 'HTTP 502' }),
    ]);
  });

  it('an unregister error keeps the instance running and fails the item', async () => {
    const { ctx, calls } = fakes({
      deleteRunner: () => Object.assign(new Error('bad gateway'), { status: 502 }),
    });
    const result = await apply(planOf(removeRunner(1)), ctx);
    expect(calls.some((c) => c.startsWith('terminate'))).toBe(false);
    expect(result.outcomes).toContainEqual(expect.objectContaining({ status: 'failed', code: 'HTTP 502' }));
  });

  it('an instance that reported a job start right before is not unregistered (lagging busy flag)', async () => {
    const { ctx, calls } = fakes({ fresh: (id) => (id === instanceId(1) ? { jobStartedAt: NOW } : {}) });
    const result = await apply(planOf(removeRunner(1), removeRunner(2)), ctx);
    expect(calls).not.toContain('unregister 1');
    expect(calls).toContain('unregister 2');
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ status: 'skipped', code: 'busy', target: `${ENV}-${instanceId(1)}` }),
    );
  });

  it('never touches an instance without this environment tag', async () => {
    const { ctx, calls } = fakes({ fresh: () => ({ tags: { 'runner-scaler:environment': 'other' } }) });
    const result = await apply(planOf(removeRunner(1)), ctx);
    expect(calls).toEqual(['describe 1']);
    expect(result.outcomes[0]).toMatchObject({ status: 'skipped', code: 'protected' });
  });

  it('when the re-check cannot be read, nothing is removed', async () => {
    const { ctx, calls } = fakes({ describeFails: true });
    const result = await apply(planOf(removeRunner(1)), ctx);
    expect(calls).toEqual(['describe 1']);
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', code: 'RequestLimitExceeded' });
  });

  it('a terminate batch with one bad id: the others terminate, and an orphan keeps its parameter until it did', async () => {
    const orphanWithParameter = (n: number): Action => ({
      kind: 'terminate',
      pool: 'linux',
      instanceId: instanceId(n),
      region: 'eu-west-1',
      parameter: `/runner-scaler/${ENV}/${instanceId(n)}`,
      reason: 'orphan',
    });
    const actions = Array.from({ length: 100 }, (_, i) => orphanWithParameter(i + 1));
    const bad = instanceId(50);
    const stuck = instanceId(60);
    const { ctx, calls } = fakes({
      terminate: (ids) => ({
        terminated: ids.filter((id) => id !== bad && id !== stuck),
        notFound: ids.filter((id) => id === bad),
        failed: ids
          .filter((id) => id === stuck)
          .map((id) => ({ id, code: 'UnauthorizedOperation', message: 'denied' })),
      }),
    });
    const result = await apply(planOf(...actions), ctx);
    const deleted = calls
      .filter((c) => c.startsWith('delete-parameters'))
      .flatMap((c) => c.slice(18).split(','));
    expect(deleted).toHaveLength(99);
    expect(deleted).toContain(`/runner-scaler/${ENV}/${bad}`);
    expect(deleted).not.toContain(`/runner-scaler/${ENV}/${stuck}`);
    expect(result.outcomes.filter((o) => o.action === 'terminate' && o.status === 'done')).toHaveLength(99);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({
        action: 'terminate',
        target: stuck,
        status: 'failed',
        code: 'UnauthorizedOperation',
      }),
    );
  });

  it("a runner's parameter is deleted after its 204 even when its instance then fails to terminate", async () => {
    const stuck = instanceId(2);
    const { ctx, calls } = fakes({
      terminate: (ids) => ({
        terminated: ids.filter((id) => id !== stuck),
        notFound: [],
        failed: [{ id: stuck, code: 'UnauthorizedOperation', message: 'denied' }],
      }),
    });
    const result = await apply(planOf(removeRunner(1), removeRunner(2)), ctx);
    expect(calls.filter((c) => c.startsWith('delete-parameters')).join()).toContain(stuck);
    expect(result.outcomes).toContainEqual(
      expect.objectContaining({ action: 'terminate', target: stuck, status: 'failed' }),
    );
  });

  it('ghost runners are unregistered without any EC2 call; leaked parameters deleted', async () => {
    const { ctx, calls } = fakes();
    await apply(
      planOf(
        { kind: 'remove-runner', runnerId: 9, runnerName: `${ENV}-i-0dead`, reason: 'ghost' },
        {
          kind: 'delete-parameter',
          name: '/runner-scaler/ci/i-0dead',
          region: 'eu-west-1',
          reason: 'leaked',
        },
      ),
      ctx,
    );
    expect(calls.sort()).toEqual(['delete-parameters /runner-scaler/ci/i-0dead', 'unregister 9']);
  });

  it('idle tags: one call per action for all its instances', async () => {
    const { ctx, calls } = fakes();
    await apply(
      planOf(
        { kind: 'mark-idle', region: 'eu-west-1', instanceIds: ['i-1', 'i-2'], since: NOW, reason: 'first' },
        { kind: 'clear-idle', region: 'eu-west-1', instanceIds: ['i-3'], reason: 'busy' },
      ),
      ctx,
    );
    expect(calls).toEqual(['tag 2 runner-scaler:idle-since', 'untag 1']);
  });
});
