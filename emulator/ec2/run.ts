// RunInstances: MinCount/MaxCount against the capacity, idempotent with its ClientToken.
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import type { LaunchRecord } from '../state.js';
import { el, type XmlNode } from '../xml.js';
import { availableCapacity, consumeCapacity } from './capacity.js';
import type { Ec2Context } from './context.js';
import { dryRun, Ec2Error, insufficient, missing, ok } from './errors.js';
import { instanceXml } from './instance-xml.js';
import { launch } from './lifecycle.js';
import { checkClientToken, fingerprint, remember, replay, resolveTemplate } from './lookups.js';
import { child, integer, isTrue, text, type QueryTree } from './query.js';
import { tagsFromSpecifications } from './tags.js';
import type { LaunchSpec, Market } from './types.js';

function counts(tree: QueryTree): { minCount: number; maxCount: number } {
  const minCount = integer(tree, 'MinCount', 'MinCount');
  const maxCount = integer(tree, 'MaxCount', 'MaxCount');
  if (minCount === undefined) throw missing('MinCount');
  if (maxCount === undefined) throw missing('MaxCount');
  if (minCount < 1 || maxCount < minCount) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value (${minCount}) for parameter minCount is invalid. Expecting a value between 1 and maxCount (${maxCount}).`,
    );
  }
  return { minCount, maxCount };
}

/** Everything RunInstances launches but the count. */
function launchSpec(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree): Omit<LaunchSpec, 'count'> {
  const clientToken = text(tree, 'ClientToken');
  checkClientToken(clientToken);
  const template = resolveTemplate(ec2, tree.LaunchTemplate);
  const imageId = text(tree, 'ImageId') ?? template?.imageId;
  if (!template && !imageId) throw missing('ImageId');
  const market: Market =
    text(child(tree.InstanceMarketOptions, 'MarketType')) === 'spot' ? 'spot' : 'on-demand';
  const subnetId = text(tree, 'SubnetId');
  return {
    region: request.region,
    instanceType: text(tree, 'InstanceType') ?? template?.instanceType ?? ec2.settings.defaultInstanceType,
    market,
    tags: tagsFromSpecifications(tree.TagSpecification, 'instance', ec2.clock.offset()),
    ...(subnetId ? { subnetId } : {}),
    ...(imageId ? { imageId } : {}),
    ...(clientToken ? { clientToken } : {}),
    ...(template
      ? { launchTemplate: { id: template.id, name: template.name, version: template.version } }
      : {}),
  };
}

function answer(ec2: Ec2Context, launched: Extract<LaunchRecord, { kind: 'RunInstances' }>): XmlNode[] {
  const instances = launched.instanceIds
    .map((id) => ec2.state.instances.get(id))
    .filter((instance) => instance !== undefined);
  return [
    el('reservationId', launched.reservationId),
    el('ownerId', ec2.accountId),
    el('groupSet'),
    el('instancesSet', ...instances.map((instance) => el('item', ...instanceXml(ec2, instance, 'launch')))),
  ];
}

function replayed(ec2: Ec2Context, previous: LaunchRecord, clientToken: string): EmulatorResponse {
  const instances = previous.instanceIds
    .map((id) => ec2.state.instances.get(id))
    .filter((i) => i !== undefined);
  if (instances.length > 0 && instances.every((instance) => instance.state === 'terminated')) {
    throw new Ec2Error(
      'IdempotentInstanceTerminated',
      `The client token '${clientToken}' was used for instances that have been terminated.`,
    );
  }
  if (previous.kind !== 'RunInstances') {
    throw new Ec2Error(
      'IdempotentParameterMismatch',
      `The client token '${clientToken}' was used by another call.`,
    );
  }
  return ok('RunInstances', answer(ec2, previous));
}

export function runInstances(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
  const { minCount, maxCount } = counts(tree);
  const spec = launchSpec(ec2, request, tree);
  if (isTrue(tree, 'DryRun')) throw dryRun();
  const previous = replay(ec2, request, spec.clientToken);
  if (previous) return replayed(ec2, previous, spec.clientToken!);

  const available = availableCapacity(ec2.state, spec.instanceType, spec.market);
  if (available < minCount) {
    const error = insufficient(spec.instanceType, `${request.region}a`);
    throw new Ec2Error(error.code, error.message, 500);
  }
  const launched = launch(ec2, { ...spec, count: Math.min(maxCount, available) });
  consumeCapacity(ec2.state, spec.instanceType, spec.market, launched.length);
  const record: LaunchRecord = {
    kind: 'RunInstances',
    fingerprint: fingerprint(request.form),
    instanceIds: launched.map((instance) => instance.id),
    reservationId: launched[0]!.reservationId,
  };
  remember(ec2, request.region, spec.clientToken, record);
  return ok('RunInstances', answer(ec2, record));
}
