// TerminateInstances: all or nothing on the ids, then shutting-down -> terminated.
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import { INSTANCE_STATE_CODES } from '../state.js';
import { el, itemSet } from '../xml.js';
import type { Ec2Context } from './context.js';
import { dryRun, Ec2Error, missing, ok } from './errors.js';
import { shutDown } from './lifecycle.js';
import { checkIds } from './lookups.js';
import { isTrue, strings, type QueryTree } from './query.js';

const USER_SHUTDOWN = {
  code: 'Client.UserInitiatedShutdown',
  message: 'Client.UserInitiatedShutdown: User initiated shutdown',
};

export function terminateInstances(
  ec2: Ec2Context,
  request: EmulatorRequest,
  tree: QueryTree,
): EmulatorResponse {
  const ids = strings(tree.InstanceId);
  if (ids.length === 0) throw missing('InstanceId');
  if (ids.length > 1000)
    throw new Ec2Error('InvalidParameterValue', 'You can terminate up to 1000 instances per request.');
  const instances = checkIds(ec2, ids, request.region);
  if (isTrue(tree, 'DryRun')) throw dryRun();
  const changes = instances.map((instance) => {
    const previous = instance.state;
    shutDown(ec2, instance, USER_SHUTDOWN);
    return [
      el('instanceId', instance.id),
      el('currentState', el('code', INSTANCE_STATE_CODES[instance.state]), el('name', instance.state)),
      el('previousState', el('code', INSTANCE_STATE_CODES[previous]), el('name', previous)),
    ];
  });
  return ok('TerminateInstances', [itemSet('instancesSet', changes)]);
}
