// Executes a Plan in a safe order and records an Outcome per item; a failure never stops the rest.
// Order: launch (latency matters) and deliver runner configs, idle tags, then re-check and unregister,
// terminate what has no runner left, and delete the parameters of what terminated.
import {
  TAG_ENVIRONMENT,
  TAG_IDLE_SINCE,
  instanceTags,
  parameterName,
  parameterTags,
  poolParameterName,
  runnerName,
} from '../contract.js';
import type {
  Action,
  Config,
  DeleteParameterAction,
  Gateways,
  Instance,
  LaunchAction,
  Log,
  Outcome,
  Plan,
  PoolConfig,
  RemoveRunnerAction,
  TerminateAction,
} from '../types.js';
import { errorCode, errorMessage, groupBy, mapLimit, settle } from './settle.js';

export interface ApplyContext {
  gateways: Gateways;
  config: Config;
  log: Log;
  /** Where token-registered runners register: https://github.com/<org> or /<owner>/<repo>. */
  registrationUrl: string;
}

/** Calls kept in flight; the Octokit throttling plugin and the SDK retry modes pace the real rate. */
const CONCURRENCY = 8;

const failed = (action: string, target: string, reason: string, error: unknown, pool?: string): Outcome => ({
  action,
  target,
  pool,
  status: 'failed',
  reason,
  code: errorCode(error),
  detail: errorMessage(error),
});

const skipped = (
  action: string,
  target: string,
  reason: string,
  code: string,
  detail: string,
  pool?: string,
): Outcome => ({ action, target, pool, status: 'skipped', reason, code, detail });

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
  return (await terminate(actions, ctx)).outcomes;
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

// ---------------------------------------------------------------- removal

type Removal = RemoveRunnerAction | TerminateAction;

/**
 * Fresh instance state right before removal: the instance's own job-started report closes the window
 * that GitHub's lagging busy flag leaves open.
 */
async function recheck(actions: Removal[], plan: Plan, ctx: ApplyContext) {
  const proceed: Removal[] = [];
  const outcomes: Outcome[] = [];
  const withInstance = actions.filter((a) => a.instanceId && a.region);
  const byRegion = groupBy(withInstance, (a) => a.region as string);
  for (const [region, group] of byRegion) {
    const fresh = await settle(
      ctx.gateways.ec2(region).describeInstances(group.map((a) => a.instanceId as string)),
    );
    const byId = new Map<string, Instance>(fresh.ok ? fresh.value.map((i) => [i.id, i]) : []);
    for (const action of group) {
      const target = action.kind === 'remove-runner' ? action.runnerName : action.instanceId;
      const instance = byId.get(action.instanceId as string);
      const skip = (code: string, why: string) =>
        outcomes.push(skipped('remove', target, action.reason, code, why, action.pool));
      if (!fresh.ok)
        outcomes.push(failed('remove', target, `${action.reason}; not re-checked`, fresh.error, action.pool));
      else if (instance && instance.tags[TAG_ENVIRONMENT] !== ctx.config.environment) {
        skip('protected', 'the instance does not carry this environment tag');
      } else if (
        instance?.jobStartedAt &&
        (action.kind === 'remove-runner' || instance.jobStartedAt > plan.now)
      ) {
        skip('busy', `the instance reported a job start at ${instance.jobStartedAt.toISOString()}`);
      } else if (
        action.kind === 'terminate' &&
        (instance?.state === 'shutting-down' || instance?.state === 'terminated')
      ) {
        // Another run (or the instance itself) is already terminating it.
        skip('changed', `the instance is already ${instance.state}`);
      } else proceed.push(action);
    }
  }
  return { proceed: [...proceed, ...actions.filter((a) => !(a.instanceId && a.region))], outcomes };
}

async function unregister(actions: RemoveRunnerAction[], ctx: ApplyContext) {
  const gone: Removal[] = [];
  const outcomes = await mapLimit(actions, CONCURRENCY, async (action): Promise<Outcome> => {
    const result = await settle(ctx.gateways.github.deleteRunner(action.runnerId));
    const base = {
      action: 'unregister',
      target: action.runnerName,
      pool: action.pool,
      reason: action.reason,
    };
    if (!result.ok) return failed('unregister', action.runnerName, action.reason, result.error, action.pool);
    if (result.value === 'busy') {
      return { ...base, status: 'skipped', code: 'busy', detail: 'GitHub: the runner is running a job' };
    }
    // A 404: another run unregistered the runner and terminates its instance, or the runner left by itself
    // and its instance shuts down. Terminating it here too would terminate it twice; anything left
    // running without a runner is an orphan for the next run.
    if (result.value === 'not-found') return { ...base, status: 'done', detail: 'already unregistered' };
    if (action.instanceId) gone.push(action);
    return { ...base, status: 'done' };
  });
  return { outcomes, gone };
}

