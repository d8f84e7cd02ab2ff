// Launching: one launch call per launch action, recorded in the coordination store before and after (so the
// next lease holder counts instances EC2 does not list yet), then the runner configs delivered while the
// instances boot, paced by the API budgets.
import {
  TAG_LABEL,
  instanceTags,
  parameterName,
  parameterTags,
  poolParameterName,
  runnerName,
} from '../contract.js';
import { RunnerAlreadyRegistered } from '../github/errors.js';
import type {
  Action,
  LaunchAction,
  LaunchError,
  LaunchRecord,
  LaunchResult,
  Outcome,
  PoolConfig,
  RemoveRunnerAction,
  TerminateAction,
} from '../types.js';
import { capacityErrorOf, isCapacityShortfall, judgeShortage } from './capacity.js';
import { runnerBackend, type ApplyContext } from './context.js';
import { failed, skipped } from './outcomes.js';
import { degradedCap } from './plan.js';
import { recheck, remove } from './remove.js';
import { errorCode, errorMessage, mapLimit, settle } from './settle.js';

/** Calls kept in flight; the Octokit throttling plugin and the SDK retry modes pace the real rate. */
const CONCURRENCY = 8;

/**
 * The runner's labels: the pool's plus `self-hosted`, or, for runners reserved for the jobs that ask for a
 * run-unique label, exactly the labels those jobs ask for (no job without that label can take them).
 */
function runnerLabels(pool: PoolConfig, action: LaunchAction): string[] {
  if (action.reservedLabel) return action.labels ?? [action.reservedLabel];
  const labels = [...pool.labels];
  return labels.some((l) => l.toLowerCase() === 'self-hosted') ? labels : ['self-hosted', ...labels];
}

// ---------------------------------------------------------------- launch

interface Delivery {
  pool: PoolConfig;
  action: LaunchAction;
  /** Instances this run's launch call returned. */
  launched: Set<string>;
  /** When the plan was made: an instance launched before it is not this run's own. */
  planNow: Date;
  /** Removals of this run's own instances that will never get a runner config. */
  undeliverable: Action[];
}

/** A runner registration's fresh evidence, for the DELETE that replaces a runner whose config was lost. */
function instanceUnused(id: string, name: string, pool: PoolConfig, ctx: ApplyContext) {
  return async (): Promise<boolean> => {
    const action: RemoveRunnerAction = {
      kind: 'remove-runner',
      pool: pool.name,
      runnerId: 0,
      runnerName: name,
      instanceId: id,
      region: pool.region,
      reason: 'replace a runner whose config was lost',
    };
    return (await recheck([action], ctx)).proceed.length === 1;
  };
}

async function deliverJitConfig(id: string, d: Delivery, ctx: ApplyContext): Promise<Outcome> {
  const { pool } = d;
  const env = ctx.config.environment;
  const name = runnerName(env, id);
  const own = d.launched.has(id);
  const base = {
    instanceId: id,
    region: pool.region,
    pool: pool.name,
    reason: 'its runner config could not be delivered',
  };
  const jit = await settle(
    runnerBackend(ctx.gateways, pool.name).generateJitConfig(
      name,
      runnerLabels(pool, d.action),
      ctx.config.github.runnerGroupId,
      instanceUnused(id, name, pool, ctx),
    ),
  );
  if (!jit.ok && jit.error instanceof RunnerAlreadyRegistered) {
    // Another run configured this instance (EC2 replayed its launch for our ClientToken) and its runner is up,
    // perhaps running a job: it serves demand as it is.
    const detail = `runner already registered and ${jit.error.state === 'busy' ? 'running a job' : 'online'}: configured by another run, kept`;
    return skipped('register', name, 'JIT config', 'changed', detail, pool.name);
  }
  if (!jit.ok) {
    // Never registered as far as this run knows: terminated only after a lookup by name finds no runner.
    if (own) d.undeliverable.push({ kind: 'terminate', ...base, launchedAfter: d.planNow });
    return failed('register', name, 'JIT config', jit.error, pool.name);
  }
  const put = await settle(
    ctx.gateways
      .ssm(pool.region)
      .putSecureParameter(parameterName(env, id), jit.value.encodedJitConfig, parameterTags(id)),
  );
  if (!put.ok) {
    // The pre-registered runner would never come online: taken back (unregister first) with its instance.
    if (own)
      d.undeliverable.push({
        kind: 'remove-runner',
        ...base,
        runnerId: jit.value.runnerId,
        runnerName: name,
      });
    return failed('register', name, 'JIT config parameter', put.error, pool.name);
  }
  const reason = own ? 'JIT config delivered' : 'JIT config delivered to a booting instance without one';
  return { action: 'register', target: name, pool: pool.name, status: 'done', reason };
}

