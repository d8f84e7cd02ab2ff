// Removal: every destructive write acts on fresh evidence. A runner is unregistered only on an instance state
// checked at most RECHECK_MAX_AGE_MS before its DELETE is sent; its instance is terminated only after that
// DELETE answered 204; an instance without a runner is terminated only after a lookup by name found none.
// Terminations go in batches of up to 100 as unregisters complete; parameters in batches of 10.
import { TAG_ENVIRONMENT, runnerName } from '../contract.js';
import type {
  Action,
  DeleteParameterAction,
  Instance,
  Outcome,
  RemoveRunnerAction,
  TerminateAction,
} from '../types.js';
import { runnerBackend, type ApplyContext } from './context.js';
import { failed, skipped } from './outcomes.js';
import { groupBy, mapLimit, settle } from './settle.js';

export type Removal = RemoveRunnerAction | TerminateAction;

/**
 * The oldest evidence a DELETE may act on. GitHub's busy flag lags a job start by up to a minute, so the
 * instance's own job-started tag is what protects a runner that just took a job; a DELETE sent on a check
 * older than the time a job start takes to show in that tag could kill the job.
 */
export const RECHECK_MAX_AGE_MS = 2_000;
/**
 * Runners unregistered per re-check: at the paced write rate (one write per 340 ms) five DELETEs go out
 * within about 1.7 s of their check. The bound itself is enforced right before each DELETE is sent: a DELETE
 * held up longer (other writes ahead of it) is re-checked alone.
 */
export const UNREGISTER_GROUP = 5;
/** TerminateInstances takes up to 1000 ids; 100 keeps one bad id from blocking many. */
export const TERMINATE_BATCH = 100;
/** DeleteParameters takes 1 to 10 names. */
export const PARAMETER_BATCH = 10;
/** Calls kept in flight; the Octokit throttling plugin and the SDK retry modes pace the real rate. */
const CONCURRENCY = 8;

const now = (ctx: ApplyContext) => ctx.now?.() ?? Date.now();
const targetOf = (action: Removal) =>
  action.kind === 'remove-runner' ? action.runnerName : action.instanceId;

/** Why the fresh state forbids the removal, or undefined to go ahead. */
function judge(action: Removal, instance: Instance | undefined, environment: string): Outcome | undefined {
  const skip = (code: string, why: string) =>
    skipped('remove', targetOf(action), action.reason, code, why, action.pool);
  if (!instance) return undefined; // gone since it was observed
  if (instance.tags[TAG_ENVIRONMENT] !== environment) {
    return skip('protected', 'the instance does not carry this environment tag');
  }
  const started = instance.jobStartedAt?.getTime();
  // A runner to unregister was observed without a job start: any job-started tag now is a job it took. An
  // instance to terminate may have run its job already: only a tag other than the one observed is news. The
  // tag's value is compared with the observed one, not with this machine's clock, so clock skew between the
  // instance and the scaler cannot hide a job start.
  if (
    started !== undefined &&
    (action.kind === 'remove-runner' || started !== action.observedJobStart?.getTime())
  ) {
    return skip('busy', `the instance reported a job start at ${instance.jobStartedAt?.toISOString()}`);
  }
  if (
    action.kind === 'terminate' &&
    (instance.state === 'shutting-down' || instance.state === 'terminated')
  ) {
    // Another run (or the instance itself) is already terminating it.
    return skip('changed', `the instance is already ${instance.state}`);
  }
  return undefined;
}

export interface Checked {
  proceed: Removal[];
  outcomes: Outcome[];
  /** When the evidence of the proceeding actions was read (ms, ctx clock). */
  checkedAt: number;
}

