// DescribeParameters: parameter metadata (never values), ParameterFilters, 1..50 a page.
import type { ParameterRecord } from '../state.js';
import type { SsmContext } from './context.js';
import { SsmError } from './errors.js';
import { maxResultsOf, objectList, optionalString, requiredString, stringList, type Json } from './input.js';
import { page, pathMatcher } from './paging.js';
import { parameterArn } from './store.js';

/** The API reference allows 1..50 and states no default; without MaxResults SSM answers 10 a page
 * (go-cloud's tracker: parameters past the first 10 were missed by a caller that did not page). */
export const DESCRIBE_DEFAULT_PAGE = 10;
export const DESCRIBE_MAX_PAGE = 50;
const KMS_DEFAULT_KEY = 'alias/aws/ssm';

type Predicate = (parameter: ParameterRecord) => boolean;

/** The options each filter key accepts; the first is its default (API reference, ParameterStringFilter). */
const OPTIONS: Record<string, string[]> = {
  Path: ['OneLevel', 'Recursive'],
  Name: ['Equals', 'BeginsWith', 'Contains'],
  Type: ['Equals', 'BeginsWith'],
  KeyId: ['Equals', 'BeginsWith'],
  Tier: ['Equals', 'BeginsWith'],
  DataType: ['Equals', 'BeginsWith'],
  tag: ['Equals', 'BeginsWith'],
};

function field(key: string, parameter: ParameterRecord): string | undefined {
  if (key.startsWith('tag:')) return parameter.tags.get(key.slice(4));
  if (key === 'Name') return parameter.name;
  if (key === 'Type') return parameter.type;
  if (key === 'KeyId') return parameter.type === 'SecureString' ? KMS_DEFAULT_KEY : undefined;
  if (key === 'Tier') return 'Standard';
  return 'text';
}

function pathFilter(values: string[], option: string): Predicate {
  if (values.length === 0 || values.some((value) => !value.startsWith('/'))) {
    throw new SsmError(
      'InvalidFilterValue',
      `The Path filter needs values that start with "/": [${values.join(', ')}]`,
    );
  }
  const matchers = values.map((value) => pathMatcher(value, option === 'Recursive'));
  return (parameter) => matchers.some((matches) => matches(parameter.name));
}

function valueFilter(key: string, values: string[], option: string): Predicate {
  // A tag filter without values matches every parameter that carries the tag.
  if (values.length === 0 && !key.startsWith('tag:')) {
    throw new SsmError('InvalidFilterValue', `The ${key} filter needs at least one value.`);
  }
  const test = (actual: string, wanted: string) =>
    option === 'BeginsWith'
      ? actual.startsWith(wanted)
      : option === 'Contains'
        ? actual.includes(wanted)
        : actual === wanted;
  return (parameter) => {
    const actual = field(key, parameter);
    return actual !== undefined && (values.length === 0 || values.some((wanted) => test(actual, wanted)));
  };
}

function compileFilter(raw: Json, index: number): Predicate {
  const key = requiredString(raw, 'Key', `parameterFilters.${index + 1}.member.key`);
  const allowed = OPTIONS[key.startsWith('tag:') ? 'tag' : key];
  if (!allowed) {
    throw new SsmError(
      'InvalidFilterKey',
      `The filter key ${key} is not valid for DescribeParameters. Valid keys: Name, Type, KeyId, Path, Tier, DataType, tag:<key>.`,
    );
  }
  const option = optionalString(raw, 'Option') ?? allowed[0]!;
  if (!allowed.includes(option)) {
    throw new SsmError(
      'InvalidFilterOption',
      `The filter option ${option} is not valid for key ${key}. Valid options: ${allowed.join(', ')}.`,
    );
  }
  const values = stringList(raw, 'Values') ?? [];
  return key === 'Path' ? pathFilter(values, option) : valueFilter(key, values, option);
}

/** The deprecated `Filters` (Name, Type, KeyId; exact values). */
function legacyFilters(input: Json): Predicate[] {
  return (objectList(input, 'Filters') ?? []).map((raw, index) => {
    const key = requiredString(raw, 'Key', `filters.${index + 1}.member.key`);
    if (!['Name', 'Type', 'KeyId'].includes(key))
      throw new SsmError('InvalidFilterKey', `The filter key ${key} is not valid.`);
    return valueFilter(key, stringList(raw, 'Values') ?? [], 'Equals');
  });
}

function metadataJson(ssm: SsmContext, parameter: ParameterRecord): Json {
  return {
    Name: parameter.name,
    ARN: parameterArn(ssm, parameter.region, parameter.name),
    Type: parameter.type,
    ...(parameter.type === 'SecureString' ? { KeyId: KMS_DEFAULT_KEY } : {}),
    LastModifiedDate: ssm.clock.toWall(parameter.lastModified) / 1000,
    LastModifiedUser: `arn:aws:iam::${ssm.accountId}:user/emulator`,
    ...(parameter.description ? { Description: parameter.description } : {}),
    Version: parameter.version,
    Tier: 'Standard',
    Policies: [],
    DataType: 'text',
  };
}

export function describeParameters(ssm: SsmContext, region: string, input: Json): Json {
  const maxResults = maxResultsOf(input, DESCRIBE_MAX_PAGE, DESCRIBE_DEFAULT_PAGE);
  const predicates = [
    ...(objectList(input, 'ParameterFilters') ?? []).map(compileFilter),
    ...legacyFilters(input),
  ];
  const result = page(ssm, {
    region,
    nextToken: optionalString(input, 'NextToken'),
    maxResults,
    keep: (parameter) => predicates.every((matches) => matches(parameter)),
    filterEachPage: ssm.paging.describeFiltersEachPage,
  });
  return {
    Parameters: result.items.map((parameter) => metadataJson(ssm, parameter)),
    ...(result.nextToken ? { NextToken: result.nextToken } : {}),
  };
}
