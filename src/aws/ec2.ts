import {
  CreateFleetCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type {
  CreateFleetCommandOutput,
  DefaultTargetCapacityType,
  FleetLaunchTemplateOverridesRequest,
  Filter,
  Instance as Ec2Instance,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import { createSdkLogger } from './sdk-logger.js';
import { TAG_ENVIRONMENT, TAG_IDLE_SINCE, TAG_JOB_STARTED, TAG_POOL, TAG_STALE_SINCE } from '../contract.js';
import type {
  Ec2Gateway,
  Instance,
  InstanceState,
  LaunchError,
  LaunchRequest,
  LaunchResult,
  PoolConfig,
  TerminateResult,
} from '../types.js';

/** States an owned instance can be in while it still costs money or may come back. */
const LIVE_STATES: InstanceState[] = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
const KNOWN_STATES: readonly string[] = [...LIVE_STATES, 'terminated'];

const DESCRIBE_PAGE_SIZE = 1000;
/** EC2 accepts at most 200 values per filter. */
const FILTER_VALUES_PER_CALL = 200;
/** TerminateInstances takes up to 1000 ids; smaller batches limit what one bad id can block. */
const TERMINATE_BATCH_SIZE = 100;
const TERMINATE_CONCURRENCY = 3;
const TAG_RESOURCES_PER_CALL = 500;
const CLIENT_TOKEN_MAX_LENGTH = 64;
/** Error codes with which EC2 fails a whole TerminateInstances call and names the bad ids. */
const BAD_ID_CODES = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);
/** Error codes with which EC2 refuses a whole call because the policy denies one of its resources. */
const DENIED_CODES = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);

export interface Ec2GatewayOptions {
  region: string;
  log?: (msg: string) => void;
}