/**
 * `adopted`: booting instances an earlier run launched but never configured; never terminated here. This run's
 * own instances that cannot be configured are removed through the same evidence checks as any removal.
 */
async function deliverJitConfigs(
  pool: PoolConfig,
  action: LaunchAction,
  instanceIds: string[],
  ctx: ApplyContext,
  planNow: Date,
  adopted: string[] = [],
): Promise<Outcome[]> {
  const d: Delivery = { pool, action, launched: new Set(instanceIds), planNow, undeliverable: [] };
  const outcomes = await mapLimit([...instanceIds, ...adopted], CONCURRENCY, (id) =>
    deliverJitConfig(id, d, ctx),
  );
  return [...outcomes, ...(d.undeliverable.length ? await remove(d.undeliverable, ctx) : [])];
}

async function deliverRegistrationToken(
  pool: PoolConfig,
  action: LaunchAction,
  instanceIds: string[],
  ctx: ApplyContext,
  planNow: Date,
): Promise<Outcome[]> {
  const name = poolParameterName(ctx.config.environment, pool.name);
  const token = await settle(ctx.gateways.github.createRegistrationToken());
  const put = token.ok
    ? await settle(
        ctx.gateways.ssm(pool.region).putSecureParameter(
          name,
          JSON.stringify({
            token: token.value.token,
            url: ctx.registrationUrl,
            labels: runnerLabels(pool, action),
            runnerGroup: ctx.config.github.runnerGroup,
          }),
        ),
      )
    : token;
  if (!put.ok) {
    const outcome = failed('register', name, 'registration token', put.error, pool.name);
    return [outcome, ...(await terminateUndeliverable(pool, instanceIds, ctx, planNow))];
  }
  return [
    {
      action: 'register',
      target: name,
      pool: pool.name,
      status: 'done',
      reason: 'registration token delivered',
    },
  ];
}

/** Instances that will never get a runner config are removed now (with the usual checks) rather than at bootTimeout. */
async function terminateUndeliverable(
  pool: PoolConfig,
  ids: string[],
  ctx: ApplyContext,
  planNow: Date,
): Promise<Outcome[]> {
  if (ids.length === 0) return [];
  const actions: TerminateAction[] = ids.map((instanceId) => ({
    kind: 'terminate',
    pool: pool.name,
    instanceId,
    region: pool.region,
    launchedAfter: planNow,
    reason: 'its runner config could not be delivered',
  }));
  return remove(actions, ctx);
}

/**
 * Whether EC2 surely launched nothing: it answered with an error document naming a rejection (throttling, no
 * capacity, a bad template…). After a network error, a timeout or an internal error it may have launched all the
 * same (the ClientToken would hand those instances to a retry).
 */
function refused(error: unknown): boolean {
  const meta = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const answered = meta(error)?.httpStatusCode ?? meta(cause)?.httpStatusCode;
  const code = errorCode(cause ?? error);
  return answered !== undefined && !AMBIGUOUS_CODES.has(code);
}

const AMBIGUOUS_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable']);
/** An intent whose launch may or may not have happened counts this long: the time a listing may lag. */
export const INTENT_MS = 3 * 60_000;