async function terminate(actions: Removal[], ctx: ApplyContext) {
  const outcomes: Outcome[] = [];
  const parameters: DeleteParameterAction[] = [];
  for (const [region, group] of groupBy(actions, (a) => a.region as string)) {
    const byId = new Map(group.map((a) => [a.instanceId as string, a]));
    const result = await ctx.gateways.ec2(region).terminateInstances([...byId.keys()]);
    const done = (id: string, detail?: string) => {
      const action = byId.get(id) as Removal;
      outcomes.push({
        action: 'terminate',
        target: id,
        pool: action.pool,
        status: 'done',
        reason: action.reason,
        detail,
      });
      if (action.parameter) {
        parameters.push({
          kind: 'delete-parameter',
          name: action.parameter,
          region,
          reason: 'its instance terminated',
        });
      }
    };
    result.terminated.forEach((id) => done(id));
    result.notFound.forEach((id) => done(id, 'already gone'));
    for (const f of result.failed) {
      const action = byId.get(f.id) as Removal;
      outcomes.push({
        action: 'terminate',
        target: f.id,
        pool: action.pool,
        status: 'failed',
        reason: action.reason,
        code: f.code,
        detail: f.message,
      });
    }
  }
  if (parameters.length > 0) outcomes.push(...(await deleteParameters(parameters, ctx)));
  return { outcomes };
}

async function deleteParameters(actions: DeleteParameterAction[], ctx: ApplyContext): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const [region, group] of groupBy(actions, (a) => a.region)) {
    const reasons = new Map(group.map((a) => [a.name, a.reason]));
    const result = await ctx.gateways.ssm(region).deleteParameters([...reasons.keys()]);
    const done = (name: string, detail?: string): Outcome => ({
      action: 'delete-parameter',
      target: name,
      status: 'done',
      reason: reasons.get(name) ?? '',
      detail,
    });
    outcomes.push(
      ...result.deleted.map((n) => done(n)),
      ...result.invalid.map((n) => done(n, 'already gone')),
    );
    for (const f of result.failed) {
      outcomes.push({
        action: 'delete-parameter',
        target: f.name,
        status: 'failed',
        reason: reasons.get(f.name) ?? '',
        code: f.code,
        detail: f.message,
      });
    }
  }
  return outcomes;
}

/**
 * Runners unregistered per re-check (and terminated per call): at the paced GitHub write rate a batch takes
 * about 34 s, so the fresh state each unregister relies on is never older than that, even in a drain of
 * thousands.
 */
export const RECHECK_BATCH = 100;

/**
 * An instance is terminated without an unregister only when its runner is really absent. The runner
 * listing is read by page number while ephemeral runners come and go, so a runner can be missing from it
 * and still be registered, possibly running a job: look each one up by name first.
 */
async function confirmUnregistered(actions: TerminateAction[], ctx: ApplyContext) {
  const proceed: TerminateAction[] = [];
  const outcomes: Outcome[] = [];
  await mapLimit(actions, CONCURRENCY, async (action) => {
    const name = runnerName(ctx.config.environment, action.instanceId);
    const found = await settle(ctx.gateways.github.findRunner(name));
    if (!found.ok) {
      outcomes.push(
        failed(
          'remove',
          action.instanceId,
          `${action.reason}; runner ${name} not looked up`,
          found.error,
          action.pool,
        ),
      );
    } else if (found.value) {
      const detail = `runner ${name} (id ${found.value.id}) is registered after all; left for the next run`;
      outcomes.push(skipped('remove', action.instanceId, action.reason, 'changed', detail, action.pool));
    } else proceed.push(action);
  });
  return { proceed, outcomes };
}

/** Instances with no runner registration and leaked parameters need no GitHub write: they go at once. */
async function removeUnregistered(
  orphans: TerminateAction[],
  leaked: DeleteParameterAction[],
  plan: Plan,
  ctx: ApplyContext,
) {
  const terminateOrphans = async () => {
    const confirmed = await confirmUnregistered(orphans, ctx);
    const checked = await recheck(confirmed.proceed, plan, ctx);
    const terminated = await terminate(checked.proceed, ctx);
    return [...confirmed.outcomes, ...checked.outcomes, ...terminated.outcomes];
  };
  const [terminated, deleted] = await Promise.all([terminateOrphans(), deleteParameters(leaked, ctx)]);
  return [...terminated, ...deleted];
}

/** Re-check, unregister, then terminate only the instances whose runner's DELETE answered 204, batch by batch. */
async function removeRunners(runners: RemoveRunnerAction[], plan: Plan, ctx: ApplyContext) {
  const outcomes: Outcome[] = [];
  const terminations: Promise<{ outcomes: Outcome[] }>[] = [];
  for (let start = 0; start < runners.length; start += RECHECK_BATCH) {
    const checked = await recheck(runners.slice(start, start + RECHECK_BATCH), plan, ctx);
    const unregistered = await unregister(checked.proceed as RemoveRunnerAction[], ctx);
    outcomes.push(...checked.outcomes, ...unregistered.outcomes);
    // The next batch's unregisters (GitHub's write budget, the slowest) need not wait for this batch's
    // terminations and parameter deletes (SSM's 3 TPS: about 3 s a batch).
    const terminated = terminate(unregistered.gone, ctx);
    terminated.catch(() => {}); // awaited below; this only keeps an early rejection from being unhandled
    terminations.push(terminated);
  }
  for (const terminated of await Promise.all(terminations)) outcomes.push(...terminated.outcomes);
  return outcomes;
}

async function remove(plan: Plan, ctx: ApplyContext): Promise<Outcome[]> {
  const runners = plan.actions.filter((a): a is RemoveRunnerAction => a.kind === 'remove-runner');
  const orphans = plan.actions.filter((a): a is TerminateAction => a.kind === 'terminate');
  const leaked = plan.actions.filter((a): a is DeleteParameterAction => a.kind === 'delete-parameter');
  const [unregistered, removed] = await Promise.all([
    removeUnregistered(orphans, leaked, plan, ctx),
    removeRunners(runners, plan, ctx),
  ]);
  return [...removed, ...unregistered];
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
