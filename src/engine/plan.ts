// PURE: (Snapshot, Config, options, now) -> Plan. All policy lives here; every action carries its reason.
import { poolOfReservedLabel, TAG_RUNNER_OUTDATED, TAG_SPOT_INTERRUPTION } from '../contract.js';
import type {
  Action,
  BreakerAction,
  Config,
  CountedState,
  FlaggedInstance,
  Instance,
  LaunchAction,
  Mode,
  Plan,
  PoolConfig,
  PoolCounts,
  PoolPlan,
  RemoveRunnerAction,
  Snapshot,
  TerminateAction,
  UnservedJob,
} from '../types.js';
import { breakerHold, settingsHash } from './breaker.js';
import {
  classifyInstance,
  ghostRunners,
  leakedParameters,
  parametersByInstance,
  runnersByInstance,
  type ClassifiedInstance,
} from './classify.js';
import { assignJobs, type PoolJob, type UnmatchedJob } from './demand.js';
import { formatDuration } from './format.js';
import { keptGroups } from './kept.js';
import { unlistedLaunches } from './ledger.js';
import { clientToken, planPoolLaunches } from './plan-launch.js';
import { scheduledMin, type ScheduledMin } from './schedule.js';

export { clientToken, TOKEN_WINDOW_MS } from './plan-launch.js';
export { formatDuration } from './format.js';

export interface PlanOptions {
  mode: Mode;
  now: Date;
  /** Limit to one pool. */
  pool?: string;
  /** scale-up: an explicit number of runners for `pool`. */
  count?: number;
  /** Seed for the ClientToken of an explicit count: run id + attempt. */
  runKey: string;
  /** The run-unique label the runners launched for an explicit count are reserved for. */
  reservedLabel?: string;
  /**
   * Scale-set pools' demand as their listener knows it. Only these pools launch, each to its `desired` size;
   * their idle runners above `min` plus the `waiting` jobs go by the idle rules.
   */
  scaleSets?: Record<string, ScaleSetDemand>;
}

/** A scale set's demand: `desired` = min(max, min + assigned jobs); `waiting` = assigned jobs not running yet. */
export interface ScaleSetDemand {
  desired: number;
  waiting: number;
}

export const GHOST_REASON = 'ghost: runner registered for an instance that no longer exists';

/** Launches into a pool per run when the coordination store is unavailable: a bounded over-launch at worst. */
export function degradedCap(pool: PoolConfig): number {
  return Math.max(1, Math.ceil(pool.max / 4));
}

const MIN = 60_000;

interface PoolState {
  pool: PoolConfig;
  members: ClassifiedInstance[];
  jobs: PoolJob[];
  retired: boolean;
  /** The schedule's min now, when the pool has a schedule (pool.min is then that min). */
  scheduled?: ScheduledMin;
}

interface Context {
  snapshot: Snapshot;
  config: Config;
  options: PlanOptions;
  notes: string[];
  /** Why the run must fail though nothing it tried failed (a breaker open, the lease held elsewhere…). */
  problems: string[];
  recentIds: Set<string>;
  unserved: UnservedJob[];
  /** Runners per pool that `max` kept this run from launching. */
  heldByMax: Map<string, number>;
  /** Pools this run launches nothing into at all, and why. */
  launchesHeld: Map<string, string>;
}

/** The summary's state of a classified instance; undefined for one leaving by itself. */
export function countedState(m: ClassifiedInstance): CountedState | undefined {
  if (m.cls === 'leaving') return undefined;
  return m.cls === 'orphan' || m.cls === 'stale' ? 'dead' : m.cls;
}

function countsOf(members: ClassifiedInstance[]): PoolCounts {
  const c: PoolCounts = { booting: 0, idle: 0, busy: 0, dead: 0, total: 0 };
  for (const m of members) {
    const state = countedState(m);
    if (state === undefined) continue;
    c.total += 1;
    c[state] += 1;
  }
  return c;
}