/** The launch's ids (or its failure) replace the intent; a failure to write is reported, the launch stands. */
async function recordOutcome(
  record: LaunchRecord,
  result: Awaited<ReturnType<typeof settle<LaunchResult>>>,
  ctx: ApplyContext,
): Promise<Outcome[]> {
  const store = ctx.gateways.store as NonNullable<ApplyContext['gateways']['store']>;
  // A refused call launched nothing; after an ambiguous failure the intent stays, for the time a listing lags.
  if (!result.ok && !refused(result.error)) return [];
  const pool = ctx.config.pools.find((p) => p.name === record.pool);
  const final: LaunchRecord = result.ok
    ? {
        ...record,
        instanceIds: result.value.instanceIds,
        state: result.value.instanceIds.length ? 'launched' : 'failed',
        expiresAt: new Date(record.at.getTime() + (pool?.bootTimeoutMs ?? INTENT_MS)),
      }
    : { ...record, state: 'failed' };
  const written = await settle(store.recordLaunch(final));
  if (written.ok) return [];
  // The intent stays and counts `count` instances until it expires: fewer launches, never more.
  return [
    failed(
      'record',
      record.pool,
      'launch record not updated with the instance ids',
      written.error,
      record.pool,
    ),
  ];
}

/**
 * A launch that fell short: a failure, or, when EC2 only lacked capacity, a warning until the shortage has lasted the
 * pool's capacityTimeout with no launch option left (engine/capacity.ts). The shortage is recorded for the next run.
 */
async function shortfall(
  action: LaunchAction,
  pool: PoolConfig,
  errors: LaunchError[],
  missing: number,
  ctx: ApplyContext,
): Promise<Outcome[]> {
  const base = {
    action: 'launch',
    target: pool.name,
    pool: pool.name,
    reason: `${missing} of ${action.count} not launched (the next run retries the shortfall)`,
    code: [...new Set(errors.map((e) => e.code))].join(', ') || 'Shortfall',
    count: missing,
  };
  const messages = errors.map((e) => e.message).join('; ');
  if (!isCapacityShortfall(errors)) {
    return [{ ...base, status: 'failed', detail: messages.slice(0, 500) }];
  }
  const verdict = judgeShortage(pool, errors, action.shortage, new Date(ctx.now?.() ?? Date.now()));
  const outcome: Outcome = {
    ...base,
    status: verdict.status,
    detail: `${verdict.why}: ${messages}`.slice(0, 500),
    shortage: verdict.shortage,
  };
  const store = ctx.gateways.store;
  const written = store ? await settle(store.recordShortage(verdict.record)) : { ok: true as const };
  if (written.ok) return [outcome];
  return [outcome, failed('record', pool.name, 'capacity shortage not recorded', written.error, pool.name)];
}

/** The pool launched all it asked for: a shortage it had is over. */
async function endShortage(action: LaunchAction, ctx: ApplyContext): Promise<void> {
  if (!action.shortage || !ctx.gateways.store) return;
  const cleared = await settle(ctx.gateways.store.clearShortage(action.pool));
  if (!cleared.ok)
    ctx.log.warning(
      `pool ${action.pool}: its capacity shortage could not be cleared: ${errorMessage(cleared.error)}`,
    );
}

export interface Launched {
  outcomes: Outcome[];
  launched: number;
  /** Config delivery, started at once and paced by the API budgets while the instances boot. */
  delivery: Promise<Outcome[]>;
}

/** The launch record of the coordination store: what the next lease holder counts until EC2 lists it. */
function launchRecord(
  action: LaunchAction,
  pool: PoolConfig,
  ctx: ApplyContext,
  count: number,
): LaunchRecord {
  const at = new Date(ctx.now?.() ?? Date.now());
  return {
    pool: pool.name,
    clientToken: action.clientToken,
    count,
    instanceIds: [],
    jobIds: action.jobIds,
    ...(action.reservedLabel ? { labels: action.labels ?? [action.reservedLabel] } : {}),
    runId: ctx.runKey ?? 'unknown',
    at,
    // An intent stands for instances only until a listing would show them; a launched record until bootTimeout
    // (by then its instances are listed, or dead): then it has done its work.
    expiresAt: new Date(at.getTime() + INTENT_MS),
    state: 'intent',
  };
}