/** Fresh instance state right before removal, one DescribeInstances per region for the whole group. */
export async function recheck(actions: Removal[], ctx: ApplyContext): Promise<Checked> {
  const proceed: Removal[] = actions.filter((a) => !(a.instanceId && a.region));
  const outcomes: Outcome[] = [];
  const withInstance = actions.filter((a) => a.instanceId && a.region);
  for (const [region, group] of groupBy(withInstance, (a) => a.region as string)) {
    const fresh = await settle(
      ctx.gateways.ec2(region).describeInstances(group.map((a) => a.instanceId as string)),
    );
    if (!fresh.ok) {
      for (const a of group)
        outcomes.push(failed('remove', targetOf(a), `${a.reason}; not re-checked`, fresh.error, a.pool));
      continue;
    }
    const byId = new Map(fresh.value.map((i) => [i.id, i]));
    for (const action of group) {
      const verdict = judge(action, byId.get(action.instanceId as string), ctx.config.environment);
      if (verdict) outcomes.push(verdict);
      else proceed.push(action);
    }
  }
  return { proceed, outcomes, checkedAt: now(ctx) };
}

// ---------------------------------------------------------------- batching sinks

/** Collects items and hands them to `run` in batches per region as they fill up; `finish` flushes the rest. */
function createBatcher<T extends { region?: string }>(
  size: number,
  run: (region: string, items: T[]) => Promise<Outcome[]>,
) {
  const pending = new Map<string, T[]>();
  const running: Promise<Outcome[]>[] = [];
  const flush = (region: string) => {
    const items = pending.get(region) ?? [];
    pending.delete(region);
    if (items.length === 0) return;
    const result = run(region, items);
    result.catch(() => {}); // awaited in finish(); this only keeps an early rejection from being unhandled
    running.push(result);
  };
  return {
    add(item: T) {
      const region = item.region as string;
      const items = [...(pending.get(region) ?? []), item];
      pending.set(region, items);
      if (items.length >= size) flush(region);
    },
    async finish(): Promise<Outcome[]> {
      for (const region of [...pending.keys()]) flush(region);
      return (await Promise.all(running)).flat();
    },
  };
}

export async function deleteParameters(region: string, actions: DeleteParameterAction[], ctx: ApplyContext) {
  const reasons = new Map(actions.map((a) => [a.name, a.reason]));
  const result = await ctx.gateways.ssm(region).deleteParameters([...reasons.keys()]);
  const done = (name: string, detail?: string): Outcome => ({
    action: 'delete-parameter',
    target: name,
    status: 'done',
    reason: reasons.get(name) ?? '',
    detail,
  });
  return [
    ...result.deleted.map((n) => done(n)),
    ...result.invalid.map((n) => done(n, 'already gone')),
    ...result.failed.map((f): Outcome => ({
      action: 'delete-parameter',
      target: f.name,
      status: 'failed',
      reason: reasons.get(f.name) ?? '',
      code: f.code,
      detail: f.message,
    })),
  ];
}

/** Terminates a batch; `terminated` gets every instance that is gone (terminating, or unknown to EC2). */
export async function terminate(
  region: string,
  actions: Removal[],
  ctx: ApplyContext,
  terminated: (action: Removal) => void = () => {},
): Promise<Outcome[]> {
  const byId = new Map(actions.map((a) => [a.instanceId as string, a]));
  const result = await ctx.gateways.ec2(region).terminateInstances([...byId.keys()]);
  const outcome = (id: string, extra: Partial<Outcome>): Outcome => {
    const action = byId.get(id) as Removal;
    return {
      action: 'terminate',
      target: id,
      pool: action.pool,
      status: 'done',
      reason: action.reason,
      ...extra,
    };
  };
  for (const id of [...result.terminated, ...result.notFound]) terminated(byId.get(id) as Removal);
  return [
    ...result.terminated.map((id) => outcome(id, {})),
    ...result.notFound.map((id) => outcome(id, { detail: 'already gone' })),
    ...result.failed.map((f) => outcome(f.id, { status: 'failed', code: f.code, detail: f.message })),
  ];
}

export interface RemovalSinks {
  parameters: ReturnType<typeof createBatcher<DeleteParameterAction>>;
  terminations: ReturnType<typeof createBatcher<Removal>>;
}

/** Terminations in batches of 100, parameters in batches of 10, each sent as soon as its batch is full. */
export function createRemovalSinks(ctx: ApplyContext): RemovalSinks {
  const parameters = createBatcher<DeleteParameterAction>(PARAMETER_BATCH, (region, items) =>
    deleteParameters(region, items, ctx),
  );
  const sinks: RemovalSinks = {
    parameters,
    terminations: createBatcher<Removal>(TERMINATE_BATCH, (region, items) =>
      terminate(region, items, ctx, (action) => parameterOfTerminated(action, region, sinks)),
    ),
  };
  return sinks;
}

