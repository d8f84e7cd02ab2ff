// The instance as tests and the control API see it (wall-clock times, tags as strings).
import { tagValueToWall, type InstanceRecord } from '../state.js';
import type { Ec2Context } from './context.js';
import type { InstanceView } from './types.js';

export function instanceView(ec2: Ec2Context, instance: InstanceRecord): InstanceView {
  const offset = ec2.clock.offset();
  const tags: Record<string, string> = {};
  for (const [key, value] of instance.tags) tags[key] = tagValueToWall(value, offset);
  return {
    id: instance.id,
    region: instance.region,
    state: instance.state,
    launchTime: new Date(ec2.clock.toWall(instance.launchTime)),
    instanceType: instance.instanceType,
    lifecycle: instance.lifecycle,
    subnetId: instance.subnetId,
    tags,
    ...(instance.stateReason ? { stateReason: { ...instance.stateReason } } : {}),
  };
}
