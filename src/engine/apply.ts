// Executes a Plan in a safe order and records an Outcome per item; a failure never stops the rest.
// Order: launch (latency matters) and deliver runner configs, idle tags, then re-check and unregister,
// terminate what has no runner left, and delete the parameters of what terminated.
import {
  TAG_IDLE_SINCE,
  instanceTags,
  parameterName,
  parameterTags,
  poolParameterName,
  runnerName,
} from '../contract.js';
import type { Action, LaunchAction, Outcome, Plan, PoolConfig, TerminateAction } from '../types.js';
import type { ApplyContext } from './context.js';
import { failed } from './outcomes.js';
import { remove, terminate } from './remove.js';
import { mapLimit, settle } from './settle.js';

export type { ApplyContext } from './context.js';

/** Calls kept in flight; the Octokit throttling plugin and the SDK retry modes pace the real rate. */
const CONCURRENCY = 8;

function runnerLabels(pool: PoolConfig, extra: string[]): string[] {
  const labels = [...pool.labels, ...extra];
  return labels.some((l) => l.toLowerCase() === 'self-hosted') ? labels : ['self-hosted', ...labels];
}

// ---------------------------------------------------------------- launch

/** `adopted`: booting instances an earlier run launched but never configured; never terminated here. */
async function deliverJitConfigs(
  pool: PoolConfig,
  action: LaunchAction,
  instanceIds: string[],
  ctx: ApplyContext,
  adopted: string[] = [],
): Promise<Outcome[]> {
  const { github } = ctx.gateways;
  const ssm = ctx.gateways.ssm(pool.region);
  const env = ctx.config.environment;
  const undeliverable: string[] = [];
  const launched = new Set(instanceIds);
  const outcomes = await mapLimit([...instanceIds, ...adopted], CONCURRENCY, async (id): Promise<Outcome> => {
    const name = runnerName(env, id);
    // An adopted instance whose delivery fails is left as it is: bootTimeout removes it, re-checked.
    const giveUp = () => {
      if (launched.has(id)) undeliverable.push(id);
    };
    const jit = await settle(
      github.generateJitConfig(name, runnerLabels(pool, action.extraLabels), ctx.config.github.runnerGroupId),
    );
    if (!jit.ok) {
      giveUp();
      return failed('register', name, 'JIT config', jit.error, pool.name);
    }
    const put = await settle(
      ssm.putSecureParameter(parameterName(env, id), jit.value.encodedJitConfig, parameterTags(id)),
    );
    if (!put.ok) {
      giveUp();
      // The pre-registered runner would never come online: take it back with its instance.
      await settle(github.deleteRunner(jit.value.runnerId));
      return failed('register', name, 'JIT config parameter', put.error, pool.name);
    }
    return {
      action: 'register',
      target: name,
      pool: pool.name,
      status: 'done',
      reason: launched.has(id)
        ? 'JIT config delivered'
        : 'JIT config delivered to a booting instance without one',
    };
  });
  return [...outcomes, ...(await terminateUndeliverable(pool, undeliverable, ctx))];
}

