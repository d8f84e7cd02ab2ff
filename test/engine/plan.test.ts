import { describe, expect, it } from 'vitest';
import { clientToken, plan, type PlanOptions } from '../../src/engine/plan.js';
import type { Action, Mode, PoolConfig } from '../../src/types.js';
import { ENV, NOW, config, instanceId, pool, snapshot, times, type World } from './fixtures.js';

function run(
  world: World,
  mode: Mode,
  poolOverrides: Partial<PoolConfig> = {},
  options: Partial<PlanOptions> = {},
) {
  return plan(snapshot(world), config(pool(poolOverrides)), {
    mode,
    now: NOW,
    runKey: '42/1',
    ...options,
  });
}

const kinds = (actions: Action[]) => actions.map((a) => a.kind);
const launched = (actions: Action[]) => actions.reduce((n, a) => n + (a.kind === 'launch' ? a.count : 0), 0);
const removed = (actions: Action[]) =>
  actions.filter((a) => a.kind === 'remove-runner' || a.kind === 'terminate');

const linuxJobs = (count: number) => ({ labels: ['self-hosted', 'linux'], count });

describe('plan: scale-up demand', () => {
  const cases: {
    name: string;
    world: World;
    pool?: Partial<PoolConfig>;
    mode?: Mode;
    launch: number;
  }[] = [
    { name: 'no jobs, no min: nothing', world: {}, launch: 0 },
    {
      name: '250 queued jobs, empty pool: 250',
      world: { jobs: [linuxJobs(250)] },
      pool: { max: 300 },
      launch: 250,
    },
    {
      name: 'idle runners serve jobs first',
      world: { jobs: [linuxJobs(5)], members: times(3, { age: 20, runner: 'idle' }) },
      launch: 2,
    },
    {
      name: 'booting instances count as supply',
      world: { jobs: [linuxJobs(5)], members: times(4, { age: 1, runner: 'none' }) },
      launch: 1,
    },
    {
      name: 'a booting instance with a pre-registered offline runner counts once, not twice',
      world: { jobs: [linuxJobs(4)], members: times(2, { age: 1, runner: 'offline' }) },
      launch: 2,
    },
    {
      name: 'busy runners are not supply',
      world: { jobs: [linuxJobs(3)], members: times(3, { age: 20, runner: 'busy' }) },
      launch: 3,
    },
    {
      name: 'an idle runner whose instance reported a job start is busy, not supply',
      world: { jobs: [linuxJobs(1)], members: [{ age: 20, runner: 'idle', jobStarted: 0.2 }] },
      launch: 1,
    },
    {
      name: 'capped by max (busy runners count)',
      world: { jobs: [linuxJobs(50)], members: times(8, { age: 20, runner: 'busy' }) },
      pool: { max: 10 },
      launch: 2,
    },
    {
      name: 'max reached: nothing',
      world: { jobs: [linuxJobs(5)], members: times(10, { age: 20, runner: 'busy' }) },
      pool: { max: 10 },
      launch: 0,
    },
    { name: 'min idle deficit on an empty pool', world: {}, pool: { min: 3 }, launch: 3 },
    {
      name: 'min counts idle left after serving jobs',
      world: { jobs: [linuxJobs(2)], members: times(3, { age: 20, runner: 'idle' }) },
      pool: { min: 2 },
      launch: 1,
    },
    {
      name: 'jobs whose labels the pool lacks are not demand',
      world: {
        jobs: [
          { labels: ['self-hosted', 'gpu'], count: 4 },
          { labels: ['ubuntu-latest'], count: 3 },
        ],
      },
      launch: 0,
    },
    {
      name: 'labels match case-insensitively, self-hosted implied',
      world: { jobs: [{ labels: ['Linux', 'X64'], count: 2 }] },
      launch: 2,
    },
    {
      name: 'instances leaving (shutting-down) are not supply',
      world: { jobs: [linuxJobs(2)], members: times(2, { age: 20, runner: 'none', state: 'shutting-down' }) },
      launch: 2,
    },
    {
      name: 'reconcile launches too',
      world: { jobs: [linuxJobs(2)] },
      mode: 'reconcile',
      launch: 2,
    },
    { name: 'scale-down never launches', world: { jobs: [linuxJobs(2)] }, mode: 'scale-down', launch: 0 },
    {
      name: 'drain never launches',
      world: { jobs: [linuxJobs(2)] },
      pool: { min: 2 },
      mode: 'drain',
      launch: 0,
    },
    {
      name: 'instances read failed: nothing launched',
      world: { jobs: [linuxJobs(2)], incomplete: ['instances'] },
      launch: 0,
    },
    {
      name: 'runners read failed: nothing launched',
      world: { jobs: [linuxJobs(2)], incomplete: ['runners'] },
      launch: 0,
    },
    {
      name: 'jobs read partial: launches for the jobs seen',
      world: { jobs: [linuxJobs(2)], incomplete: ['jobs'] },
      launch: 2,
    },
  ];
  it.each(cases)('$name', ({ world, pool: p, mode, launch }) => {
    const result = run(world, mode ?? 'scale-up', p);
    expect(launched(result.actions)).toBe(launch);
  });

  it('an explicit count launches that many regardless of jobs, capped by max, with the run-unique label', () => {
    const result = run(
      { members: times(8, { age: 20, runner: 'busy' }) },
      'scale-up',
      { max: 10 },
      {
        count: 5,
        pool: 'linux',
        reservedLabel: 'runner-scaler-ci-linux-42-1',
      },
    );
    const launch = result.actions.find((a) => a.kind === 'launch');
    expect(launch).toMatchObject({
      count: 2,
      reservedLabel: 'runner-scaler-ci-linux-42-1',
      labels: ['runner-scaler-ci-linux-42-1'],
    });
    expect(launch?.reason).toMatch(/capped by max 10/);
  });

  it('the same demand seen by two runs gives the same ClientToken; other demand another', () => {
    const world: World = {
      jobs: [linuxJobs(10)],
      members: times(2, { age: 20, runner: 'idle', id: 'i-0aa' }),
    };
    const a = run(world, 'scale-up').actions.find((x) => x.kind === 'launch');
    const b = run(world, 'reconcile').actions.find((x) => x.kind === 'launch');
    const c = run({ jobs: [linuxJobs(11)] }, 'scale-up').actions.find((x) => x.kind === 'launch');
    expect(a?.kind === 'launch' && a.clientToken).toBe(b?.kind === 'launch' && b.clientToken);
    expect(a?.kind === 'launch' && a.clientToken).not.toBe(c?.kind === 'launch' && c.clientToken);
    expect(a?.kind === 'launch' && a.clientToken.length).toBeLessThanOrEqual(64);
  });

  it('the same demand in a later cron window gets a new ClientToken (the old instances may be gone)', () => {
    const token = (now: Date) => {
      const launch = plan(snapshot({ jobs: [linuxJobs(3)] }), config(pool()), {
        mode: 'reconcile',
        now,
        runKey: 'r',
      }).actions.find((a) => a.kind === 'launch');
      return launch?.kind === 'launch' ? launch.clientToken : '';
    };
    const windowStart = new Date(Math.floor(NOW.getTime() / 300_000) * 300_000);
    expect(token(windowStart)).toBe(token(new Date(windowStart.getTime() + 299_000)));
    expect(token(windowStart)).not.toBe(token(new Date(windowStart.getTime() + 300_000)));
  });

  it('a launch replacing dead instances within the window gets a new ClientToken, not a replay of theirs', () => {
    const token = (world: World) => {
      const launch = run(world, 'reconcile').actions.find((a) => a.kind === 'launch');
      return launch?.kind === 'launch' ? launch.clientToken : '';
    };
    const first = token({ jobs: [linuxJobs(2)] });
    // The two instances that launch created never came up: the same jobs are still queued.
    const neverBooted = times(2, { age: 11, runner: 'offline' }).map((m, i) => ({ ...m, id: `i-0dead${i}` }));
    const dying = times(2, { age: 1, state: 'shutting-down', runner: 'none' } as const);
    expect(token({ jobs: [linuxJobs(2)], members: neverBooted })).not.toBe(first);
    expect(token({ jobs: [linuxJobs(2)], members: dying })).not.toBe(first);
    // Two runs seeing the same dead instances still agree.
    expect(token({ jobs: [linuxJobs(2)], members: neverBooted })).toBe(
      token({ jobs: [linuxJobs(2)], members: neverBooted }),
    );
  });

  it('booting instances left without a runner config past half their bootTimeout are configured, not relaunched', () => {
    const unconfigured = [
      { age: 6, runner: 'none' as const, id: 'i-0000000000000000a' },
      { age: 7, runner: 'offline' as const, id: 'i-0000000000000000b' },
    ];
    const result = run({ jobs: [linuxJobs(2)], members: unconfigured }, 'reconcile');
    const launch = result.actions.find((a) => a.kind === 'launch');
    expect(launch).toMatchObject({ count: 0, adopt: ['i-0000000000000000a', 'i-0000000000000000b'] });
    expect(launch?.reason).toMatch(/^configure 2 booting instance\(s\) without a runner config/);
  });

  it('does not adopt what may still be configured: young, with a parameter, online, started, or a partial read', () => {
    const adopted = (world: World, mode: 'reconcile' | 'scale-down' = 'reconcile') =>
      run(world, mode).actions.flatMap((a) => (a.kind === 'launch' ? (a.adopt ?? []) : []));
    expect(adopted({ members: [{ age: 4, runner: 'none' }] })).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'none', parameter: true }] })).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'idle' }] })).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'offline', jobStarted: 1 }] })).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'none' }], incomplete: ['parameters'] })).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'none' }] }, 'scale-down')).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'none', pool: 'retired' }] })).toEqual([]);
    expect(adopted({ members: [{ age: 6, runner: 'none' }] })).toHaveLength(1);
  });

  it('the jobs served are the ones beyond the supply, identified by id', () => {
    const result = run({ jobs: [linuxJobs(5)], members: times(2, { age: 20, runner: 'idle' }) }, 'scale-up');
    const launch = result.actions.find((a) => a.kind === 'launch');
    expect(launch?.kind === 'launch' && launch.jobIds).toEqual([3, 4, 5]);
  });

  it('the ClientToken of an explicit count comes from run id, attempt, pool and count', () => {
    const result = run({}, 'scale-up', {}, { count: 3, pool: 'linux' });
    const launch = result.actions.find((a) => a.kind === 'launch');
    expect(launch?.kind === 'launch' && launch.clientToken).toBe(clientToken(['count', '42/1', 'linux', 3]));
  });

  it('a job matching two pools goes to the first pool in file order', () => {
    const small = pool({ name: 'small', labels: ['linux'] });
    const big = pool({ name: 'big', labels: ['linux', 'big'] });
    const result = plan(snapshot({ jobs: [{ labels: ['linux'], count: 3 }] }), config(small, big), {
      mode: 'scale-up',
      now: NOW,
      runKey: 'r',
    });
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'launch', pool: 'small', count: 3 })]);
  });
});

