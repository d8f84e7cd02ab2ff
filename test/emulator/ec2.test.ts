import {
  CreateFleetCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  paginateDescribeInstances,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type CreateFleetCommandInput,
  type DescribeInstancesCommandInput,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TAG_ENVIRONMENT, TAG_IDLE_SINCE, TAG_POOL } from '../../src/contract.js';
import { ec2Client, rejection } from './clients.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';

let emulator: Emulator;
let ec2: EC2Client;

beforeEach(async () => {
  emulator = await startEmulator({ simulator: false });
  ec2 = ec2Client(emulator);
});

afterEach(async () => {
  ec2.destroy();
  await emulator.stop();
  expect(emulator.errors).toEqual([]);
});

async function describeAll(
  input: DescribeInstancesCommandInput,
): Promise<{ pages: number; instances: Instance[] }> {
  let pages = 0;
  const instances: Instance[] = [];
  for await (const page of paginateDescribeInstances({ client: ec2 }, input)) {
    pages += 1;
    for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
  }
  return { pages, instances };
}

const launchInput = (overrides: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput => ({
  LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' },
  MinCount: 1,
  MaxCount: 3,
  ClientToken: 'demand-abc',
  TagSpecifications: [
    {
      ResourceType: 'instance',
      Tags: [
        { Key: TAG_ENVIRONMENT, Value: 'prod' },
        { Key: TAG_POOL, Value: 'linux' },
      ],
    },
  ],
  ...overrides,
});

describe('DescribeInstances', () => {
  it('pages with MaxResults/NextToken and applies tag and state filters, parsed by the real client', async () => {
    const launchTime = new Date(Date.now() - 3_600_000);
    const ours = Array.from({ length: 12 }, (_, i) =>
      emulator.seedInstance({
        environment: 'prod',
        pool: i % 2 ? 'linux' : 'arm',
        launchTime,
        instanceType: 'm5.large',
      }),
    );
    emulator.seedInstance({ environment: 'staging', pool: 'linux' });
    emulator.seedInstance({ environment: 'prod', pool: 'linux', state: 'terminated' });

    const { pages, instances } = await describeAll({
      Filters: [
        { Name: `tag:${TAG_ENVIRONMENT}`, Values: ['prod'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ],
      MaxResults: 5,
    });

    expect(pages).toBe(3);
    expect(instances.map((instance) => instance.InstanceId)).toEqual(ours.map((seeded) => seeded.instanceId));
    const first = instances[0]!;
    expect(first.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(first.State).toEqual({ Code: 16, Name: 'running' });
    expect(first.LaunchTime).toBeInstanceOf(Date);
    expect(first.LaunchTime!.getTime()).toBe(launchTime.getTime());
    expect(first.InstanceType).toBe('m5.large');
    expect(first.Placement?.AvailabilityZone).toBe('us-east-1a');
    expect(first.PrivateIpAddress).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(first.Tags).toEqual(
      expect.arrayContaining([
        { Key: TAG_ENVIRONMENT, Value: 'prod' },
        { Key: TAG_POOL, Value: 'arm' },
        { Key: 'Name', Value: 'prod-arm' },
      ]),
    );

    const wildcard = await describeAll({
      Filters: [
        { Name: `tag:${TAG_POOL}`, Values: ['li*'] },
        { Name: 'tag-key', Values: [TAG_ENVIRONMENT] },
      ],
    });
    expect(wildcard.instances).toHaveLength(8);
    expect(wildcard.pages).toBe(1);
  });

  it('answers unknown instance ids with InvalidInstanceID.NotFound naming them all', async () => {
    const { instanceId } = emulator.seedInstance();
    const error = await rejection(
      ec2.send(
        new DescribeInstancesCommand({
          InstanceIds: [instanceId, 'i-0000000000000000a', 'i-0000000000000000b'],
        }),
      ),
    );
    expect(error.name).toBe('InvalidInstanceID.NotFound');
    expect(error.message).toBe("The instance IDs 'i-0000000000000000a, i-0000000000000000b' do not exist");
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);

    const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(found.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(instanceId);

    const combined = await rejection(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId], MaxResults: 5 })),
    );
    expect(combined.name).toBe('InvalidParameterCombination');
    const badFilter = await rejection(
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })),
    );
    expect(badFilter.name).toBe('InvalidParameterValue');
  });

  it('is reached through AWS_ENDPOINT_URL, as the action configures its clients', async () => {
    emulator.seedInstance();
    vi.stubEnv('AWS_ENDPOINT_URL', emulator.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAEMULATOR');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'dummy');
    try {
      const client = new EC2Client({ region: 'us-east-1', maxAttempts: 1 });
      const answer = await client.send(new DescribeInstancesCommand({}));
      client.destroy();
      expect(answer.Reservations).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(emulator.calls.at(-1)).toMatchObject({
      service: 'ec2',
      action: 'DescribeInstances',
      status: 200,
      caller: 'action',
    });
  });

  it('keeps regions apart', async () => {
    emulator.seedInstance({ region: 'eu-west-1' });
    const elsewhere = ec2Client(emulator, { region: 'eu-west-1' });
    const here = await ec2.send(new DescribeInstancesCommand({}));
    const there = await elsewhere.send(new DescribeInstancesCommand({}));
    elsewhere.destroy();
    expect(here.Reservations ?? []).toHaveLength(0);
    expect(there.Reservations).toHaveLength(1);
  });
});

