// EC2 over the Query protocol: form-encoded requests, XML answers in the 2016-11-15 namespace.
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from './context.js';
import {
  INSTANCE_STATE_CODES,
  tagValueFromWall,
  tagValueToWall,
  type Ec2InstanceState,
  type InstanceRecord,
  type TagValue,
} from './state.js';
import { el, itemSet, renderDocument, type XmlNode } from './xml.js';

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

const VALID_INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const MAX_TAGS_PER_RESOURCE = 50;

export interface LaunchTemplateDefinition {
  id: string;
  name: string;
  instanceType?: string;
  imageId?: string;
}

export interface Ec2Options {
  /** shutting-down -> terminated (emulator time). Default 5 s. */
  shutdownDelayMs?: number;
  /** How long terminated instances stay visible. Default 1 h, as EC2 does. */
  terminatedRetentionMs?: number;
  defaultInstanceType?: string;
  /** When given, launches must name one of these templates (by id or name). */
  launchTemplates?: LaunchTemplateDefinition[];
  /** Instances that can still be launched, in total or per instance type; unlimited when absent. */
  capacity?: number | Record<string, number>;
  /** The same for spot capacity. */
  spotCapacity?: number | Record<string, number>;
}

export type Market = 'spot' | 'on-demand';

export interface InstanceView {
  id: string;
  region: string;
  state: Ec2InstanceState;
  launchTime: Date;
  instanceType: string;
  lifecycle: Market;
  subnetId: string;
  tags: Record<string, string>;
  stateReason?: { code: string; message: string };
}

export interface LaunchSpec {
  region: string;
  count: number;
  instanceType: string;
  market: Market;
  tags: Map<string, TagValue>;
  subnetId?: string;
  imageId?: string;
  clientToken?: string;
  launchTemplate?: { id?: string; name?: string; version?: string };
  reservationId?: string;
  launchTime?: number;
  state?: Ec2InstanceState;
}

export interface Ec2Service {
  handle(request: EmulatorRequest): EmulatorResponse;
  /** Units of the action's resource budget (instances launched or terminated). */
  resourceUnits(request: EmulatorRequest): number;
  errorResponse(code: string, message: string, status: number): EmulatorResponse;
  launch(spec: LaunchSpec): InstanceRecord[];
  /** The instance starts shutting down and terminates after `shutdownDelayMs`. */
  shutDown(instance: InstanceRecord, reason: { code: string; message: string }): void;
  setTag(instance: InstanceRecord, key: string, wallValue: string): void;
  setCapacity(limit: number | Record<string, number> | undefined, market?: Market): void;
  instances(): InstanceView[];
  instance(id: string): InstanceView | undefined;
  view(instance: InstanceRecord): InstanceView;
}

class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// ------------------------------------------------------------------ query parameters

type QueryNode = string | { [key: string]: QueryNode };
type QueryTree = { [key: string]: QueryNode };

/** `Filter.1.Value.2=x` -> { Filter: { '1': { Value: { '2': 'x' } } } } */
export function queryTree(form: URLSearchParams): QueryTree {
  const root: QueryTree = {};
  for (const [key, value] of form) {
    const parts = key.split('.');
    let node: QueryTree = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const next = node[part];
      if (typeof next === 'object') node = next;
      else {
        const created: QueryTree = {};
        node[part] = created;
        node = created;
      }
    }
    node[parts[parts.length - 1]!] = value;
  }
  return root;
}

function child(node: QueryNode | undefined, key: string): QueryNode | undefined {
  return typeof node === 'object' ? node[key] : undefined;
}

function text(node: QueryNode | undefined, key?: string): string | undefined {
  const value = key === undefined ? node : child(node, key);
  return typeof value === 'string' ? value : undefined;
}

/** The members of a `.N` list in index order. */
function members(node: QueryNode | undefined): QueryNode[] {
  if (typeof node !== 'object') return [];
  return Object.keys(node)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => node[key]!);
}

function strings(node: QueryNode | undefined): string[] {
  return members(node).filter((value): value is string => typeof value === 'string');
}