function removeAction(m: ClassifiedInstance, reason: string): RemoveRunnerAction | TerminateAction {
  const { instance, runner, parameter } = m;
  const target = {
    pool: instance.pool,
    instanceId: instance.id,
    region: instance.region,
    parameter,
    ...(instance.jobStartedAt ? { observedJobStart: instance.jobStartedAt } : {}),
    reason,
  };
  if (runner) return { kind: 'remove-runner', runnerId: runner.id, runnerName: runner.name, ...target };
  return { kind: 'terminate', ...target };
}

/** A stale runner is confirmed offline on two sightings idleTimeout apart (the first is tagged). */
function staleConfirmed(m: ClassifiedInstance, pool: PoolConfig, now: Date): boolean {
  const since = m.instance.staleSince;
  return since !== undefined && now.getTime() - since.getTime() >= pool.idleTimeoutMs;
}

/** Dead instances: never came online, or lost their runner. */
function planDead(state: PoolState, ctx: Context): Action[] {
  const { pool } = state;
  const { now, mode } = ctx.options;
  return state.members.flatMap((m): Action[] => {
    if (m.instance.unlisted) return [];
    if (m.cls === 'orphan') {
      const why = m.instance.jobStartedAt
        ? 'orphan: its job ran and its runner is gone, but the instance did not shut down'
        : `orphan: no runner registered ${formatDuration(m.ageMs)} after launch (bootTimeout ${formatDuration(pool.bootTimeoutMs)})`;
      return [removeAction(m, why)];
    }
    if (m.cls === 'stale' && (mode === 'drain' || staleConfirmed(m, pool, now))) {
      const why = `stale: runner offline ${formatDuration(m.ageMs)} after launch (bootTimeout ${formatDuration(pool.bootTimeoutMs)}), seen offline twice`;
      return [removeAction(m, why)];
    }
    return [];
  });
}

/** Idle runners above what the pool needs, confirmed idle on two sightings idleTimeout apart. */
function planIdle(state: PoolState, options: PlanOptions): ClassifiedInstance[] {
  // Jobs assigned to a scale set and not running yet go to its idle runners: those stay.
  const waiting = options.scaleSets?.[state.pool.name]?.waiting ?? 0;
  const { pool } = state;
  const now = options.now.getTime();
  const idle = state.members.filter((m) => m.cls === 'idle');
  if (options.mode === 'drain') return idle;

  const confirmed = (m: ClassifiedInstance) =>
    m.instance.idleSince !== undefined && now - m.instance.idleSince.getTime() >= pool.idleTimeoutMs;
  // Past maxLifetime an earlier idle sighting is enough: the instance goes regardless of min.
  const expired = idle.filter((m) => m.ageMs >= pool.maxLifetimeMs && m.instance.idleSince !== undefined);
  // Runners reserved for a run-unique label serve only its jobs; the generic ones the rest and the minimum.
  const needed = (label: string | undefined) =>
    state.jobs.filter((j) => j.reservedLabel === label).length +
    (label === undefined ? pool.min + waiting : 0);
  const labels = [...new Set(idle.map((m) => m.reservedLabel))];
  return [
    ...expired,
    ...labels.flatMap((label) => {
      const ofLabel = idle.filter((m) => m.reservedLabel === label && !expired.includes(m));
      const excess = Math.max(0, ofLabel.length - needed(label));
      return ofLabel
        .filter((m) => confirmed(m) && m.ageMs >= pool.minLifetimeMs)
        .sort((a, b) => a.instance.launchTime.getTime() - b.instance.launchTime.getTime())
        .slice(0, excess);
    }),
  ];
}

function idleReason(m: ClassifiedInstance, pool: PoolConfig, options: PlanOptions): string {
  if (options.mode === 'drain') return 'drain: idle runner';
  if (m.ageMs >= pool.maxLifetimeMs) {
    return `max lifetime: up ${formatDuration(m.ageMs)} (maxLifetime ${formatDuration(pool.maxLifetimeMs)}), idle`;
  }
  const idleFor = options.now.getTime() - (m.instance.idleSince?.getTime() ?? options.now.getTime());
  return `idle ${formatDuration(idleFor)} (idleTimeout ${formatDuration(pool.idleTimeoutMs)}), above min ${pool.min}`;
}