describe('plan: idle removal (scale-down, reconcile)', () => {
  const cases: { name: string; world: World; pool?: Partial<PoolConfig>; remove: number; tag?: number }[] = [
    {
      name: 'idle once is not enough: first sighting only tags',
      world: { members: times(3, { age: 30, runner: 'idle' }) },
      remove: 0,
      tag: 3,
    },
    {
      name: 'seen idle twice idleTimeout apart: removed',
      world: { members: times(3, { age: 30, runner: 'idle', idleFor: 6 }) },
      remove: 3,
    },
    {
      name: 'second sighting before idleTimeout: kept',
      world: { members: times(3, { age: 30, runner: 'idle', idleFor: 4 }) },
      remove: 0,
    },
    {
      name: 'min idle runners are kept',
      world: { members: times(5, { age: 30, runner: 'idle', idleFor: 10 }) },
      pool: { min: 2 },
      remove: 3,
    },
    {
      name: 'younger than minLifetime: kept',
      world: { members: times(2, { age: 1, runner: 'idle', idleFor: 6 }) },
      pool: { idleTimeoutMs: 0 },
      remove: 0,
    },
    {
      name: 'idle runners needed by queued jobs are kept',
      world: { members: times(4, { age: 30, runner: 'idle', idleFor: 10 }), jobs: [linuxJobs(3)] },
      remove: 1,
    },
    {
      name: 'busy runners are never removed',
      world: { members: times(4, { age: 30, runner: 'busy', idleFor: 60 }) },
      remove: 0,
    },
    {
      name: 'busy flag lagging: the instance reported a job start, so kept',
      world: { members: [{ age: 30, runner: 'idle', idleFor: 10, jobStarted: 0.5 }] },
      remove: 0,
    },
    {
      name: 'past maxLifetime and seen idle before: removed even within min',
      world: { members: times(2, { age: 25 * 60, runner: 'idle', idleFor: 1 }) },
      pool: { min: 2 },
      remove: 2,
    },
    {
      name: 'past maxLifetime but busy: kept (an ephemeral runner leaves after its job)',
      world: { members: times(2, { age: 25 * 60, runner: 'busy', idleFor: 1 }) },
      remove: 0,
    },
    {
      name: 'a partial read holds every removal back',
      world: { members: times(3, { age: 30, runner: 'idle', idleFor: 10 }), incomplete: ['parameters'] },
      remove: 0,
      tag: 0,
    },
    {
      name: 'a failed jobs read holds removal back (runners may be needed)',
      world: { members: times(3, { age: 30, runner: 'idle', idleFor: 10 }), incomplete: ['jobs'] },
      remove: 0,
    },
  ];
  it.each(cases)('$name', ({ world, pool: p, remove, tag }) => {
    for (const mode of ['scale-down', 'reconcile'] as const) {
      const result = run(world, mode, p);
      expect(removed(result.actions)).toHaveLength(remove);
      if (tag !== undefined) {
        const marked = result.actions.flatMap((a) => (a.kind === 'mark-idle' ? a.instanceIds : []));
        expect(marked).toHaveLength(tag);
      }
    }
  });

  it('removes the oldest idle runners first and says why', () => {
    const members = [
      { age: 30, runner: 'idle' as const, idleFor: 10, id: instanceId(9001) },
      { age: 90, runner: 'idle' as const, idleFor: 10, id: instanceId(9002) },
      { age: 60, runner: 'idle' as const, idleFor: 10, id: instanceId(9003) },
    ];
    const result = run({ members }, 'scale-down', { min: 1 });
    const removals = removed(result.actions);
    expect(removals.map((a) => a.instanceId)).toEqual([instanceId(9002), instanceId(9003)]);
    expect(removals[0]).toMatchObject({
      kind: 'remove-runner',
      runnerName: `${ENV}-${instanceId(9002)}`,
      reason: 'idle 10m (idleTimeout 5m), above min 1',
    });
  });

  it('clears the idle-since tag of a runner that became busy', () => {
    const result = run(
      { members: [{ age: 30, runner: 'busy', idleFor: 3, id: instanceId(77) }] },
      'reconcile',
    );
    expect(result.actions).toContainEqual(
      expect.objectContaining({ kind: 'clear-idle', instanceIds: [instanceId(77)] }),
    );
  });

  it('the notes say why nothing was removed', () => {
    const result = run(
      { members: times(1, { age: 30, runner: 'idle', idleFor: 10 }), incomplete: ['runners'] },
      'scale-down',
    );
    expect(result.notes.join('\n')).toMatch(/nothing removed: .*runners read failed/);
  });
});

