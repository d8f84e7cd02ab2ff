import {
  CreateFleetCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Instance as Ec2Instance, TerminateInstancesCommandInput } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEc2Gateway,
  fallbackClientToken,
  fleetOverrides,
  instanceIdsInErrorMessage,
  launchErrorHint,
  parseTimestamp,
  relaunchClientToken,
  toInstance,
} from '../../src/aws/ec2.js';
import { TAG_ENVIRONMENT, TAG_IDLE_SINCE, TAG_JOB_STARTED, TAG_NAME, TAG_POOL } from '../../src/contract.js';
import type { PoolConfig } from '../../src/types.js';

const ec2 = mockClient(EC2Client);
const REGION = 'eu-west-1';
const ENV = 'ci';

beforeEach(() => ec2.reset());
afterEach(() => ec2.reset());

function awsError(name: string, message: string): EC2ServiceException {
  return new EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

function ec2Instance(id: string, tags: Record<string, string> = {}, state = 'running'): Ec2Instance {
  return {
    InstanceId: id,
    State: { Name: state as 'running' },
    LaunchTime: new Date('2026-11-01T10:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

function ownedTags(pool = 'linux'): Record<string, string> {
  return { [TAG_ENVIRONMENT]: ENV, [TAG_POOL]: pool, [TAG_NAME]: `${ENV}-${pool}` };
}

function pool(overrides: Partial<PoolConfig> = {}): PoolConfig {
  return {
    name: 'linux',
    labels: ['linux'],
    region: REGION,
    launchTemplate: { id: 'lt-0123456789abcdef0', version: '$Latest' },
    instanceTypes: [],
    subnets: [],
    market: 'on-demand',
    registration: 'jit',
    min: 0,
    max: 10,
    idleTimeoutMs: 60_000,
    bootTimeoutMs: 600_000,
    minLifetimeMs: 0,
    maxLifetimeMs: 86_400_000,
    repositories: [],
    ...overrides,
  };
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `i-${prefix}${index.toString(16).padStart(8, '0')}`);
}

function terminateInputs(): string[][] {
  return ec2
    .commandCalls(TerminateInstancesCommand)
    .map((call) => (call.args[0].input as TerminateInstancesCommandInput).InstanceIds ?? []);
}

describe('listOwnedInstances', () => {
  it('follows NextToken over three pages and sends the ownership and state filters', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [{ Instances: [ec2Instance('i-00000001', ownedTags())] }],
        NextToken: 'p2',
      })
      .resolvesOnce({ Reservations: [], NextToken: 'p3' })
      .resolvesOnce({
        Reservations: [
          { Instances: [ec2Instance('i-00000002', ownedTags('arm'))] },
          { Instances: [ec2Instance('i-00000003', ownedTags(), 'stopped')] },
        ],
      });
    const gateway = createEc2Gateway({ region: REGION });

    const instances = await gateway.listOwnedInstances(ENV);

    expect(instances.map((instance) => instance.id)).toEqual(['i-00000001', 'i-00000002', 'i-00000003']);
    expect(instances.map((instance) => instance.region)).toEqual([REGION, REGION, REGION]);
    const calls = ec2.commandCalls(DescribeInstancesCommand);
    expect(calls).toHaveLength(3);
    expect(calls.map((call) => call.args[0].input.NextToken)).toEqual([undefined, 'p2', 'p3']);
    for (const call of calls) {
      expect(call.args[0].input.MaxResults).toBe(1000);
      expect(call.args[0].input.InstanceIds).toBeUndefined();
      expect(call.args[0].input.Filters).toEqual([
        { Name: `tag:${TAG_ENVIRONMENT}`, Values: [ENV] },
        {
          Name: 'instance-state-name',
          Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
        },
      ]);
    }
  });

  it('drops instances without this environment tag even when the API returns them', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            ec2Instance('i-00000001', ownedTags()),
            ec2Instance('i-00000002', { ...ownedTags(), [TAG_ENVIRONMENT]: 'other' }),
            ec2Instance('i-00000003', { [TAG_POOL]: 'linux' }),
            ec2Instance('i-00000004', { ...ownedTags(), [TAG_ENVIRONMENT]: `${ENV} ` }),
          ],
        },
      ],
    });
    const instances = await createEc2Gateway({ region: REGION }).listOwnedInstances(ENV);
    expect(instances.map((instance) => instance.id)).toEqual(['i-00000001']);
  });

  it('parses pool, idle-since and job-started tags', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            ec2Instance('i-00000001', {
              ...ownedTags('gpu'),
              [TAG_IDLE_SINCE]: '2026-11-01T10:05:00.000Z',
              [TAG_JOB_STARTED]: '2026-11-01T10:07:30Z',
            }),
            ec2Instance('i-00000002', {
              ...ownedTags(),
              [TAG_IDLE_SINCE]: 'not a date',
              [TAG_JOB_STARTED]: 'yes',
            }),
            ec2Instance('i-00000003', { [TAG_ENVIRONMENT]: ENV }, 'pending'),
          ],
        },
      ],
    });
    const [first, second, third] = await createEc2Gateway({ region: REGION }).listOwnedInstances(ENV);

    expect(first).toMatchObject({ id: 'i-00000001', pool: 'gpu', state: 'running' });
    expect(first?.idleSince?.toISOString()).toBe('2026-11-01T10:05:00.000Z');
    expect(first?.jobStartedAt?.toISOString()).toBe('2026-11-01T10:07:30.000Z');
    expect(first?.launchTime.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    expect(first?.tags).toEqual({
      ...ownedTags('gpu'),
      [TAG_IDLE_SINCE]: '2026-11-01T10:05:00.000Z',
      [TAG_JOB_STARTED]: '2026-11-01T10:07:30Z',
    });

    expect(second?.idleSince).toBeUndefined();
    // A job-started marker that is not a date still says a job began: counted from launch.
    expect(second?.jobStartedAt?.toISOString()).toBe('2026-11-01T10:00:00.000Z');

    expect(third).toMatchObject({ id: 'i-00000003', state: 'pending' });
    expect(third?.pool).toBeUndefined();
    expect(third?.idleSince).toBeUndefined();
    expect(third?.jobStartedAt).toBeUndefined();
  });

  it('rethrows API errors naming the operation and keeping the error code', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized'));
    const error = await createEc2Gateway({ region: REGION })
      .listOwnedInstances(ENV)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('UnauthorizedOperation');
    expect((error as Error).message).toContain('DescribeInstances');
    expect((error as Error).message).toContain('You are not authorized');
    expect((error as Error).cause).toBeInstanceOf(EC2ServiceException);
  });
});