/**
 * First-sighting tags: idle-since for idle runners, stale-since for runners offline past bootTimeout; each is
 * cleared when its condition no longer holds.
 */
function planSightingTags(states: PoolState[], now: Date, mode: Mode): Action[] {
  const lists = {
    'mark-idle': new Map<string, string[]>(),
    'clear-idle': new Map<string, string[]>(),
    'mark-stale': new Map<string, string[]>(),
    'clear-stale': new Map<string, string[]>(),
  };
  const add = (kind: keyof typeof lists, instance: Instance) =>
    lists[kind].set(instance.region, [...(lists[kind].get(instance.region) ?? []), instance.id]);
  for (const m of states.flatMap((s) => s.members)) {
    const { instance } = m;
    if (m.cls === 'leaving' || instance.unlisted) continue;
    if (m.cls === 'idle' && !instance.idleSince && mode !== 'drain') add('mark-idle', instance);
    if (m.cls !== 'idle' && instance.idleSince) add('clear-idle', instance);
    if (m.cls === 'stale' && !instance.staleSince && mode !== 'drain') add('mark-stale', instance);
    if (m.cls !== 'stale' && instance.staleSince) add('clear-stale', instance);
  }
  const reasons = {
    'mark-idle': 'first sighting as idle',
    'clear-idle': 'no longer idle',
    'mark-stale': 'first sighting of its runner offline past bootTimeout',
    'clear-stale': 'runner no longer offline',
  };
  return (Object.keys(lists) as (keyof typeof lists)[]).flatMap((kind) =>
    [...lists[kind]].map(([region, instanceIds]): Action =>
      kind === 'mark-idle' || kind === 'mark-stale'
        ? { kind, region, instanceIds, since: now, reason: reasons[kind] }
        : { kind, region, instanceIds, reason: reasons[kind] },
    ),
  );
}

/** Settings for the instances of a pool no longer in the file: no minimum, no launches, default timeouts. */
function retiredPool(name: string, region: string): PoolConfig {
  return {
    name,
    labels: [],
    region,
    launchTemplate: { version: '$Default' },
    instanceTypes: [],
    subnets: [],
    market: 'on-demand',
    registration: 'jit',
    min: 0,
    max: 0,
    idleTimeoutMs: 5 * MIN,
    bootTimeoutMs: 10 * MIN,
    minLifetimeMs: 2 * MIN,
    maxLifetimeMs: 24 * 60 * MIN,
    repositories: [],
  };
}

/**
 * Booting instances with neither a parameter nor an online runner after half their bootTimeout: the run
 * that launched them died before delivering their JIT config (a run delivers within seconds to minutes of
 * its launch). Configuring them, rather than replacing them at bootTimeout, launches nothing twice.
 */
function adoptable(state: PoolState): ClassifiedInstance[] {
  const { pool } = state;
  if (pool.registration !== 'jit') return [];
  return state.members.filter(
    (m) =>
      m.cls === 'booting' &&
      !m.instance.unlisted &&
      m.parameter === undefined &&
      m.instance.jobStartedAt === undefined &&
      // A runner registered but offline may also be one starting right after the instance read its parameter;
      // replacing it then costs that instance (it shuts down, bootTimeout cleans up), never a job.
      m.runner?.status !== 'online' &&
      m.ageMs >= pool.bootTimeoutMs / 2,
  );
}

function withAdoption(state: PoolState, launches: LaunchAction[]): LaunchAction[] {
  const adopt = adoptable(state)
    .map((m) => m.instance.id)
    .sort();
  if (adopt.length === 0) return launches;
  const why = `${adopt.length} booting instance(s) without a runner config (an earlier run stopped before delivering it)`;
  const generic = launches.find((l) => !l.reservedLabel);
  if (generic) {
    return launches.map((l) =>
      l === generic ? { ...l, adopt, reason: `${l.reason}; configures ${why}` } : l,
    );
  }
  return [
    ...launches,
    {
      kind: 'launch',
      pool: state.pool.name,
      count: 0,
      clientToken: clientToken(['adopt', state.pool.name, ...adopt]),
      jobIds: [],
      adopt,
      reason: `configure ${why}`,
    },
  ];
}