/**
 * The intent is written before the launch call: a run that dies between the two still has its launch counted.
 * If the intent cannot be written, the launch is held to what a run without the lease may launch.
 */
async function recordIntent(action: LaunchAction, pool: PoolConfig, ctx: ApplyContext) {
  const store = ctx.gateways.store;
  if (!store || action.count === 0) return { count: action.count, record: undefined, outcome: undefined };
  const record = launchRecord(action, pool, ctx, action.count);
  const written = await settle(store.recordLaunch(record));
  if (written.ok) return { count: action.count, record, outcome: undefined };
  const count = Math.min(action.count, degradedCap(pool));
  const why = `launch record not written: launched at most ${count} (what a run without the lease may launch)`;
  return { count, record: undefined, outcome: failed('record', pool.name, why, written.error, pool.name) };
}

export async function launch(action: LaunchAction, ctx: ApplyContext, planNow: Date): Promise<Launched> {
  const pool = ctx.config.pools.find((p) => p.name === action.pool) as PoolConfig;
  const adopted = action.adopt ?? [];
  const intent = await recordIntent(action, pool, ctx);
  const result = await settle(
    ctx.gateways.ec2(pool.region).launchInstances({
      pool,
      count: intent.count,
      clientToken: action.clientToken,
      tags: {
        ...instanceTags(ctx.config.environment, pool.name),
        ...(action.reservedLabel ? { [TAG_LABEL]: action.reservedLabel } : {}),
      },
    }),
  );
  const recorded = intent.record ? await recordOutcome(intent.record, result, ctx) : [];
  const extra = [...(intent.outcome ? [intent.outcome] : []), ...recorded];
  if (!result.ok) {
    const capacity = capacityErrorOf(
      errorCode(result.error),
      errorMessage(result.error),
      pool.market === 'on-demand' ? 'on-demand' : 'spot',
    );
    const outcomes =
      capacity && intent.count > 0
        ? await shortfall({ ...action, count: intent.count }, pool, [capacity], intent.count, ctx)
        : [failed('launch', pool.name, action.reason, result.error, pool.name)];
    const delivery =
      adopted.length > 0 ? deliverJitConfigs(pool, action, [], ctx, planNow, adopted) : Promise.resolve([]);
    return { outcomes: [...outcomes, ...extra], launched: 0, delivery };
  }
  const { instanceIds, errors } = result.value;
  ctx.log.info(`pool ${pool.name}: launched ${instanceIds.length} of ${action.count}`);
  const outcomes: Outcome[] = [...extra];
  if (instanceIds.length > 0) {
    outcomes.push({
      action: 'launch',
      target: pool.name,
      pool: pool.name,
      status: 'done',
      reason: action.reason,
      detail: `${instanceIds.length} of ${action.count} launched: ${instanceIds.slice(0, 5).join(', ')}${instanceIds.length > 5 ? ', …' : ''}`,
      count: instanceIds.length,
    });
  }
  const missing = action.count - instanceIds.length;
  if (missing > 0) outcomes.push(...(await shortfall(action, pool, errors, missing, ctx)));
  else if (action.count > 0) await endShortage(action, ctx);
  let delivery: Promise<Outcome[]> = Promise.resolve([]);
  if (pool.registration === 'token' && instanceIds.length > 0)
    delivery = deliverRegistrationToken(pool, action, instanceIds, ctx, planNow);
  else if (pool.registration === 'jit' && instanceIds.length + adopted.length > 0)
    delivery = deliverJitConfigs(pool, action, instanceIds, ctx, planNow, adopted);
  return { outcomes, launched: instanceIds.length, delivery };
}
