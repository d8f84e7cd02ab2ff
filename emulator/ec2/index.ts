// EC2 over the Query protocol: form-encoded requests, XML answers in the 2016-11-15 namespace.
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from '../context.js';
import { setCapacity } from './capacity.js';
import { ec2Settings, type Ec2Context } from './context.js';
import { describeInstances } from './describe.js';
import { Ec2Error, errorResponse } from './errors.js';
import { createFleet } from './fleet.js';
import { launch, setTag, shutDown } from './lifecycle.js';
import { queryTree, strings, text, type QueryTree } from './query.js';
import { runInstances } from './run.js';
import { createTags, deleteTags } from './tags.js';
import { terminateInstances } from './terminate.js';
import type { Ec2Options, Ec2Service } from './types.js';
import { instanceView } from './view.js';

export { EC2_NAMESPACE } from './errors.js';
export { newInstanceId } from './ids.js';
export { queryTree } from './query.js';
export type * from './types.js';

type Action = (ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree) => EmulatorResponse;

const ACTIONS: Record<string, Action> = {
  DescribeInstances: describeInstances,
  RunInstances: runInstances,
  CreateFleet: createFleet,
  TerminateInstances: terminateInstances,
  CreateTags: createTags,
  DeleteTags: deleteTags,
};

function handle(ec2: Ec2Context, request: EmulatorRequest): EmulatorResponse {
  const action = ACTIONS[request.action];
  try {
    if (!action)
      throw new Ec2Error('InvalidAction', `The action ${request.action} is not valid for this web service.`);
    return action(ec2, request, queryTree(request.form));
  } catch (error) {
    if (error instanceof Ec2Error) return errorResponse(error.code, error.message, error.status);
    throw error;
  }
}

/** Units of the resource budgets: instances a launch asks for, instances a termination names. */
function resourceUnits(request: EmulatorRequest): number {
  const tree = queryTree(request.form);
  if (request.action === 'RunInstances') return Number(text(tree, 'MaxCount') ?? 0) || 0;
  if (request.action === 'CreateFleet')
    return Number(text(tree.TargetCapacitySpecification, 'TotalTargetCapacity') ?? 0) || 0;
  if (request.action === 'TerminateInstances') return strings(tree.InstanceId).length;
  return 0;
}

export function createEc2Service(ctx: EmulatorContext, options: Ec2Options = {}): Ec2Service {
  // The context's objects are shared, not copied: the simulator's hooks are set on ctx.hooks later.
  const ec2: Ec2Context = Object.assign(Object.create(ctx) as EmulatorContext, {
    settings: ec2Settings(options),
  });
  if (options.capacity !== undefined) setCapacity(ctx.state, options.capacity);
  if (options.spotCapacity !== undefined) setCapacity(ctx.state, options.spotCapacity, 'spot');
  return {
    handle: (request) => handle(ec2, request),
    resourceUnits,
    errorResponse,
    launch: (spec) => launch(ec2, spec),
    shutDown: (instance, reason) => shutDown(ec2, instance, reason),
    setTag: (instance, key, value) => setTag(ec2, instance, key, value),
    setCapacity: (limit, market) => setCapacity(ctx.state, limit, market),
    setListingLag(listingMs, lookupMs = 0) {
      ec2.settings.listingLagMs = listingMs;
      ec2.settings.lookupLagMs = lookupMs;
    },
    instances: () => [...ctx.state.instances.values()].map((instance) => instanceView(ec2, instance)),
    instance(id) {
      const instance = ctx.state.instances.get(id);
      return instance ? instanceView(ec2, instance) : undefined;
    },
    view: (instance) => instanceView(ec2, instance),
  };
}