describe('RunInstances', () => {
  it('launches tagged pending instances and replays the same ClientToken with the same instances', async () => {
    const first = await ec2.send(new RunInstancesCommand(launchInput()));
    const ids = first.Instances!.map((instance) => instance.InstanceId);
    expect(ids).toHaveLength(3);
    expect(first.Instances![0]!.State?.Name).toBe('pending');
    expect(first.Instances![0]!.Tags).toEqual(
      expect.arrayContaining([{ Key: TAG_ENVIRONMENT, Value: 'prod' }]),
    );

    const again = await ec2.send(new RunInstancesCommand(launchInput()));
    expect(again.Instances!.map((instance) => instance.InstanceId)).toEqual(ids);
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(emulator.ec2.instances()).toHaveLength(3);

    const mismatch = await rejection(ec2.send(new RunInstancesCommand(launchInput({ MaxCount: 4 }))));
    expect(mismatch.name).toBe('IdempotentParameterMismatch');
    expect(emulator.ec2.instances()).toHaveLength(3);
  });

  it('fails with InsufficientInstanceCapacity below MinCount and launches what fits up to MaxCount', async () => {
    emulator.faults.fleetCapacity(2);
    const partial = await ec2.send(new RunInstancesCommand(launchInput({ ClientToken: 'a' })));
    expect(partial.Instances).toHaveLength(2);
    const none = await rejection(ec2.send(new RunInstancesCommand(launchInput({ ClientToken: 'b' }))));
    expect(none.name).toBe('InsufficientInstanceCapacity');
  });
});

