// The listener's decisions: observe -> plan -> apply, as every other run makes them, under the coordination
// store's lease, one at a time. A decision is asked for whenever a scale set needs more runners than its
// pool had at the last decision (`launch`, the fast path: launches only), and every few minutes
// (`reconcile`: idle, dead and leaked resources by the usual rules, and launches). Requests that come while
// a decision runs are merged into the next one. The next decision may start as soon as the launch calls are
// answered and recorded: configs are delivered, and removals made, in the background.
import { apply } from '../engine/apply.js';
import { acquireLease, type Lease } from '../engine/lease.js';
import { observe } from '../engine/observe.js';
import { plan, type ScaleSetDemand } from '../engine/plan.js';
import type { GitHubLog } from '../github/client.js';
import type { Config, Gateways, Outcome, Plan } from '../types.js';
import { errorKind, recordError, recordNoLaunch, type ListenMetrics } from './metrics.js';

export type DecisionKind = 'launch' | 'reconcile';

export interface ScalerDeps {
  gateways: Gateways;
  config: Config;
  log: GitHubLog;
  /** Lease holder and launch records' run: names this listener. */
  holder: string;
  registrationUrl: string;
  /** The demand of every scale set whose statistics are known now. */
  demand(): Record<string, ScaleSetDemand>;
  metrics: ListenMetrics;
  now?: () => number;
  /** How long a decision waits for the lease another run holds. Default 30 s. */
  leaseWaitMs?: number;
}

export interface Scaler {
  request(kind: DecisionKind): void;
  /** The pool's size after the last decision (what it has and what it launched); undefined before one. */
  known(pool: string): number | undefined;
  /** Resolves once no decision runs or waits and every apply in flight finished, or after `ms`. */
  settle(ms: number): Promise<boolean>;
  /** Plans and outcomes so far (for the summary), the latest last. */
  readonly decisions: { kind: DecisionKind; at: number; plan: Plan; outcomes?: Outcome[] }[];
}

const NOT_READ = 'queued jobs are not read in listen mode (the scale sets tell the demand)';
const MAX_DECISIONS_KEPT = 200;

interface ScalerState {
  queued: Set<DecisionKind>;
  running?: Promise<void>;
  inFlight: Set<Promise<unknown>>;
  known: Map<string, number>;
  count: number;
}

export function createScaler(deps: ScalerDeps): Scaler {
  const state: ScalerState = { queued: new Set(), inFlight: new Set(), known: new Map(), count: 0 };
  const decisions: Scaler['decisions'] = [];
  const now = deps.now ?? Date.now;

  async function drain(): Promise<void> {
    while (state.queued.size > 0) {
      const kind: DecisionKind = state.queued.has('reconcile') ? 'reconcile' : 'launch';
      state.queued.clear();
      try {
        await decide(deps, state, decisions, kind, now);
      } catch (error) {
        recordError(deps.metrics, `decision: ${errorKind(error)}`);
        deps.log.warning(
          `the ${kind} decision failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    state.running = undefined;
  }

  return {
    decisions,
    request(kind) {
      state.queued.add(kind);
      state.running ??= drain();
    },
    known: (pool) => state.known.get(pool),
    async settle(ms) {
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), ms).unref());
      const done = (async () => {
        while (state.running || state.inFlight.size > 0) {
          await state.running;
          await Promise.allSettled([...state.inFlight]);
        }
        return true;
      })();
      return Promise.race([done, timeout]);
    },
  };
}

async function takeLease(deps: ScalerDeps, state: ScalerState): Promise<Lease> {
  const store = deps.gateways.store;
  if (!store) return { state: 'unavailable', error: 'no coordination store', release: async () => {} };
  state.count += 1;
  return acquireLease(store, `${deps.holder}/${state.count}`, {
    log: deps.log,
    waitMs: deps.leaseWaitMs ?? 30_000,
  });
}

async function decide(
  deps: ScalerDeps,
  state: ScalerState,
  decisions: Scaler['decisions'],
  kind: DecisionKind,
  now: () => number,
): Promise<void> {
  const decidedAt = now();
  const lease = await takeLease(deps, state);
  try {
    const at = new Date(decidedAt);
    const observed = await observe(
      deps.gateways,
      deps.config,
      {
        poll: false,
        event: { kind: 'none' },
        lease: lease.state,
        ...(lease.error ? { leaseError: lease.error } : {}),
        ...(lease.heldBy ? { heldBy: lease.heldBy } : {}),
        now: at,
      },
      deps.log,
    );
    const snapshot = { ...observed, jobs: { items: [], complete: false, error: NOT_READ } };
    const demand = deps.demand();
    const thePlan = plan(snapshot, deps.config, {
      mode: kind === 'reconcile' ? 'reconcile' : 'scale-up',
      now: at,
      runKey: deps.holder,
      scaleSets: demand,
    });
    for (const pool of thePlan.pools) if (demand[pool.pool]) state.known.set(pool.pool, pool.after.total);
    const decision: Scaler['decisions'][number] = { kind, at: decidedAt, plan: thePlan };
    decisions.push(decision);
    if (decisions.length > MAX_DECISIONS_KEPT) decisions.shift();
    logDecision(deps, thePlan, demand);
    await applyInBackground(deps, state, thePlan, lease, decision);
    for (const name of Object.keys(demand)) {
      if (!thePlan.actions.some((a) => a.kind === 'launch' && a.pool === name && a.count > 0))
        recordNoLaunch(deps.metrics, name, decidedAt);
    }
  } finally {
    await lease.release();
  }
}

/** Starts the apply; resolves once its launch calls are answered and recorded (the lease released then). */
async function applyInBackground(
  deps: ScalerDeps,
  state: ScalerState,
  thePlan: Plan,
  lease: Lease,
  decision: Scaler['decisions'][number],
): Promise<void> {
  let launched!: () => void;
  const launchesDone = new Promise<void>((resolve) => (launched = resolve));
  const applying = apply(thePlan, {
    gateways: deps.gateways,
    config: deps.config,
    log: deps.log,
    registrationUrl: deps.registrationUrl,
    runKey: deps.holder,
    onLaunched: async () => {
      await lease.release();
      launched();
    },
  }).then(
    (result) => {
      decision.outcomes = result.outcomes;
      for (const o of result.outcomes)
        if (o.status === 'failed') recordError(deps.metrics, `${o.action}: ${o.code ?? 'failed'}`);
    },
    (error: unknown) => recordError(deps.metrics, `apply: ${errorKind(error)}`),
  );
  state.inFlight.add(applying);
  void applying.finally(() => state.inFlight.delete(applying));
  await Promise.race([launchesDone, applying]);
}

function logDecision(deps: ScalerDeps, thePlan: Plan, demand: Record<string, ScaleSetDemand>): void {
  for (const pool of thePlan.pools) {
    const d = demand[pool.pool];
    if (!d) continue;
    const launches = thePlan.actions.reduce(
      (n, a) => n + (a.kind === 'launch' && a.pool === pool.pool ? a.count : 0),
      0,
    );
    const removals = thePlan.actions.filter(
      (a) => (a.kind === 'remove-runner' || a.kind === 'terminate') && a.pool === pool.pool,
    ).length;
    if (launches === 0 && removals === 0) continue;
    deps.log.info(
      `pool ${pool.pool}: desired ${d.desired}, ${pool.before.total} present: launch ${launches}, remove ${removals}`,
    );
  }
  for (const problem of thePlan.problems) deps.log.warning(problem);
}
