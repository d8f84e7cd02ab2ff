// SSM's answers: JSON 1.1 bodies and errors as `{ __type, message }`.
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from '../context.js';

export class SsmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function validation(message: string): SsmError {
  return new SsmError('ValidationException', message);
}

/** SSM's wording for a member that breaks its model constraint. */
export function constraint(value: string, member: string, rule: string): SsmError {
  return validation(
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`,
  );
}

const headers = () => ({ 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });

export function errorResponse(code: string, message: string, status: number): EmulatorResponse {
  return { status, code, headers: headers(), body: JSON.stringify({ __type: code, message }) };
}

export function okResponse(output: unknown): EmulatorResponse {
  return { status: 200, headers: headers(), body: JSON.stringify(output) };
}
