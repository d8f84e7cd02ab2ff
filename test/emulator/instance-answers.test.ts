// EC2 answers at the size and shape of EC2's own: every field of the `Instance` data type that EC2 sends for
// an EBS-backed Linux instance in a VPC, parsed by the real EC2Client; and the latency that grows with them.
import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TAG_ENVIRONMENT } from '../../src/contract.js';
import { ec2Client } from './clients.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';

let emulator: Emulator;
let ec2: EC2Client;

async function start(options: EmulatorOptions = {}): Promise<void> {
  emulator = await startEmulator({ simulator: false, ...options });
  ec2 = ec2Client(emulator);
}

beforeEach(() => start());

afterEach(async () => {
  ec2.destroy();
  await emulator.stop();
  expect(emulator.errors).toEqual([]);
});

async function describeOne(instanceId: string): Promise<Instance> {
  const answer = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return answer.Reservations![0]!.Instances![0]!;
}

/** The raw answer's bytes, as the client receives them. */
async function describeBytes(): Promise<number> {
  const response = await fetch(emulator.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Action=DescribeInstances&Version=2016-11-15&MaxResults=1000',
  });
  return Buffer.byteLength(await response.text());
}

describe('DescribeInstances items', () => {
  it('carry the fields of EC2’s Instance, nested ones included, parsed by the real client', async () => {
    const { instanceId } = emulator.seedInstance({
      environment: 'prod',
      pool: 'linux',
      instanceType: 'c6i.xlarge',
    });
    const instance = await describeOne(instanceId);

    expect(instance).toMatchObject({
      AmiLaunchIndex: 0,
      ProductCodes: [],
      Architecture: 'x86_64',
      Hypervisor: 'xen',
      RootDeviceName: '/dev/xvda',
      RootDeviceType: 'ebs',
      VirtualizationType: 'hvm',
      EbsOptimized: true,
      EnaSupport: true,
      SourceDestCheck: true,
      PlatformDetails: 'Linux/UNIX',
      UsageOperation: 'RunInstances',
      BootMode: 'uefi-preferred',
      CurrentInstanceBootMode: 'uefi',
      Monitoring: { State: 'disabled' },
      CpuOptions: { CoreCount: 2, ThreadsPerCore: 2 },
      CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
      HibernationOptions: { Configured: false },
      EnclaveOptions: { Enabled: false },
      MetadataOptions: {
        State: 'applied',
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 1,
        HttpEndpoint: 'enabled',
      },
      MaintenanceOptions: { AutoRecovery: 'default' },
      PrivateDnsNameOptions: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false },
      NetworkPerformanceOptions: { BandwidthWeighting: 'default' },
      Operator: { Managed: false },
      Placement: { AvailabilityZone: 'us-east-1a', AvailabilityZoneId: 'use1-az1', Tenancy: 'default' },
    });
    expect(instance.UsageOperationUpdateTime).toEqual(instance.LaunchTime);
    expect(instance.SubnetId).toMatch(/^subnet-/);
    expect(instance.VpcId).toMatch(/^vpc-/);
    expect(instance.PrivateDnsName).toBe(`ip-${instance.PrivateIpAddress!.replace(/\./g, '-')}.ec2.internal`);
    expect(instance.PublicDnsName).toMatch(/^ec2-[\d-]+\.compute-1\.amazonaws\.com$/);
    expect(instance.IamInstanceProfile?.Arn).toMatch(/^arn:aws:iam::123456789012:instance-profile\//);
    expect(instance.SecurityGroups?.[0]?.GroupId).toMatch(/^sg-/);

    const [volume] = instance.BlockDeviceMappings!;
    expect(volume).toMatchObject({
      DeviceName: '/dev/xvda',
      Ebs: { Status: 'attached', DeleteOnTermination: true },
    });
    expect(volume!.Ebs!.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/);
    expect(volume!.Ebs!.AttachTime).toBeInstanceOf(Date);

    const [eni] = instance.NetworkInterfaces!;
    expect(eni).toMatchObject({
      SubnetId: instance.SubnetId,
      VpcId: instance.VpcId,
      OwnerId: '123456789012',
      Status: 'in-use',
      PrivateIpAddress: instance.PrivateIpAddress,
      SourceDestCheck: true,
      InterfaceType: 'interface',
      Ipv6Addresses: [],
      Attachment: { DeviceIndex: 0, Status: 'attached', DeleteOnTermination: true, NetworkCardIndex: 0 },
      Association: { PublicIp: instance.PublicIpAddress, IpOwnerId: 'amazon' },
    });
    expect(eni!.NetworkInterfaceId).toMatch(/^eni-[0-9a-f]{17}$/);
    expect(eni!.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(eni!.Attachment!.AttachTime).toBeInstanceOf(Date);
    expect(eni!.Groups).toEqual(instance.SecurityGroups);
    expect(eni!.PrivateIpAddresses).toEqual([
      {
        PrivateIpAddress: instance.PrivateIpAddress,
        PrivateDnsName: instance.PrivateDnsName,
        Primary: true,
        Association: eni!.Association,
      },
    ]);
    expect(instance.Tags).toEqual(expect.arrayContaining([{ Key: TAG_ENVIRONMENT, Value: 'prod' }]));
  });

  it('show spot, Graviton and terminated instances as EC2 does', async () => {
    const spot = emulator.seedInstance({ market: 'spot', instanceType: 'm7g.large' });
    const gone = emulator.seedInstance({ state: 'terminated' });
    const spotInstance = await describeOne(spot.instanceId);
    expect(spotInstance).toMatchObject({
      InstanceLifecycle: 'spot',
      Architecture: 'arm64',
      CpuOptions: { CoreCount: 2, ThreadsPerCore: 1 },
    });
    expect(spotInstance.SpotInstanceRequestId).toMatch(/^sir-/);

    const terminated = await describeOne(gone.instanceId);
    expect(terminated.State).toEqual({ Code: 48, Name: 'terminated' });
    expect(terminated.StateTransitionReason).toMatch(
      /^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/,
    );
    expect(terminated.PrivateIpAddress).toBeUndefined();
    expect(terminated.PublicIpAddress).toBeUndefined();
    expect(terminated.NetworkInterfaces).toEqual([]);
    expect(terminated.BlockDeviceMappings).toEqual([]);
  });

  it('are as large as EC2’s: several KB an instance, as EC2 formats its XML', async () => {
    const empty = await describeBytes();
    const count = 20;
    for (let i = 0; i < count; i++) emulator.seedInstance({ environment: 'prod', pool: 'linux' });
    const perItem = ((await describeBytes()) - empty) / count;
    // EC2's items: ~5 KB for a 2017 instance with one tag; today's answers carry ~20 more fields.
    expect(perItem).toBeGreaterThan(7_000);
    expect(perItem).toBeLessThan(12_000);
  });
});

describe('RunInstances answers', () => {
  it('show the instances as just launched: pending, nothing attached yet', async () => {
    const answer = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        InstanceType: 't3.large',
        MinCount: 2,
        MaxCount: 2,
        ClientToken: 'launch-1',
      }),
    );
    expect(answer.OwnerId).toBe('123456789012');
    expect(answer.Instances).toHaveLength(2);
    const [first, second] = answer.Instances!;
    expect(first).toMatchObject({
      AmiLaunchIndex: 0,
      State: { Code: 0, Name: 'pending' },
      StateReason: { Code: 'pending', Message: 'pending' },
      MetadataOptions: { State: 'pending' },
      BlockDeviceMappings: [],
      ClientToken: 'launch-1',
      NetworkInterfaces: [
        expect.objectContaining({ Attachment: expect.objectContaining({ Status: 'attaching' }) }),
      ],
    });
    expect(second!.AmiLaunchIndex).toBe(1);
    expect(first!.PublicIpAddress).toBeUndefined();
    expect(first!.PlatformDetails).toBeUndefined();
  });
});

describe('latency that grows with the answer', () => {
  it('adds latencyPerKbMs per KB of the answer, changeable while running', async () => {
    await emulator.stop();
    ec2.destroy();
    await start({ latencyPerKbMs: { ec2: 5 } });
    for (let i = 0; i < 10; i++) emulator.seedInstance();
    const bytes = await describeBytes();
    const [slow] = emulator.calls;
    expect(slow!.latencyMs).toBeGreaterThanOrEqual((5 * bytes) / 1024 - 5);

    emulator.latencyPerKbMs.ec2 = 0;
    await describeBytes();
    expect(emulator.calls[1]!.latencyMs).toBeLessThan(slow!.latencyMs);
  });

  it('defaults to DEFAULT_LATENCY_PER_KB_MS for EC2 only', () => {
    expect(emulator.latencyPerKbMs).toEqual({ ec2: 0.25, ssm: 0, github: 0, dynamodb: 0, cloudwatch: 0 });
  });
});