/** The reads that failed or were partial, each as `<what>: <error>`. */
export function failedReads(snapshot: Snapshot): string[] {
  return (['instances', 'runners', 'parameters', 'jobs'] as const)
    .filter((key) => !snapshot[key].complete)
    .map((key) => `${key}: ${snapshot[key].error ?? 'partial read'}`);
}

/** Whether the pool's demand is known: none of its repositories (nor a repository no pool polls) failed. */
function demandKnown(snapshot: Snapshot, pool: PoolConfig, config: Config): boolean {
  if (snapshot.jobs.complete) return true;
  if (snapshot.demandGaps.length === 0) return false;
  const polled = new Set(config.pools.flatMap((p) => p.repositories));
  return snapshot.demandGaps.every(
    (gap) => polled.has(gap.repository) && !pool.repositories.includes(gap.repository),
  );
}

function unserved(unmatched: UnmatchedJob[]): UnservedJob[] {
  return unmatched.map(({ job, why }) => ({
    id: job.id,
    runId: job.runId,
    repository: job.repository,
    labels: job.labels,
    ...(job.name !== undefined ? { name: job.name } : {}),
    why,
  }));
}

/** A pool with its schedule's min in force now. */
function scheduled(pool: PoolConfig, now: Date): { pool: PoolConfig; scheduled?: ScheduledMin } {
  if (!pool.schedule) return { pool };
  const result = scheduledMin(pool.schedule, pool.min, now);
  return { pool: { ...pool, min: Math.min(result.min, pool.max) }, scheduled: result };
}

/** Instances the bootstrap tagged: a runner too old to start, a spot interruption announced. */
function flaggedInstances(snapshot: Snapshot): FlaggedInstance[] {
  return snapshot.instances.items.flatMap((i): FlaggedInstance[] => {
    const flags: [FlaggedInstance['kind'], string | undefined][] = [
      ['runner-outdated', i.tags[TAG_RUNNER_OUTDATED]],
      ['spot-interruption', i.tags[TAG_SPOT_INTERRUPTION]],
    ];
    return flags.flatMap(([kind, value]) =>
      value === undefined ? [] : [{ instanceId: i.id, ...(i.pool ? { pool: i.pool } : {}), kind, value }],
    );
  });
}

function poolStates(ctx: Context, standIns: Instance[]): PoolState[] {
  const { snapshot, config, options } = ctx;
  const env = config.environment;
  const runners = runnersByInstance(env, snapshot.runners.items);
  const parameters = parametersByInstance(env, snapshot.parameters.items);
  const { byPool, unmatched } = assignJobs(env, snapshot.jobs.items, config.pools);
  ctx.unserved = unserved(unmatched);
  const instances = [...snapshot.instances.items, ...standIns];
  const classify = (i: Instance, pool: PoolConfig) => ({
    ...classifyInstance(i, runners.get(i.id), pool, options.now),
    parameter: parameters.get(i.id),
  });
  const states: PoolState[] = config.pools
    .filter((p) => !options.pool || p.name === options.pool)
    .map((configured) => {
      const { pool, scheduled: min } = scheduled(configured, options.now);
      return {
        pool,
        retired: false,
        jobs: byPool.get(pool.name) ?? [],
        members: instances.filter((i) => i.pool === pool.name).map((i) => classify(i, pool)),
        ...(min ? { scheduled: min } : {}),
      };
    });
  // A pool removed from the file scales to zero: its dead instances and idle runners go, busy ones finish.
  const known = new Set(config.pools.map((p) => p.name));
  if (!options.pool) {
    const retired = snapshot.instances.items.filter((i) => !known.has(i.pool ?? ''));
    for (const name of [...new Set(retired.map((i) => i.pool ?? '(no pool tag)'))]) {
      const own = retired.filter((i) => (i.pool ?? '(no pool tag)') === name);
      const pool = retiredPool(name, own[0]?.region ?? '');
      states.push({ pool, retired: true, jobs: [], members: own.map((i) => classify(i, pool)) });
      ctx.notes.push(
        `pool ${name} is not in the pools file: its ${own.length} instance(s) are scaled to zero`,
      );
    }
  }
  return states;
}

