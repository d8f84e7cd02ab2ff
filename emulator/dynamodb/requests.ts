// Reading a JSON 1.0 request's members: types, enums, the expression attribute maps, legacy parameters.
import { constraint, DynamoDbError, validation } from './errors.js';
import { ExpressionAttributes } from './expressions.js';
import { checkValue, type AttributeValue } from './values.js';

export type Json = Record<string, unknown>;

export function asObject(input: unknown): Json {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new DynamoDbError('SerializationException', 'Start of structure or map found where not expected.');
  }
  return input as Json;
}

function memberName(key: string): string {
  return key.charAt(0).toLowerCase() + key.slice(1);
}

export function optionalString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new DynamoDbError('SerializationException', `${key} must be a string`);
  return value;
}

export function optionalBoolean(input: Json, key: string): boolean | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new DynamoDbError('SerializationException', `${key} must be a boolean`);
  return value;
}

export function optionalInteger(input: Json, key: string, minimum: number): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new DynamoDbError('SerializationException', `${key} must be an integer`);
  }
  if (value < minimum) {
    throw constraint(value, memberName(key), `Member must have value greater than or equal to ${minimum}`);
  }
  return value;
}

export function required<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw constraint(null, memberName(key), 'Member must not be null');
  return value;
}

/** An enum member; `message` replaces DynamoDB's generic enum error where it answers more specifically. */
export function choice<T extends string>(
  input: Json,
  key: string,
  allowed: readonly T[],
  fallback: T,
  message?: string,
): T {
  const value = optionalString(input, key);
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw message
      ? validation(message)
      : constraint(value, memberName(key), `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

/** Parameters of DynamoDB's legacy (pre-expression) API, which the emulator does not speak. */
const LEGACY_PARAMETERS = [
  'Expected',
  'ConditionalOperator',
  'AttributeUpdates',
  'KeyConditions',
  'QueryFilter',
  'AttributesToGet',
  'ScanFilter',
];

export function refuseUnsupported(input: Json, unsupported: readonly string[] = []): void {
  for (const key of [...LEGACY_PARAMETERS, ...unsupported]) {
    if (input[key] !== undefined && input[key] !== null) {
      throw validation(`The emulator does not support ${key}; runner-scaler uses expressions without it`);
    }
  }
}

function stringMap(input: Json, key: string): Record<string, unknown> | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DynamoDbError('SerializationException', `${key} must be a map`);
  }
  if (Object.keys(value).length === 0) throw validation(`${key} must not be empty`);
  return value as Record<string, unknown>;
}

/**
 * The request's ExpressionAttributeNames/Values, checked as DynamoDB checks them before any expression is
 * parsed. `expressions` are the request's expression members that may use values.
 */
export function expressionAttributes(input: Json, expressions: readonly string[]): ExpressionAttributes {
  const used = expressions.filter((key) => input[key] !== undefined && input[key] !== null);
  const names = stringMap(input, 'ExpressionAttributeNames');
  const values = stringMap(input, 'ExpressionAttributeValues');
  if (names && used.length === 0)
    throw validation('ExpressionAttributeNames can only be specified when using expressions');
  if (values && used.length === 0) {
    throw validation(
      `ExpressionAttributeValues can only be specified when using expressions: ${expressions.join(' and ')} ${expressions.length > 1 ? 'are' : 'is'} null`,
    );
  }
  for (const [token, name] of Object.entries(names ?? {})) {
    if (!/^#[A-Za-z0-9_]+$/.test(token)) {
      throw validation(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${token}"`);
    }
    if (typeof name !== 'string')
      throw new DynamoDbError('SerializationException', 'ExpressionAttributeNames values must be strings');
  }
  const checkedValues: Record<string, AttributeValue> = {};
  for (const [token, value] of Object.entries(values ?? {})) {
    if (!/^:[A-Za-z0-9_]+$/.test(token)) {
      throw validation(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${token}"`);
    }
    try {
      checkedValues[token] = checkValue(value);
    } catch (error) {
      if (error instanceof DynamoDbError) {
        throw validation(
          `ExpressionAttributeValues contains invalid value: ${error.message} for key ${token}`,
        );
      }
      throw error;
    }
  }
  return new ExpressionAttributes(names as Record<string, string> | undefined, checkedValues);
}
