// The plan's data for the report: what it keeps and why, the schedule's min, unserved jobs, tagged instances.
import { describe, expect, it } from 'vitest';
import { settingsHash } from '../../src/engine/breaker.js';
import { plan } from '../../src/engine/plan.js';
import { parseDays, parseHours } from '../../src/engine/schedule.js';
import type { KeptGroup, Mode, PoolConfig } from '../../src/types.js';
import { config, MIN, NOW, pool, snapshot, times, type World } from './fixtures.js';

function run(world: World, mode: Mode, overrides: Partial<PoolConfig> = {}, now = NOW) {
  return plan(snapshot(world), config(pool(overrides)), { mode, now, runKey: '42/1' });
}

/** The kept groups as `what reason count [waitMs]`. */
const kept = (groups: KeptGroup[] | undefined) =>
  (groups ?? []).map((g) => [g.what, g.reason, g.count, ...(g.waitMs !== undefined ? [g.waitMs] : [])]);

const linuxJobs = (count: number) => ({ labels: ['self-hosted', 'linux'], count });

describe('kept, and why', () => {
  it.each<[string, World, Mode, Partial<PoolConfig>, unknown[][]]>([
    [
      'busy runners and booting instances',
      { members: [...times(2, { age: 20, runner: 'busy' }), { age: 1, runner: 'none' }] },
      'reconcile',
      {},
      [
        ['busy', 'busy', 2],
        ['booting', 'booting', 1],
      ],
    ],
    [
      'idle runners for min, the rest waiting for their second sighting',
      {
        members: [
          ...times(2, { age: 30, runner: 'idle', idleFor: 10 }),
          { age: 30, runner: 'idle', idleFor: 2 },
          { age: 30, runner: 'idle' },
        ],
      },
      'scale-down',
      { min: 1 },
      // Both confirmed ones go; of the two left, one stays for min and one waits (3m left at the earliest).
      [
        ['idle', 'idle-sighting', 1, 3 * MIN],
        ['idle', 'min', 1],
      ],
    ],
    [
      'idle runners younger than minLifetime',
      { members: times(2, { age: 1.5, runner: 'idle', idleFor: 6 }) },
      'scale-down',
      {},
      [['idle', 'young', 2, 0.5 * MIN]],
    ],
    [
      'idle runners the queued jobs may take',
      { members: times(3, { age: 30, runner: 'idle', idleFor: 10 }), jobs: [linuxJobs(2)] },
      'reconcile',
      { min: 1 },
      [
        ['idle', 'min', 1],
        ['idle', 'queued', 2],
      ],
    ],
    [
      'everything after a failed read',
      {
        members: [
          { age: 30, runner: 'idle', idleFor: 10 },
          { age: 30, runner: 'none' },
        ],
        incomplete: ['parameters'],
      },
      'reconcile',
      {},
      [
        ['idle', 'read-failed', 1],
        ['dead', 'read-failed', 1],
      ],
    ],
    [
      'idle runners of a pool whose repository could not be read',
      {
        members: [{ age: 30, runner: 'idle', idleFor: 10 }],
        gaps: [{ repository: 'acme/app', error: 'HTTP 502', status: 502 }],
      },
      'reconcile',
      {},
      [['idle', 'demand-unknown', 1]],
    ],
    [
      'a stale runner seen once',
      { members: [{ age: 30, runner: 'offline', staleFor: 1 }] },
      'reconcile',
      {},
      [['dead', 'stale-sighting', 1, 4 * MIN]],
    ],
    [
      'scale-up keeps idle runners',
      { members: [{ age: 30, runner: 'idle', idleFor: 10 }] },
      'scale-up',
      {},
      [['idle', 'scale-up', 1]],
    ],
    [
      'drain keeps only busy runners',
      {
        members: [
          { age: 30, runner: 'idle' },
          { age: 30, runner: 'busy' },
          { age: 1, runner: 'none' },
        ],
      },
      'drain',
      { min: 5 },
      [['busy', 'busy', 1]],
    ],
  ])('%s', (_name, world, mode, overrides, expected) => {
    expect(kept(run(world, mode, overrides).pools[0]?.kept)).toEqual(expected);
  });

  it('names the instances it removes by the state they were in', () => {
    const world: World = {
      members: [
        { id: 'i-00000000000000a01', age: 30, runner: 'idle', idleFor: 10 },
        { id: 'i-00000000000000a02', age: 60, runner: 'none' },
        { id: 'i-00000000000000a03', age: 30, runner: 'busy' },
      ],
    };
    const result = run(world, 'reconcile');
    expect(result.pools[0]?.removing).toEqual({
      booting: [],
      idle: ['i-00000000000000a01'],
      busy: [],
      dead: ['i-00000000000000a02'],
    });
    expect(result.pools[0]?.before).toEqual({ booting: 0, idle: 1, busy: 1, dead: 1, total: 3 });
  });
});

