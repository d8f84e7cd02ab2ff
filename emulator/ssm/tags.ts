// Parameter tags: AddTagsToResource, ListTagsForResource, RemoveTagsFromResource (ResourceType Parameter),
// and the Tags of PutParameter. A resource holds at most 50 tags.
import { regionParameters, type ParameterRecord } from '../state.js';
import type { SsmContext } from './context.js';
import { constraint, SsmError } from './errors.js';
import { objectList, requiredString, stringList, type Json } from './input.js';

export const MAX_TAGS_PER_RESOURCE = 50;
/** SSM's Tag model: letters, numbers, spaces and `_.:/=+-@`; keys 1..128 without the `aws:` prefix. */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export interface Tag {
  Key: string;
  Value: string;
}

export function tagsArgument(input: Json, key: string, member: string): Tag[] | undefined {
  const list = objectList(input, key);
  return list?.map((tag, i) => ({
    Key: requiredString(tag, 'Key', `${member}.${i + 1}.member.key`),
    Value: requiredString(tag, 'Value', `${member}.${i + 1}.member.value`),
  }));
}

/** Checks each tag against SSM's Tag model, and the count a resource would end up with. */
export function checkTags(tags: Tag[], resultingCount: number, member: string): void {
  tags.forEach(({ Key: key, Value: value }, i) => {
    const at = `${member}.${i + 1}.member`;
    if (key.length < 1 || key.length > 128)
      throw constraint(key, `${at}.key`, 'Member must have length between 1 and 128');
    if (!TAG_CHARACTERS.test(key) || /^aws:/i.test(key))
      throw constraint(
        key,
        `${at}.key`,
        'Member must satisfy regular expression pattern: ^(?!^(?i)aws:)(?=^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$).*$',
      );
    if (value.length > 256)
      throw constraint(value, `${at}.value`, 'Member must have length less than or equal to 256');
    if (!TAG_CHARACTERS.test(value))
      throw constraint(
        value,
        `${at}.value`,
        'Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$',
      );
  });
  if (Math.max(resultingCount, tags.length) > MAX_TAGS_PER_RESOURCE) {
    throw constraint(
      `[${tags.length} tags]`,
      member,
      `Member must have length less than or equal to ${MAX_TAGS_PER_RESOURCE}`,
    );
  }
}

/** The parameter a tagging call names (ResourceType Parameter, ResourceId its name). */
function taggedParameter(ssm: SsmContext, region: string, input: Json): ParameterRecord {
  const type = requiredString(input, 'ResourceType', 'resourceType');
  const id = requiredString(input, 'ResourceId', 'resourceId');
  if (type !== 'Parameter') {
    throw new SsmError(
      'InvalidResourceType',
      `The emulator tags parameters only, not resource type ${type}.`,
    );
  }
  const parameter = regionParameters(ssm.state, region).get(id);
  if (!parameter) {
    throw new SsmError(
      'InvalidResourceId',
      "The resource ID isn't valid. Verify that you entered the correct ID and try again.",
    );
  }
  return parameter;
}

export function addTagsToResource(ssm: SsmContext, region: string, input: Json): Json {
  const parameter = taggedParameter(ssm, region, input);
  const tags = tagsArgument(input, 'Tags', 'tags') ?? [];
  checkTags(tags, 0, 'tags');
  const keys = new Set([...parameter.tags.keys(), ...tags.map((tag) => tag.Key)]);
  if (keys.size > MAX_TAGS_PER_RESOURCE) {
    throw new SsmError(
      'TooManyTagsError',
      'The Targets parameter includes too many tags. Remove one or more tags and try the command again.',
    );
  }
  for (const tag of tags) parameter.tags.set(tag.Key, tag.Value);
  return {};
}

export function listTagsForResource(ssm: SsmContext, region: string, input: Json): Json {
  const parameter = taggedParameter(ssm, region, input);
  return { TagList: [...parameter.tags].map(([Key, Value]) => ({ Key, Value })) };
}

export function removeTagsFromResource(ssm: SsmContext, region: string, input: Json): Json {
  const parameter = taggedParameter(ssm, region, input);
  const keys = stringList(input, 'TagKeys');
  if (!keys) throw constraint('null', 'tagKeys', 'Member must not be null');
  for (const key of keys) parameter.tags.delete(key);
  return {};
}

export const TAG_OPERATIONS = {
  AddTagsToResource: addTagsToResource,
  ListTagsForResource: listTagsForResource,
  RemoveTagsFromResource: removeTagsFromResource,
};