describe('CreateFleet instant', () => {
  const fleetInput = (overrides: Partial<CreateFleetCommandInput> = {}): CreateFleetCommandInput => ({
    Type: 'instant',
    ClientToken: 'fleet-demand-1',
    LaunchTemplateConfigs: [
      {
        LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '3' },
        Overrides: [{ InstanceType: 'c6i.large', SubnetId: 'subnet-1' }, { InstanceType: 'c5.large' }],
      },
    ],
    TargetCapacitySpecification: { TotalTargetCapacity: 5, DefaultTargetCapacityType: 'spot' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: TAG_ENVIRONMENT, Value: 'prod' }] }],
    ...overrides,
  });

  it('returns Instances and Errors for a partial launch, parsed by the real client', async () => {
    emulator.faults.fleetCapacity({ 'c6i.large': 2, 'c5.large': 1 }, { market: 'spot' });
    const answer = await ec2.send(new CreateFleetCommand(fleetInput()));

    expect(answer.FleetId).toMatch(/^fleet-/);
    const launched = answer.Instances!.flatMap((group) => group.InstanceIds ?? []);
    expect(launched).toHaveLength(3);
    expect(
      answer.Instances!.map((group) => [group.InstanceType, group.Lifecycle, group.InstanceIds?.length]),
    ).toEqual([
      ['c6i.large', 'spot', 2],
      ['c5.large', 'spot', 1],
    ]);
    expect(answer.Errors).toHaveLength(2);
    expect(answer.Errors![0]).toMatchObject({
      ErrorCode: 'InsufficientInstanceCapacity',
      Lifecycle: 'spot',
      LaunchTemplateAndOverrides: {
        LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '3' },
        Overrides: { InstanceType: 'c6i.large', SubnetId: 'subnet-1' },
      },
    });
    expect(answer.Errors![0]!.ErrorMessage).toContain(
      'We currently do not have sufficient c6i.large capacity',
    );

    const instances = emulator.ec2.instances();
    expect(instances.map((instance) => instance.id).sort()).toEqual([...launched].sort());
    expect(
      instances.every(
        (instance) => instance.lifecycle === 'spot' && instance.tags[TAG_ENVIRONMENT] === 'prod',
      ),
    ).toBe(true);
  });

  it('is idempotent with its ClientToken and rejects the token with other parameters', async () => {
    const first = await ec2.send(new CreateFleetCommand(fleetInput()));
    const again = await ec2.send(new CreateFleetCommand(fleetInput()));
    expect(again.FleetId).toBe(first.FleetId);
    expect(again.Instances).toEqual(first.Instances);
    expect(emulator.ec2.instances()).toHaveLength(5);

    const mismatch = await rejection(
      ec2.send(
        new CreateFleetCommand(
          fleetInput({
            TargetCapacitySpecification: { TotalTargetCapacity: 6, DefaultTargetCapacityType: 'spot' },
          }),
        ),
      ),
    );
    expect(mismatch.name).toBe('IdempotentParameterMismatch');
    expect(emulator.ec2.instances()).toHaveLength(5);
  });

  it('reports a launch with no capacity at all as errors only', async () => {
    emulator.faults.insufficientCapacity();
    const answer = await ec2.send(new CreateFleetCommand(fleetInput({ ClientToken: undefined })));
    expect(answer.Instances ?? []).toEqual([]);
    expect(answer.Errors?.map((error) => error.ErrorCode)).toEqual([
      'InsufficientInstanceCapacity',
      'InsufficientInstanceCapacity',
    ]);
  });
});

describe('TerminateInstances', () => {
  it('fails the whole call when any id is unknown, names every bad id and terminates nothing', async () => {
    const a = emulator.seedInstance().instanceId;
    const b = emulator.seedInstance().instanceId;
    const error = await rejection(
      ec2.send(
        new TerminateInstancesCommand({ InstanceIds: [a, 'i-0aaaaaaaaaaaaaaaa', b, 'i-0bbbbbbbbbbbbbbbb'] }),
      ),
    );
    expect(error.name).toBe('InvalidInstanceID.NotFound');
    expect(error.message).toBe("The instance IDs 'i-0aaaaaaaaaaaaaaaa, i-0bbbbbbbbbbbbbbbb' do not exist");
    expect(emulator.ec2.instances().map((instance) => instance.state)).toEqual(['running', 'running']);

    const single = await rejection(
      ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0cccccccccccccccc'] })),
    );
    expect(single.message).toBe("The instance ID 'i-0cccccccccccccccc' does not exist");
    const malformed = await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [a, 'i-xyz'] })));
    expect(malformed.name).toBe('InvalidInstanceID.Malformed');
    expect(emulator.calls.map((call) => call.code)).toEqual([
      'InvalidInstanceID.NotFound',
      'InvalidInstanceID.NotFound',
      'InvalidInstanceID.Malformed',
    ]);
  });

  it('moves instances to shutting-down, then terminated, visible for an hour', async () => {
    const { instanceId } = emulator.seedInstance();
    const answer = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(answer.TerminatingInstances).toEqual([
      {
        InstanceId: instanceId,
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
    ]);
    await emulator.advance(10_000);
    expect(emulator.ec2.instance(instanceId)?.state).toBe('terminated');

    const twice = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(twice.TerminatingInstances?.[0]?.CurrentState?.Name).toBe('terminated');
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('terminated');

    await emulator.advance(3_600_000);
    expect(emulator.ec2.instance(instanceId)).toBeUndefined();
  });
});