/**
 * An instance terminated without an unregister (an orphan) may still be reading its parameter: delete it once
 * the instance is gone. A runner's parameter went with its 204 (see unregisterGroup).
 */
function parameterOfTerminated(action: Removal, region: string, sinks: RemovalSinks): void {
  if (action.kind === 'terminate' && action.parameter) {
    sinks.parameters.add({
      kind: 'delete-parameter',
      name: action.parameter,
      region,
      reason: 'its instance terminated',
    });
  }
}

// ---------------------------------------------------------------- unregister

/**
 * Unregisters a checked group. Right before each DELETE is sent, its evidence is at most RECHECK_MAX_AGE_MS
 * old or is read again. When the group's last DELETE is about to go out, `lastSending` starts the next group's
 * re-check, so that check is fresh when the next group's first DELETE follows.
 */
async function unregisterGroup(
  checked: Checked,
  ctx: ApplyContext,
  sinks: RemovalSinks,
  lastSending: () => void,
) {
  const group = checked.proceed as RemoveRunnerAction[];
  if (group.length === 0) lastSending();
  return mapLimit(group, CONCURRENCY, async (action, index): Promise<Outcome> => {
    let checkedAt = checked.checkedAt;
    let refused: Outcome | undefined;
    const beforeSend = async (): Promise<boolean> => {
      if (index === group.length - 1) lastSending();
      if (!action.instanceId || now(ctx) - checkedAt <= RECHECK_MAX_AGE_MS) return true;
      const again = await recheck([action], ctx);
      checkedAt = again.checkedAt;
      refused = again.outcomes[0];
      return again.proceed.length === 1;
    };
    const backend = runnerBackend(ctx.gateways, action.pool);
    const result = await settle(backend.deleteRunner(action.runnerId, beforeSend));
    const base = {
      action: 'unregister',
      target: action.runnerName,
      pool: action.pool,
      reason: action.reason,
    };
    if (!result.ok) return failed('unregister', action.runnerName, action.reason, result.error, action.pool);
    if (result.value === 'cancelled')
      return (
        refused ?? skipped('unregister', action.runnerName, action.reason, 'changed', 'not sent', action.pool)
      );
    if (result.value === 'busy')
      return { ...base, status: 'skipped', code: 'busy', detail: 'GitHub: the runner is running a job' };
    // A 404: another run unregistered the runner and terminates its instance, or the runner left by itself and
    // its instance shuts down. Terminating it here too would terminate it twice; anything left running without a
    // runner is an orphan for the next run.
    if (result.value === 'not-found') return { ...base, status: 'done', detail: 'already unregistered' };
    if (action.instanceId && action.region) sinks.terminations.add(action);
    // The runner this parameter configures is gone: the parameter is of no use to anyone, whatever becomes of
    // the instance, so it goes now rather than after the termination (no tail of deletes after the last 204).
    if (action.parameter && action.region) {
      sinks.parameters.add({
        kind: 'delete-parameter',
        name: action.parameter,
        region: action.region,
        reason: 'its runner was unregistered',
      });
    }
    return { ...base, status: 'done' };
  });
}

const ALIVE = new Set(['pending', 'running', 'stopping', 'stopped']);

/**
 * Ghost runners: unregistered only when a lookup by id finds their instance gone or terminated. The listing that
 * missed the instance is eventually consistent; a lookup by id is the second, independent piece of evidence.
 */
