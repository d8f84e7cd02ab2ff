// Parameter reads and writes: PutParameter, GetParameter(s), GetParametersByPath, DeleteParameter(s).
import { createHash } from 'node:crypto';
import { regionParameters, type ParameterRecord } from '../state.js';
import type { SsmContext } from './context.js';
import { constraint, SsmError, validation } from './errors.js';
import { maxResultsOf, namesArgument, optionalString, requiredString, type Json } from './input.js';
import { page, pathMatcher } from './paging.js';
import { parameterArn, putParameter, removeParameter } from './store.js';
import { checkTags, tagsArgument } from './tags.js';
import type { ParameterType } from './types.js';

const MAX_VALUE_LENGTH = 4096;
const TYPES = ['String', 'StringList', 'SecureString'];

export type Operation = (ssm: SsmContext, region: string, input: Json) => Json;

function checkName(name: string): void {
  if (name.length === 0 || name.length > 2048) {
    throw constraint(name, 'name', 'Member must have length between 1 and 2048');
  }
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) {
    throw validation('Parameter name must only contain letters, numbers, and the symbols .-_/');
  }
  if (name.includes('/') && !name.startsWith('/'))
    throw validation('Parameter name must be a fully qualified name.');
  if (name.split('/').length - 1 > 15) throw validation("Parameter name hierarchy can't exceed 15 levels.");
  if (/^\/?(aws|ssm)/i.test(name))
    throw validation('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).');
}

function checkValue(value: string): void {
  if (value.length === 0) {
    throw validation(
      "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (value.length > MAX_VALUE_LENGTH) {
    throw validation(
      'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.',
    );
  }
}

function ciphertext(parameter: ParameterRecord): string {
  const digest = createHash('sha256')
    .update(`${parameter.name}\u0000${parameter.version}\u0000${parameter.value}`)
    .digest('base64');
  return `AQICAHh${digest}`;
}

function parameterJson(ssm: SsmContext, parameter: ParameterRecord, withDecryption: boolean): Json {
  return {
    Name: parameter.name,
    Type: parameter.type,
    Value: parameter.type === 'SecureString' && !withDecryption ? ciphertext(parameter) : parameter.value,
    Version: parameter.version,
    LastModifiedDate: ssm.clock.toWall(parameter.lastModified) / 1000,
    ARN: parameterArn(ssm, parameter.region, parameter.name),
    DataType: 'text',
  };
}

/** What PutParameter may not do to an existing parameter, or to the region's parameter count. */
function checkPutTarget(ssm: SsmContext, region: string, input: Json, type: string | undefined): void {
  const existing = regionParameters(ssm.state, region).get(requiredString(input, 'Name', 'name'));
  if (existing && input.Overwrite !== true) {
    throw new SsmError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    );
  }
  if (!existing && type === undefined)
    throw validation('A parameter type is required when you create a parameter.');
  if (!existing && regionParameters(ssm.state, region).size >= ssm.maxParameters) {
    throw new SsmError(
      'ParameterLimitExceeded',
      'You have exceeded the number of parameters for this AWS account. Delete unnecessary parameters and try again.',
    );
  }
}

const putParameterOperation: Operation = (ssm, region, input) => {
  const name = requiredString(input, 'Name', 'name');
  const value = requiredString(input, 'Value', 'value');
  const type = optionalString(input, 'Type');
  checkName(name);
  checkValue(value);
  if (type !== undefined && !TYPES.includes(type)) {
    throw constraint(type, 'type', 'Member must satisfy enum value set: [SecureString, StringList, String]');
  }
  const tags = tagsArgument(input, 'Tags', 'tags');
  if (tags && tags.length > 0 && input.Overwrite === true) {
    throw validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  if (tags) checkTags(tags, 0, 'tags');
  checkPutTarget(ssm, region, input, type);
  const existingType = regionParameters(ssm.state, region).get(name)?.type;
  const parameter = putParameter(ssm, region, name, value, (type ?? existingType) as ParameterType);
  for (const tag of tags ?? []) parameter.tags.set(tag.Key, tag.Value);
  return { Version: parameter.version, Tier: 'Standard' };
};

const getParameter: Operation = (ssm, region, input) => {
  const name = requiredString(input, 'Name', 'name');
  const parameter = regionParameters(ssm.state, region).get(name);
  if (!parameter) throw new SsmError('ParameterNotFound', `Parameter ${name} not found.`);
  return { Parameter: parameterJson(ssm, parameter, input.WithDecryption === true) };
};

const getParameters: Operation = (ssm, region, input) => {
  const list = namesArgument(input);
  const byName = regionParameters(ssm.state, region);
  const found = list.map((name) => byName.get(name)).filter((parameter) => parameter !== undefined);
  return {
    Parameters: found.map((parameter) => parameterJson(ssm, parameter, input.WithDecryption === true)),
    InvalidParameters: list.filter((name) => !byName.has(name)),
  };
};

/** GetParametersByPath returns at most 10 parameters a page. */
const getParametersByPath: Operation = (ssm, region, input) => {
  const matches = pathMatcher(requiredString(input, 'Path', 'path'), input.Recursive === true);
  const result = page(ssm, {
    region,
    nextToken: optionalString(input, 'NextToken'),
    maxResults: maxResultsOf(input, 10),
    keep: (parameter) => matches(parameter.name),
  });
  return {
    Parameters: result.items.map((parameter) => parameterJson(ssm, parameter, input.WithDecryption === true)),
    ...(result.nextToken ? { NextToken: result.nextToken } : {}),
  };
};

const deleteParameter: Operation = (ssm, region, input) => {
  const name = requiredString(input, 'Name', 'name');
  if (!removeParameter(ssm, region, name))
    throw new SsmError('ParameterNotFound', `Parameter ${name} not found.`);
  return {};
};

const deleteParameters: Operation = (ssm, region, input) => {
  const deleted: string[] = [];
  const invalid: string[] = [];
  for (const name of namesArgument(input))
    (removeParameter(ssm, region, name) ? deleted : invalid).push(name);
  return { DeletedParameters: deleted, InvalidParameters: invalid };
};

export const PARAMETER_OPERATIONS: Record<string, Operation> = {
  PutParameter: putParameterOperation,
  GetParameter: getParameter,
  GetParameters: getParameters,
  GetParametersByPath: getParametersByPath,
  DeleteParameter: deleteParameter,
  DeleteParameters: deleteParameters,
};