describe('launches held back', () => {
  const jobs = { jobs: [linuxJobs(2)] };

  it('while another run holds the lease', () => {
    const result = run({ ...jobs, coordination: { lease: 'busy', heldBy: 'acme/app#1/1/x' } }, 'reconcile');
    expect(result.pools[0]?.launchesHeld).toBe('another run holds the coordination lease');
  });

  it('while the pool’s boot-failure breaker is open', () => {
    const openUntil = new Date(NOW.getTime() + 20 * MIN);
    const breaker = {
      pool: 'linux',
      failures: 3,
      instanceIds: ['i-1', 'i-2', 'i-3'],
      openUntil,
      settingsHash: settingsHash(pool()),
      version: 3,
    };
    const result = run({ ...jobs, coordination: { breakers: [breaker] } }, 'reconcile');
    expect(result.pools[0]?.launchesHeld).toBe(
      `the boot-failure breaker is open until ${openUntil.toISOString()}`,
    );
  });

  it('not when the run launches', () => {
    expect(run(jobs, 'reconcile').pools[0]?.launchesHeld).toBeUndefined();
    expect(run(jobs, 'scale-down').pools[0]?.launchesHeld).toBeUndefined();
  });
});

describe('a schedule sets min from now', () => {
  const office: Partial<PoolConfig> = {
    min: 0,
    max: 10,
    schedule: {
      timeZone: 'Europe/Berlin',
      windows: [
        { days: parseDays('mon-fri'), hours: parseHours('08:00-18:00'), min: 3, text: 'mon-fri 08:00-18:00' },
      ],
    },
  };
  // NOW is Sunday 2026-11-22 12:00 UTC.
  const monday = new Date('2026-11-23T09:00:00Z');

  it('launches the window min in office hours, and says until when', () => {
    const result = run({}, 'reconcile', office, monday);
    expect(
      result.actions.filter((a) => a.kind === 'launch').map((a) => (a.kind === 'launch' ? a.count : 0)),
    ).toEqual([3]);
    expect(result.pools[0]).toMatchObject({
      min: 3,
      schedule: { min: 3, until: '18:00', next: 0, timeZone: 'Europe/Berlin' },
    });
  });

  it('keeps nothing warm on Sunday, and removes idle runners above the pool min', () => {
    const result = run({ members: times(2, { age: 30, runner: 'idle', idleFor: 10 }) }, 'reconcile', office);
    expect(result.actions.filter((a) => a.kind === 'remove-runner')).toHaveLength(2);
    expect(result.pools[0]).toMatchObject({ min: 0, schedule: { min: 0, until: 'Mon 08:00', next: 3 } });
  });

  it('keeps idle runners for the window min', () => {
    const result = run(
      { members: times(2, { age: 30, runner: 'idle', idleFor: 10 }) },
      'reconcile',
      office,
      monday,
    );
    expect(result.actions.filter((a) => a.kind === 'remove-runner')).toHaveLength(0);
    expect(kept(result.pools[0]?.kept)).toEqual([['idle', 'min', 2]]);
  });
});

describe('what the report names', () => {
  it('queued jobs no pool serves, with their labels, repository and run', () => {
    const result = run(
      { jobs: [{ labels: ['self-hosted', 'gpu'], count: 2, repository: 'acme/ml' }] },
      'reconcile',
    );
    expect(result.unserved).toEqual([
      {
        id: 1,
        runId: 7,
        repository: 'acme/ml',
        labels: ['self-hosted', 'gpu'],
        why: "no pool offers all of the job's labels",
      },
      {
        id: 2,
        runId: 7,
        repository: 'acme/ml',
        labels: ['self-hosted', 'gpu'],
        why: "no pool offers all of the job's labels",
      },
    ]);
    expect(result.notes.join('\n')).not.toMatch(/match no pool/);
  });

  it('instances the bootstrap tagged runner-outdated or spot-interruption', () => {
    const world = snapshot({
      members: [
        { id: 'i-00000000000000b01', age: 30, runner: 'none' },
        { id: 'i-00000000000000b02', age: 30, runner: 'busy' },
      ],
    });
    const [outdated, interrupted] = world.instances.items;
    if (outdated) outdated.tags['runner-scaler:runner-outdated'] = '2026-11-22T11:50:00Z';
    if (interrupted) interrupted.tags['runner-scaler:spot-interruption'] = 'terminate@2026-11-22T12:02:00Z';
    const result = plan(world, config(), { mode: 'reconcile', now: NOW, runKey: 'r' });
    expect(result.flagged).toEqual([
      {
        instanceId: 'i-00000000000000b01',
        pool: 'linux',
        kind: 'runner-outdated',
        value: '2026-11-22T11:50:00Z',
      },
      {
        instanceId: 'i-00000000000000b02',
        pool: 'linux',
        kind: 'spot-interruption',
        value: 'terminate@2026-11-22T12:02:00Z',
      },
    ]);
  });

  it('the reads that failed, and the repositories whose jobs could not be read', () => {
    const gap = { repository: 'acme/gone', error: 'HttpError: Not Found', status: 404 };
    const result = run({ incomplete: ['runners'], gaps: [gap] }, 'reconcile');
    expect(result.unread).toEqual([
      { what: 'runners', error: 'runners read failed' },
      { what: 'jobs', error: 'HttpError: Not Found' },
    ]);
    expect(result.demandGaps).toEqual([gap]);
  });
});