function integer(node: QueryNode | undefined, key: string, name: string): number | undefined {
  const raw = text(node, key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) {
    throw new Ec2Error('InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid.`);
  }
  return value;
}

function isTrue(node: QueryNode | undefined, key: string): boolean {
  return text(node, key)?.toLowerCase() === 'true';
}

// ------------------------------------------------------------------ helpers

function hex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

export function newInstanceId(): string {
  return `i-${hex(17)}`;
}

/** `2026-11-05 10:00:00 GMT`, as in EC2's state transition reason. */
function reasonTime(wallMs: number): string {
  return `${new Date(wallMs).toISOString().slice(0, 19).replace('T', ' ')} GMT`;
}

function quoteIds(ids: string[]): string {
  return `'${ids.join(', ')}'`;
}

function notFound(ids: string[]): Ec2Error {
  return ids.length === 1
    ? new Ec2Error('InvalidInstanceID.NotFound', `The instance ID ${quoteIds(ids)} does not exist`)
    : new Ec2Error('InvalidInstanceID.NotFound', `The instance IDs ${quoteIds(ids)} do not exist`);
}

function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function fingerprint(form: URLSearchParams): string {
  const entries = [...form].filter(([key]) => !['Action', 'Version', 'ClientToken', 'DryRun'].includes(key));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

function tagsFromSpecifications(
  node: QueryNode | undefined,
  resourceType: string,
  offset: number,
): Map<string, TagValue> {
  const tags = new Map<string, TagValue>();
  for (const spec of members(node)) {
    if (text(spec, 'ResourceType') !== resourceType) continue;
    for (const tag of members(child(spec, 'Tag'))) {
      const key = text(tag, 'Key');
      if (key === undefined) continue;
      checkTagKey(key);
      tags.set(key, tagValueFromWall(text(tag, 'Value') ?? '', offset));
    }
  }
  if (tags.size > MAX_TAGS_PER_RESOURCE) {
    throw new Ec2Error('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
  }
  return tags;
}

function checkTagKey(key: string): void {
  if (key.toLowerCase().startsWith('aws:')) {
    throw new Ec2Error(
      'InvalidParameterValue',
      "Tag keys starting with 'aws:' are reserved for internal use",
    );
  }
  if (key.length === 0 || key.length > 128) {
    throw new Ec2Error('InvalidParameterValue', `Tag key '${key}' must be 1 to 128 characters`);
  }
}

interface PageToken {
  after: number;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(raw: string): PageToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as PageToken).after === 'number') {
      return parsed as PageToken;
    }
  } catch {
    // falls through to the error below
  }
  throw new Ec2Error('InvalidParameterValue', 'Unable to parse pagination token');
}

interface FleetCandidate {
  configIndex: number;
  launchTemplate: { id?: string; name?: string; version?: string };
  instanceType: string;
  subnetId?: string;
  availabilityZone?: string;
  priority?: number;
  weightedCapacity?: number;
  order: number;
}

interface FleetOutcome {
  candidate: FleetCandidate;
  market: Market;
  instanceIds: string[];
  error?: { code: string; message: string };
}

interface IdempotentLaunch {
  fingerprint: string;
  instanceIds: string[];
  render: () => XmlNode[];
}

// ------------------------------------------------------------------ the service