async function confirmGhosts(actions: RemoveRunnerAction[], ctx: ApplyContext) {
  const proceed: RemoveRunnerAction[] = [];
  const outcomes: Outcome[] = [];
  const ghosts = actions.filter((a) => a.confirmGone);
  const regions = [...new Set(ghosts.flatMap((a) => a.confirmGone?.regions ?? []))];
  const ids = ghosts.map((a) => a.confirmGone?.instanceId as string);
  const found = new Map<string, Instance>();
  let error: unknown;
  for (const region of regions) {
    const fresh = ids.length ? await settle(ctx.gateways.ec2(region).describeInstances(ids)) : undefined;
    if (fresh && !fresh.ok) error = fresh.error;
    else for (const i of fresh?.value ?? []) found.set(i.id, i);
  }
  for (const action of actions) {
    const id = action.confirmGone?.instanceId;
    const instance = id ? found.get(id) : undefined;
    if (!id) proceed.push(action);
    else if (error !== undefined)
      outcomes.push(
        failed('unregister', action.runnerName, `${action.reason}; instance ${id} not looked up`, error),
      );
    else if (instance && ALIVE.has(instance.state)) {
      outcomes.push(
        skipped(
          'unregister',
          action.runnerName,
          action.reason,
          'changed',
          `instance ${id} exists after all (${instance.state}): the listing missed it`,
        ),
      );
    } else proceed.push(action);
  }
  return { proceed, outcomes };
}

/** Re-check and unregister group by group; the next group's re-check overlaps the current group's last DELETE. */
export async function removeRunners(all: RemoveRunnerAction[], ctx: ApplyContext, sinks: RemovalSinks) {
  const ghosts = await confirmGhosts(all, ctx);
  const runners = ghosts.proceed;
  const groups: RemoveRunnerAction[][] = [];
  for (let start = 0; start < runners.length; start += UNREGISTER_GROUP) {
    groups.push(runners.slice(start, start + UNREGISTER_GROUP));
  }
  const outcomes: Outcome[] = [...ghosts.outcomes];
  let next: Promise<Checked> | undefined = groups[0] && recheck(groups[0], ctx);
  for (let i = 0; next; i++) {
    const checked: Checked = await next;
    const following = groups[i + 1];
    let started: Promise<Checked> | undefined;
    const startNext = () => {
      if (following && !started) started = recheck(following, ctx);
    };
    outcomes.push(...checked.outcomes, ...(await unregisterGroup(checked, ctx, sinks, startNext)));
    startNext();
    next = started;
  }
  return outcomes;
}

// ---------------------------------------------------------------- instances without a runner

/**
 * An instance is terminated without an unregister only when its runner is really absent. The runner listing
 * is read by page number while ephemeral runners come and go, so a runner can be missing from it and still be
 * registered, possibly running a job: look each one up by name first.
 */
async function confirmUnregistered(actions: TerminateAction[], ctx: ApplyContext) {
  const proceed: TerminateAction[] = [];
  const outcomes: Outcome[] = [];
  await mapLimit(actions, CONCURRENCY, async (action) => {
    const name = runnerName(ctx.config.environment, action.instanceId);
    const found = await settle(runnerBackend(ctx.gateways, action.pool).findRunner(name));
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

/** Orphans: confirmed unregistered by name, re-checked by id, terminated at once (their parameters after). */
export async function terminateOrphans(orphans: TerminateAction[], ctx: ApplyContext, sinks: RemovalSinks) {
  const confirmed = await confirmUnregistered(orphans, ctx);
  const checked = await recheck(confirmed.proceed, ctx);
  const terminated = await Promise.all(
    [...groupBy(checked.proceed, (a) => a.region as string)].map(([region, group]) =>
      terminate(region, group, ctx, (action) => parameterOfTerminated(action, region, sinks)),
    ),
  );
  return [...confirmed.outcomes, ...checked.outcomes, ...terminated.flat()];
}

/** Every removal among `actions`; the instances with a runner and those without go side by side. */
export async function remove(actions: Action[], ctx: ApplyContext): Promise<Outcome[]> {
  const sinks = createRemovalSinks(ctx);
  const runners = actions.filter((a): a is RemoveRunnerAction => a.kind === 'remove-runner');
  const orphans = actions.filter((a): a is TerminateAction => a.kind === 'terminate');
  for (const a of actions) if (a.kind === 'delete-parameter') sinks.parameters.add(a);
  const [unregistered, orphaned] = await Promise.all([
    removeRunners(runners, ctx, sinks),
    terminateOrphans(orphans, ctx, sinks),
  ]);
  // Terminations before parameters: nothing is added to a batcher after its finish().
  const terminated = await sinks.terminations.finish();
  const deleted = await sinks.parameters.finish();
  return [...unregistered, ...orphaned, ...terminated, ...deleted];
}