describe('describeInstances', () => {
  it('uses the instance-id filter in chunks of 200 and follows pages', async () => {
    const wanted = ids('a', 450);
    ec2
      .on(DescribeInstancesCommand)
      .callsFake((input: { Filters: { Values: string[] }[]; NextToken?: string }) => {
        const values = input.Filters[0]?.Values ?? [];
        // Each chunk answers in two pages to prove paging per chunk.
        if (!input.NextToken) {
          return {
            Reservations: [{ Instances: [ec2Instance(values[0] ?? '', ownedTags())] }],
            NextToken: 'more',
          };
        }
        return { Reservations: [{ Instances: [ec2Instance(values[1] ?? '', ownedTags(), 'terminated')] }] };
      });

    const instances = await createEc2Gateway({ region: REGION }).describeInstances(wanted);

    const calls = ec2.commandCalls(DescribeInstancesCommand);
    expect(calls).toHaveLength(6);
    const firstPageCalls = calls.filter((call) => !call.args[0].input.NextToken);
    expect(firstPageCalls.map((call) => call.args[0].input.Filters?.[0]?.Values?.length)).toEqual([
      200, 200, 50,
    ]);
    for (const call of calls) {
      expect(call.args[0].input.Filters?.[0]?.Name).toBe('instance-id');
      expect(call.args[0].input.InstanceIds).toBeUndefined();
    }
    expect(instances).toHaveLength(6);
    expect(instances.filter((instance) => instance.state === 'terminated')).toHaveLength(3);
  });

  it('makes no call for no ids', async () => {
    expect(await createEc2Gateway({ region: REGION }).describeInstances([])).toEqual([]);
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });
});

