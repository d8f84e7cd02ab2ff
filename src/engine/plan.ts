// PURE: (Snapshot, Config, options, now) -> Plan. All policy lives here; every action carries its reason.
import { createHash } from 'node:crypto';
import type {
  Action,
  Config,
  Instance,
  LaunchAction,
  Mode,
  Plan,
  PoolConfig,
  PoolCounts,
  PoolPlan,
  QueuedJob,
  RemoveRunnerAction,
  Snapshot,
  TerminateAction,
} from '../types.js';
import {
  assignJobs,
  classifyInstance,
  ghostRunners,
  leakedParameters,
  parametersByInstance,
  runnersByInstance,
  type ClassifiedInstance,
} from './classify.js';

export interface PlanOptions {
  mode: Mode;
  now: Date;
  /** Limit to one pool. */
  pool?: string;
  /** scale-up: an explicit number of runners for `pool`. */
  count?: number;
  /** Seed for the ClientToken of an explicit count: run id + attempt. */
  runKey: string;
  /** Labels added to the runners launched for an explicit count. */
  extraLabels: string[];
}

/** Launch tokens of the same demand are equal within this window (the cron period). */
export const TOKEN_WINDOW_MS = 5 * 60_000;

export const GHOST_REASON = 'ghost: runner registered for an instance that no longer exists';

const MS = { s: 1000, m: 60_000, h: 3_600_000 };

export function formatDuration(ms: number): string {
  if (ms >= MS.h && ms % MS.h === 0) return `${ms / MS.h}h`;
  if (ms >= MS.m && ms % MS.m === 0) return `${ms / MS.m}m`;
  if (ms >= MS.h) return `${(ms / MS.h).toFixed(1)}h`;
  if (ms >= MS.m) return `${Math.floor(ms / MS.m)}m${Math.round((ms % MS.m) / MS.s)}s`;
  return `${Math.round(ms / MS.s)}s`;
}

/** EC2 ClientToken (<= 64 chars) from what the launch serves, so two runs seeing the same demand launch once. */
export function clientToken(parts: (string | number)[]): string {
  return `rs-${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 48)}`;
}

interface PoolState {
  pool: PoolConfig;
  members: ClassifiedInstance[];
  jobs: QueuedJob[];
}

