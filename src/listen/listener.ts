// The listener: a message session per scale-set pool, the pools' demand from their statistics, decisions
// when a pool needs more runners (within a second of the message) and every few minutes, and a heartbeat in
// the coordination store, until the stop signal (deadline, SIGINT, SIGTERM). Then every session is deleted,
// the decisions in flight finish (within a bound), and the period's numbers are returned.
import { setInterval as every } from 'node:timers/promises';
import type { ScaleSetDemand } from '../engine/plan.js';
import type { GitHubLog } from '../github/client.js';
import type { ScaleSetClient, ScaleSetStatistics } from '../github/scaleset/types.js';
import type { Config, Ec2Gateway, Gateways, PoolConfig } from '../types.js';
import type { ScaleSetBackend } from './backend.js';
import { demandOf, initialDemand, observeStatistics, staleNote, type DemandState } from './demand.js';
import {
  createMetrics,
  recordError,
  recordJobs,
  recordLaunchCall,
  recordLaunched,
  type ListenMetrics,
} from './metrics.js';
import type { ListenerRecord, ListenerRegistry } from './registry.js';
import { REQUESTED_ID } from './registry.js';
import { createScaler, type Scaler } from './scaler.js';
import { DEFAULT_RETRY, listenToPool, type RetryTimes, type SessionEvents } from './session.js';

export interface ListenerDeps {
  config: Config;
  /** The scale-set pools to listen to. */
  pools: PoolConfig[];
  client: ScaleSetClient;
  backends: Map<string, ScaleSetBackend>;
  gateways: Gateways;
  registry?: ListenerRegistry;
  log: GitHubLog;
  /** The workflow run: repository#run/attempt. */
  holder: string;
  /** The session owner GitHub shows. */
  ownerName: string;
  registrationUrl: string;
  deadline: Date;
  retry?: RetryTimes;
  /** Default 3 min. */
  reconcileEveryMs?: number;
  /** Default 30 s. */
  heartbeatEveryMs?: number;
  staleAfterMs?: number;
  /** How long stopping waits for decisions in flight. Default 5 s. */
  settleMs?: number;
  now?: () => number;
}

export interface ListenResult {
  metrics: ListenMetrics;
  /** Each pool's last statistics and phantoms. */
  demand: Map<string, DemandState>;
  scaler: Scaler;
  /** Why it did not listen at all: another listener already waits to take over. */
  yielded?: string;
  /** Decisions in flight that had not finished when it stopped. */
  unsettled: boolean;
  stoppedAt: number;
}

/** What the listener knows while it runs. */
interface Live {
  deps: ListenerDeps;
  now: () => number;
  metrics: ListenMetrics;
  demand: Map<string, DemandState>;
  held: Set<string>;
  scaler: Scaler;
  id: string;
  notes: Map<string, string>;
}

/** Launch calls are timed as they go out: the queue -> launch latency of the jobs they serve. */
function timedGateways(gateways: Gateways, metrics: ListenMetrics, now: () => number): Gateways {
  const timed = (ec2: Ec2Gateway): Ec2Gateway => ({
    ...ec2,
    async launchInstances(request) {
      recordLaunchCall(metrics, request.pool.name, now());
      const result = await ec2.launchInstances(request);
      recordLaunched(metrics, request.pool.name, result.instanceIds.length);
      return result;
    },
  });
  return { ...gateways, ec2: (region) => timed(gateways.ec2(region)) };
}

function currentDemand(live: Live): Record<string, ScaleSetDemand> {
  const result: Record<string, ScaleSetDemand> = {};
  for (const pool of live.deps.pools) {
    const state = live.demand.get(pool.name);
    const demand = state && live.held.has(pool.name) ? demandOf(pool, state, live.now()) : undefined;
    if (demand) result[pool.name] = demand;
  }
  return result;
}

function onStatistics(live: Live, pool: PoolConfig, statistics: ScaleSetStatistics | undefined): void {
  const state = observeStatistics(
    live.demand.get(pool.name) ?? initialDemand(),
    statistics,
    live.now(),
    live.deps.staleAfterMs,
  );
  live.demand.set(pool.name, state);
  const note = staleNote(pool, state);
  if (note && live.notes.get(pool.name) === undefined) live.deps.log.warning(note);
  if (note) live.notes.set(pool.name, note);
  else live.notes.delete(pool.name);
  live.metrics.notes = Object.fromEntries(live.notes);
  const demand = demandOf(pool, state, live.now());
  const known = live.scaler.known(pool.name);
  if (demand && live.held.has(pool.name) && (known === undefined || demand.desired > known))
    live.scaler.request('launch');
}

