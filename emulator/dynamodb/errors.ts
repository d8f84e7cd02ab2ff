// DynamoDB's error answers: HTTP status, a JSON body with `__type` (namespace#Code) and `message`, as the
// JSON 1.0 protocol sends them. The SDK takes the code after '#'.
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from '../context.js';

export const CONTENT_TYPE = 'application/x-amz-json-1.0';

const SERVICE_NAMESPACE = 'com.amazonaws.dynamodb.v20120810';
/** Errors raised by the request layer in front of DynamoDB carry the Coral framework's namespaces. */
const NAMESPACES: Record<string, string> = {
  ValidationException: 'com.amazon.coral.validate',
  ThrottlingException: 'com.amazon.coral.availability',
  ServiceUnavailable: 'com.amazon.coral.availability',
  SerializationException: 'com.amazon.coral.service',
  UnknownOperationException: 'com.amazon.coral.service',
};

export const ERROR_STATUS: Record<string, number> = {
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

export const DEFAULT_MESSAGES: Record<string, string> = {
  ThrottlingException: 'Rate of requests exceeds the allowed throughput.',
  ProvisionedThroughputExceededException:
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  InternalServerError: 'Internal server error',
  ServiceUnavailable: 'DynamoDB is currently unavailable. (This should be a temporary state.)',
  ConditionalCheckFailedException: 'The conditional request failed',
};

export class DynamoDbError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = ERROR_STATUS[code] ?? 400,
    /** More members of the error body (the old item of a failed condition). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function validation(message: string): DynamoDbError {
  return new DynamoDbError('ValidationException', message);
}

/** The `1 validation error detected: ...` form of a constraint the request's shape breaks. */
export function constraint(value: unknown, member: string, rule: string): DynamoDbError {
  const shown = value === null || value === undefined ? 'null' : `'${String(value)}'`;
  return validation(
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${rule}`,
  );
}

export function errorResponse(
  code: string,
  message = DEFAULT_MESSAGES[code] ?? code,
  status = ERROR_STATUS[code] ?? 400,
  extra: Record<string, unknown> = {},
): EmulatorResponse {
  return {
    status,
    code,
    headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ __type: `${NAMESPACES[code] ?? SERVICE_NAMESPACE}#${code}`, message, ...extra }),
  };
}

export function okResponse(output: unknown): EmulatorResponse {
  return {
    status: 200,
    headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify(output),
  };
}