/** Boot failures among this run's removals, and whether an instance launched since the last failure booted. */
function breakerAction(state: PoolState, removals: Action[], ctx: Context): BreakerAction | undefined {
  const { coordination } = ctx.snapshot;
  if (!coordination.read || state.retired) return undefined;
  const record = coordination.breakers.find((b) => b.pool === state.pool.name);
  const removedIds = new Set(
    removals.flatMap((a) => (a.kind === 'remove-runner' || a.kind === 'terminate' ? [a.instanceId] : [])),
  );
  const failedBoots = state.members
    .filter((m) => removedIds.has(m.instance.id) && (m.cls === 'orphan' || m.cls === 'stale'))
    .filter((m) => !m.instance.jobStartedAt && !m.instance.idleSince)
    .map((m) => m.instance.id);
  const since = record?.lastFailureAt?.getTime() ?? 0;
  const booted =
    (record?.failures ?? 0) > 0 &&
    state.members.some(
      (m) =>
        !m.instance.unlisted &&
        (m.cls === 'idle' || m.cls === 'busy') &&
        m.instance.launchTime.getTime() >= since,
    );
  if (failedBoots.length === 0 && !booted) return undefined;
  return {
    kind: 'breaker',
    pool: state.pool.name,
    failedBoots,
    booted,
    settingsHash: settingsHash(state.pool),
    ...(record ? { current: record } : {}),
    reason: failedBoots.length
      ? `${failedBoots.length} instance(s) died at bootTimeout without a runner online`
      : 'an instance launched after the last boot failure has a runner online',
  };
}

/** The launches of one pool, under what the lease and the breaker allow. */
function planLaunches(state: PoolState, removed: Set<string>, ctx: Context): LaunchAction[] {
  const { snapshot, options } = ctx;
  const { coordination } = snapshot;
  const hold = breakerHold(
    state.pool,
    coordination.breakers.find((b) => b.pool === state.pool.name),
    options.now,
  );
  if (hold) {
    ctx.problems.push(hold);
    const until = coordination.breakers.find((b) => b.pool === state.pool.name)?.openUntil;
    ctx.launchesHeld.set(
      state.pool.name,
      `the boot-failure breaker is open${until ? ` until ${until.toISOString()}` : ''}`,
    );
    return [];
  }
  const served = new Set(coordination.launches.flatMap((r) => (r.state === 'failed' ? [] : r.jobIds)));
  const planned = planPoolLaunches({
    pool: state.pool,
    members: state.members,
    jobs: state.jobs,
    removed,
    served,
    now: options.now,
    ...(options.count !== undefined
      ? {
          count: {
            count: options.count,
            runKey: options.runKey,
            ...(options.reservedLabel ? { reservedLabel: options.reservedLabel } : {}),
          },
        }
      : {}),
    ...(coordination.lease === 'unavailable' ? { cap: degradedCap(state.pool) } : {}),
    ...(options.scaleSets?.[state.pool.name]
      ? { target: options.scaleSets[state.pool.name]?.desired ?? 0 }
      : {}),
  });
  ctx.notes.push(...planned.notes);
  if (planned.heldByMax > 0) ctx.heldByMax.set(state.pool.name, planned.heldByMax);
  // Whether an instance has its parameter is known only from a complete read; a count run serves its own
  // workflow.
  const adopts = snapshot.parameters.complete && options.count === undefined;
  const launches = adopts ? withAdoption(state, planned.launches) : planned.launches;
  const shortage = coordination.shortages?.find((s) => s.pool === state.pool.name);
  return shortage ? launches.map((l) => ({ ...l, shortage })) : launches;
}

interface Permissions {
  removeDead: boolean;
  launch: boolean;
}