export function createEc2Service(ctx: EmulatorContext, options: Ec2Options = {}): Ec2Service {
  const { state, clock, scheduler } = ctx;
  const shutdownDelayMs = options.shutdownDelayMs ?? 5_000;
  const retentionMs = options.terminatedRetentionMs ?? 3_600_000;
  const defaultInstanceType = options.defaultInstanceType ?? 't3.micro';
  const templatesById = new Map(options.launchTemplates?.map((t) => [t.id, t]));
  const templatesByName = new Map(options.launchTemplates?.map((t) => [t.name, t]));
  /** `market:instanceType` or `market:*` -> instances that can still be launched */
  const capacity = new Map<string, number>();
  const launchesByClientToken = new Map<string, IdempotentLaunch>();

  function setCapacity(limit: number | Record<string, number> | undefined, market?: Market): void {
    const markets: Market[] = market ? [market] : ['on-demand', 'spot'];
    for (const m of markets) {
      for (const key of [...capacity.keys()]) if (key.startsWith(`${m}:`)) capacity.delete(key);
      if (limit === undefined) continue;
      if (typeof limit === 'number') capacity.set(`${m}:*`, limit);
      else for (const [type, count] of Object.entries(limit)) capacity.set(`${m}:${type}`, count);
    }
  }
  if (options.capacity !== undefined) setCapacity(options.capacity);
  if (options.spotCapacity !== undefined) setCapacity(options.spotCapacity, 'spot');

  function capacityKey(instanceType: string, market: Market): string | undefined {
    if (capacity.has(`${market}:${instanceType}`)) return `${market}:${instanceType}`;
    if (capacity.has(`${market}:*`)) return `${market}:*`;
    return undefined;
  }

  function availableCapacity(instanceType: string, market: Market): number {
    const key = capacityKey(instanceType, market);
    return key === undefined ? Number.POSITIVE_INFINITY : Math.max(0, capacity.get(key)!);
  }

  function consumeCapacity(instanceType: string, market: Market, count: number): void {
    const key = capacityKey(instanceType, market);
    if (key !== undefined) capacity.set(key, capacity.get(key)! - count);
  }

  function view(instance: InstanceRecord): InstanceView {
    const offset = clock.offset();
    const tags: Record<string, string> = {};
    for (const [key, value] of instance.tags) tags[key] = tagValueToWall(value, offset);
    return {
      id: instance.id,
      region: instance.region,
      state: instance.state,
      launchTime: new Date(clock.toWall(instance.launchTime)),
      instanceType: instance.instanceType,
      lifecycle: instance.lifecycle,
      subnetId: instance.subnetId,
      tags,
      ...(instance.stateReason ? { stateReason: { ...instance.stateReason } } : {}),
    };
  }

  function launch(spec: LaunchSpec): InstanceRecord[] {
    const reservationId = spec.reservationId ?? `r-${hex(17)}`;
    const launched: InstanceRecord[] = [];
    const tags = new Map(spec.tags);
    if (spec.launchTemplate?.id) {
      tags.set('aws:ec2launchtemplate:id', spec.launchTemplate.id);
      tags.set('aws:ec2launchtemplate:version', spec.launchTemplate.version ?? '1');
    }
    for (let i = 0; i < spec.count; i++) {
      const n = ++state.counters.ip;
      const now = spec.launchTime ?? clock.now();
      const instance: InstanceRecord = {
        id: newInstanceId(),
        seq: ++state.counters.instanceSeq,
        region: spec.region,
        state: spec.state ?? 'pending',
        launchTime: now,
        stateChangedAt: now,
        instanceType: spec.instanceType,
        imageId: spec.imageId ?? 'ami-0emulator00000000',
        subnetId: spec.subnetId ?? 'subnet-0emulator0000000',
        availabilityZone: `${spec.region}a`,
        privateIp: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        reservationId,
        lifecycle: spec.market,
        tags: new Map(tags),
        ...(spec.clientToken ? { clientToken: spec.clientToken } : {}),
        ...(spec.launchTemplate ? { launchTemplate: spec.launchTemplate } : {}),
      };
      state.instances.set(instance.id, instance);
      launched.push(instance);
    }
    for (const instance of launched) {
      ctx.hooks.instanceLaunched(instance);
      // Seeded instances may start late in their life.
      if (instance.state === 'shutting-down') scheduleTerminated(instance);
      if (instance.state === 'terminated') scheduleForget(instance);
    }
    return launched;
  }

  function shutDown(instance: InstanceRecord, reason: { code: string; message: string }): void {
    if (instance.state === 'shutting-down' || instance.state === 'terminated') return;
    instance.state = 'shutting-down';
    instance.stateChangedAt = clock.now();
    instance.stateReason = reason;
    ctx.hooks.instanceStopping(instance);
    scheduleTerminated(instance);
  }

  function scheduleTerminated(instance: InstanceRecord): void {
    scheduler.after(shutdownDelayMs, `terminated ${instance.id}`, () => {
      instance.state = 'terminated';
      instance.stateChangedAt = clock.now();
      scheduleForget(instance);
    });
  }

  function scheduleForget(instance: InstanceRecord): void {
    scheduler.after(retentionMs, `forget ${instance.id}`, () => {
      if (state.instances.get(instance.id) === instance) state.instances.delete(instance.id);
    });
  }

  function setTag(instance: InstanceRecord, key: string, wallValue: string): void {
    instance.tags.set(key, tagValueFromWall(wallValue, clock.offset()));
  }

  // ---------------------------------------------------------------- rendering

  function instanceXml(instance: InstanceRecord, launchIndex = 0): XmlNode[] {
    const offset = clock.offset();
    const terminated = instance.state === 'terminated';
    return [
      el('instanceId', instance.id),
      el('imageId', instance.imageId),
      el('instanceState', el('code', INSTANCE_STATE_CODES[instance.state]), el('name', instance.state)),
      el('privateDnsName', `ip-${instance.privateIp.replace(/\./g, '-')}.ec2.internal`),
      terminated
        ? el('reason', `User initiated (${reasonTime(clock.toWall(instance.stateChangedAt))})`)
        : undefined,
      el('amiLaunchIndex', launchIndex),
      el('instanceType', instance.instanceType),
      el('launchTime', new Date(clock.toWall(instance.launchTime)).toISOString()),
      el('placement', el('availabilityZone', instance.availabilityZone), el('tenancy', 'default')),
      el('monitoring', el('state', 'disabled')),
      el('subnetId', instance.subnetId),
      el('vpcId', 'vpc-0emulator000000000'),
      terminated ? undefined : el('privateIpAddress', instance.privateIp),
      instance.stateReason
        ? el(
            'stateReason',
            el('code', instance.stateReason.code),
            el('message', instance.stateReason.message),
          )
        : undefined,
      el('architecture', 'x86_64'),
      el('rootDeviceType', 'ebs'),
      el('rootDeviceName', '/dev/xvda'),
      instance.lifecycle === 'spot' ? el('instanceLifecycle', 'spot') : undefined,
      instance.clientToken ? el('clientToken', instance.clientToken) : undefined,
      itemSet(
        'tagSet',
        [...instance.tags].map(([key, value]) => [
          el('key', key),
          el('value', tagValueToWall(value, offset)),
        ]),
      ),
      el('hypervisor', 'xen'),
      el('ebsOptimized', false),
    ];
  }

  function ok(action: string, children: XmlNode[]): EmulatorResponse {
    return {
      status: 200,
      headers: { 'content-type': 'text/xml;charset=UTF-8' },
      body: renderDocument(`${action}Response`, EC2_NAMESPACE, [el('requestId', randomUUID()), ...children]),
    };
  }

  function errorResponse(code: string, message: string, status: number): EmulatorResponse {
    return {
      status,
      code,
      headers: { 'content-type': 'text/xml;charset=UTF-8' },
      body: renderDocument('Response', undefined, [
        el('Errors', el('Error', el('Code', code), el('Message', message))),
        el('RequestID', randomUUID()),
      ]),
    };
  }

  // ---------------------------------------------------------------- lookups

  function checkIds(ids: string[], region: string): InstanceRecord[] {
    const malformed = ids.filter((id) => !VALID_INSTANCE_ID.test(id));
    if (malformed.length > 0) {
      throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${malformed[0]}"`);
    }
    const found: InstanceRecord[] = [];
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const instance = state.instances.get(id);
      if (instance && instance.region === region) found.push(instance);
      else missing.push(id);
    }
    if (missing.length > 0) throw notFound(missing);
    return found;
  }

  function resolveTemplate(
    node: QueryNode | undefined,
  ): { id?: string; name?: string; version?: string; instanceType?: string; imageId?: string } | undefined {
    if (node === undefined) return undefined;
    const id = text(node, 'LaunchTemplateId');
    const name = text(node, 'LaunchTemplateName');
    const version = text(node, 'Version') ?? '$Default';
    if (!id && !name) {
      throw new Ec2Error(
        'MissingParameter',
        'The request must contain the parameter LaunchTemplateId or LaunchTemplateName',
      );
    }
    if (id && !/^lt-[0-9a-f]{17}$/.test(id) && templatesById.size > 0) {
      throw new Ec2Error(
        'InvalidLaunchTemplateId.Malformed',
        `The specified launch template ID ${id} is not valid.`,
      );
    }
    if (options.launchTemplates) {
      const template = id ? templatesById.get(id) : templatesByName.get(name!);
      if (!template) {
        throw id
          ? new Ec2Error(
              'InvalidLaunchTemplateId.NotFound',
              `The specified launch template, with template ID ${id}, does not exist.`,
            )
          : new Ec2Error(
              'InvalidLaunchTemplateName.NotFoundException',
              `The specified launch template, with template name ${name}, does not exist.`,
            );
      }
      return {
        id: template.id,
        name: template.name,
        version,
        instanceType: template.instanceType,
        imageId: template.imageId,
      };
    }
    return { ...(id ? { id } : {}), ...(name ? { name } : {}), version };
  }

  function checkClientToken(token: string | undefined): void {
    if (token !== undefined && (token.length > 64 || !/^[\x20-\x7e]*$/.test(token))) {
      throw new Ec2Error(
        'InvalidParameterValue',
        `Value (${token}) for parameter clientToken is invalid. The client token must be 64 ASCII characters or fewer.`,
      );
    }
  }

  function replay(request: EmulatorRequest, token: string | undefined): IdempotentLaunch | undefined {
    if (!token) return undefined;
    const previous = launchesByClientToken.get(`${request.region}\u0000${token}`);
    if (!previous) return undefined;
    if (previous.fingerprint !== fingerprint(request.form)) {
      throw new Ec2Error(
        'IdempotentParameterMismatch',
        `The client token '${token}' has already been used with different request parameters.`,
      );
    }
    return previous;
  }

  function insufficient(instanceType: string, availabilityZone: string): { code: string; message: string } {
    return {
      code: 'InsufficientInstanceCapacity',
      message:
        `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested ` +
        `(${availabilityZone}). Our system will be working on provisioning additional capacity.`,
    };
  }

  // ---------------------------------------------------------------- actions

  function describeInstances(request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
    const ids = strings(tree.InstanceId);
    const maxResults = integer(tree, 'MaxResults', 'maxResults');
    const nextToken = text(tree, 'NextToken');
    if (ids.length > 0 && maxResults !== undefined) {
      throw new Ec2Error(
        'InvalidParameterCombination',
        'The parameter instancesSet cannot be used with the parameter maxResults',
      );
    }
    if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
      throw new Ec2Error(
        'InvalidParameterValue',
        `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
      );
    }
    const predicates = members(tree.Filter).map((filter) =>
      compileFilter(text(filter, 'Name') ?? '', strings(child(filter, 'Value'))),
    );
    const after = nextToken ? decodeToken(nextToken).after : 0;

    let candidates: Iterable<InstanceRecord>;
    if (ids.length > 0) candidates = checkIds(ids, request.region).sort((a, b) => a.seq - b.seq);
    else candidates = state.instances.values();

    const page: InstanceRecord[] = [];
    let more = false;
    for (const instance of candidates) {
      if (instance.seq <= after || instance.region !== request.region) continue;
      if (!predicates.every((matches) => matches(instance))) continue;
      if (maxResults !== undefined && page.length >= maxResults) {
        more = true;
        break;
      }
      page.push(instance);
    }

    // Consecutive instances of one launch share a reservation, as in EC2's answer.
    const groups: { id: string; instances: InstanceRecord[] }[] = [];
    for (const instance of page) {
      const group = groups[groups.length - 1];
      if (group && group.id === instance.reservationId) group.instances.push(instance);
      else groups.push({ id: instance.reservationId, instances: [instance] });
    }
    const last = page[page.length - 1];
    return ok('DescribeInstances', [
      el(
        'reservationSet',
        ...groups.map((group) =>
          el(
            'item',
            el('reservationId', group.id),
            el('ownerId', ctx.accountId),
            el('instancesSet', ...group.instances.map((instance) => el('item', ...instanceXml(instance)))),
          ),
        ),
      ),
      more && last ? el('nextToken', encodeToken({ after: last.seq })) : undefined,
    ]);
  }

  function compileFilter(name: string, values: string[]): (instance: InstanceRecord) => boolean {
    const patterns = values.map(wildcard);
    const any = (value: string | undefined) =>
      value !== undefined && patterns.some((pattern) => pattern.test(value));
    const offset = clock.offset();
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      return (instance) => {
        const value = instance.tags.get(key);
        return value !== undefined && any(tagValueToWall(value, offset));
      };
    }
    switch (name) {
      case 'tag-key':
        return (instance) => [...instance.tags.keys()].some((key) => any(key));
      case 'tag-value':
        return (instance) => [...instance.tags.values()].some((value) => any(tagValueToWall(value, offset)));
      case 'instance-state-name':
        return (instance) => any(instance.state);
      case 'instance-state-code':
        return (instance) => any(String(INSTANCE_STATE_CODES[instance.state]));
      case 'instance-id':
        return (instance) => any(instance.id);
      case 'instance-type':
        return (instance) => any(instance.instanceType);
      case 'instance-lifecycle':
        return (instance) => any(instance.lifecycle === 'spot' ? 'spot' : undefined);
      case 'availability-zone':
        return (instance) => any(instance.availabilityZone);
      case 'reservation-id':
        return (instance) => any(instance.reservationId);
      case 'client-token':
        return (instance) => any(instance.clientToken);
      case 'subnet-id':
        return (instance) => any(instance.subnetId);
      default:
        throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
  }

  function runInstances(request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
    const minCount = integer(tree, 'MinCount', 'MinCount');
    const maxCount = integer(tree, 'MaxCount', 'MaxCount');
    if (minCount === undefined)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter MinCount');
    if (maxCount === undefined)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter MaxCount');
    if (minCount < 1 || maxCount < minCount) {
      throw new Ec2Error(
        'InvalidParameterValue',
        `Value (${minCount}) for parameter minCount is invalid. Expecting a value between 1 and maxCount (${maxCount}).`,
      );
    }
    const clientToken = text(tree, 'ClientToken');
    checkClientToken(clientToken);
    const template = resolveTemplate(tree.LaunchTemplate);
    const imageId = text(tree, 'ImageId') ?? template?.imageId;
    if (!template && !imageId)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter ImageId');
    const instanceType = text(tree, 'InstanceType') ?? template?.instanceType ?? defaultInstanceType;
    const market: Market =
      text(child(tree.InstanceMarketOptions, 'MarketType')) === 'spot' ? 'spot' : 'on-demand';
    const tags = tagsFromSpecifications(tree.TagSpecification, 'instance', clock.offset());
    const subnetId = text(tree, 'SubnetId');
    if (isTrue(tree, 'DryRun')) throw dryRun();

    const previous = replay(request, clientToken);
    if (previous) {
      const instances = previous.instanceIds
        .map((id) => state.instances.get(id))
        .filter((i) => i !== undefined);
      if (instances.length > 0 && instances.every((instance) => instance.state === 'terminated')) {
        throw new Ec2Error(
          'IdempotentInstanceTerminated',
          `The client token '${clientToken}' was used for instances that have been terminated.`,
        );
      }
      return ok('RunInstances', previous.render());
    }

    const available = availableCapacity(instanceType, market);
    if (available < minCount) {
      const error = insufficient(instanceType, `${request.region}a`);
      throw new Ec2Error(error.code, error.message, 500);
    }
    const launched = launch({
      region: request.region,
      count: Math.min(maxCount, available),
      instanceType,
      market,
      tags,
      ...(subnetId ? { subnetId } : {}),
      ...(imageId ? { imageId } : {}),
      ...(clientToken ? { clientToken } : {}),
      ...(template
        ? { launchTemplate: { id: template.id, name: template.name, version: template.version } }
        : {}),
    });
    consumeCapacity(instanceType, market, launched.length);
    const reservationId = launched[0]!.reservationId;
    const instanceIds = launched.map((instance) => instance.id);
    const render = (): XmlNode[] => [
      el('reservationId', reservationId),
      el('ownerId', ctx.accountId),
      el(
        'instancesSet',
        ...instanceIds
          .map((id) => state.instances.get(id))
          .filter((instance) => instance !== undefined)
          .map((instance, index) => el('item', ...instanceXml(instance, index))),
      ),
    ];
    if (clientToken) {
      launchesByClientToken.set(`${request.region}\u0000${clientToken}`, {
        fingerprint: fingerprint(request.form),
        instanceIds,
        render,
      });
    }
    return ok('RunInstances', render());
  }

  function createFleet(request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
    const type = text(tree, 'Type') ?? 'maintain';
    if (type !== 'instant') {
      throw new Ec2Error(
        'UnsupportedOperation',
        `The emulator supports CreateFleet with Type=instant only, not ${type}.`,
      );
    }
    const configs = members(tree.LaunchTemplateConfigs);
    if (configs.length === 0)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateConfigs');
    const target = tree.TargetCapacitySpecification;
    const total = integer(target, 'TotalTargetCapacity', 'TotalTargetCapacity');
    if (total === undefined)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter TotalTargetCapacity');
    if (total < 1) throw new Ec2Error('InvalidParameterValue', 'TotalTargetCapacity must be at least 1');
    const defaultType = text(target, 'DefaultTargetCapacityType') === 'spot' ? 'spot' : 'on-demand';
    const onDemandTarget = integer(target, 'OnDemandTargetCapacity', 'OnDemandTargetCapacity');
    const spotTarget = integer(target, 'SpotTargetCapacity', 'SpotTargetCapacity');
    let spot: number;
    if (defaultType === 'spot') spot = spotTarget ?? total - (onDemandTarget ?? 0);
    else spot = spotTarget ?? 0;
    spot = Math.max(0, Math.min(total, spot));
    const targets: [Market, number][] = [
      ['on-demand', total - spot],
      ['spot', spot],
    ];
    const clientToken = text(tree, 'ClientToken');
    checkClientToken(clientToken);

    const candidates: FleetCandidate[] = [];
    configs.forEach((config, configIndex) => {
      const template = resolveTemplate(child(config, 'LaunchTemplateSpecification'));
      const launchTemplate = { id: template?.id, name: template?.name, version: template?.version };
      const overrides = members(child(config, 'Overrides'));
      const base = { configIndex, launchTemplate };
      if (overrides.length === 0) {
        candidates.push({
          ...base,
          instanceType: template?.instanceType ?? defaultInstanceType,
          order: candidates.length,
        });
      }
      for (const override of overrides) {
        const priority = text(override, 'Priority');
        const weighted = text(override, 'WeightedCapacity');
        const subnetId = text(override, 'SubnetId');
        const availabilityZone = text(override, 'AvailabilityZone');
        candidates.push({
          ...base,
          instanceType: text(override, 'InstanceType') ?? template?.instanceType ?? defaultInstanceType,
          ...(subnetId ? { subnetId } : {}),
          ...(availabilityZone ? { availabilityZone } : {}),
          ...(priority !== undefined ? { priority: Number(priority) } : {}),
          ...(weighted !== undefined ? { weightedCapacity: Number(weighted) } : {}),
          order: candidates.length,
        });
      }
    });
    candidates.sort(
      (a, b) => (a.priority ?? Number.MAX_VALUE) - (b.priority ?? Number.MAX_VALUE) || a.order - b.order,
    );
    const tags = tagsFromSpecifications(tree.TagSpecification, 'instance', clock.offset());
    if (isTrue(tree, 'DryRun')) throw dryRun();

    const previous = replay(request, clientToken);
    if (previous) return ok('CreateFleet', previous.render());

    const fleetId = `fleet-${randomUUID()}`;
    tags.set('aws:ec2:fleet-id', fleetId);
    const outcomes: FleetOutcome[] = [];
    for (const [market, wanted] of targets) {
      let remaining = wanted;
      for (const candidate of candidates) {
        if (remaining <= 0) break;
        const weight =
          candidate.weightedCapacity && candidate.weightedCapacity > 0 ? candidate.weightedCapacity : 1;
        const needed = Math.ceil(remaining / weight);
        const count = Math.min(needed, availableCapacity(candidate.instanceType, market));
        if (count > 0) {
          const launched = launch({
            region: request.region,
            count,
            instanceType: candidate.instanceType,
            market,
            tags,
            launchTemplate: candidate.launchTemplate,
            ...(candidate.subnetId ? { subnetId: candidate.subnetId } : {}),
            ...(clientToken ? { clientToken } : {}),
          });
          consumeCapacity(candidate.instanceType, market, count);
          outcomes.push({ candidate, market, instanceIds: launched.map((instance) => instance.id) });
          remaining -= count * weight;
        }
        if (count < needed) {
          const zone = candidate.availabilityZone ?? `${request.region}a`;
          outcomes.push({
            candidate,
            market,
            instanceIds: [],
            error: insufficient(candidate.instanceType, zone),
          });
        }
      }
    }

    const overridesXml = (candidate: FleetCandidate): XmlNode =>
      el(
        'launchTemplateAndOverrides',
        el(
          'launchTemplateSpecification',
          candidate.launchTemplate.id ? el('launchTemplateId', candidate.launchTemplate.id) : undefined,
          candidate.launchTemplate.name ? el('launchTemplateName', candidate.launchTemplate.name) : undefined,
          candidate.launchTemplate.version ? el('version', candidate.launchTemplate.version) : undefined,
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
    const render = (): XmlNode[] => [
      el('fleetId', fleetId),
      itemSet(
        'errorSet',
        outcomes
          .filter((outcome) => outcome.error)
          .map((outcome) => [
            overridesXml(outcome.candidate),
            el('lifecycle', outcome.market),
            el('errorCode', outcome.error!.code),
            el('errorMessage', outcome.error!.message),
          ]),
      ),
      itemSet(
        'fleetInstanceSet',
        outcomes
          .filter((outcome) => outcome.instanceIds.length > 0)
          .map((outcome) => [
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
    if (clientToken) {
      launchesByClientToken.set(`${request.region}\u0000${clientToken}`, {
        fingerprint: fingerprint(request.form),
        instanceIds: outcomes.flatMap((outcome) => outcome.instanceIds),
        render,
      });
    }
    return ok('CreateFleet', render());
  }

  function terminateInstances(request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
    const ids = strings(tree.InstanceId);
    if (ids.length === 0)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
    if (ids.length > 1000)
      throw new Ec2Error('InvalidParameterValue', 'You can terminate up to 1000 instances per request.');
    const instances = checkIds(ids, request.region);
    if (isTrue(tree, 'DryRun')) throw dryRun();
    const changes = instances.map((instance) => {
      const previous = instance.state;
      shutDown(instance, {
        code: 'Client.UserInitiatedShutdown',
        message: 'Client.UserInitiatedShutdown: User initiated shutdown',
      });
      return [
        el('instanceId', instance.id),
        el('currentState', el('code', INSTANCE_STATE_CODES[instance.state]), el('name', instance.state)),
        el('previousState', el('code', INSTANCE_STATE_CODES[previous]), el('name', previous)),
      ];
    });
    return ok('TerminateInstances', [itemSet('instancesSet', changes)]);
  }

  function tagTargets(request: EmulatorRequest, tree: QueryTree): InstanceRecord[] {
    const ids = strings(tree.ResourceId);
    if (ids.length === 0)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter ResourceId');
    const others = ids.filter((id) => !id.startsWith('i-'));
    if (others.length > 0) throw new Ec2Error('InvalidID', `The ID '${others[0]}' is not valid`);
    return checkIds(ids, request.region);
  }

  function createTags(request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
    const instances = tagTargets(request, tree);
    const tags = members(tree.Tag).map((tag) => ({ key: text(tag, 'Key'), value: text(tag, 'Value') ?? '' }));
    if (tags.length === 0)
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter Tag');
    for (const tag of tags) {
      if (tag.key === undefined)
        throw new Ec2Error('MissingParameter', 'The request must contain the parameter Tag.N.Key');
      checkTagKey(tag.key);
      if (tag.value.length > 256)
        throw new Ec2Error('InvalidParameterValue', 'Tag value exceeds the maximum length of 256 characters');
    }
    for (const instance of instances) {
      const keys = new Set([...instance.tags.keys(), ...tags.map((tag) => tag.key!)]);
      if (keys.size > MAX_TAGS_PER_RESOURCE) {
        throw new Ec2Error('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
      }
    }
    if (isTrue(tree, 'DryRun')) throw dryRun();
    for (const instance of instances) for (const tag of tags) setTag(instance, tag.key!, tag.value);
    return ok('CreateTags', [el('return', true)]);
  }

  function deleteTags(request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
    const instances = tagTargets(request, tree);
    const tags = members(tree.Tag).map((tag) => ({ key: text(tag, 'Key'), value: text(tag, 'Value') }));
    if (isTrue(tree, 'DryRun')) throw dryRun();
    const offset = clock.offset();
    for (const instance of instances) {
      if (tags.length === 0) {
        for (const key of [...instance.tags.keys()]) if (!key.startsWith('aws:')) instance.tags.delete(key);
        continue;
      }
      for (const tag of tags) {
        if (tag.key === undefined) continue;
        const current = instance.tags.get(tag.key);
        if (current === undefined) continue;
        if (tag.value === undefined || tagValueToWall(current, offset) === tag.value)
          instance.tags.delete(tag.key);
      }
    }
    return ok('DeleteTags', [el('return', true)]);
  }

  function dryRun(): Ec2Error {
    return new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
  }

  const actions: Record<string, (request: EmulatorRequest, tree: QueryTree) => EmulatorResponse> = {
    DescribeInstances: describeInstances,
    RunInstances: runInstances,
    CreateFleet: createFleet,
    TerminateInstances: terminateInstances,
    CreateTags: createTags,
    DeleteTags: deleteTags,
  };

  return {
    handle(request) {
      const action = actions[request.action];
      try {
        if (!action)
          throw new Ec2Error(
            'InvalidAction',
            `The action ${request.action} is not valid for this web service.`,
          );
        return action(request, queryTree(request.form));
      } catch (error) {
        if (error instanceof Ec2Error) return errorResponse(error.code, error.message, error.status);
        throw error;
      }
    },
    resourceUnits(request) {
      const tree = queryTree(request.form);
      if (request.action === 'RunInstances') return Number(text(tree, 'MaxCount') ?? 0) || 0;
      if (request.action === 'CreateFleet')
        return Number(text(tree.TargetCapacitySpecification, 'TotalTargetCapacity') ?? 0) || 0;
      if (request.action === 'TerminateInstances') return strings(tree.InstanceId).length;
      return 0;
    },
    errorResponse,
    launch,
    shutDown,
    setTag,
    setCapacity,
    instances: () => [...state.instances.values()].map(view),
    instance(id) {
      const instance = state.instances.get(id);
      return instance ? view(instance) : undefined;
    },
    view,
  };
}