async function deliverRegistrationToken(
  pool: PoolConfig,
  action: LaunchAction,
  instanceIds: string[],
  ctx: ApplyContext,
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
            labels: runnerLabels(pool, action.extraLabels),
            runnerGroup: ctx.config.github.runnerGroup,
          }),
        ),
      )
    : token;
  if (!put.ok) {
    const outcome = failed('register', name, 'registration token', put.error, pool.name);
    return [outcome, ...(await terminateUndeliverable(pool, instanceIds, ctx))];
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

/** Instances that will never get a runner config are terminated now rather than at bootTimeout. */
async function terminateUndeliverable(
  pool: PoolConfig,
  ids: string[],
  ctx: ApplyContext,
): Promise<Outcome[]> {
  if (ids.length === 0) return [];
  const actions: TerminateAction[] = ids.map((instanceId) => ({
    kind: 'terminate',
    pool: pool.name,
    instanceId,
    region: pool.region,
    reason: 'its runner config could not be delivered',
  }));
  return terminate(pool.region, actions, ctx);
}

interface Launched {
  outcomes: Outcome[];
  launched: number;
  /** Config delivery, started at once and paced by the API budgets while the instances boot. */
  delivery: Promise<Outcome[]>;
}

async function launch(action: LaunchAction, ctx: ApplyContext): Promise<Launched> {
  const pool = ctx.config.pools.find((p) => p.name === action.pool) as PoolConfig;
  const adopted = action.adopt ?? [];
  const result = await settle(
    ctx.gateways.ec2(pool.region).launchInstances({
      pool,
      count: action.count,
      clientToken: action.clientToken,
      tags: instanceTags(ctx.config.environment, pool.name),
    }),
  );
  if (!result.ok) {
    const outcome = failed('launch', pool.name, action.reason, result.error, pool.name);
    const delivery =
      adopted.length > 0 ? deliverJitConfigs(pool, action, [], ctx, adopted) : Promise.resolve([]);
    return { outcomes: [outcome], launched: 0, delivery };
  }
  const { instanceIds, errors } = result.value;
  ctx.log.info(`pool ${pool.name}: launched ${instanceIds.length} of ${action.count}`);
  const outcomes: Outcome[] = [];
  if (instanceIds.length > 0) {
    outcomes.push({
      action: 'launch',
      target: pool.name,
      pool: pool.name,
      status: 'done',
      reason: action.reason,
      detail: `${instanceIds.length} of ${action.count} launched: ${instanceIds.slice(0, 5).join(', ')}${instanceIds.length > 5 ? ', …' : ''}`,
    });
  }
  const missing = action.count - instanceIds.length;
  if (missing > 0) {
    const codes = [...new Set(errors.map((e) => e.code))];
    outcomes.push({
      action: 'launch',
      target: pool.name,
      pool: pool.name,
      status: 'failed',
      reason: `${missing} of ${action.count} not launched (the next run retries the shortfall)`,
      code: codes.join(', ') || 'Shortfall',
      detail: errors
        .map((e) => e.message)
        .join('; ')
        .slice(0, 500),
    });
  }
  let delivery: Promise<Outcome[]> = Promise.resolve([]);
  if (pool.registration === 'token' && instanceIds.length > 0)
    delivery = deliverRegistrationToken(pool, action, instanceIds, ctx);
  else if (pool.registration === 'jit' && instanceIds.length + adopted.length > 0)
    delivery = deliverJitConfigs(pool, action, instanceIds, ctx, adopted);
  return { outcomes, launched: instanceIds.length, delivery };
}

// ---------------------------------------------------------------- idle tags

async function applyTags(actions: Action[], ctx: ApplyContext): Promise<Outcome[]> {
  return Promise.all(
    actions.flatMap((action) => {
      if (action.kind !== 'mark-idle' && action.kind !== 'clear-idle') return [];
      const ec2 = ctx.gateways.ec2(action.region);
      const call =
        action.kind === 'mark-idle'
          ? ec2.createTags(action.instanceIds, { [TAG_IDLE_SINCE]: action.since.toISOString() })
          : ec2.deleteTags(action.instanceIds, [TAG_IDLE_SINCE]);
      const target = `${action.instanceIds.length} instance(s) in ${action.region}`;
      return settle(call).then((r): Outcome =>
        r.ok
          ? { action: action.kind, target, status: 'done', reason: action.reason }
          : failed(action.kind, target, action.reason, r.error),
      );
    }),
  );
}

export interface ApplyResult {
  outcomes: Outcome[];
  launched: number;
}

export async function apply(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const launches = plan.actions.filter((a): a is LaunchAction => a.kind === 'launch');
  const launched = await Promise.all(launches.map((a) => launch(a, ctx)));
  const tags = await applyTags(plan.actions, ctx);
  const removed = await remove(plan, ctx);
  const delivered = await Promise.all(launched.map((l) => l.delivery));
  return {
    outcomes: [...launched.flatMap((l) => l.outcomes), ...delivered.flat(), ...tags, ...removed],
    launched: launched.reduce((n, l) => n + l.launched, 0),
  };
}
