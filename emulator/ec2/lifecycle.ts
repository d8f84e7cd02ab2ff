// Instances come and go: launch (pending), shut down (shutting-down -> terminated), forgotten an hour later.
import { tagValueFromWall, type InstanceAttachments, type InstanceRecord } from '../state.js';
import type { Ec2Context } from './context.js';
import { hex, newId, newInstanceId, newMacAddress, privateIp, publicIp } from './ids.js';
import type { LaunchSpec } from './types.js';

/** The emulator's one VPC and security group, as a default VPC has. */
export const VPC_ID = 'vpc-0emulator00000000';
export const DEFAULT_SUBNET_ID = 'subnet-0emulator0000000';
const SECURITY_GROUP = { id: 'sg-0emulator00000000', name: 'runner-scaler' };
const DEFAULT_IMAGE_ID = 'ami-0emulator00000000';

function attachmentsFor(
  ec2: Ec2Context,
  spec: LaunchSpec,
  launchIndex: number,
  n: number,
): InstanceAttachments {
  const profileId = `AIPA${hex(17).toUpperCase()}`;
  return {
    launchIndex,
    vpcId: VPC_ID,
    securityGroup: SECURITY_GROUP,
    networkInterfaceId: newId('eni'),
    networkAttachmentId: newId('eni-attach'),
    macAddress: newMacAddress(),
    ...(ec2.settings.publicIp ? { publicIp: publicIp(n) } : {}),
    rootVolumeId: newId('vol'),
    iamInstanceProfile: {
      arn: `arn:aws:iam::${ec2.accountId}:instance-profile/runner-scaler-runner`,
      id: profileId,
    },
    ...(spec.market === 'spot' ? { spotRequestId: `sir-${hex(8)}` } : {}),
  };
}

function newInstance(
  ec2: Ec2Context,
  spec: LaunchSpec,
  reservationId: string,
  launchIndex: number,
): InstanceRecord {
  const n = ++ec2.state.counters.ip;
  const now = spec.launchTime ?? ec2.clock.now();
  const tags = new Map(spec.tags);
  if (spec.launchTemplate?.id) {
    tags.set('aws:ec2launchtemplate:id', spec.launchTemplate.id);
    tags.set('aws:ec2launchtemplate:version', spec.launchTemplate.version ?? '1');
  }
  return {
    id: newInstanceId(),
    seq: ++ec2.state.counters.instanceSeq,
    region: spec.region,
    state: spec.state ?? 'pending',
    launchTime: now,
    stateChangedAt: now,
    instanceType: spec.instanceType,
    imageId: spec.imageId ?? DEFAULT_IMAGE_ID,
    subnetId: spec.subnetId ?? DEFAULT_SUBNET_ID,
    availabilityZone: `${spec.region}a`,
    privateIp: privateIp(n),
    reservationId,
    lifecycle: spec.market,
    tags,
    attachments: attachmentsFor(ec2, spec, launchIndex, n),
    ...(spec.clientToken ? { clientToken: spec.clientToken } : {}),
    ...(spec.launchTemplate ? { launchTemplate: spec.launchTemplate } : {}),
  };
}

export function launch(ec2: Ec2Context, spec: LaunchSpec): InstanceRecord[] {
  const reservationId = spec.reservationId ?? newId('r');
  const launched: InstanceRecord[] = [];
  for (let i = 0; i < spec.count; i++) {
    const instance = newInstance(ec2, spec, reservationId, i);
    ec2.state.instances.set(instance.id, instance);
    launched.push(instance);
  }
  for (const instance of launched) {
    ec2.hooks.instanceLaunched(instance);
    // Seeded instances may start late in their life.
    if (instance.state === 'shutting-down') scheduleTerminated(ec2, instance);
    if (instance.state === 'terminated') scheduleForget(ec2, instance);
  }
  return launched;
}

export function shutDown(
  ec2: Ec2Context,
  instance: InstanceRecord,
  reason: { code: string; message: string },
): void {
  if (instance.state === 'shutting-down' || instance.state === 'terminated') return;
  instance.state = 'shutting-down';
  instance.stateChangedAt = ec2.clock.now();
  instance.stateReason = reason;
  ec2.hooks.instanceStopping(instance);
  scheduleTerminated(ec2, instance);
}

function scheduleTerminated(ec2: Ec2Context, instance: InstanceRecord): void {
  ec2.scheduler.after(ec2.settings.shutdownDelayMs, `terminated ${instance.id}`, () => {
    instance.state = 'terminated';
    instance.stateChangedAt = ec2.clock.now();
    scheduleForget(ec2, instance);
  });
}

function scheduleForget(ec2: Ec2Context, instance: InstanceRecord): void {
  ec2.scheduler.after(ec2.settings.retentionMs, `forget ${instance.id}`, () => {
    if (ec2.state.instances.get(instance.id) === instance) ec2.state.instances.delete(instance.id);
  });
}

export function setTag(ec2: Ec2Context, instance: InstanceRecord, key: string, wallValue: string): void {
  instance.tags.set(key, tagValueFromWall(wallValue, ec2.clock.offset()));
}
