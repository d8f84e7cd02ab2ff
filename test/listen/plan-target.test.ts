// The planner's scale-set input: a pool grows to its listener's desired size, counting everything present,
// never above max; idle runners above min plus the jobs waiting for a runner go by the idle rules.
import { describe, expect, it } from 'vitest';
import { plan, type ScaleSetDemand } from '../../src/engine/plan.js';
import type { Action, Mode, PoolConfig } from '../../src/types.js';
import { NOW, config, pool, snapshot, times, type World } from '../engine/fixtures.js';

const scaleSetPool = (overrides: Partial<PoolConfig> = {}) =>
  pool({ scaleSet: { name: 'ci-linux' }, max: 10, ...overrides });

function run(world: World, demand: ScaleSetDemand | undefined, mode: Mode = 'scale-up', over = {}) {
  const snap = snapshot(world);
  // The listener does not read queued jobs: demand is the scale set's statistics.
  snap.jobs = { items: [], complete: false, error: 'not read by the listener' };
  return plan(snap, config(scaleSetPool(over)), {
    mode,
    now: NOW,
    runKey: 'listen',
    ...(demand ? { scaleSets: { linux: demand } } : {}),
  });
}

const launched = (actions: Action[]) => actions.reduce((n, a) => n + (a.kind === 'launch' ? a.count : 0), 0);
const removed = (actions: Action[]) =>
  actions.filter((a) => a.kind === 'remove-runner' || a.kind === 'terminate').length;

describe('plan: a scale set grows to its desired size', () => {
  const cases: { name: string; world: World; desired: number; over?: Partial<PoolConfig>; launch: number }[] =
    [
      { name: 'empty pool, desired 3', world: {}, desired: 3, launch: 3 },
      {
        name: 'busy and booting runners count as present',
        world: { members: [...times(2, { age: 20, runner: 'busy' }), { age: 1, runner: 'none' }] },
        desired: 4,
        launch: 1,
      },
      {
        name: 'an idle runner counts: the waiting job goes to it',
        world: { members: [{ age: 20, runner: 'idle', idleFor: 1 }] },
        desired: 1,
        launch: 0,
      },
      {
        name: 'launches still in flight (launch records) count',
        world: {
          coordination: {
            launches: [
              {
                pool: 'linux',
                clientToken: 'rs-x',
                count: 2,
                instanceIds: [],
                jobIds: [],
                runId: 'listen',
                at: new Date(NOW.getTime() - 5_000),
                expiresAt: new Date(NOW.getTime() + 60_000),
                state: 'intent',
              },
            ],
          },
        },
        desired: 3,
        launch: 1,
      },
      {
        name: 'never above max, whatever the statistics say',
        world: { members: times(3, { age: 20, runner: 'busy' }) },
        desired: 40,
        over: { max: 4 },
        launch: 1,
      },
      {
        name: 'dead instances removed this run are not supply',
        world: { members: [{ age: 30, runner: 'none' }] },
        desired: 1,
        launch: 1,
      },
    ];
  it.each(cases)('$name', ({ world, desired, over, launch }) => {
    const result = run(world, { desired, waiting: 0 }, 'reconcile', over);
    expect(launched(result.actions)).toBe(launch);
  });

  it('the same members and desired size give the same ClientToken; another size another', () => {
    const world = { members: [{ age: 20, runner: 'busy' as const, id: 'i-00000000000000aaa' }] };
    const token = (desired: number) =>
      run(world, { desired, waiting: 0 }).actions.find((a) => a.kind === 'launch');
    expect(token(3)).toMatchObject({ count: 2 });
    expect(token(3)?.kind === 'launch' && token(3)?.clientToken).toBe(
      token(3)?.kind === 'launch' && token(3)?.clientToken,
    );
    const a = token(3);
    const b = token(4);
    expect(a?.kind === 'launch' && b?.kind === 'launch' && a.clientToken !== b.clientToken).toBe(true);
  });

  it('only the listened pools launch; an ordinary pool of the file is left to the scheduler', () => {
    const ordinary = pool({ name: 'arm', labels: ['linux', 'arm64'], min: 2 });
    const snap = snapshot({});
    snap.jobs = { items: [], complete: false, error: 'not read by the listener' };
    const result = plan(snap, config(scaleSetPool(), ordinary), {
      mode: 'reconcile',
      now: NOW,
      runKey: 'listen',
      scaleSets: { linux: { desired: 1, waiting: 1 } },
    });
    expect(
      result.actions.filter((a) => a.kind === 'launch').map((a) => a.kind === 'launch' && a.pool),
    ).toEqual(['linux']);
  });
});

describe('plan: idle runners of a scale set', () => {
  const idle = (n: number) => times(n, { age: 30, runner: 'idle', idleFor: 10 });

  it('keeps min plus the jobs waiting for a runner, removes the rest by the idle rules', () => {
    expect(
      removed(run({ members: idle(4) }, { desired: 2, waiting: 1 }, 'reconcile', { min: 1 }).actions),
    ).toBe(2);
    expect(removed(run({ members: idle(4) }, { desired: 4, waiting: 4 }, 'reconcile').actions)).toBe(0);
  });

  it('removes nothing idle on a single sighting or before minLifetime', () => {
    const once = times(3, { age: 30, runner: 'idle' as const });
    expect(removed(run({ members: once }, { desired: 0, waiting: 0 }, 'reconcile').actions)).toBe(0);
    const young = times(3, { age: 1, runner: 'idle' as const, idleFor: 10 });
    expect(removed(run({ members: young }, { desired: 0, waiting: 0 }, 'reconcile').actions)).toBe(0);
  });

  it('an ordinary pool keeps its idle runners: the listener does not know its demand', () => {
    const ordinary = pool({ name: 'arm', labels: ['linux', 'arm64'] });
    const snap = snapshot({ members: times(2, { age: 30, runner: 'idle', idleFor: 10, pool: 'arm' }) });
    snap.jobs = { items: [], complete: false, error: 'not read by the listener' };
    const result = plan(snap, config(scaleSetPool(), ordinary), {
      mode: 'reconcile',
      now: NOW,
      runKey: 'listen',
      scaleSets: { linux: { desired: 0, waiting: 0 } },
    });
    expect(removed(result.actions)).toBe(0);
    expect(result.notes.join('\n')).toContain('pool arm: idle runners kept');
  });

  it('scale-up (the fast path) removes nothing', () => {
    expect(removed(run({ members: idle(4) }, { desired: 0, waiting: 0 }, 'scale-up').actions)).toBe(0);
  });

  it('stays pure: the same input gives the same plan', () => {
    const snap = snapshot({ members: [...idle(2), { age: 3, runner: 'busy' }] });
    const once = () =>
      plan(snap, config(scaleSetPool()), {
        mode: 'reconcile',
        now: NOW,
        runKey: 'listen',
        scaleSets: { linux: { desired: 5, waiting: 2 } },
      });
    expect(once()).toEqual(once());
  });
});