describe('plan: dead things', () => {
  const cases: { name: string; world: World; kinds: Action['kind'][]; reason?: RegExp }[] = [
    {
      name: 'orphan: no runner after bootTimeout → terminate (a boot failure for the breaker)',
      world: { members: [{ age: 11, runner: 'none' }] },
      kinds: ['terminate', 'breaker'],
      reason: /orphan: no runner registered 11m after launch|instance\(s\) died at bootTimeout/,
    },
    { name: 'booting within bootTimeout: kept', world: { members: [{ age: 9, runner: 'none' }] }, kinds: [] },
    {
      name: 'stale, first sighting: only tagged (a runner can be offline for a moment)',
      world: { members: [{ age: 11, runner: 'offline' }] },
      kinds: ['mark-stale'],
    },
    {
      name: 'stale, seen offline again idleTimeout later: unregister, then terminate',
      world: { members: [{ age: 11, runner: 'offline', staleFor: 6 }] },
      kinds: ['remove-runner', 'breaker'],
      reason: /stale: runner offline|instance\(s\) died at bootTimeout/,
    },
    {
      name: 'stale, seen offline again too soon: kept',
      world: { members: [{ age: 11, runner: 'offline', staleFor: 2 }] },
      kinds: [],
    },
    {
      name: 'job ran, runner gone, instance still up → terminate',
      world: { members: [{ age: 40, runner: 'none', jobStarted: 30 }] },
      kinds: ['terminate'],
      reason: /its job ran/,
    },
    {
      name: 'offline but busy (GitHub says so): kept',
      world: { members: [{ age: 40, runner: 'busy' }] },
      kinds: [],
    },
    {
      name: 'ghost: offline runner of a vanished instance → unregister only',
      world: { ghosts: [{ status: 'offline' }] },
      kinds: ['remove-runner'],
      reason: /^ghost/,
    },
    { name: 'ghost that is online: kept', world: { ghosts: [{ status: 'online' }] }, kinds: [] },
    {
      name: 'leaked parameters → deleted',
      world: { leaked: 3 },
      kinds: ['delete-parameter', 'delete-parameter', 'delete-parameter'],
      reason: /^leaked/,
    },
    {
      name: 'a parameter whose instance is booting is not leaked',
      world: { members: [{ age: 1, runner: 'offline', parameter: true }] },
      kinds: [],
    },
    {
      name: 'a failed instance read: no orphan, ghost or leak removed',
      world: {
        members: [{ age: 11, runner: 'none' }],
        ghosts: [{ status: 'offline' }],
        leaked: 2,
        incomplete: ['instances'],
      },
      kinds: [],
    },
  ];
  it.each(cases)('$name', ({ world, kinds: expected, reason }) => {
    const result = run(world, 'scale-down');
    const removals = result.actions.filter((a) => a.kind !== 'mark-idle' && a.kind !== 'clear-idle');
    expect(kinds(removals)).toEqual(expected);
    for (const a of removals) if (reason) expect(a.reason).toMatch(reason);
  });

  it('an orphan carries its parameter so apply deletes it once the instance terminated', () => {
    const id = instanceId(4242);
    const result = run({ members: [{ age: 11, runner: 'none', parameter: true, id }] }, 'reconcile');
    expect(result.actions.filter((a) => a.kind !== 'breaker')).toEqual([
      expect.objectContaining({
        kind: 'terminate',
        instanceId: id,
        parameter: `/runner-scaler/${ENV}/${id}`,
      }),
    ]);
  });

  it('a run limited to one pool leaves environment-wide cleanup alone', () => {
    const result = run({ ghosts: [{ status: 'offline' }], leaked: 2 }, 'scale-down', {}, { pool: 'linux' });
    expect(result.actions).toEqual([]);
  });
});