export function createEc2Gateway(options: Ec2GatewayOptions): Ec2Gateway {
  const { region } = options;
  const log = options.log ?? (() => {});
  // Endpoint (AWS_ENDPOINT_URL[_EC2]) and max attempts (AWS_MAX_ATTEMPTS) come from the SDK's own env handling.
  const client = new EC2Client({ region, retryMode: 'adaptive', logger: createSdkLogger(log) });

  /** Pages through DescribeInstances; each page is converted as it arrives so its raw objects die young. */
  async function describeAll(operation: string, filters: Filter[]): Promise<Instance[]> {
    const instances: Instance[] = [];
    let nextToken: string | undefined;
    do {
      const previousToken = nextToken;
      let page;
      try {
        page = await client.send(
          new DescribeInstancesCommand({
            Filters: filters,
            MaxResults: DESCRIBE_PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
      } catch (error) {
        throw withContext(`${operation} in ${region} failed`, error);
      }
      for (const reservation of page.Reservations ?? []) {
        for (const raw of reservation.Instances ?? []) {
          const instance = toInstance(raw, region);
          if (instance) instances.push(instance);
        }
      }
      nextToken = page.NextToken || undefined;
      if (nextToken !== undefined && nextToken === previousToken) {
        throw new Error(`${operation} in ${region} failed: the same NextToken was returned twice`);
      }
    } while (nextToken !== undefined);
    return instances;
  }

  async function listOwnedInstances(environment: string): Promise<Instance[]> {
    const found = await describeAll('DescribeInstances', [
      { Name: `tag:${TAG_ENVIRONMENT}`, Values: [environment] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
    // The filter is the API's promise; the contract is ours to keep, so check the tag again.
    return found.filter((instance) => instance.tags[TAG_ENVIRONMENT] === environment);
  }

  async function describeInstances(ids: string[]): Promise<Instance[]> {
    const result: Instance[] = [];
    // The instance-id filter, unlike InstanceIds, ignores unknown ids instead of failing the call.
    for (const chunk of chunks(unique(ids), FILTER_VALUES_PER_CALL)) {
      result.push(...(await describeAll('DescribeInstances', [{ Name: 'instance-id', Values: chunk }])));
    }
    return result;
  }

  async function createFleet(
    request: LaunchRequest,
    count: number,
    capacityType: DefaultTargetCapacityType,
    clientToken: string,
  ): Promise<LaunchResult> {
    const { pool } = request;
    const overrides = fleetOverrides(pool);
    let response: CreateFleetCommandOutput;
    try {
      response = await client.send(
        new CreateFleetCommand({
          Type: 'instant',
          LaunchTemplateConfigs: [
            {
              LaunchTemplateSpecification: launchTemplateSpecification(pool),
              ...(overrides.length > 0 ? { Overrides: overrides } : {}),
            },
          ],
          TargetCapacitySpecification: {
            TotalTargetCapacity: count,
            DefaultTargetCapacityType: capacityType,
          },
          // Spread over the pools least likely to be interrupted: an interruption kills a running job.
          ...(capacityType === 'spot'
            ? { SpotOptions: { AllocationStrategy: 'price-capacity-optimized' } }
            : {}),
          TagSpecifications: instanceTagSpecifications(request.tags),
          ClientToken: clientToken,
        }),
      );
    } catch (error) {
      throw withContext(`CreateFleet (${capacityType}) for pool ${pool.name} failed`, error);
    }
    const instanceIds = unique((response.Instances ?? []).flatMap((entry) => entry.InstanceIds ?? []));
    const errors: LaunchError[] = (response.Errors ?? []).map((entry) => {
      const override = entry.LaunchTemplateAndOverrides?.Overrides;
      const where = [override?.InstanceType, override?.SubnetId].filter(Boolean).join(' in ');
      const code = entry.ErrorCode ?? 'Unknown';
      const hint = launchErrorHint(code);
      const message = `${entry.ErrorMessage ?? 'no message'}${hint ? ` (${hint})` : ''}`;
      // EC2's capacity messages name the zone: "… in the Availability Zone you requested (eu-west-1a)".
      const zone = /Availability Zone you requested \(([a-z0-9-]+)\)/.exec(entry.ErrorMessage ?? '')?.[1];
      return {
        code,
        message: `${capacityType}${where ? ` ${where}` : ''}: ${message}`,
        market: capacityType === 'spot' ? ('spot' as const) : ('on-demand' as const),
        ...(override?.InstanceType ? { instanceType: override.InstanceType } : {}),
        ...(override?.SubnetId ? { subnet: override.SubnetId } : {}),
        ...(zone ? { zone } : {}),
      };
    });
    if (instanceIds.length < count && errors.length === 0) {
      errors.push(shortfall('CreateFleet', capacityType, count, instanceIds.length));
    }
    return { instanceIds, errors };
  }

  async function runInstances(request: LaunchRequest): Promise<LaunchResult> {
    const { pool, count } = request;
    let instances: Ec2Instance[];
    try {
      const response = await client.send(
        new RunInstancesCommand({
          LaunchTemplate: launchTemplateSpecification(pool),
          MinCount: 1,
          MaxCount: count,
          TagSpecifications: instanceTagSpecifications(request.tags),
          ClientToken: request.clientToken,
        }),
      );
      instances = response.Instances ?? [];
    } catch (error) {
      throw withContext(`RunInstances for pool ${pool.name} failed`, error);
    }
    const instanceIds = unique(
      instances.flatMap((instance) => (instance.InstanceId ? [instance.InstanceId] : [])),
    );
    const errors =
      instanceIds.length < count ? [shortfall('RunInstances', 'on-demand', count, instanceIds.length)] : [];
    return { instanceIds, errors };
  }

  /**
   * EC2 refuses a ClientToken whose instances are all terminated (IdempotentInstanceTerminated): the demand that
   * made it is still there (its instances died before serving it, e.g. a spot interruption). Launch again once,
   * under a token derived from the first: concurrent runs that hit the same refusal derive the same token, so
   * they still launch once.
   */
  async function launchInstances(request: LaunchRequest): Promise<LaunchResult> {
    try {
      return await launchOnce(request);
    } catch (error) {
      if (describeError(error).code !== 'IdempotentInstanceTerminated') throw error;
      log(
        `pool ${request.pool.name}: the instances of ClientToken ${request.clientToken} are terminated; launching again`,
      );
      return launchOnce({ ...request, clientToken: relaunchClientToken(request.clientToken) });
    }
  }

  async function launchOnce(request: LaunchRequest): Promise<LaunchResult> {
    const { pool, count } = request;
    if (count <= 0) return { instanceIds: [], errors: [] };
    if (!usesFleet(pool)) return runInstances(request);
    if (pool.market === 'on-demand') return createFleet(request, count, 'on-demand', request.clientToken);
    const spot = await createFleet(request, count, 'spot', request.clientToken);
    const missing = count - spot.instanceIds.length;
    if (pool.market === 'spot' || missing <= 0) return spot;

    const why = spot.errors[0] ? `: ${spot.errors[0].code}: ${spot.errors[0].message}` : '';
    log(
      `pool ${pool.name}: ${missing} of ${count} spot instances not launched, falling back to on-demand${why}`,
    );
    try {
      const onDemand = await createFleet(
        request,
        missing,
        'on-demand',
        fallbackClientToken(request.clientToken),
      );
      return {
        instanceIds: unique([...spot.instanceIds, ...onDemand.instanceIds]),
        errors: [...spot.errors, ...onDemand.errors],
      };
    } catch (error) {
      // The spot instances exist: report them, and the failed fallback as an error, instead of losing them.
      const { code, message } = describeError(error);
      return { instanceIds: spot.instanceIds, errors: [...spot.errors, { code, message, count: missing }] };
    }
  }

  async function terminateBatch(batch: string[], result: TerminateResult): Promise<void> {
    let remaining = batch;
    // Each round either removes at least one bad id or ends the loop, so it runs at most batch.length times.
    while (remaining.length > 0) {
      try {
        const response = await client.send(new TerminateInstancesCommand({ InstanceIds: remaining }));
        const terminating = new Set(
          (response.TerminatingInstances ?? []).flatMap((entry) =>
            entry.InstanceId ? [entry.InstanceId] : [],
          ),
        );
        for (const id of remaining) {
          if (terminating.has(id)) result.terminated.push(id);
          else {
            result.failed.push({
              id,
              code: 'NotInResponse',
              message: 'TerminateInstances succeeded but did not list this instance',
            });
          }
        }
        return;
      } catch (error) {
        const { code, message } = describeError(error);
        if (BAD_ID_CODES.has(code)) {
          const named = new Set(instanceIdsInErrorMessage(message));
          const bad = remaining.filter((id) => named.has(id));
          if (bad.length > 0) {
            log(
              `TerminateInstances: ${code} for ${bad.join(', ')}; retrying the other ${remaining.length - bad.length}`,
            );
            result.notFound.push(...bad);
            remaining = remaining.filter((id) => !named.has(id));
            continue;
          }
        }
        if (DENIED_CODES.has(code) && remaining.length > 1) return terminateHalves(remaining, code, result);
        for (const id of remaining)
          result.failed.push({ id, code, message: `TerminateInstances failed: ${message}` });
        return;
      }
    }
  }

  /**
   * A refusal names no instance (its message is encoded), and one refused id fails the whole call: retry each
   * half on its own until the refused ids stand alone, so that they cannot keep the others alive.
   */
  async function terminateHalves(ids: string[], code: string, result: TerminateResult): Promise<void> {
    log(
      `TerminateInstances: ${code} for a batch of ${ids.length}; retrying in halves to find the refused ids`,
    );
    const middle = Math.ceil(ids.length / 2);
    await terminateBatch(ids.slice(0, middle), result);
    await terminateBatch(ids.slice(middle), result);
  }

  async function terminateInstances(ids: string[]): Promise<TerminateResult> {
    const result: TerminateResult = { terminated: [], notFound: [], failed: [] };
    const batches = chunks(unique(ids), TERMINATE_BATCH_SIZE);
    await forEachWithConcurrency(batches, TERMINATE_CONCURRENCY, (batch) => terminateBatch(batch, result));
    return result;
  }

  async function createTags(ids: string[], tags: Record<string, string>): Promise<void> {
    const entries = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    if (entries.length === 0) return;
    for (const chunk of chunks(unique(ids), TAG_RESOURCES_PER_CALL)) {
      try {
        await client.send(new CreateTagsCommand({ Resources: chunk, Tags: entries }));
      } catch (error) {
        throw withContext(
          `CreateTags (${Object.keys(tags).join(', ')}) on ${chunk.length} instances failed`,
          error,
        );
      }
    }
  }

  async function deleteTags(ids: string[], keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // A tag given by key only is deleted whatever its value.
    const entries = keys.map((Key) => ({ Key }));
    for (const chunk of chunks(unique(ids), TAG_RESOURCES_PER_CALL)) {
      try {
        await client.send(new DeleteTagsCommand({ Resources: chunk, Tags: entries }));
      } catch (error) {
        throw withContext(`DeleteTags (${keys.join(', ')}) on ${chunk.length} instances failed`, error);
      }
    }
  }

  return {
    listOwnedInstances,
    describeInstances,
    launchInstances,
    terminateInstances,
    createTags,
    deleteTags,
  };
}

// ---------------------------------------------------------------- pure helpers

/** Maps an EC2 instance to ours; undefined when EC2 left out the id. */
export function toInstance(raw: Ec2Instance, region: string): Instance | undefined {
  if (!raw.InstanceId) return undefined;
  const tags: Record<string, string> = {};
  for (const tag of raw.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  const stateName = raw.State?.Name ?? 'pending';
  // An unknown state is treated as pending: alive, so never taken for gone.
  const state = (KNOWN_STATES.includes(stateName) ? stateName : 'pending') as InstanceState;
  const launchTime = raw.LaunchTime ? new Date(raw.LaunchTime) : new Date(0);
  const instance: Instance = { id: raw.InstanceId, region, state, launchTime, tags };
  const pool = tags[TAG_POOL];
  if (pool !== undefined) instance.pool = pool;
  const idleSince = parseTimestamp(tags[TAG_IDLE_SINCE]);
  if (idleSince) instance.idleSince = idleSince;
  const staleSince = parseTimestamp(tags[TAG_STALE_SINCE]);
  if (staleSince) instance.staleSince = staleSince;
  const jobStarted = tags[TAG_JOB_STARTED];
  // Any job-started tag means a job began; a value that is not a date counts as a start at launch.
  if (jobStarted !== undefined) instance.jobStartedAt = parseTimestamp(jobStarted) ?? launchTime;
  return instance;
}

/** A date from an ISO timestamp tag value; undefined when missing or unparsable. */
export function parseTimestamp(value: string | undefined): Date | undefined {
  if (!value?.trim()) return undefined;
  const date = new Date(value.trim());
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Every instance id an EC2 error message names, e.g. "The instance IDs 'i-1, i-2' do not exist",
 * "The instance ID 'i-1' does not exist" or 'Invalid id: "i-zz" (expecting "i-...")'. Liberal on purpose:
 * `i-…` tokens plus every quoted value; the caller keeps only those it sent.
 */
export function instanceIdsInErrorMessage(message: string): string[] {
  const ids = new Set<string>();
  for (const match of message.matchAll(/(?<![\w-])i-[\w-]+/g)) ids.add(match[0]);
  for (const match of message.matchAll(/'([^']*)'|"([^"]*)"/g)) {
    const quoted = match[1] ?? match[2] ?? '';
    for (const part of quoted.split(',')) {
      const value = part.trim();
      if (value) ids.add(value);
    }
  }
  return [...ids];
}

/**
 * What to do about a launch error EC2 reports inside a fleet's Errors, where the error code alone is cryptic;
 * undefined when the message says enough.
 */
export function launchErrorHint(code: string): string | undefined {
  if (/ServiceLinkedRole/i.test(code)) {
    return (
      'the account has no Spot service-linked role AWSServiceRoleForEC2Spot and this role may not create it: ' +
      'create it once with `aws iam create-service-linked-role --aws-service-name spot.amazonaws.com` ' +
      '(the example CloudFormation stack does), or allow iam:CreateServiceLinkedRole for spot.amazonaws.com ' +
      'where no SCP forbids it (docs/security.md)'
    );
  }
  if (/kms/i.test(code)) {
    return (
      "the launch template's EBS volumes use a KMS key that the scaler role or the Spot service-linked role " +
      'may not use: docs/security.md, "EBS volumes encrypted with your own KMS key"'
    );
  }
  if (DENIED_CODES.has(code) || code.startsWith('AuthFailure')) {
    return (
      "the scaler role's policy refused part of the launch (the template's tag, AMI owner, subnet VPC, " +
      'security group tag, a key pair, the instance profile role): compare with ' +
      'examples/iam/runner-scaler-policy.json; `aws sts decode-authorization-message` names the refused check'
    );
  }
  return undefined;
}

/** Pools with instance types, subnets or spot need CreateFleet; a plain on-demand pool uses RunInstances. */
export function usesFleet(pool: PoolConfig): boolean {
  return pool.instanceTypes.length > 0 || pool.subnets.length > 0 || pool.market !== 'on-demand';
}

/** Every instance type in every subnet; a missing dimension is left out. */
export function fleetOverrides(pool: PoolConfig): FleetLaunchTemplateOverridesRequest[] {
  const types: (string | undefined)[] = pool.instanceTypes.length > 0 ? pool.instanceTypes : [undefined];
  const subnets: (string | undefined)[] = pool.subnets.length > 0 ? pool.subnets : [undefined];
  if (pool.instanceTypes.length === 0 && pool.subnets.length === 0) return [];
  return types.flatMap((type) =>
    subnets.map((subnet) => ({
      ...(type !== undefined
        ? { InstanceType: type as FleetLaunchTemplateOverridesRequest['InstanceType'] }
        : {}),
      ...(subnet !== undefined ? { SubnetId: subnet } : {}),
    })),
  );
}

/** The token of a launch again after EC2 refused one whose instances are terminated: derived, so runs agree. */
export function relaunchClientToken(clientToken: string): string {
  const suffix = '-re';
  return `${clientToken.slice(0, CLIENT_TOKEN_MAX_LENGTH - suffix.length)}${suffix}`;
}

/** The on-demand fallback's token: derived from the spot call's, so a retried run reuses it. */
export function fallbackClientToken(clientToken: string): string {
  const suffix = '-od';
  return `${clientToken.slice(0, CLIENT_TOKEN_MAX_LENGTH - suffix.length)}${suffix}`;
}

/** Name (the API error code) and message of anything thrown. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) return { code: error.name || 'Error', message: error.message };
  return { code: 'Error', message: String(error) };
}

/** Rethrowable error naming the operation; keeps the API error code as `name` and `code`, the original as `cause`. */
export function withContext(operation: string, error: unknown): Error {
  const { code, message } = describeError(error);
  const wrapped = new Error(`${operation}: ${code}: ${message}`, { cause: error });
  wrapped.name = code;
  Object.assign(wrapped, { code });
  return wrapped;
}

function launchTemplateSpecification(pool: PoolConfig): {
  LaunchTemplateId?: string;
  LaunchTemplateName?: string;
  Version: string;
} {
  const { id, name, version } = pool.launchTemplate;
  if (id) return { LaunchTemplateId: id, Version: version };
  if (name) return { LaunchTemplateName: name, Version: version };
  throw new Error(`pool ${pool.name} has no launch template id or name`);
}

function instanceTagSpecifications(tags: Record<string, string>): TagSpecification[] {
  return [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }];
}

function shortfall(
  operation: string,
  capacityType: string,
  requested: number,
  launched: number,
): LaunchError {
  const missing = requested - launched;
  return {
    code: 'Shortfall',
    message: `${operation} launched ${launched} of ${requested} ${capacityType} instances`,
    count: missing,
  };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function chunks<T>(values: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < values.length; start += size) result.push(values.slice(start, start + size));
  return result;
}

async function forEachWithConcurrency<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
