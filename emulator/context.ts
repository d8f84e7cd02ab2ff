// What the services, the simulator and the server share.
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock, Scheduler } from './clock.js';
import type { Caller, EmulatorState, InstanceRecord, JobRecord, RunnerRecord, Service } from './state.js';

export interface CallLogEntry {
  service: Service;
  /** EC2/SSM operation name, or `METHOD /route/{template}` for GitHub. */
  action: string;
  status: number;
  /** The error code answered (EC2/SSM error code, or the GitHub limit hit). */
  code?: string;
  latencyMs: number;
  /** Real (wall-clock) time the call arrived, in ms since the epoch. */
  at: number;
  caller: Caller;
  region?: string;
}

/** One request as faults and budgets see it. */
export interface EmulatorRequest {
  service: Service;
  action: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** AWS region from the SigV4 credential scope (the signature itself is not checked). */
  region: string;
  body: string;
  /** EC2: the form parameters. */
  form: URLSearchParams;
  /** SSM and GitHub: the parsed JSON body (undefined when there is none). */
  json: unknown;
  /** GitHub: the route's path parameters. */
  pathParams: Record<string, string>;
}

export interface EmulatorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Error code for the call log. */
  code?: string;
  /** A long poll: the real answer, given when this settles (the fields above are then unused). */
  deferred?: Promise<EmulatorResponse>;
}

/** Hooks through which the services tell the instance simulator what happened. */
export interface LifecycleHooks {
  instanceLaunched(instance: InstanceRecord): void;
  instanceStopping(instance: InstanceRecord): void;
  runnerDeleted(runner: RunnerRecord): void;
  jobQueued(job: JobRecord): void;
}

export interface EmulatorContext {
  state: EmulatorState;
  clock: Clock;
  scheduler: Scheduler;
  defaultRegion: string;
  accountId: string;
  hooks: LifecycleHooks;
  log(entry: Omit<CallLogEntry, 'at' | 'latencyMs'> & { latencyMs?: number; at?: number }): void;
  recordSecret(secret: string): void;
  reportError(error: unknown, where: string): void;
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

export const noHooks: LifecycleHooks = {
  instanceLaunched: () => undefined,
  instanceStopping: () => undefined,
  runnerDeleted: () => undefined,
  jobQueued: () => undefined,
};