function countsOf(members: ClassifiedInstance[]): PoolCounts {
  const c: PoolCounts = { booting: 0, idle: 0, busy: 0, total: 0 };
  for (const m of members) {
    if (m.cls === 'leaving') continue;
    c.total += 1;
    if (m.cls === 'booting') c.booting += 1;
    else if (m.cls === 'idle') c.idle += 1;
    else if (m.cls === 'busy') c.busy += 1;
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

/** Dead instances: never came online, or lost their runner. */
function planDead(state: PoolState): Action[] {
  const { pool } = state;
  return state.members.flatMap((m): Action[] => {
    if (m.cls === 'orphan') {
      const why = m.instance.jobStartedAt
        ? 'orphan: its job ran and its runner is gone, but the instance did not shut down'
        : `orphan: no runner registered ${formatDuration(m.ageMs)} after launch (bootTimeout ${formatDuration(pool.bootTimeoutMs)})`;
      return [removeAction(m, why)];
    }
    if (m.cls === 'stale') {
      return [
        removeAction(
          m,
          `stale: runner offline ${formatDuration(m.ageMs)} after launch (bootTimeout ${formatDuration(pool.bootTimeoutMs)})`,
        ),
      ];
    }
    return [];
  });
}

/** Idle runners above what the pool needs, confirmed idle on two sightings idleTimeout apart. */
function planIdle(state: PoolState, options: PlanOptions): ClassifiedInstance[] {
  const { pool } = state;
  const now = options.now.getTime();
  const idle = state.members.filter((m) => m.cls === 'idle');
  if (options.mode === 'drain') return idle;

  const confirmed = (m: ClassifiedInstance) =>
    m.instance.idleSince !== undefined && now - m.instance.idleSince.getTime() >= pool.idleTimeoutMs;
  // Past maxLifetime an earlier idle sighting is enough: the instance goes regardless of min.
  const expired = idle.filter((m) => m.ageMs >= pool.maxLifetimeMs && m.instance.idleSince !== undefined);
  const keep = pool.min + state.jobs.length;
  const excess = Math.max(0, idle.length - expired.length - keep);
  const eligible = idle
    .filter((m) => !expired.includes(m) && confirmed(m) && m.ageMs >= pool.minLifetimeMs)
    .sort((a, b) => a.instance.launchTime.getTime() - b.instance.launchTime.getTime())
    .slice(0, excess);
  return [...expired, ...eligible];
}

function idleReason(m: ClassifiedInstance, pool: PoolConfig, options: PlanOptions): string {
  if (options.mode === 'drain') return 'drain: idle runner';
  if (m.ageMs >= pool.maxLifetimeMs) {
    return `max lifetime: up ${formatDuration(m.ageMs)} (maxLifetime ${formatDuration(pool.maxLifetimeMs)}), idle`;
  }
  const idleFor = options.now.getTime() - (m.instance.idleSince?.getTime() ?? options.now.getTime());
  return `idle ${formatDuration(idleFor)} (idleTimeout ${formatDuration(pool.idleTimeoutMs)}), above min ${pool.min}`;
}

/** Idle-since tags: set on the first idle sighting, cleared when the runner is no longer idle. */
function planIdleTags(states: PoolState[], now: Date): Action[] {
  const mark = new Map<string, string[]>();
  const clear = new Map<string, string[]>();
  for (const m of states.flatMap((s) => s.members)) {
    const { instance } = m;
    const target =
      m.cls === 'idle' && !instance.idleSince ? mark : m.cls !== 'idle' && instance.idleSince ? clear : null;
    if (!target || m.cls === 'leaving') continue;
    target.set(instance.region, [...(target.get(instance.region) ?? []), instance.id]);
  }
  const actions: Action[] = [];
  for (const [region, instanceIds] of mark) {
    actions.push({ kind: 'mark-idle', region, instanceIds, since: now, reason: 'first sighting as idle' });
  }
  for (const [region, instanceIds] of clear) {
    actions.push({ kind: 'clear-idle', region, instanceIds, reason: 'no longer idle' });
  }
  return actions;
}

function planLaunch(
  state: PoolState,
  removed: Set<string>,
  options: PlanOptions,
): LaunchAction | string | undefined {
  const { pool } = state;
  const present = state.members.filter((m) => m.cls !== 'leaving');
  const room = Math.max(0, pool.max - present.length);
  const supply = present.filter(
    (m) => (m.cls === 'idle' || m.cls === 'booting') && !removed.has(m.instance.id),
  );

  let want: number;
  let token: (count: number) => string;
  let jobIds: number[] = [];
  let reason: string;
  if (options.count !== undefined) {
    want = options.count;
    token = (count) => clientToken(['count', options.runKey, pool.name, count]);
    reason = `count input: ${want} runner(s) requested`;
  } else {
    const jobs = [...state.jobs].sort((a, b) => a.id - b.id);
    const gap = Math.max(0, jobs.length - supply.length);
    const deficit = Math.max(0, pool.min - Math.max(0, supply.length - jobs.length));
    want = gap + deficit;
    jobIds = jobs.slice(jobs.length - gap).map((j) => j.id);
    const parts = [
      `${jobs.length} queued job(s)`,
      `${supply.length} idle or booting`,
      ...(deficit > 0 ? [`min ${pool.min} idle`] : []),
    ];
    reason = `demand: ${parts.join(', ')}`;
    // Served jobs identify job-driven launches; the pool's current members identify min top-ups. The time
    // window keeps a token from being reused once its instances are gone (EC2 then refuses it), e.g. when an
    // instance died before taking its job and the job is still queued. Within the window, the dead instances
    // a launch replaces tell it from the launch that created them, which EC2 would otherwise replay.
    const members = present.map((m) => m.instance.id).sort();
    const dead = state.members
      .filter((m) => m.cls === 'orphan' || m.cls === 'stale' || m.cls === 'leaving')
      .map((m) => m.instance.id)
      .sort();
    const window = Math.floor(options.now.getTime() / TOKEN_WINDOW_MS);
    const served = ['|', ...jobIds.map(String), '|', ...(gap ? dead : members)];
    token = (count: number) => clientToken(['demand', pool.name, count, window, ...served]);
  }
  if (want <= 0) return undefined;
  const count = Math.min(want, room);
  const capped = count < want ? `; capped by max ${pool.max} (${present.length} present)` : '';
  if (count === 0) return `pool ${pool.name}: ${reason}, but max ${pool.max} reached: nothing launched`;
  return {
    kind: 'launch',
    pool: pool.name,
    count,
    clientToken: token(count),
    jobIds,
    extraLabels: options.count !== undefined ? options.extraLabels : [],
    reason: `${reason}${capped}`,
  };
}

function groupByPool(instances: Instance[]): Map<string, Instance[]> {
  const byPool = new Map<string, Instance[]>();
  for (const i of instances) {
    const name = i.pool ?? '(no pool tag)';
    const group = byPool.get(name);
    if (group) group.push(i);
    else byPool.set(name, [i]);
  }
  return byPool;
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
    idleTimeoutMs: 5 * MS.m,
    bootTimeoutMs: 10 * MS.m,
    minLifetimeMs: 2 * MS.m,
    maxLifetimeMs: 24 * MS.h,
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
      m.parameter === undefined &&
      m.instance.jobStartedAt === undefined &&
      // A runner registered but offline may also be one starting right after the instance read its parameter;
      // replacing it then costs that instance (it shuts down, bootTimeout cleans up), never a job.
      m.runner?.status !== 'online' &&
      m.ageMs >= pool.bootTimeoutMs / 2,
  );
}

function withAdoption(state: PoolState, launch: LaunchAction | undefined): LaunchAction | undefined {
  const adopt = adoptable(state)
    .map((m) => m.instance.id)
    .sort();
  if (adopt.length === 0) return launch;
  const why = `${adopt.length} booting instance(s) without a runner config (an earlier run stopped before delivering it)`;
  if (launch) return { ...launch, adopt, reason: `${launch.reason}; configures ${why}` };
  return {
    kind: 'launch',
    pool: state.pool.name,
    count: 0,
    clientToken: clientToken(['adopt', state.pool.name, ...adopt]),
    jobIds: [],
    extraLabels: [],
    adopt,
    reason: `configure ${why}`,
  };
}

/** The reads that failed or were partial, each as `<what>: <error>`; nothing may be removed after one. */
export function failedReads(snapshot: Snapshot): string[] {
  return (['instances', 'runners', 'parameters', 'jobs'] as const)
    .filter((key) => !snapshot[key].complete)
    .map((key) => `${key}: ${snapshot[key].error ?? 'partial read'}`);
}

export function plan(snapshot: Snapshot, config: Config, options: PlanOptions): Plan {
  const { mode, now } = options;
  const notes: string[] = [];
  const pools = config.pools.filter((p) => !options.pool || p.name === options.pool);
  const runners = runnersByInstance(config.environment, snapshot.runners.items);
  const parameters = parametersByInstance(config.environment, snapshot.parameters.items);
  const { byPool, unmatched } = assignJobs(snapshot.jobs.items, config.pools);
  const states: PoolState[] = pools.map((pool) => ({
    pool,
    jobs: byPool.get(pool.name) ?? [],
    members: snapshot.instances.items
      .filter((i) => i.pool === pool.name)
      .map((i) => ({
        ...classifyInstance(i, runners.get(i.id), pool, now),
        parameter: parameters.get(i.id),
      })),
  }));
  // A pool removed from the file scales to zero: its dead instances and idle runners go, busy ones finish.
  const known = new Set(config.pools.map((p) => p.name));
  const retired = groupByPool(snapshot.instances.items.filter((i) => !known.has(i.pool ?? '')));
  if (!options.pool) {
    for (const [name, instances] of retired) {
      const pool = retiredPool(name, instances[0]?.region ?? '');
      const members = instances.map((i) => ({
        ...classifyInstance(i, runners.get(i.id), pool, now),
        parameter: parameters.get(i.id),
      }));
      states.push({ pool, jobs: [], members });
      notes.push(
        `pool ${name} is not in the pools file: its ${instances.length} instance(s) are scaled to zero`,
      );
    }
  }
  if (unmatched.length > 0) notes.push(`${unmatched.length} queued job(s) match no pool's labels`);

  const problems = failedReads(snapshot);
  const removing = mode !== 'scale-up';
  const canRemove = removing && problems.length === 0;
  const canLaunch =
    (mode === 'scale-up' || mode === 'reconcile') && snapshot.instances.complete && snapshot.runners.complete;
  if (removing && !canRemove)
    notes.push(`nothing removed: a read failed or was partial (${problems.join('; ')})`);
  if ((mode === 'scale-up' || mode === 'reconcile') && !canLaunch) {
    notes.push('nothing launched: the instance or runner list could not be read completely');
  }

  const actions: Action[] = [];
  const removedIds = new Set<string>();
  const pending: PoolPlan[] = [];
  for (const state of states) {
    const poolActions: Action[] = [];
    if (canRemove) {
      poolActions.push(...planDead(state));
      for (const m of planIdle(state, options))
        poolActions.push(removeAction(m, idleReason(m, state.pool, options)));
      if (mode === 'drain') {
        const booting = state.members.filter((m) => m.cls === 'booting');
        for (const m of booting) poolActions.push(removeAction(m, 'drain: booting instance'));
      }
    }
    for (const a of poolActions)
      if (a.kind === 'remove-runner' || a.kind === 'terminate') removedIds.add(a.instanceId ?? '');
    if (canLaunch) {
      const planned = planLaunch(state, removedIds, options);
      if (typeof planned === 'string') notes.push(planned);
      const launch = typeof planned === 'string' ? undefined : planned;
      // Whether an instance has its parameter is known only from a complete read; a count run serves its own
      // workflow; a retired pool gets no new runners.
      const adopts =
        snapshot.parameters.complete && options.count === undefined && known.has(state.pool.name);
      const adopting = adopts ? withAdoption(state, launch) : launch;
      if (adopting) poolActions.unshift(adopting);
    }
    actions.push(...poolActions);
    pending.push(poolSummary(state, poolActions, removedIds));
  }
  if (canRemove) {
    actions.push(...planIdleTags(states, now).filter((a) => a.kind !== 'mark-idle' || mode !== 'drain'));
    if (!options.pool) actions.push(...planEnvironmentCleanup(config.environment, snapshot, notes));
  }
  return { mode, now, actions, pools: pending, notes };
}

function poolSummary(state: PoolState, actions: Action[], removed: Set<string>): PoolPlan {
  const before = countsOf(state.members);
  const launched = actions.reduce((n, a) => n + (a.kind === 'launch' ? a.count : 0), 0);
  const after = countsOf(state.members.filter((m) => !removed.has(m.instance.id)));
  after.booting += launched;
  after.total += launched;
  return { pool: state.pool.name, queued: state.jobs.length, before, after };
}

/** Ghost runners and leaked parameters belong to the environment, not to one pool. */
function planEnvironmentCleanup(environment: string, snapshot: Snapshot, notes: string[]): Action[] {
  const actions: Action[] = [];
  for (const runner of ghostRunners(environment, snapshot)) {
    if (runner.status === 'online' || runner.busy) {
      notes.push(`runner ${runner.name} is online but its instance is not listed: kept`);
      continue;
    }
    actions.push({
      kind: 'remove-runner',
      runnerId: runner.id,
      runnerName: runner.name,
      reason: GHOST_REASON,
    });
  }
  for (const parameter of leakedParameters(environment, snapshot)) {
    actions.push({
      kind: 'delete-parameter',
      name: parameter.name,
      region: parameter.region,
      reason: 'leaked: parameter of an instance that no longer exists',
    });
  }
  return actions;
}