describe('launchInstances', () => {
  const tags = ownedTags();

  it('uses one instant fleet with every type x subnet and reports partial success', async () => {
    ec2.on(CreateFleetCommand).resolves({
      Instances: [
        { InstanceIds: ['i-00000001', 'i-00000002'], InstanceType: 'm7i.large' },
        { InstanceIds: ['i-00000003'], InstanceType: 'm6i.large' },
      ],
      Errors: [
        {
          ErrorCode: 'InsufficientInstanceCapacity',
          ErrorMessage: 'We currently do not have sufficient capacity',
          LaunchTemplateAndOverrides: { Overrides: { InstanceType: 'm7i.large', SubnetId: 'subnet-b' } },
        },
      ],
    });
    const gateway = createEc2Gateway({ region: REGION });
    const request = {
      pool: pool({ instanceTypes: ['m7i.large', 'm6i.large'], subnets: ['subnet-a', 'subnet-b'] }),
      count: 5,
      clientToken: 'token-abc',
      tags,
    };

    const result = await gateway.launchInstances(request);

    expect(result.instanceIds).toEqual(['i-00000001', 'i-00000002', 'i-00000003']);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.code).toBe('InsufficientInstanceCapacity');
    expect(result.errors[0]?.message).toContain('m7i.large in subnet-b');
    const calls = ec2.commandCalls(CreateFleetCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.Type).toBe('instant');
    expect(input?.ClientToken).toBe('token-abc');
    expect(input?.TargetCapacitySpecification).toEqual({
      TotalTargetCapacity: 5,
      DefaultTargetCapacityType: 'on-demand',
    });
    expect(input?.LaunchTemplateConfigs).toEqual([
      {
        LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' },
        Overrides: [
          { InstanceType: 'm7i.large', SubnetId: 'subnet-a' },
          { InstanceType: 'm7i.large', SubnetId: 'subnet-b' },
          { InstanceType: 'm6i.large', SubnetId: 'subnet-a' },
          { InstanceType: 'm6i.large', SubnetId: 'subnet-b' },
        ],
      },
    ]);
    expect(input?.TagSpecifications).toEqual([
      { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    ]);
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);

    // The same request sends the same token, so EC2 answers a retry without launching twice.
    await gateway.launchInstances(request);
    expect(ec2.commandCalls(CreateFleetCommand)[1]?.args[0].input.ClientToken).toBe('token-abc');
  });

  it('spot pool: one spot fleet by launch template name, no fallback on shortfall', async () => {
    ec2.on(CreateFleetCommand).resolves({ Instances: [{ InstanceIds: ['i-00000001'] }], Errors: [] });
    const result = await createEc2Gateway({ region: REGION }).launchInstances({
      pool: pool({ market: 'spot', launchTemplate: { name: 'runners', version: '3' } }),
      count: 3,
      clientToken: 'tok',
      tags,
    });
    const calls = ec2.commandCalls(CreateFleetCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.TargetCapacitySpecification?.DefaultTargetCapacityType).toBe('spot');
    expect(input?.LaunchTemplateConfigs).toEqual([
      { LaunchTemplateSpecification: { LaunchTemplateName: 'runners', Version: '3' } },
    ]);
    expect(result.instanceIds).toEqual(['i-00000001']);
    // Without errors from EC2, the shortfall is still reported.
    expect(result.errors).toEqual([expect.objectContaining({ code: 'Shortfall', count: 2 })]);
  });

  it('spot-with-fallback launches the shortfall on demand with a derived token and reports both errors', async () => {
    ec2
      .on(CreateFleetCommand)
      .resolvesOnce({
        Instances: [{ InstanceIds: ['i-00000001', 'i-00000002'] }],
        Errors: [{ ErrorCode: 'InsufficientInstanceCapacity', ErrorMessage: 'no spot capacity' }],
      })
      .resolvesOnce({
        Instances: [{ InstanceIds: ['i-00000003'] }],
        Errors: [{ ErrorCode: 'VcpuLimitExceeded', ErrorMessage: 'vCPU limit' }],
      });
    const messages: string[] = [];
    const result = await createEc2Gateway({
      region: REGION,
      log: (msg) => messages.push(msg),
    }).launchInstances({
      pool: pool({ market: 'spot-with-fallback', instanceTypes: ['c7i.large'] }),
      count: 5,
      clientToken: 'x'.repeat(64),
      tags,
    });

    const calls = ec2.commandCalls(CreateFleetCommand);
    expect(calls).toHaveLength(2);
    const [spot, onDemand] = calls.map((call) => call.args[0].input);
    expect(spot?.TargetCapacitySpecification).toEqual({
      TotalTargetCapacity: 5,
      DefaultTargetCapacityType: 'spot',
    });
    expect(spot?.ClientToken).toBe('x'.repeat(64));
    expect(onDemand?.TargetCapacitySpecification).toEqual({
      TotalTargetCapacity: 3,
      DefaultTargetCapacityType: 'on-demand',
    });
    expect(onDemand?.ClientToken).toBe(`${'x'.repeat(61)}-od`);
    expect(onDemand?.ClientToken?.length).toBeLessThanOrEqual(64);
    expect(onDemand?.LaunchTemplateConfigs?.[0]?.Overrides).toEqual([{ InstanceType: 'c7i.large' }]);
    expect(result.instanceIds).toEqual(['i-00000001', 'i-00000002', 'i-00000003']);
    expect(result.errors.map((error) => error.code)).toEqual([
      'InsufficientInstanceCapacity',
      'VcpuLimitExceeded',
    ]);
    expect(messages.join('\n')).toContain('on-demand');
  });

  it('names the Spot service-linked role and the fix when a fleet may not create it', async () => {
    ec2
      .on(CreateFleetCommand)
      .resolvesOnce({
        Errors: [
          {
            ErrorCode: 'AuthFailure.ServiceLinkedRoleCreationNotPermitted',
            ErrorMessage:
              'The provided credentials do not have permission to create the service-linked role for EC2 Spot Instances.',
            LaunchTemplateAndOverrides: { Overrides: { InstanceType: 'c7i.large' } },
          },
        ],
      })
      .resolvesOnce({ Instances: [{ InstanceIds: ['i-00000003'] }] });
    const messages: string[] = [];
    const result = await createEc2Gateway({ region: REGION, log: (m) => messages.push(m) }).launchInstances({
      pool: pool({ market: 'spot-with-fallback', instanceTypes: ['c7i.large'] }),
      count: 1,
      clientToken: 'token',
      tags,
    });
    expect(result.instanceIds).toEqual(['i-00000003']);
    const error = result.errors[0];
    expect(error?.code).toBe('AuthFailure.ServiceLinkedRoleCreationNotPermitted');
    expect(error?.message).toContain('AWSServiceRoleForEC2Spot');
    expect(error?.message).toContain(
      'aws iam create-service-linked-role --aws-service-name spot.amazonaws.com',
    );
    expect(messages.join('\n')).toMatch(
      /falling back to on-demand: AuthFailure\.ServiceLinkedRoleCreationNotPermitted/,
    );
  });

  it('spot-with-fallback makes no second call when spot filled the request', async () => {
    ec2.on(CreateFleetCommand).resolves({ Instances: [{ InstanceIds: ['i-00000001', 'i-00000002'] }] });
    const result = await createEc2Gateway({ region: REGION }).launchInstances({
      pool: pool({ market: 'spot-with-fallback' }),
      count: 2,
      clientToken: 'tok',
      tags,
    });
    expect(ec2.commandCalls(CreateFleetCommand)).toHaveLength(1);
    expect(result).toEqual({ instanceIds: ['i-00000001', 'i-00000002'], errors: [] });
  });

  it('spot-with-fallback keeps the spot instances when the on-demand call throws', async () => {
    ec2
      .on(CreateFleetCommand)
      .resolvesOnce({ Instances: [{ InstanceIds: ['i-00000001'] }] })
      .rejectsOnce(awsError('RequestLimitExceeded', 'Request limit exceeded.'));
    const result = await createEc2Gateway({ region: REGION }).launchInstances({
      pool: pool({ market: 'spot-with-fallback' }),
      count: 3,
      clientToken: 'tok',
      tags,
    });
    expect(result.instanceIds).toEqual(['i-00000001']);
    expect(result.errors).toContainEqual(expect.objectContaining({ code: 'RequestLimitExceeded', count: 2 }));
  });

  it('plain on-demand pool uses RunInstances and reports the shortfall', async () => {
    ec2
      .on(RunInstancesCommand)
      .resolves({ Instances: [{ InstanceId: 'i-00000001' }, { InstanceId: 'i-00000002' }] });
    const gateway = createEc2Gateway({ region: REGION });
    const request = { pool: pool(), count: 4, clientToken: 'run-1-1-linux', tags };

    const result = await gateway.launchInstances(request);
    await gateway.launchInstances(request);

    expect(result.instanceIds).toEqual(['i-00000001', 'i-00000002']);
    expect(result.errors).toEqual([expect.objectContaining({ code: 'Shortfall', count: 2 })]);
    expect(ec2.commandCalls(CreateFleetCommand)).toHaveLength(0);
    const calls = ec2.commandCalls(RunInstancesCommand);
    expect(calls[0]?.args[0].input).toEqual({
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' },
      MinCount: 1,
      MaxCount: 4,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
      ClientToken: 'run-1-1-linux',
    });
    expect(calls[1]?.args[0].input.ClientToken).toBe('run-1-1-linux');
  });

  it("launches again under a derived token when EC2 says the token's instances are terminated", async () => {
    ec2
      .on(RunInstancesCommand, { ClientToken: 'tok' })
      .rejects(
        awsError(
          'IdempotentInstanceTerminated',
          "The client token 'tok' was used for instances that have been terminated.",
        ),
      )
      .on(RunInstancesCommand, { ClientToken: relaunchClientToken('tok') })
      .resolves({ Instances: [{ InstanceId: 'i-00000009' }] });
    const result = await createEc2Gateway({ region: REGION }).launchInstances({
      pool: pool(),
      count: 1,
      clientToken: 'tok',
      tags,
    });
    expect(result.instanceIds).toEqual(['i-00000009']);
    expect(ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken)).toEqual([
      'tok',
      'tok-re',
    ]);
    // Derived, so concurrent runs agree; at most 64 characters, like every ClientToken.
    expect(relaunchClientToken('x'.repeat(64))).toHaveLength(64);
  });

  it('rethrows a failed RunInstances with context and the original error name', async () => {
    ec2
      .on(RunInstancesCommand)
      .rejects(
        awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient m7i.large capacity'),
      );
    const error = (await createEc2Gateway({ region: REGION })
      .launchInstances({ pool: pool(), count: 1, clientToken: 'tok', tags })
      .catch((caught: unknown) => caught)) as Error & { code?: string };
    expect(error.message).toBe(
      'RunInstances for pool linux failed: InsufficientInstanceCapacity: We currently do not have sufficient m7i.large capacity',
    );
    expect(error.name).toBe('InsufficientInstanceCapacity');
    expect(error.code).toBe('InsufficientInstanceCapacity');
    expect(error.cause).toBeInstanceOf(EC2ServiceException);
  });

  it('makes no call for a count of zero', async () => {
    const result = await createEc2Gateway({ region: REGION }).launchInstances({
      pool: pool(),
      count: 0,
      clientToken: 'tok',
      tags,
    });
    expect(result).toEqual({ instanceIds: [], errors: [] });
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe('terminateInstances', () => {
  function terminateAll(input: TerminateInstancesCommandInput) {
    return {
      TerminatingInstances: (input.InstanceIds ?? []).map((InstanceId) => ({
        InstanceId,
        CurrentState: { Name: 'shutting-down' as const },
      })),
    };
  }

  it('terminates 250 ids in batches of 100, 100 and 50', async () => {
    const all = ids('b', 250);
    ec2.on(TerminateInstancesCommand).callsFake(terminateAll);
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(all);
    expect(terminateInputs().map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(result.terminated.sort()).toEqual([...all].sort());
    expect(result.notFound).toEqual([]);
    expect(result.failed).toEqual([]);
  });

  it('splits out one unknown id and terminates the other 99 in a retry', async () => {
    const batch = ids('c', 100);
    const bad = batch[42] ?? '';
    ec2.on(TerminateInstancesCommand).callsFake((input: TerminateInstancesCommandInput) => {
      if (input.InstanceIds?.includes(bad)) {
        throw awsError('InvalidInstanceID.NotFound', `The instance ID '${bad}' does not exist`);
      }
      return terminateAll(input);
    });
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(batch);
    const calls = terminateInputs();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toHaveLength(99);
    expect(calls[1]).not.toContain(bad);
    expect(result.notFound).toEqual([bad]);
    expect(result.terminated).toHaveLength(99);
    expect(result.terminated).not.toContain(bad);
    expect(result.failed).toEqual([]);
  });

  it('splits out several unknown ids named in one message', async () => {
    const batch = ids('d', 5);
    const [a, b] = [batch[1] ?? '', batch[3] ?? ''];
    ec2
      .on(TerminateInstancesCommand)
      .rejectsOnce(awsError('InvalidInstanceID.NotFound', `The instance IDs '${a}, ${b}' do not exist`))
      .callsFake(terminateAll);
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(batch);
    expect(result.notFound.sort()).toEqual([a, b].sort());
    expect(result.terminated).toEqual(batch.filter((id) => id !== a && id !== b));
  });

  it('moves a malformed id to notFound and terminates the rest', async () => {
    const good = ids('e', 3);
    ec2
      .on(TerminateInstancesCommand)
      .rejectsOnce(awsError('InvalidInstanceID.Malformed', 'Invalid id: "i-zz" (expecting "i-...")'))
      .callsFake(terminateAll);
    const result = await createEc2Gateway({ region: REGION }).terminateInstances([...good, 'i-zz']);
    expect(result.notFound).toEqual(['i-zz']);
    expect(result.terminated).toEqual(good);
    expect(terminateInputs()[1]).toEqual(good);
  });

  it('stops retrying when the error names no id of the batch', async () => {
    const batch = ids('f', 3);
    ec2
      .on(TerminateInstancesCommand)
      .rejects(awsError('InvalidInstanceID.NotFound', "The instance ID 'i-ffffffffffffffff' does not exist"));
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(batch);
    expect(terminateInputs()).toHaveLength(1);
    expect(result.failed.map((entry) => entry.id)).toEqual(batch);
    expect(result.failed.every((entry) => entry.code === 'InvalidInstanceID.NotFound')).toBe(true);
    expect(result.terminated).toEqual([]);
  });

  it('reports a throttled batch as failed and still terminates the other batches', async () => {
    const all = ids('9', 250);
    const throttledId = all[150] ?? '';
    ec2.on(TerminateInstancesCommand).callsFake((input: TerminateInstancesCommandInput) => {
      if (input.InstanceIds?.includes(throttledId))
        throw awsError('RequestLimitExceeded', 'Request limit exceeded.');
      return terminateAll(input);
    });
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(all);
    expect(result.terminated.sort()).toEqual([...all.slice(0, 100), ...all.slice(200)].sort());
    expect(result.failed.map((entry) => entry.id).sort()).toEqual(all.slice(100, 200).sort());
    expect(result.failed[0]?.code).toBe('RequestLimitExceeded');
    expect(result.notFound).toEqual([]);
  });

  it('finds the ids the policy refuses by retrying halves, and terminates the rest', async () => {
    const batch = ids('a', 100);
    const refused = new Set([batch[7] ?? '', batch[63] ?? '']);
    ec2.on(TerminateInstancesCommand).callsFake((input: TerminateInstancesCommandInput) => {
      if (input.InstanceIds?.some((id) => refused.has(id))) {
        throw awsError(
          'UnauthorizedOperation',
          'You are not authorized to perform this operation. Encoded authorization failure message: AbC123',
        );
      }
      return terminateAll(input);
    });
    const messages: string[] = [];
    const result = await createEc2Gateway({
      region: REGION,
      log: (m) => messages.push(m),
    }).terminateInstances(batch);
    expect(result.terminated.sort()).toEqual(batch.filter((id) => !refused.has(id)).sort());
    expect(result.failed.map((entry) => entry.id).sort()).toEqual([...refused].sort());
    expect(result.failed.every((entry) => entry.code === 'UnauthorizedOperation')).toBe(true);
    expect(result.notFound).toEqual([]);
    // Each refused id ends alone in a call of its own; bisection keeps the calls far below one per id.
    const calls = terminateInputs();
    for (const id of refused) expect(calls).toContainEqual([id]);
    expect(calls.length).toBeLessThan(30);
    expect(messages.join('\n')).toContain('retrying in halves');
  });

  it('reports a lone refused id as failed after one call', async () => {
    ec2.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation', 'not authorized'));
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(['i-0123456789abcdef0']);
    expect(terminateInputs()).toHaveLength(1);
    expect(result.failed).toEqual([
      {
        id: 'i-0123456789abcdef0',
        code: 'UnauthorizedOperation',
        message: 'TerminateInstances failed: not authorized',
      },
    ]);
  });

  it('runs at most three batches at once', async () => {
    let active = 0;
    let peak = 0;
    ec2.on(TerminateInstancesCommand).callsFake(async (input: TerminateInstancesCommandInput) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active--;
      return terminateAll(input);
    });
    const result = await createEc2Gateway({ region: REGION }).terminateInstances(ids('7', 1000));
    expect(result.terminated).toHaveLength(1000);
    expect(terminateInputs()).toHaveLength(10);
    expect(peak).toBe(3);
  });
});

describe('tags', () => {
  it('creates tags in chunks of 500 resources', async () => {
    ec2.on(CreateTagsCommand).resolves({});
    await createEc2Gateway({ region: REGION }).createTags(ids('1', 1200), {
      [TAG_IDLE_SINCE]: '2026-11-01T10:00:00.000Z',
    });
    const calls = ec2.commandCalls(CreateTagsCommand);
    expect(calls.map((call) => call.args[0].input.Resources?.length)).toEqual([500, 500, 200]);
    expect(calls[0]?.args[0].input.Tags).toEqual([
      { Key: TAG_IDLE_SINCE, Value: '2026-11-01T10:00:00.000Z' },
    ]);
  });

  it('deletes tags by key in chunks and rethrows errors with context', async () => {
    ec2
      .on(DeleteTagsCommand)
      .resolvesOnce({})
      .rejectsOnce(awsError('UnauthorizedOperation', 'not authorized to perform ec2:DeleteTags'));
    const error = (await createEc2Gateway({ region: REGION })
      .deleteTags(ids('2', 700), [TAG_IDLE_SINCE])
      .catch((caught: unknown) => caught)) as Error;
    const calls = ec2.commandCalls(DeleteTagsCommand);
    expect(calls.map((call) => call.args[0].input.Resources?.length)).toEqual([500, 200]);
    expect(calls[0]?.args[0].input.Tags).toEqual([{ Key: TAG_IDLE_SINCE }]);
    expect(error.name).toBe('UnauthorizedOperation');
    expect(error.message).toContain('DeleteTags');
  });
});

describe('pure helpers', () => {
  it('finds every instance id in the EC2 error wordings', () => {
    expect(instanceIdsInErrorMessage("The instance IDs 'i-0123456789abcdef0, i-1' do not exist")).toEqual(
      expect.arrayContaining(['i-0123456789abcdef0', 'i-1']),
    );
    expect(instanceIdsInErrorMessage("The instance ID 'i-abc12345' does not exist")).toContain('i-abc12345');
    expect(instanceIdsInErrorMessage('Invalid id: "i-zz" (expecting "i-...")')).toContain('i-zz');
    expect(instanceIdsInErrorMessage('Invalid id: "bogus"')).toContain('bogus');
    expect(instanceIdsInErrorMessage('no ids here')).toEqual([]);
  });

  it('explains the launch errors whose code alone says little', () => {
    expect(launchErrorHint('AuthFailure.ServiceLinkedRoleCreationNotPermitted')).toContain(
      'AWSServiceRoleForEC2Spot',
    );
    expect(launchErrorHint('UnauthorizedOperation')).toContain('examples/iam/runner-scaler-policy.json');
    expect(launchErrorHint('Client.InvalidKMSKey.InvalidState')).toContain('KMS key');
    expect(launchErrorHint('InsufficientInstanceCapacity')).toBeUndefined();
  });

  it('parses timestamps and rejects garbage', () => {
    expect(parseTimestamp('2026-11-01T10:00:00Z')?.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    expect(parseTimestamp('soon')).toBeUndefined();
    expect(parseTimestamp('')).toBeUndefined();
    expect(parseTimestamp(undefined)).toBeUndefined();
  });

  it('builds overrides for a single dimension', () => {
    expect(fleetOverrides(pool({ subnets: ['subnet-a', 'subnet-b'] }))).toEqual([
      { SubnetId: 'subnet-a' },
      { SubnetId: 'subnet-b' },
    ]);
    expect(fleetOverrides(pool())).toEqual([]);
  });

  it('derives a fallback token of at most 64 characters', () => {
    expect(fallbackClientToken('abc')).toBe('abc-od');
    expect(fallbackClientToken('y'.repeat(64))).toHaveLength(64);
  });

  it('skips instances without an id and keeps unknown states alive', () => {
    expect(toInstance({}, REGION)).toBeUndefined();
    expect(toInstance({ InstanceId: 'i-1', State: { Name: 'weird' as 'running' } }, REGION)?.state).toBe(
      'pending',
    );
  });
});
