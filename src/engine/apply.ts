// Executes a Plan in a safe order and records an Outcome per item; a failure never stops the rest.
// Order: launch (latency matters) and deliver runner configs, idle tags, then re-check and unregister,
// terminate what has no runner left, and delete the parameters of what terminated.
import { TAG_IDLE_SINCE, TAG_STALE_SINCE } from '../contract.js';
import type { Action, LaunchAction, Outcome, Plan } from '../types.js';
import { applyBreakers } from './breaker-apply.js';
import type { ApplyContext } from './context.js';
import { launch } from './launch.js';
import { failed } from './outcomes.js';
import { remove } from './remove.js';
import { settle } from './settle.js';

export type { ApplyContext } from './context.js';

// ---------------------------------------------------------------- sighting tags

async function applyTags(actions: Action[], ctx: ApplyContext): Promise<Outcome[]> {
  return Promise.all(
    actions.flatMap((action) => {
      if (
        action.kind !== 'mark-idle' &&
        action.kind !== 'clear-idle' &&
        action.kind !== 'mark-stale' &&
        action.kind !== 'clear-stale'
      )
        return [];
      const ec2 = ctx.gateways.ec2(action.region);
      const key =
        action.kind === 'mark-idle' || action.kind === 'clear-idle' ? TAG_IDLE_SINCE : TAG_STALE_SINCE;
      const call =
        action.kind === 'mark-idle' || action.kind === 'mark-stale'
          ? ec2.createTags(action.instanceIds, { [key]: action.since.toISOString() })
          : ec2.deleteTags(action.instanceIds, [key]);
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
  const launched = await Promise.all(launches.map((a) => launch(a, ctx, plan.now)));
  // Every launch call is answered and recorded: the next run may decide now (main releases the lease).
  await ctx.onLaunched?.();
  const tags = await applyTags(plan.actions, ctx);
  const removed = await remove(plan.actions, ctx);
  const breakers = await applyBreakers(plan, removed, ctx);
  const delivered = await Promise.all(launched.map((l) => l.delivery));
  return {
    outcomes: [...launched.flatMap((l) => l.outcomes), ...delivered.flat(), ...tags, ...removed, ...breakers],
    launched: launched.reduce((n, l) => n + l.launched, 0),
  };
}
