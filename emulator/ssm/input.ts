// Reading a JSON 1.1 request body the way SSM validates it.
import { constraint, SsmError, validation } from './errors.js';

export type Json = Record<string, unknown>;

export function asObject(input: unknown): Json {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw new SsmError('SerializationException', 'Start of structure or map found where not expected.');
  return input as Json;
}

export function optionalString(input: Json, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SsmError('SerializationException', `${key} must be a string`);
  return value;
}

export function requiredString(input: Json, key: string, member: string): string {
  const value = optionalString(input, key);
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export function stringList(input: Json, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new SsmError('SerializationException', `${key} must be a list of strings`);
  }
  return value as string[];
}

export function objectList(input: Json, key: string): Json[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new SsmError('SerializationException', `${key} must be a list`);
  return value.map(asObject);
}

/** MaxResults within 1..limit; `fallback` when absent. */
export function maxResultsOf(input: Json, limit: number, fallback = limit): number {
  const raw = input.MaxResults;
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw))
    throw new SsmError('SerializationException', 'MaxResults must be an integer');
  if (raw > limit)
    throw constraint(String(raw), 'maxResults', `Member must have value less than or equal to ${limit}`);
  if (raw < 1)
    throw constraint(String(raw), 'maxResults', 'Member must have value greater than or equal to 1');
  return raw;
}

/** GetParameters' and DeleteParameters' Names: 1..10 names. */
export function namesArgument(input: Json): string[] {
  const list = stringList(input, 'Names');
  if (!list || list.length < 1) {
    throw constraint('[]', 'names', 'Member must have length greater than or equal to 1');
  }
  if (list.length > 10) {
    throw constraint(`[${list.join(', ')}]`, 'names', 'Member must have length less than or equal to 10');
  }
  return list;
}
