// The Actions service's HTTP conventions: `{typeName, message}` error bodies with assembly-qualified
// exception names (or text/plain), JSON answers that may start with a byte order mark, the JSON
// request body, and the routes of the service (never counted against GitHub's REST limits).
import type { EmulatorRequest, EmulatorResponse } from '../../context.js';
import type { RouteHandler, RouteSpec } from '../../router.js';
import type { ScaleSetContext, ScaleSetSettings } from './context.js';

const RUNTIME = 'GitHub.Actions.Runtime.WebApi';
const TASK = 'GitHub.DistributedTask.WebApi';

/**
 * Exception type names as the service writes them. The runtime and agent names are the ones seen in
 * the wild (SCALESET-FACTS 2, 3); the names for a duplicate scale set, a bad argument and a bad
 * token are not documented anywhere and are this emulator's choice.
 */
export const TYPE_NAMES = {
  scaleSetNotFound: `${RUNTIME}.RunnerScaleSetNotFoundException, ${RUNTIME}`,
  scaleSetExists: `${RUNTIME}.RunnerScaleSetExistsException, ${RUNTIME}`,
  sessionConflict: `${RUNTIME}.RunnerScaleSetSessionConflictException, ${RUNTIME}`,
  sessionExpired: `${RUNTIME}.RunnerScaleSetSessionExpiredException, ${RUNTIME}`,
  runnerAdmin: `${RUNTIME}.RunnerAdminException, ${RUNTIME}`,
  agentExists: `${TASK}.AgentExistsException, ${TASK}`,
  agentNotFound: `${TASK}.AgentNotFoundException, ${TASK}`,
  jobStillRunning: `${TASK}.JobStillRunningException, ${TASK}`,
  argument: 'System.ArgumentException, System.Private.CoreLib',
  unauthorized: 'GitHub.Services.Common.VssUnauthorizedException, GitHub.Services.Common',
  unavailable: 'GitHub.Services.Common.VssServiceResponseException, GitHub.Services.Common',
} as const;

/** Thrown by the protocol's handlers and authenticators; answered in the service's error shape. */
export class ActionsError extends Error {
  constructor(
    readonly status: number,
    readonly typeName: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function badArgument(message: string): ActionsError {
  return new ActionsError(400, TYPE_NAMES.argument, message);
}

export function unauthorized(message: string): ActionsError {
  return new ActionsError(401, TYPE_NAMES.unauthorized, message);
}

export function scaleSetNotFound(id: number | string): ActionsError {
  return new ActionsError(
    404,
    TYPE_NAMES.scaleSetNotFound,
    `No runner scale set found with identifier ${id}.`,
  );
}

/** A JSON answer, with a leading byte order mark when the switch is on. */
export function actionsJson(
  settings: ScaleSetSettings,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: `${settings.bom ? '\uFEFF' : ''}${JSON.stringify(body)}`,
  };
}

export function noContent(status = 204): EmulatorResponse {
  return { status, headers: {}, body: '' };
}

export function errorAnswer(settings: ScaleSetSettings, error: ActionsError): EmulatorResponse {
  const code = error.typeName.split(',')[0]!.split('.').pop()!;
  if (settings.plainTextErrors) {
    return {
      status: error.status,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...error.headers },
      body: error.message,
      code,
    };
  }
  const answer = actionsJson(settings, error.status, { typeName: error.typeName, message: error.message });
  return { ...answer, headers: { ...answer.headers, ...error.headers }, code };
}

/** The router's error rendering for the protocol's route groups. */
export function renderActionsError(sc: ScaleSetContext): (error: unknown) => EmulatorResponse | undefined {
  return (error) => (error instanceof ActionsError ? errorAnswer(sc.settings, error) : undefined);
}

export function jsonObject(request: EmulatorRequest): Record<string, unknown> {
  if (request.json === undefined) return {};
  if (!request.json || typeof request.json !== 'object' || Array.isArray(request.json)) {
    throw badArgument('The request body must be a JSON object.');
  }
  return request.json as Record<string, unknown>;
}

/** RFC 3339 for job message times; Go's zero time for none. */
export function messageTime(sc: ScaleSetContext, time: number | undefined): string {
  return time === undefined ? '0001-01-01T00:00:00Z' : new Date(sc.gh.clock.toWall(time)).toISOString();
}

/** Fails the call when a broker error storm is on (the gateway answers before the service). */
function takeBrokerError(sc: ScaleSetContext, queueRoute: boolean): void {
  const storm = sc.store.brokerErrors.find((spec) => spec.routes !== 'queue' || queueRoute);
  if (!storm) return;
  storm.remaining -= 1;
  if (storm.remaining <= 0) sc.store.brokerErrors.splice(sc.store.brokerErrors.indexOf(storm), 1);
  const status = storm.status ?? 503;
  const headers: Record<string, string> =
    storm.retryAfterSeconds === undefined ? {} : { 'retry-after': String(storm.retryAfterSeconds) };
  throw new ActionsError(
    status,
    TYPE_NAMES.unavailable,
    `The service is unavailable (HTTP ${status}).`,
    headers,
  );
}

/** A route of the Actions service; `queue` routes are the ones a broker storm limited to the queue hits. */
export function actionsRoute(
  sc: ScaleSetContext,
  method: string,
  template: string,
  auth: 'admin' | 'queue',
  handler: RouteHandler,
): RouteSpec {
  return {
    method,
    template,
    auth,
    counted: false,
    handler(request, params) {
      takeBrokerError(sc, auth === 'queue');
      return handler(request, params);
    },
  };
}