function sessionEvents(live: Live): SessionEvents {
  const poolOf = (name: string) => live.deps.pools.find((p) => p.name === name) as PoolConfig;
  return {
    statistics: (pool, statistics) => onStatistics(live, poolOf(pool), statistics),
    jobs: (pool, jobs) => recordJobs(live.metrics, pool, jobs, live.now()),
    session(pool, held) {
      if (held) {
        live.held.add(pool);
        live.metrics.sessions.created += 1;
      } else live.held.delete(pool);
      void heartbeat(live);
    },
    error(_pool, kind) {
      recordError(live.metrics, kind);
      if (kind === 'session-conflict') live.metrics.sessions.conflicts += 1;
    },
  };
}

function record(live: Live): ListenerRecord {
  return {
    id: live.id,
    state: live.held.size > 0 ? 'listening' : 'waiting',
    holder: live.deps.holder,
    heartbeat: new Date(live.now()),
    deadline: live.deps.deadline,
    pools: live.deps.pools.map((p) => p.name),
    warnings: [...live.notes.values()],
  };
}

async function heartbeat(live: Live): Promise<void> {
  await live.deps.registry?.write(record(live)).catch((error: unknown) => {
    recordError(live.metrics, 'heartbeat');
    live.deps.log.debug(`listener heartbeat failed: ${String(error)}`);
  });
}

/**
 * One listener listens and one waits to take over (a hot standby, and the next one at a handover): a third
 * is not needed. Listeners started at once both stay (one of them waits).
 */
async function successorWaiting(live: Live): Promise<string | undefined> {
  const records = (await live.deps.registry?.list().catch(() => [])) ?? [];
  const fresh = records.filter((r) => r.id !== live.id && live.now() - r.heartbeat.getTime() < 60_000);
  const waiting = fresh.find((r) => r.state === 'waiting');
  const listening = fresh.find((r) => r.state === 'listening');
  return waiting && listening
    ? `listener ${listening.holder} listens and ${waiting.holder} already waits to take over`
    : undefined;
}

async function periodic(live: Live, stop: AbortSignal): Promise<void> {
  const { deps } = live;
  const ticks = async (ms: number, tick: () => Promise<void>) => {
    try {
      const timer = every(ms, undefined, { signal: stop });
      while (!(await timer.next()).done) await tick();
    } catch {
      // stopped
    }
  };
  await Promise.all([
    ticks(deps.reconcileEveryMs ?? 180_000, async () => {
      if (live.held.size > 0) live.scaler.request('reconcile');
    }),
    ticks(deps.heartbeatEveryMs ?? 30_000, () => heartbeat(live)),
  ]);
}

export async function listen(deps: ListenerDeps, stop: AbortSignal): Promise<ListenResult> {
  const now = deps.now ?? Date.now;
  const metrics = createMetrics(
    now(),
    deps.pools.map((p) => p.name),
  );
  const startedAt = now();
  const live: Live = {
    deps: { ...deps, gateways: timedGateways(deps.gateways, metrics, now) },
    now,
    metrics,
    demand: new Map(),
    held: new Set(),
    id: `${deps.holder}-${startedAt.toString(36)}`.replace(/[^\w#./-]/g, '_'),
    notes: new Map(),
    scaler: undefined as unknown as Scaler,
  };
  live.scaler = createScaler({ ...live.deps, demand: () => currentDemand(live), metrics, now });
  const early = await successorWaiting(live);
  if (early) {
    return {
      metrics,
      demand: live.demand,
      scaler: live.scaler,
      yielded: early,
      unsettled: false,
      stoppedAt: now(),
    };
  }
  await heartbeat(live);
  await deps.registry?.remove(REQUESTED_ID).catch(() => undefined);
  const events = sessionEvents(live);
  const retry = deps.retry ?? DEFAULT_RETRY;
  await Promise.all([
    ...deps.pools.map((pool) =>
      listenToPool(
        { ...live.deps, pool, backend: deps.backends.get(pool.name) as ScaleSetBackend, retry, events },
        stop,
      ),
    ),
    periodic(live, stop),
  ]);
  const settled = await live.scaler.settle(deps.settleMs ?? 5_000);
  await deps.registry?.remove(live.id).catch(() => undefined);
  return {
    metrics,
    demand: live.demand,
    scaler: live.scaler,
    unsettled: !settled,
    stoppedAt: now(),
  };
}
