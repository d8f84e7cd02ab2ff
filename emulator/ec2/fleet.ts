// CreateFleet, Type=instant: launches per target market down the overrides by priority; the answer lists
// the instances launched per override (fleetInstanceSet) and the overrides that failed (errorSet).
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import type { FleetCandidate, FleetOutcome, LaunchRecord, TagValue } from '../state.js';
import { el, itemSet, type XmlNode } from '../xml.js';
import { availableCapacity, consumeCapacity } from './capacity.js';
import type { Ec2Context } from './context.js';
import { dryRun, Ec2Error, insufficient, missing, ok } from './errors.js';
import { launch } from './lifecycle.js';
import { checkClientToken, fingerprint, remember, replay, resolveTemplate } from './lookups.js';
import { child, integer, isTrue, members, text, type QueryNode, type QueryTree } from './query.js';
import { tagsFromSpecifications } from './tags.js';
import type { Market } from './types.js';

/** How much of the target capacity each market should get. */
function targets(tree: QueryTree): [Market, number][] {
  const target = tree.TargetCapacitySpecification;
  const total = integer(target, 'TotalTargetCapacity', 'TotalTargetCapacity');
  if (total === undefined) throw missing('TotalTargetCapacity');
  if (total < 1) throw new Ec2Error('InvalidParameterValue', 'TotalTargetCapacity must be at least 1');
  const defaultType = text(target, 'DefaultTargetCapacityType') === 'spot' ? 'spot' : 'on-demand';
  const onDemandTarget = integer(target, 'OnDemandTargetCapacity', 'OnDemandTargetCapacity');
  const spotTarget = integer(target, 'SpotTargetCapacity', 'SpotTargetCapacity');
  const wanted = defaultType === 'spot' ? (spotTarget ?? total - (onDemandTarget ?? 0)) : (spotTarget ?? 0);
  const spot = Math.max(0, Math.min(total, wanted));
  return [
    ['on-demand', total - spot],
    ['spot', spot],
  ];
}

function overrideCandidate(
  base: Omit<FleetCandidate, 'instanceType' | 'order'>,
  override: QueryNode,
  type: string,
) {
  const priority = text(override, 'Priority');
  const weighted = text(override, 'WeightedCapacity');
  const subnetId = text(override, 'SubnetId');
  const availabilityZone = text(override, 'AvailabilityZone');
  return {
    ...base,
    instanceType: text(override, 'InstanceType') ?? type,
    ...(subnetId ? { subnetId } : {}),
    ...(availabilityZone ? { availabilityZone } : {}),
    ...(priority !== undefined ? { priority: Number(priority) } : {}),
    ...(weighted !== undefined ? { weightedCapacity: Number(weighted) } : {}),
  };
}

/** Every (template, override) pair, in the order the fleet tries them: priority, then as given. */
function candidates(ec2: Ec2Context, tree: QueryTree): FleetCandidate[] {
  const configs = members(tree.LaunchTemplateConfigs);
  const result: FleetCandidate[] = [];
  configs.forEach((config, configIndex) => {
    const template = resolveTemplate(ec2, child(config, 'LaunchTemplateSpecification'));
    const base = {
      configIndex,
      launchTemplate: { id: template?.id, name: template?.name, version: template?.version },
    };
    const type = template?.instanceType ?? ec2.settings.defaultInstanceType;
    const overrides = members(child(config, 'Overrides'));
    if (overrides.length === 0) result.push({ ...base, instanceType: type, order: result.length });
    for (const override of overrides)
      result.push({ ...overrideCandidate(base, override, type), order: result.length });
  });
  return result.sort(
    (a, b) => (a.priority ?? Number.MAX_VALUE) - (b.priority ?? Number.MAX_VALUE) || a.order - b.order,
  );
}

interface FleetLaunch {
  region: string;
  tags: Map<string, TagValue>;
  clientToken?: string;
}

