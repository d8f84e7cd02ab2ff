// SSM Parameter Store over JSON 1.1 (`x-amz-target: AmazonSSM.<Op>`).
import { createHash, randomUUID } from 'node:crypto';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from './context.js';
import { regionParameters, type ParameterRecord } from './state.js';

export interface SsmOptions {
  /** Answer GetParametersByPath/DescribeParameters with short (even empty) pages while NextToken is set. */
  shortPages?: boolean;
  /** Standard parameters per region (10,000 on AWS). */
  maxParameters?: number;
}

export type ParameterType = ParameterRecord['type'];

export interface ParameterView {
  region: string;
  name: string;
  value: string;
  type: ParameterType;
  version: number;
  lastModified: Date;
}

export interface SsmService {
  handle(request: EmulatorRequest): EmulatorResponse;
  errorResponse(code: string, message: string, status: number): EmulatorResponse;
  /** Writes a parameter directly (seeding, the simulator); no validation. */
  put(
    region: string,
    name: string,
    value: string,
    type?: ParameterType,
    lastModified?: number,
  ): ParameterRecord;
  get(region: string, name: string): ParameterRecord | undefined;
  delete(region: string, name: string): boolean;
  parameters(region?: string): ParameterView[];
  parameter(name: string, region?: string): ParameterView | undefined;
  setShortPages(on: boolean): void;
}

const MAX_VALUE_LENGTH = 4096;
/** Page sizes cycled through in short-page mode; they always make progress eventually. */
const SHORT_PAGE_SIZES = [2, 0, 10, 1, 0, 3];

class SsmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function validation(message: string): SsmError {
  return new SsmError('ValidationException', message);
}

type Json = Record<string, unknown>;

function asObject(input: unknown): Json {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw new SsmError('SerializationException', 'Start of structure or map found where not expected.');
  return input as Json;
}

function optionalString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SsmError('SerializationException', `${key} must be a string`);
  return value;
}

function requiredString(input: Json, key: string, member: string): string {
  const value = optionalString(input, key);
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function stringList(input: Json, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new SsmError('SerializationException', `${key} must be a list of strings`);
  }
  return value as string[];
}

function checkName(name: string): void {
  if (name.length === 0 || name.length > 2048) {
    throw validation(
      `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length between 1 and 2048`,
    );
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

function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

function decodeToken(raw: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { after?: unknown }).after === 'string') {
      return (parsed as { after: string }).after;
    }
  } catch {
    // falls through to the error below
  }
  throw new SsmError('InvalidNextToken', 'The specified token is not valid.');
}

/** First index in `sorted` whose name is greater than `after`. */
function firstAfter(sorted: string[], after: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid]! <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