function permissions(ctx: Context): Permissions {
  const { snapshot, options } = ctx;
  const { mode } = options;
  const launching = mode === 'scale-up' || mode === 'reconcile';
  const problems = failedReads(snapshot).filter((r) => !r.startsWith('jobs:'));
  // Dead resources depend on what exists, never on demand: a failed jobs read does not hold them back.
  const removeDead = mode !== 'scale-up' && problems.length === 0;
  if (mode !== 'scale-up' && !removeDead)
    ctx.notes.push(`nothing removed: a read failed or was partial (${problems.join('; ')})`);
  const listed = snapshot.instances.complete && snapshot.runners.complete;
  if (launching && !listed)
    ctx.notes.push('nothing launched: the instance or runner list could not be read completely');
  const { coordination } = snapshot;
  if (launching && coordination.lease === 'busy') {
    ctx.problems.push(
      `nothing launched: another run (${coordination.heldBy ?? 'unknown'}) held the coordination lease longer than this run could wait; it or the next run serves the demand`,
    );
  }
  if (launching && coordination.lease === 'unavailable') {
    ctx.problems.push(
      `the coordination store is unavailable (${coordination.error ?? 'unknown error'}): launched without the lease, at most ${'a quarter of max'} per pool, so concurrent runs may over-launch by that much`,
    );
  }
  return { removeDead, launch: launching && listed && coordination.lease !== 'busy' };
}

function planPool(state: PoolState, ctx: Context, allowed: Permissions, removedIds: Set<string>): Action[] {
  const { options, snapshot } = ctx;
  const actions: Action[] = [];
  if (allowed.removeDead) {
    actions.push(...planDead(state, ctx));
    const listened = options.scaleSets?.[state.pool.name] !== undefined;
    if (listened || demandKnown(snapshot, state.pool, ctx.config) || options.mode === 'drain') {
      for (const m of planIdle(state, options))
        actions.push(removeAction(m, idleReason(m, state.pool, options)));
    } else if (state.members.some((m) => m.cls === 'idle')) {
      ctx.notes.push(
        `pool ${state.pool.name}: idle runners kept: the queued jobs of its repositories could not all be read`,
      );
    }
    if (options.mode === 'drain') {
      for (const m of state.members.filter((x) => x.cls === 'booting' && !x.instance.unlisted)) {
        actions.push(removeAction(m, 'drain: booting instance'));
      }
    }
  }
  for (const a of actions)
    if (a.kind === 'remove-runner' || a.kind === 'terminate') removedIds.add(a.instanceId ?? '');
  const breaker = breakerAction(state, actions, ctx);
  const launches = !options.scaleSets || options.scaleSets[state.pool.name] !== undefined;
  if (allowed.launch && !state.retired && launches) actions.unshift(...planLaunches(state, removedIds, ctx));
  else if (!state.retired && launches && (options.mode === 'scale-up' || options.mode === 'reconcile')) {
    ctx.launchesHeld.set(
      state.pool.name,
      snapshot.coordination.lease === 'busy'
        ? 'another run holds the coordination lease'
        : 'the instance or runner list could not be read completely',
    );
  }
  if (breaker) actions.push(breaker);
  return actions;
}

export function plan(snapshot: Snapshot, config: Config, options: PlanOptions): Plan {
  const ctx: Context = {
    snapshot,
    config,
    options,
    notes: [],
    problems: [],
    recentIds: new Set(),
    unserved: [],
    heldByMax: new Map(),
    launchesHeld: new Map(),
  };
  const names = config.pools.map((p) => p.name);
  const isReserved = (label: string) => poolOfReservedLabel(config.environment, names, label) !== undefined;
  const ledger = unlistedLaunches(
    config.environment,
    snapshot.coordination.launches,
    snapshot.instances.items,
    config.pools,
    isReserved,
  );
  ctx.recentIds = ledger.recentIds;
  const states = poolStates(ctx, ledger.members);
  const allowed = permissions(ctx);
  const actions: Action[] = [];
  const removedIds = new Set<string>();
  const pools: PoolPlan[] = [];
  for (const state of states) {
    const poolActions = planPool(state, ctx, allowed, removedIds);
    actions.push(...poolActions);
    pools.push(poolSummary(state, poolActions, removedIds, ctx, allowed));
  }
  if (allowed.removeDead) {
    actions.push(...planSightingTags(states, options.now, options.mode));
    if (!options.pool) actions.push(...planEnvironmentCleanup(ctx));
  }
  return {
    mode: options.mode,
    now: options.now,
    actions,
    pools,
    notes: ctx.notes,
    problems: ctx.problems,
    unserved: ctx.unserved,
    flagged: flaggedInstances(snapshot),
    unread: failedReads(snapshot).map((read) => {
      const [what = '', ...error] = read.split(': ');
      return { what, error: error.join(': ') };
    }),
    demandGaps: snapshot.demandGaps,
  };
}