/** Fills one market's target down the candidates; an override short of capacity adds an error. */
function fillMarket(
  ec2: Ec2Context,
  how: FleetLaunch,
  options: FleetCandidate[],
  market: Market,
  wanted: number,
) {
  const outcomes: FleetOutcome[] = [];
  let remaining = wanted;
  for (const candidate of options) {
    if (remaining <= 0) break;
    const weight =
      candidate.weightedCapacity && candidate.weightedCapacity > 0 ? candidate.weightedCapacity : 1;
    const needed = Math.ceil(remaining / weight);
    const count = Math.min(needed, availableCapacity(ec2.state, candidate.instanceType, market));
    if (count > 0) {
      const launched = launch(ec2, {
        ...how,
        count,
        instanceType: candidate.instanceType,
        market,
        launchTemplate: candidate.launchTemplate,
        ...(candidate.subnetId ? { subnetId: candidate.subnetId } : {}),
      });
      consumeCapacity(ec2.state, candidate.instanceType, market, count);
      outcomes.push({ candidate, market, instanceIds: launched.map((instance) => instance.id) });
      remaining -= count * weight;
    }
    if (count < needed) {
      const zone = candidate.availabilityZone ?? `${how.region}a`;
      outcomes.push({
        candidate,
        market,
        instanceIds: [],
        error: insufficient(candidate.instanceType, zone),
      });
    }
  }
  return outcomes;
}

function overridesXml(candidate: FleetCandidate): XmlNode {
  const { launchTemplate: template } = candidate;
  return el(
    'launchTemplateAndOverrides',
    el(
      'launchTemplateSpecification',
      template.id ? el('launchTemplateId', template.id) : undefined,
      template.name ? el('launchTemplateName', template.name) : undefined,
      template.version ? el('version', template.version) : undefined,
    ),
    el(
      'overrides',
      el('instanceType', candidate.instanceType),
      candidate.subnetId ? el('subnetId', candidate.subnetId) : undefined,
      candidate.availabilityZone ? el('availabilityZone', candidate.availabilityZone) : undefined,
      candidate.priority !== undefined ? el('priority', candidate.priority) : undefined,
      candidate.weightedCapacity !== undefined
        ? el('weightedCapacity', candidate.weightedCapacity)
        : undefined,
    ),
  );
}

function answer(launched: Extract<LaunchRecord, { kind: 'CreateFleet' }>): XmlNode[] {
  const errors = launched.outcomes.filter((outcome) => outcome.error);
  const instances = launched.outcomes.filter((outcome) => outcome.instanceIds.length > 0);
  return [
    el('fleetId', launched.fleetId),
    itemSet(
      'errorSet',
      errors.map((outcome) => [
        overridesXml(outcome.candidate),
        el('lifecycle', outcome.market),
        el('errorCode', outcome.error!.code),
        el('errorMessage', outcome.error!.message),
      ]),
    ),
    itemSet(
      'fleetInstanceSet',
      instances.map((outcome) => [
        overridesXml(outcome.candidate),
        el('lifecycle', outcome.market),
        itemSet(
          'instanceIds',
          outcome.instanceIds.map((id) => [id]),
        ),
        el('instanceType', outcome.candidate.instanceType),
      ]),
    ),
  ];
}

export function createFleet(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
  const type = text(tree, 'Type') ?? 'maintain';
  if (type !== 'instant') {
    throw new Ec2Error(
      'UnsupportedOperation',
      `The emulator supports CreateFleet with Type=instant only, not ${type}.`,
    );
  }
  if (members(tree.LaunchTemplateConfigs).length === 0) throw missing('LaunchTemplateConfigs');
  const markets = targets(tree);
  const clientToken = text(tree, 'ClientToken');
  checkClientToken(clientToken);
  const options = candidates(ec2, tree);
  const tags = tagsFromSpecifications(tree.TagSpecification, 'instance', ec2.clock.offset());
  if (isTrue(tree, 'DryRun')) throw dryRun();
  const previous = replay(ec2, request, clientToken);
  if (previous?.kind === 'CreateFleet') return ok('CreateFleet', answer(previous));
  if (previous) {
    throw new Ec2Error(
      'IdempotentParameterMismatch',
      `The client token '${clientToken}' was used by another call.`,
    );
  }

  const fleetId = `fleet-${randomUUID()}`;
  tags.set('aws:ec2:fleet-id', fleetId);
  const how: FleetLaunch = { region: request.region, tags, ...(clientToken ? { clientToken } : {}) };
  const outcomes = markets.flatMap(([market, wanted]) => fillMarket(ec2, how, options, market, wanted));
  const record: LaunchRecord = {
    kind: 'CreateFleet',
    fingerprint: fingerprint(request.form),
    instanceIds: outcomes.flatMap((outcome) => outcome.instanceIds),
    fleetId,
    outcomes,
  };
  remember(ec2, request.region, clientToken, record);
  return ok('CreateFleet', answer(record));
}
