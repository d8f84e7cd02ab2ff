// CreateTags, DeleteTags and the tags given at launch (TagSpecification).
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import { tagValueFromWall, tagValueToWall, type InstanceRecord, type TagValue } from '../state.js';
import { el } from '../xml.js';
import type { Ec2Context } from './context.js';
import { dryRun, Ec2Error, missing, ok } from './errors.js';
import { setTag } from './lifecycle.js';
import { checkIds } from './lookups.js';
import { child, isTrue, members, strings, text, type QueryNode, type QueryTree } from './query.js';

const MAX_TAGS_PER_RESOURCE = 50;

const tagLimit = () =>
  new Ec2Error('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');

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

/** The tags a launch asks for on resources of `resourceType`. */
export function tagsFromSpecifications(
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
  if (tags.size > MAX_TAGS_PER_RESOURCE) throw tagLimit();
  return tags;
}

function tagTargets(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree): InstanceRecord[] {
  const ids = strings(tree.ResourceId);
  if (ids.length === 0) throw missing('ResourceId');
  const others = ids.filter((id) => !id.startsWith('i-'));
  if (others.length > 0) throw new Ec2Error('InvalidID', `The ID '${others[0]}' is not valid`);
  return checkIds(ec2, ids, request.region);
}

export function createTags(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
  const instances = tagTargets(ec2, request, tree);
  const tags = members(tree.Tag).map((tag) => ({ key: text(tag, 'Key'), value: text(tag, 'Value') ?? '' }));
  if (tags.length === 0) throw missing('Tag');
  for (const tag of tags) {
    if (tag.key === undefined) throw missing('Tag.N.Key');
    checkTagKey(tag.key);
    if (tag.value.length > 256)
      throw new Ec2Error('InvalidParameterValue', 'Tag value exceeds the maximum length of 256 characters');
  }
  for (const instance of instances) {
    const keys = new Set([...instance.tags.keys(), ...tags.map((tag) => tag.key!)]);
    if (keys.size > MAX_TAGS_PER_RESOURCE) throw tagLimit();
  }
  if (isTrue(tree, 'DryRun')) throw dryRun();
  for (const instance of instances) for (const tag of tags) setTag(ec2, instance, tag.key!, tag.value);
  return ok('CreateTags', [el('return', true)]);
}

export function deleteTags(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree): EmulatorResponse {
  const instances = tagTargets(ec2, request, tree);
  const tags = members(tree.Tag).map((tag) => ({ key: text(tag, 'Key'), value: text(tag, 'Value') }));
  if (isTrue(tree, 'DryRun')) throw dryRun();
  const offset = ec2.clock.offset();
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
