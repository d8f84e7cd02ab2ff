// Injected faults (answered in each service's real error shape) and scenario helpers.
import type { EmulatorRequest } from './context.js';
import { DYNAMODB_ERROR_STATUS } from './dynamodb/index.js';
import type { Ec2Service, Market } from './ec2/index.js';
import type { GitHubService } from './github/index.js';
import type { NeverBootSpec, Simulator } from './simulator/index.js';
import type { Service } from './state.js';

export interface FaultSpec {
  service: Service;
  /** EC2/SSM operation name or GitHub `METHOD /route/{template}`; a RegExp is tested against it. */
  action?: string | RegExp;
  /** HTTP status; defaults from the code (e.g. RequestLimitExceeded 503) or 500. */
  status?: number;
  /** EC2/SSM error code; for GitHub it only names the fault in the call log. */
  code?: string;
  message?: string;
  /** Extra response headers (e.g. `retry-after` for GitHub). */
  headers?: Record<string, string>;
  /** How many matching calls fail; default every one until removed. */
  times?: number;
  match?: (request: EmulatorRequest) => boolean;
  /** Answer this much later (real time). Without status and code the call then proceeds normally. */
  delayMs?: number;
  /**
   * A lost answer: the call takes effect as usual, then the client gets the fault's error instead of the
   * real answer (e.g. a POST that created a runner answered 502, as after a gateway timeout).
   */
  lostResponse?: boolean;
  /** Runs when the fault applies, before the call is handled (a test's hook into "right before call k"). */
  beforeCall?: (request: EmulatorRequest) => void;
  /** Runs when the fault applies, once the call was handled and before it is answered ("right after call k"). */
  afterCall?: (request: EmulatorRequest) => void;
}

export interface FaultHandle {
  /** Calls this fault answered so far. */
  readonly hits: number;
  remove(): void;
}

export interface FaultError {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
}

export interface FaultOutcome {
  delayMs: number;
  error?: FaultError;
  /** Handle the call, then answer `error` instead of the real answer. */
  lostResponse?: boolean;
  beforeCall?: (request: EmulatorRequest) => void;
  afterCall?: (request: EmulatorRequest) => void;
}

export interface Faults {
  inject(spec: FaultSpec): FaultHandle;
  clear(): void;
  /** The fault that applies to this request, if any (counts a hit). */
  take(request: EmulatorRequest): FaultOutcome | undefined;
  /** Partial launches: only `limit` more instances (in total or per instance type) can be launched. */
  fleetCapacity(limit: number | Record<string, number>, options?: { market?: Market }): void;
  /** No capacity at all for these instance types (every type when none are given). */
  insufficientCapacity(instanceTypes?: string[], options?: { market?: Market }): void;
  /** Removes every capacity limit. */
  restoreCapacity(): void;
  /** After a runner starts a job, the API reports `busy: false` for this long. */
  busyLag(ms: number): void;
  /** Instances that never boot (stuck pending) or boot without their bootstrap running. */
  neverBoot(spec?: NeverBootSpec): { remove(): void; readonly hits: number };
  /** Spot interruption of one instance. */
  interrupt(instanceId: string): void;
}

const EC2_STATUS: Record<string, number> = {
  RequestLimitExceeded: 503,
  Unavailable: 503,
  ServiceUnavailable: 503,
  InternalError: 500,
  InsufficientInstanceCapacity: 500,
  DryRunOperation: 412,
};

const SSM_STATUS: Record<string, number> = {
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

function errorFor(spec: FaultSpec): FaultError | undefined {
  if (spec.status === undefined && spec.code === undefined) return undefined;
  const headers = spec.headers ?? {};
  switch (spec.service) {
    case 'ec2': {
      const code =
        spec.code ??
        (spec.status !== undefined && spec.status < 500 ? 'InvalidParameterValue' : 'InternalError');
      const status = spec.status ?? EC2_STATUS[code] ?? 400;
      return {
        status,
        code,
        message: spec.message ?? (status >= 500 ? 'An internal error has occurred' : `Injected ${code}`),
        headers,
      };
    }
    case 'ssm': {
      const code =
        spec.code ??
        (spec.status !== undefined && spec.status < 500 ? 'ValidationException' : 'InternalServerError');
      const status = spec.status ?? SSM_STATUS[code] ?? (code === 'InternalServerError' ? 500 : 400);
      return {
        status,
        code,
        message: spec.message ?? (code === 'ThrottlingException' ? 'Rate exceeded' : `Injected ${code}`),
        headers,
      };
    }
    case 'dynamodb': {
      const code =
        spec.code ??
        (spec.status !== undefined && spec.status < 500 ? 'ValidationException' : 'InternalServerError');
      const status = spec.status ?? DYNAMODB_ERROR_STATUS[code] ?? 400;
      return { status, code, message: spec.message ?? `Injected ${code}`, headers };
    }
    case 'cloudwatch': {
      const code =
        spec.code ??
        (spec.status !== undefined && spec.status < 500 ? 'InvalidParameterValue' : 'InternalServiceError');
      const status =
        spec.status ?? (code === 'InternalServiceError' ? 500 : code === 'AccessDenied' ? 403 : 400);
      return { status, code, message: spec.message ?? `Injected ${code}`, headers };
    }
    case 'github': {
      const status = spec.status ?? 500;
      return {
        status,
        code: spec.code ?? `http_${status}`,
        message: spec.message ?? (status >= 500 ? 'Server Error' : 'Injected error'),
        headers,
      };
    }
  }
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  hits: number;
}

export function createFaults(deps: { ec2: Ec2Service; github: GitHubService; simulator: Simulator }): Faults {
  const active: ActiveFault[] = [];

  function remove(fault: ActiveFault): void {
    const index = active.indexOf(fault);
    if (index >= 0) active.splice(index, 1);
  }

  return {
    inject(spec) {
      const fault: ActiveFault = { spec, remaining: spec.times ?? Number.POSITIVE_INFINITY, hits: 0 };
      active.push(fault);
      return {
        get hits() {
          return fault.hits;
        },
        remove: () => remove(fault),
      };
    },
    clear() {
      active.length = 0;
    },
    take(request) {
      for (const fault of active) {
        const { spec } = fault;
        if (spec.service !== request.service || fault.remaining <= 0) continue;
        if (typeof spec.action === 'string' && spec.action !== request.action) continue;
        if (spec.action instanceof RegExp && !spec.action.test(request.action)) continue;
        if (spec.match && !spec.match(request)) continue;
        fault.remaining -= 1;
        fault.hits += 1;
        if (fault.remaining <= 0) remove(fault);
        const error = errorFor(spec);
        return {
          delayMs: spec.delayMs ?? 0,
          ...(error ? { error } : {}),
          ...(spec.lostResponse ? { lostResponse: true } : {}),
          ...(spec.beforeCall ? { beforeCall: spec.beforeCall } : {}),
          ...(spec.afterCall ? { afterCall: spec.afterCall } : {}),
        };
      }
      return undefined;
    },
    fleetCapacity(limit, options) {
      deps.ec2.setCapacity(limit, options?.market);
    },
    insufficientCapacity(instanceTypes, options) {
      deps.ec2.setCapacity(
        instanceTypes ? Object.fromEntries(instanceTypes.map((type) => [type, 0])) : 0,
        options?.market,
      );
    },
    restoreCapacity() {
      deps.ec2.setCapacity(undefined);
    },
    busyLag(ms) {
      deps.github.setBusyLag(ms);
    },
    neverBoot: (spec) => deps.simulator.neverBoot(spec),
    interrupt: (instanceId) => deps.simulator.interrupt(instanceId),
  };
}