export function createSsmService(ctx: EmulatorContext, options: SsmOptions = {}): SsmService {
  const { state, clock } = ctx;
  const maxParameters = options.maxParameters ?? 10_000;
  let shortPages = options.shortPages ?? false;
  let shortPageTurn = 0;
  /** region -> parameter names in sorted order, rebuilt after names were added or removed */
  const sortedNames = new Map<string, string[]>();

  function names(region: string): string[] {
    let sorted = sortedNames.get(region);
    if (!sorted) {
      sorted = [...regionParameters(state, region).keys()].sort();
      sortedNames.set(region, sorted);
    }
    return sorted;
  }

  function arn(region: string, name: string): string {
    return `arn:aws:ssm:${region}:${ctx.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  function ciphertext(parameter: ParameterRecord): string {
    const digest = createHash('sha256')
      .update(`${parameter.name}\u0000${parameter.version}\u0000${parameter.value}`)
      .digest('base64');
    return `AQICAHh${digest}`;
  }

  function parameterJson(parameter: ParameterRecord, withDecryption: boolean): Json {
    return {
      Name: parameter.name,
      Type: parameter.type,
      Value: parameter.type === 'SecureString' && !withDecryption ? ciphertext(parameter) : parameter.value,
      Version: parameter.version,
      LastModifiedDate: clock.toWall(parameter.lastModified) / 1000,
      ARN: arn(parameter.region, parameter.name),
      DataType: 'text',
    };
  }

  function metadataJson(parameter: ParameterRecord): Json {
    return {
      Name: parameter.name,
      ARN: arn(parameter.region, parameter.name),
      Type: parameter.type,
      LastModifiedDate: clock.toWall(parameter.lastModified) / 1000,
      LastModifiedUser: `arn:aws:iam::${ctx.accountId}:user/emulator`,
      Version: parameter.version,
      Tier: 'Standard',
      Policies: [],
      DataType: 'text',
    };
  }

  function put(
    region: string,
    name: string,
    value: string,
    type: ParameterType = 'SecureString',
    lastModified?: number,
  ): ParameterRecord {
    const byName = regionParameters(state, region);
    const existing = byName.get(name);
    const parameter: ParameterRecord = {
      region,
      name,
      value,
      type,
      version: (existing?.version ?? 0) + 1,
      lastModified: lastModified ?? clock.now(),
    };
    byName.set(name, parameter);
    if (!existing) sortedNames.delete(region);
    return parameter;
  }

  function remove(region: string, name: string): boolean {
    const removed = regionParameters(state, region).delete(name);
    if (removed) sortedNames.delete(region);
    return removed;
  }

  function pageSize(maxResults: number): number {
    if (!shortPages) return maxResults;
    const size = SHORT_PAGE_SIZES[shortPageTurn++ % SHORT_PAGE_SIZES.length]!;
    return Math.min(size, maxResults);
  }

  /** One page of the sorted names that pass `keep`, after the cursor in `nextToken`. */
  function page(
    region: string,
    nextToken: string | undefined,
    maxResults: number,
    keep: (name: string) => boolean,
  ) {
    const sorted = names(region);
    const size = pageSize(maxResults);
    const items: ParameterRecord[] = [];
    const byName = regionParameters(state, region);
    let index = nextToken === undefined ? 0 : firstAfter(sorted, decodeToken(nextToken));
    let cursor = nextToken === undefined ? undefined : decodeToken(nextToken);
    let more = false;
    for (; index < sorted.length; index++) {
      const name = sorted[index]!;
      if (!keep(name)) continue;
      if (items.length >= size) {
        more = true;
        break;
      }
      const parameter = byName.get(name);
      if (parameter) items.push(parameter);
      cursor = name;
    }
    return { items, nextToken: more ? encodeToken(cursor ?? '') : undefined };
  }

  function maxResultsOf(input: Json, limit: number): number {
    const raw = input.MaxResults;
    if (raw === undefined || raw === null) return limit;
    if (typeof raw !== 'number' || !Number.isInteger(raw))
      throw new SsmError('SerializationException', 'MaxResults must be an integer');
    if (raw > limit) {
      throw validation(
        `1 validation error detected: Value '${raw}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${limit}`,
      );
    }
    if (raw < 1) {
      throw validation(
        `1 validation error detected: Value '${raw}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1`,
      );
    }
    return raw;
  }

  function pathMatcher(rawPath: string, recursive: boolean): (name: string) => boolean {
    if (!rawPath.startsWith('/')) {
      throw validation(
        'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
      );
    }
    if (rawPath.split('/').length - 1 > 15)
      throw validation("Parameter path hierarchy can't exceed 15 levels.");
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
    const prefix = path === '/' ? '/' : `${path}/`;
    return (name) => name.startsWith(prefix) && (recursive || !name.slice(prefix.length).includes('/'));
  }

  function namesArgument(input: Json): string[] {
    const list = stringList(input, 'Names');
    if (!list || list.length < 1) {
      throw validation(
        "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    }
    if (list.length > 10) {
      throw validation(
        `1 validation error detected: Value '[${list.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`,
      );
    }
    return list;
  }

  const operations: Record<string, (region: string, input: Json) => Json> = {
    PutParameter(region, input) {
      const name = requiredString(input, 'Name', 'name');
      const value = requiredString(input, 'Value', 'value');
      const type = optionalString(input, 'Type');
      checkName(name);
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
      if (type !== undefined && !['String', 'StringList', 'SecureString'].includes(type)) {
        throw validation(
          `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
        );
      }
      const existing = regionParameters(state, region).get(name);
      if (existing && input.Overwrite !== true) {
        throw new SsmError(
          'ParameterAlreadyExists',
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      }
      if (!existing && type === undefined)
        throw validation('A parameter type is required when you create a parameter.');
      if (!existing && regionParameters(state, region).size >= maxParameters) {
        throw new SsmError(
          'ParameterLimitExceeded',
          'You have exceeded the number of parameters for this AWS account. Delete unnecessary parameters and try again.',
        );
      }
      const parameter = put(region, name, value, (type ?? existing!.type) as ParameterType);
      return { Version: parameter.version, Tier: 'Standard' };
    },

    GetParameter(region, input) {
      const name = requiredString(input, 'Name', 'name');
      const parameter = regionParameters(state, region).get(name);
      if (!parameter) throw new SsmError('ParameterNotFound', `Parameter ${name} not found.`);
      return { Parameter: parameterJson(parameter, input.WithDecryption === true) };
    },

    GetParameters(region, input) {
      const list = namesArgument(input);
      const byName = regionParameters(state, region);
      const found = list.map((name) => byName.get(name)).filter((parameter) => parameter !== undefined);
      return {
        Parameters: found.map((parameter) => parameterJson(parameter, input.WithDecryption === true)),
        InvalidParameters: list.filter((name) => !byName.has(name)),
      };
    },

    GetParametersByPath(region, input) {
      const path = requiredString(input, 'Path', 'path');
      const maxResults = maxResultsOf(input, 10);
      const keep = pathMatcher(path, input.Recursive === true);
      const result = page(region, optionalString(input, 'NextToken'), maxResults, keep);
      return {
        Parameters: result.items.map((parameter) => parameterJson(parameter, input.WithDecryption === true)),
        ...(result.nextToken ? { NextToken: result.nextToken } : {}),
      };
    },

    DescribeParameters(region, input) {
      const maxResults = maxResultsOf(input, 50);
      const predicates: ((name: string, parameter: ParameterRecord) => boolean)[] = [];
      const filters = input.ParameterFilters;
      if (filters !== undefined && !Array.isArray(filters))
        throw new SsmError('SerializationException', 'ParameterFilters must be a list');
      for (const raw of (filters ?? []) as Json[]) {
        const key = optionalString(raw, 'Key');
        const option = optionalString(raw, 'Option');
        const values = stringList(raw, 'Values') ?? [];
        if (key === 'Path') {
          const matchers = values.map((value) => pathMatcher(value, option === 'Recursive'));
          predicates.push((name) => matchers.some((matches) => matches(name)));
        } else if (key === 'Name') {
          predicates.push((name) =>
            values.some((value) =>
              option === 'BeginsWith'
                ? name.startsWith(value)
                : option === 'Contains'
                  ? name.includes(value)
                  : name === value,
            ),
          );
        } else if (key === 'Type') {
          predicates.push((_name, parameter) => values.includes(parameter.type));
        } else {
          throw new SsmError(
            'InvalidFilterKey',
            `The filter key ${String(key)} is not supported by the emulator.`,
          );
        }
      }
      const byName = regionParameters(state, region);
      const result = page(region, optionalString(input, 'NextToken'), maxResults, (name) => {
        const parameter = byName.get(name);
        return parameter !== undefined && predicates.every((matches) => matches(name, parameter));
      });
      return {
        Parameters: result.items.map(metadataJson),
        ...(result.nextToken ? { NextToken: result.nextToken } : {}),
      };
    },

    DeleteParameter(region, input) {
      const name = requiredString(input, 'Name', 'name');
      if (!remove(region, name)) throw new SsmError('ParameterNotFound', `Parameter ${name} not found.`);
      return {};
    },

    DeleteParameters(region, input) {
      const list = namesArgument(input);
      const deleted: string[] = [];
      const invalid: string[] = [];
      for (const name of list) (remove(region, name) ? deleted : invalid).push(name);
      return { DeletedParameters: deleted, InvalidParameters: invalid };
    },
  };

  function errorResponse(code: string, message: string, status: number): EmulatorResponse {
    return {
      status,
      code,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
      body: JSON.stringify({ __type: code, message }),
    };
  }

  function view(parameter: ParameterRecord): ParameterView {
    return {
      region: parameter.region,
      name: parameter.name,
      value: parameter.value,
      type: parameter.type,
      version: parameter.version,
      lastModified: new Date(clock.toWall(parameter.lastModified)),
    };
  }

  return {
    handle(request) {
      try {
        const operation = operations[request.action];
        if (!operation)
          throw new SsmError('UnknownOperationException', `Unknown operation ${request.action}`);
        const output = operation(request.region, asObject(request.json));
        return {
          status: 200,
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
          body: JSON.stringify(output),
        };
      } catch (error) {
        if (error instanceof SsmError) return errorResponse(error.code, error.message, error.status);
        throw error;
      }
    },
    errorResponse,
    put,
    get: (region, name) => regionParameters(state, region).get(name),
    delete: remove,
    parameters(region) {
      const regions = region ? [region] : [...state.parameters.keys()];
      return regions.flatMap((r) => names(r).map((name) => view(regionParameters(state, r).get(name)!)));
    },
    parameter(name, region = ctx.defaultRegion) {
      const parameter = regionParameters(state, region).get(name);
      return parameter ? view(parameter) : undefined;
    },
    setShortPages(on) {
      shortPages = on;
    },
  };
}