describe('tags', () => {
  it('creates and deletes tags; timestamp tags age with advance()', async () => {
    const { instanceId } = emulator.seedInstance();
    const since = new Date(Date.now() - 60_000).toISOString();
    await ec2.send(
      new CreateTagsCommand({
        Resources: [instanceId],
        Tags: [
          { Key: TAG_IDLE_SINCE, Value: since },
          { Key: 'team', Value: 'ci' },
        ],
      }),
    );
    await emulator.advance(5 * 60_000);
    const aged = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const tags = Object.fromEntries(
      aged.Reservations![0]!.Instances![0]!.Tags!.map((tag) => [tag.Key, tag.Value]),
    );
    expect(Date.parse(tags[TAG_IDLE_SINCE]!)).toBe(Date.parse(since) - 5 * 60_000);
    expect(tags.team).toBe('ci');

    await ec2.send(
      new DeleteTagsCommand({
        Resources: [instanceId],
        Tags: [{ Key: TAG_IDLE_SINCE }, { Key: 'team', Value: 'other' }],
      }),
    );
    expect(Object.keys(emulator.ec2.instance(instanceId)!.tags)).toContain('team');
    expect(Object.keys(emulator.ec2.instance(instanceId)!.tags)).not.toContain(TAG_IDLE_SINCE);

    const unknown = await rejection(
      ec2.send(
        new CreateTagsCommand({ Resources: ['i-0dddddddddddddddd'], Tags: [{ Key: 'a', Value: 'b' }] }),
      ),
    );
    expect(unknown.name).toBe('InvalidInstanceID.NotFound');
    const reserved = await rejection(
      ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'aws:x', Value: 'b' }] })),
    );
    expect(reserved.name).toBe('InvalidParameterValue');
  });
});

describe('budgets and faults', () => {
  it('throttles with RequestLimitExceeded (HTTP 503) when a token bucket is empty', async () => {
    await emulator.stop();
    // The real RunInstances bucket (5, refilling 2/s) with a refill slow enough for a deterministic test;
    // budgets.test.ts checks the real refill rates.
    emulator = await startEmulator({
      simulator: false,
      budgets: { ec2: { buckets: { RunInstances: { capacity: 5, refillPerSecond: 0.001 } } } },
    });
    ec2.destroy();
    ec2 = ec2Client(emulator);
    const results = [];
    for (let i = 0; i < 7; i++) {
      results.push(
        await ec2.send(new RunInstancesCommand(launchInput({ ClientToken: `t${i}`, MaxCount: 1 }))).then(
          () => 'ok',
          (error: Error & { $metadata: { httpStatusCode: number } }) =>
            `${error.name} ${error.$metadata.httpStatusCode}`,
        ),
      );
    }
    expect(results).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'RequestLimitExceeded 503',
      'RequestLimitExceeded 503',
    ]);
    expect(emulator.calls.filter((call) => call.code === 'RequestLimitExceeded')).toHaveLength(2);
    const described = await ec2.send(new DescribeInstancesCommand({}));
    expect(described.Reservations!.length).toBeGreaterThanOrEqual(5);
  });

  it('answers injected faults in the EC2 error shape and counts their hits', async () => {
    const { instanceId } = emulator.seedInstance();
    const fault = emulator.faults.inject({
      service: 'ec2',
      action: 'TerminateInstances',
      code: 'Unavailable',
      times: 1,
    });
    const error = await rejection(ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    expect(error.name).toBe('Unavailable');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(503);
    expect(fault.hits).toBe(1);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(emulator.ec2.instance(instanceId)?.state).toBe('shutting-down');
  });
});
