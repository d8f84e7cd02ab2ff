// Writing a pool's boot-failure breaker after this run's removals: only instances whose termination was done
// count as failures. The write is conditional on the record's version; on a conflict the record is read again
// and the update made on it once more.
import type { BreakerAction, BreakerRecord, Outcome, Plan } from '../types.js';
import { breakerMessage, nextBreaker } from './breaker.js';
import type { ApplyContext } from './context.js';
import { failed } from './outcomes.js';
import { settle } from './settle.js';

async function writeOnce(
  action: BreakerAction,
  current: BreakerRecord | undefined,
  failedBoots: string[],
  ctx: ApplyContext,
) {
  const store = ctx.gateways.store;
  if (!store) return { written: false as const };
  const now = new Date(ctx.now?.() ?? Date.now());
  const next = nextBreaker(current, { ...action, failedBoots }, now);
  if (next === current) return { written: true as const, record: next };
  const expected = current?.version ?? 0;
  const ok = await store.writeBreaker({ ...next, version: expected + 1 }, expected);
  return ok ? { written: true as const, record: next } : { written: false as const };
}

async function applyBreaker(
  action: BreakerAction,
  terminated: Set<string>,
  ctx: ApplyContext,
): Promise<Outcome> {
  const failedBoots = action.failedBoots.filter((id) => terminated.has(id));
  const pool = ctx.config.pools.find((p) => p.name === action.pool);
  const target = `pool ${action.pool}`;
  const attempt = async () => {
    let result = await writeOnce(action, action.current, failedBoots, ctx);
    if (!result.written && ctx.gateways.store) {
      const fresh = await ctx.gateways.store.read(new Date(ctx.now?.() ?? Date.now()));
      result = await writeOnce(
        action,
        fresh.breakers.find((b) => b.pool === action.pool),
        failedBoots,
        ctx,
      );
    }
    return result;
  };
  const result = await settle(attempt());
  if (!result.ok) return failed('breaker', target, action.reason, result.error, action.pool);
  if (!result.value.written) {
    return {
      action: 'breaker',
      target,
      pool: action.pool,
      status: 'skipped',
      reason: action.reason,
      code: 'changed',
      detail: 'another run updated the breaker twice meanwhile',
    };
  }
  const record = result.value.record;
  const openedNow = record?.openUntil && record.openUntil.getTime() !== action.current?.openUntil?.getTime();
  if (openedNow && pool && record) {
    // The breaker opened: the step fails so that somebody looks.
    return {
      action: 'breaker',
      target,
      pool: action.pool,
      status: 'failed',
      reason: action.reason,
      code: 'BootFailures',
      detail: breakerMessage(pool, record),
    };
  }
  return {
    action: 'breaker',
    target,
    pool: action.pool,
    status: 'done',
    reason: action.reason,
    detail: `${record?.failures ?? 0} boot failure(s) in a row`,
  };
}

export async function applyBreakers(plan: Plan, removed: Outcome[], ctx: ApplyContext): Promise<Outcome[]> {
  const terminated = new Set(
    removed.filter((o) => o.action === 'terminate' && o.status === 'done').map((o) => o.target),
  );
  // Nothing to write when no counted instance was really terminated and nothing booted.
  const actions = plan.actions.filter(
    (a): a is BreakerAction =>
      a.kind === 'breaker' && (a.booted || a.failedBoots.some((id) => terminated.has(id))),
  );
  return Promise.all(actions.map((a) => applyBreaker(a, terminated, ctx)));
}
