// Outcome records for apply: what happened to each item, with the API's error code when it failed.
import type { Outcome } from '../types.js';
import { errorCode, errorMessage } from './settle.js';

export const failed = (
  action: string,
  target: string,
  reason: string,
  error: unknown,
  pool?: string,
): Outcome => ({
  action,
  target,
  pool,
  status: 'failed',
  reason,
  code: errorCode(error),
  detail: errorMessage(error),
});

export const skipped = (
  action: string,
  target: string,
  reason: string,
  code: string,
  detail: string,
  pool?: string,
): Outcome => ({ action, target, pool, status: 'skipped', reason, code, detail });
