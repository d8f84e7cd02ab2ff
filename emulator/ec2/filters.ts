// DescribeInstances filters: `tag:<key>`, states, ids and the other names the action and tests use.
import { INSTANCE_STATE_CODES, tagValueToWall, type InstanceRecord } from '../state.js';
import { Ec2Error } from './errors.js';

export type InstancePredicate = (instance: InstanceRecord) => boolean;

/** EC2 filter values accept `*` and `?` wildcards. */
function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

type Field = (instance: InstanceRecord) => string | undefined;

const FIELDS: Record<string, Field> = {
  'instance-state-name': (instance) => instance.state,
  'instance-state-code': (instance) => String(INSTANCE_STATE_CODES[instance.state]),
  'instance-id': (instance) => instance.id,
  'instance-type': (instance) => instance.instanceType,
  'instance-lifecycle': (instance) => (instance.lifecycle === 'spot' ? 'spot' : undefined),
  'availability-zone': (instance) => instance.availabilityZone,
  'reservation-id': (instance) => instance.reservationId,
  'client-token': (instance) => instance.clientToken,
  'subnet-id': (instance) => instance.subnetId,
  'vpc-id': (instance) => instance.attachments.vpcId,
};

export function compileFilter(name: string, values: string[], offset: number): InstancePredicate {
  const patterns = values.map(wildcard);
  const any = (value: string | undefined) =>
    value !== undefined && patterns.some((pattern) => pattern.test(value));
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return (instance) => {
      const value = instance.tags.get(key);
      return value !== undefined && any(tagValueToWall(value, offset));
    };
  }
  if (name === 'tag-key') return (instance) => [...instance.tags.keys()].some((key) => any(key));
  if (name === 'tag-value')
    return (instance) => [...instance.tags.values()].some((value) => any(tagValueToWall(value, offset)));
  const field = FIELDS[name];
  if (!field) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
  return (instance) => any(field(instance));
}