function poolSummary(
  state: PoolState,
  actions: Action[],
  removed: Set<string>,
  ctx: Context,
  allowed: Permissions,
): PoolPlan {
  const { pool } = state;
  const before = countsOf(state.members);
  const launched = actions.reduce((n, a) => n + (a.kind === 'launch' ? a.count : 0), 0);
  const after = countsOf(state.members.filter((m) => !removed.has(m.instance.id)));
  after.booting += launched;
  after.total += launched;
  const removing: Record<CountedState, string[]> = { booting: [], idle: [], busy: [], dead: [] };
  for (const m of state.members) {
    const counted = countedState(m);
    if (counted && removed.has(m.instance.id) && !m.instance.unlisted) removing[counted].push(m.instance.id);
  }
  const demand = demandKnown(ctx.snapshot, pool, ctx.config);
  const queuedAt = state.jobs.flatMap((j) => (j.createdAt ? [j.createdAt.getTime()] : []));
  return {
    pool: pool.name,
    queued: state.jobs.length,
    before,
    after,
    min: pool.min,
    max: pool.max,
    ...(state.scheduled ? { schedule: state.scheduled } : {}),
    removing,
    kept: keptGroups({
      pool,
      members: state.members,
      jobs: state.jobs,
      removed,
      mode: ctx.options.mode,
      now: ctx.options.now,
      removes: allowed.removeDead,
      demandKnown: demand || ctx.options.mode === 'drain',
    }),
    ...(queuedAt.length ? { oldestQueuedAt: new Date(Math.min(...queuedAt)) } : {}),
    demandKnown: demand,
    ...(ctx.heldByMax.has(pool.name) ? { heldByMax: ctx.heldByMax.get(pool.name) } : {}),
    ...(ctx.launchesHeld.has(pool.name) ? { launchesHeld: ctx.launchesHeld.get(pool.name) } : {}),
    ...(state.retired ? { retired: true } : {}),
  };
}

/** Ghost runners and leaked parameters belong to the environment, not to one pool. */
function planEnvironmentCleanup(ctx: Context): Action[] {
  const { snapshot, config, options, notes, recentIds } = ctx;
  const environment = config.environment;
  const regions = [...new Set(config.pools.map((p) => p.region))];
  const actions: Action[] = [];
  for (const runner of ghostRunners(environment, snapshot, recentIds)) {
    if (runner.status === 'online' || runner.busy) {
      notes.push(`runner ${runner.name} is online but its instance is not listed: kept`);
      continue;
    }
    const instanceId = runner.name.slice(environment.length + 1);
    // Absence needs evidence that survives a lagging listing: apply looks the instance up by id first.
    actions.push({
      kind: 'remove-runner',
      runnerId: runner.id,
      runnerName: runner.name,
      confirmGone: { instanceId, regions },
      reason: GHOST_REASON,
    });
  }
  // A parameter is written right after its instance's launch: younger than the longest bootTimeout, its
  // instance may be one the listing does not show yet.
  const graceMs = Math.max(...config.pools.map((p) => p.bootTimeoutMs));
  for (const parameter of leakedParameters(environment, snapshot, recentIds, options.now, graceMs)) {
    actions.push({
      kind: 'delete-parameter',
      name: parameter.name,
      region: parameter.region,
      reason: `leaked: parameter of an instance that no longer exists (older than ${formatDuration(graceMs)})`,
    });
  }
  return actions;
}