describe('plan: a pool removed from the file', () => {
  const world: World = {
    members: [
      { age: 30, runner: 'none', pool: 'old' },
      { age: 30, runner: 'idle', pool: 'old', idleFor: 6 },
      { age: 30, runner: 'idle', pool: 'old' },
      { age: 30, runner: 'busy', pool: 'old' },
    ],
  };
  it('is scaled to zero: dead and confirmed idle instances go, busy ones stay, nothing launched', () => {
    const result = run(world, 'reconcile', { min: 3 });
    const removals = removed(result.actions);
    expect(removals.map((a) => [a.kind, a.pool])).toEqual([
      ['terminate', 'old'],
      ['remove-runner', 'old'],
    ]);
    expect(result.pools.map((p) => p.pool)).toEqual(['linux', 'old']);
    expect(result.notes.join()).toMatch(/pool old is not in the pools file/);
    expect(
      result.actions.filter((a) => a.kind === 'launch').map((a) => a.kind === 'launch' && a.pool),
    ).toEqual(['linux']);
  });
  it('is left alone by a run limited to one pool', () => {
    expect(removed(run(world, 'reconcile', {}, { pool: 'linux' }).actions)).toEqual([]);
  });
});

describe('plan: drain', () => {
  it('removes every idle runner regardless of min and idle time, keeps busy ones', () => {
    const world: World = {
      members: [
        ...times(3, { age: 30, runner: 'idle' }),
        ...times(2, { age: 30, runner: 'busy' }),
        { age: 30, runner: 'idle', jobStarted: 0.1 },
      ],
    };
    const result = run(world, 'drain', { min: 5 });
    const removals = removed(result.actions);
    expect(removals).toHaveLength(3);
    expect(removals.every((a) => a.reason === 'drain: idle runner')).toBe(true);
    expect(kinds(result.actions)).not.toContain('mark-idle');
    expect(result.pools[0]).toMatchObject({ before: { idle: 3, busy: 3 }, after: { idle: 0, busy: 3 } });
  });

  it('removes booting instances, and the dead', () => {
    const result = run(
      {
        members: [
          { age: 1, runner: 'offline' },
          { age: 1, runner: 'none' },
          { age: 20, runner: 'none' },
        ],
      },
      'drain',
    );
    expect(kinds(result.actions).sort()).toEqual(['breaker', 'remove-runner', 'terminate', 'terminate']);
  });

  it('limited to a pool, leaves other pools alone', () => {
    const a = pool({ name: 'a' });
    const b = pool({ name: 'b' });
    const world = snapshot({
      members: [
        { age: 30, runner: 'idle', pool: 'a' },
        { age: 30, runner: 'idle', pool: 'b' },
      ],
    });
    const result = plan(world, config(a, b), {
      mode: 'drain',
      now: NOW,
      pool: 'b',
      runKey: 'r',
    });
    expect(removed(result.actions).map((x) => x.pool)).toEqual(['b']);
  });

  it('nothing removed on a partial read', () => {
    const result = run({ members: times(3, { age: 30, runner: 'idle' }), incomplete: ['runners'] }, 'drain');
    expect(result.actions).toEqual([]);
  });
});

describe('plan: pool table', () => {
  it('counts before and after without double counting', () => {
    const world: World = {
      members: [
        { age: 1, runner: 'offline' },
        { age: 1, runner: 'none' },
        { age: 30, runner: 'idle' },
        { age: 30, runner: 'busy' },
        { age: 30, runner: 'none', state: 'shutting-down' },
      ],
      jobs: [linuxJobs(5)],
    };
    const result = run(world, 'reconcile');
    expect(result.pools).toMatchObject([
      {
        pool: 'linux',
        queued: 5,
        before: { booting: 2, idle: 1, busy: 1, dead: 0, total: 4 },
        after: { booting: 4, idle: 1, busy: 1, dead: 0, total: 6 },
      },
    ]);
  });

  it('is pure: the same input gives the same plan', () => {
    const world = snapshot({
      members: times(3, { age: 30, runner: 'idle', idleFor: 10 }),
      jobs: [linuxJobs(1)],
    });
    const options = { mode: 'reconcile' as const, now: NOW, runKey: 'r' };
    expect(plan(world, config(), options)).toEqual(plan(world, config(), options));
  });
});
