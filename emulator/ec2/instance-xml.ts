// One instance as EC2's DescribeInstances and RunInstances answers show it (the `Instance` data type), at the
// size of EC2's own items: every field EC2 sends for an EBS-backed Linux instance in a VPC.
import { INSTANCE_STATE_CODES, tagValueToWall, type InstanceRecord } from '../state.js';
import { el, alwaysSet, itemSet, type XmlNode } from '../xml.js';
import type { Ec2Context } from './context.js';
import { architecture, cpuOptions } from './instance-type.js';

/** How the answer shows an instance: RunInstances answers before EC2 attached its volume and address. */
export type InstancePhase = 'launch' | 'describe';

const iso = (ec2: Ec2Context, time: number) => new Date(ec2.clock.toWall(time)).toISOString();

/** `2026-11-05 10:00:00 GMT`, as in EC2's state transition reason. */
function reasonTime(wallMs: number): string {
  return `${new Date(wallMs).toISOString().slice(0, 19).replace('T', ' ')} GMT`;
}

const internalName = (ip: string, region: string) =>
  `ip-${ip.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;

const publicName = (ip: string, region: string) =>
  `ec2-${ip.replace(/\./g, '-')}.${region === 'us-east-1' ? 'compute-1' : `${region}.compute`}.amazonaws.com`;

/** The public address once EC2 assigned it (not in the launch answer, gone once terminated). */
function publicAddress(instance: InstanceRecord, phase: InstancePhase): string | undefined {
  if (phase === 'launch' || instance.state === 'terminated') return undefined;
  return instance.attachments.publicIp;
}

function stateXml(ec2: Ec2Context, instance: InstanceRecord): XmlNode[] {
  const terminated = instance.state === 'terminated';
  const reason =
    instance.stateReason ??
    (instance.state === 'pending' ? { code: 'pending', message: 'pending' } : undefined);
  return [
    el('instanceState', el('code', INSTANCE_STATE_CODES[instance.state]), el('name', instance.state)),
    terminated
      ? el('reason', `User initiated (${reasonTime(ec2.clock.toWall(instance.stateChangedAt))})`)
      : el('reason'),
    reason ? el('stateReason', el('code', reason.code), el('message', reason.message)) : undefined,
  ];
}

/** `us-east-1a` -> `use1-az1`: the zone id scheme (the mapping of names to ids differs per account). */
function zoneId(region: string, zone: string): string {
  const [area = '', direction = '', number = ''] = region.split('-');
  return `${area}${direction.charAt(0)}${number}-az${zone.charCodeAt(zone.length - 1) - 96}`;
}

function placementXml(instance: InstanceRecord): XmlNode {
  return el(
    'placement',
    el('availabilityZoneId', zoneId(instance.region, instance.availabilityZone)),
    el('availabilityZone', instance.availabilityZone),
    el('groupName'),
    el('tenancy', 'default'),
  );
}

function associationXml(ip: string | undefined, region: string): XmlNode {
  if (ip === undefined) return undefined;
  return el(
    'association',
    el('publicIp', ip),
    el('publicDnsName', publicName(ip, region)),
    el('ipOwnerId', 'amazon'),
  );
}

function networkInterfaceXml(ec2: Ec2Context, instance: InstanceRecord, phase: InstancePhase): XmlNode[][] {
  if (instance.state === 'terminated') return [];
  const { attachments: a, region } = instance;
  const publicIp = publicAddress(instance, phase);
  const privateDns = internalName(instance.privateIp, region);
  return [
    [
      el('networkInterfaceId', a.networkInterfaceId),
      el('subnetId', instance.subnetId),
      el('vpcId', a.vpcId),
      el('description'),
      el('ownerId', ec2.accountId),
      el('status', 'in-use'),
      el('macAddress', a.macAddress),
      el('privateIpAddress', instance.privateIp),
      el('privateDnsName', privateDns),
      el('sourceDestCheck', true),
      alwaysSet('groupSet', [[el('groupId', a.securityGroup.id), el('groupName', a.securityGroup.name)]]),
      el(
        'attachment',
        el('attachmentId', a.networkAttachmentId),
        el('deviceIndex', 0),
        el('status', phase === 'launch' ? 'attaching' : 'attached'),
        el('attachTime', iso(ec2, instance.launchTime)),
        el('deleteOnTermination', true),
        el('networkCardIndex', 0),
      ),
      associationXml(publicIp, region),
      alwaysSet('privateIpAddressesSet', [
        [
          el('privateIpAddress', instance.privateIp),
          el('privateDnsName', privateDns),
          el('primary', true),
          associationXml(publicIp, region),
        ],
      ]),
      alwaysSet('ipv6AddressesSet', []),
      el('interfaceType', 'interface'),
      el('operator', el('managed', false)),
    ],
  ];
}

function blockDeviceXml(ec2: Ec2Context, instance: InstanceRecord, phase: InstancePhase): XmlNode[][] {
  if (phase === 'launch' || instance.state === 'terminated') return [];
  return [
    [
      el('deviceName', '/dev/xvda'),
      el(
        'ebs',
        el('volumeId', instance.attachments.rootVolumeId),
        el('status', instance.state === 'pending' ? 'attaching' : 'attached'),
        el('attachTime', iso(ec2, instance.launchTime)),
        el('deleteOnTermination', true),
      ),
    ],
  ];
}

function optionsXml(ec2: Ec2Context, instance: InstanceRecord, phase: InstancePhase): XmlNode[] {
  const cpu = cpuOptions(instance.instanceType);
  return [
    el('cpuOptions', el('coreCount', cpu.coreCount), el('threadsPerCore', cpu.threadsPerCore)),
    el('capacityReservationSpecification', el('capacityReservationPreference', 'open')),
    el('hibernationOptions', el('configured', false)),
    el(
      'metadataOptions',
      el('state', phase === 'launch' ? 'pending' : 'applied'),
      el('httpTokens', 'required'),
      el('httpPutResponseHopLimit', 1),
      el('httpEndpoint', 'enabled'),
      el('httpProtocolIpv6', 'disabled'),
      el('instanceMetadataTags', 'disabled'),
    ),
    el('enclaveOptions', el('enabled', false)),
    el('bootMode', 'uefi-preferred'),
    phase === 'describe' ? el('platformDetails', 'Linux/UNIX') : undefined,
    phase === 'describe' ? el('usageOperation', 'RunInstances') : undefined,
    phase === 'describe' ? el('usageOperationUpdateTime', iso(ec2, instance.launchTime)) : undefined,
    el(
      'privateDnsNameOptions',
      el('hostnameType', 'ip-name'),
      el('enableResourceNameDnsARecord', false),
      el('enableResourceNameDnsAAAARecord', false),
    ),
    el('maintenanceOptions', el('autoRecovery', 'default'), el('rebootMigration', 'default')),
    el('currentInstanceBootMode', 'uefi'),
    el('networkPerformanceOptions', el('bandwidthWeighting', 'default')),
    el('operator', el('managed', false)),
  ];
}

function addressXml(ec2: Ec2Context, instance: InstanceRecord, phase: InstancePhase): XmlNode[] {
  const publicIp = publicAddress(instance, phase);
  const terminated = instance.state === 'terminated';
  return [
    el('privateDnsName', terminated ? undefined : internalName(instance.privateIp, instance.region)),
    el('dnsName', publicIp ? publicName(publicIp, instance.region) : undefined),
  ];
}

export function instanceXml(
  ec2: Ec2Context,
  instance: InstanceRecord,
  phase: InstancePhase = 'describe',
): XmlNode[] {
  const { attachments: a } = instance;
  const terminated = instance.state === 'terminated';
  const [instanceState, reason, stateReason] = stateXml(ec2, instance);
  const offset = ec2.clock.offset();
  return [
    el('instanceId', instance.id),
    el('imageId', instance.imageId),
    instanceState,
    ...addressXml(ec2, instance, phase),
    reason,
    el('amiLaunchIndex', a.launchIndex),
    alwaysSet('productCodes', []),
    el('instanceType', instance.instanceType),
    el('launchTime', iso(ec2, instance.launchTime)),
    placementXml(instance),
    el('monitoring', el('state', 'disabled')),
    el('subnetId', instance.subnetId),
    el('vpcId', a.vpcId),
    terminated ? undefined : el('privateIpAddress', instance.privateIp),
    publicAddress(instance, phase) ? el('ipAddress', publicAddress(instance, phase)) : undefined,
    el('sourceDestCheck', true),
    alwaysSet('groupSet', [[el('groupId', a.securityGroup.id), el('groupName', a.securityGroup.name)]]),
    stateReason,
    el('architecture', architecture(instance.instanceType)),
    el('rootDeviceType', 'ebs'),
    el('rootDeviceName', '/dev/xvda'),
    alwaysSet('blockDeviceMapping', blockDeviceXml(ec2, instance, phase)),
    instance.lifecycle === 'spot' ? el('instanceLifecycle', 'spot') : undefined,
    a.spotRequestId ? el('spotInstanceRequestId', a.spotRequestId) : undefined,
    el('virtualizationType', 'hvm'),
    el('clientToken', instance.clientToken),
    itemSet(
      'tagSet',
      [...instance.tags].map(([key, value]) => [el('key', key), el('value', tagValueToWall(value, offset))]),
    ),
    el('hypervisor', 'xen'),
    alwaysSet('networkInterfaceSet', networkInterfaceXml(ec2, instance, phase)),
    el('iamInstanceProfile', el('arn', a.iamInstanceProfile.arn), el('id', a.iamInstanceProfile.id)),
    el('ebsOptimized', true),
    el('enaSupport', true),
    ...optionsXml(ec2, instance, phase),
  ];
}
