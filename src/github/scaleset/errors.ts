// Typed failures of the scale set protocol. The service names its exceptions in `typeName`
// (assembly-qualified, e.g. "GitHub.Actions.Runtime.WebApi.AgentExistsException, GitHub.Actions.Runtime.WebApi"),
// so they are told apart by substring, whatever the HTTP status.

export type ScaleSetErrorKind =
  | 'http'
  | 'agent-exists'
  | 'agent-not-found'
  | 'job-still-running'
  | 'session-conflict'
  | 'scale-set-not-found'
  | 'session-gone'
  | 'queue-unauthorized'
  | 'invalid-session'
  | 'bad-answer'
  | 'auth';

/** What is known of one failed call; never holds a header value but the two request ids. */
export interface FailureDetails {
  method: string;
  /** URL path without its query. */
  path: string;
  status?: number;
  typeName?: string;
  serviceMessage?: string;
  /** Response header ActivityId. */
  activityId?: string;
  /** Response header X-GitHub-Request-Id. */
  requestId?: string;
  /** Network failure, timeout, 429 or 5xx but 501: worth trying again later. */
  transient?: boolean;
  cause?: unknown;
}

/** A call to the Actions service (or the GitHub API on its behalf) that failed. */
export class ActionsServiceError extends Error {
  override name = 'ActionsServiceError';
  readonly kind: ScaleSetErrorKind = 'http';
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly typeName?: string;
  readonly serviceMessage?: string;
  readonly activityId?: string;
  readonly requestId?: string;
  readonly transient: boolean;

  constructor(details: FailureDetails, message?: string) {
    super(
      message ?? describeFailure(details),
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.typeName = details.typeName;
    this.serviceMessage = details.serviceMessage;
    this.activityId = details.activityId;
    this.requestId = details.requestId;
    this.transient = details.transient ?? false;
  }
}

/** generatejitconfig: a runner with this name is registered already. */
export class AgentExistsError extends ActionsServiceError {
  override name = 'AgentExistsError';
  override readonly kind = 'agent-exists';
}

export class AgentNotFoundError extends ActionsServiceError {
  override name = 'AgentNotFoundError';
  override readonly kind = 'agent-not-found';
}

/** A runner's DELETE refused: a job is assigned to it. */
export class JobStillRunningError extends ActionsServiceError {
  override name = 'JobStillRunningError';
  override readonly kind = 'job-still-running';
}

/** Another session holds the scale set (a listener elsewhere, or one that crashed): wait and retry. */
export class SessionConflictError extends ActionsServiceError {
  override name = 'SessionConflictError';
  override readonly kind = 'session-conflict';
}

/** The scale set is gone (deleted by hand, or by GitHub after days without a listener): ensure it again. */
export class ScaleSetNotFoundError extends ActionsServiceError {
  override name = 'ScaleSetNotFoundError';
  override readonly kind = 'scale-set-not-found';
}

/** The service no longer knows the session (evicted, expired): create a new one. */
export class SessionGoneError extends ActionsServiceError {
  override name = 'SessionGoneError';
  override readonly kind = 'session-gone';
}

/** The queue refused the session's token again right after a refresh. */
export class QueueUnauthorizedError extends ActionsServiceError {
  override name = 'QueueUnauthorizedError';
  override readonly kind = 'queue-unauthorized';
}

/** An answer that does not have the protocol's shape. */
export class BadAnswerError extends ActionsServiceError {
  override name = 'BadAnswerError';
  override readonly kind = 'bad-answer';
}

/** A session answer without a usable queue URL, token or id (seen during broker incidents): create a new one. */
export class InvalidSessionError extends ActionsServiceError {
  override name = 'InvalidSessionError';
  override readonly kind = 'invalid-session';
  /** The client deleted the unusable session, so a new one will not conflict with it. */
  readonly sessionDeleted: boolean;

  constructor(details: FailureDetails, message: string, sessionDeleted: boolean) {
    super(details, message);
    this.sessionDeleted = sessionDeleted;
  }
}

/** A step of the token chain (installation, registration or admin token) failed. */
export class ScaleSetAuthError extends ActionsServiceError {
  override name = 'ScaleSetAuthError';
  override readonly kind = 'auth';
}

const BY_TYPE_NAME: ReadonlyArray<[string, new (details: FailureDetails) => ActionsServiceError]> = [
  ['AgentExistsException', AgentExistsError],
  ['AgentNotFoundException', AgentNotFoundError],
  ['JobStillRunningException', JobStillRunningError],
  ['RunnerScaleSetSessionConflictException', SessionConflictError],
  ['RunnerScaleSetNotFoundException', ScaleSetNotFoundError],
  ['SessionExpiredException', SessionGoneError],
  ['SessionNotFoundException', SessionGoneError],
];

/** The typed error for a failure, chosen by the exception named in typeName. */
export function classifyFailure(details: FailureDetails): ActionsServiceError {
  const typeName = details.typeName ?? '';
  const match = BY_TYPE_NAME.find(([fragment]) => typeName.includes(fragment));
  return match ? new match[1](details) : new ActionsServiceError(details);
}

/** "GitHub.Actions.X.FooException, GitHub.Actions.X" -> "FooException". */
export function shortTypeName(typeName: string): string {
  const qualified = typeName.split(',')[0]?.trim() ?? typeName;
  return qualified.slice(qualified.lastIndexOf('.') + 1);
}

export function describeFailure(details: FailureDetails): string {
  const what = details.status === undefined ? 'no answer' : `HTTP ${details.status}`;
  const exception = details.typeName ? ` ${shortTypeName(details.typeName)}` : '';
  const text = details.serviceMessage ? `: ${details.serviceMessage}` : '';
  const cause =
    details.status === undefined && details.cause instanceof Error ? ` (${details.cause.message})` : '';
  const ids = [
    details.activityId ? `activity id ${details.activityId}` : '',
    details.requestId ? `request id ${details.requestId}` : '',
  ].filter(Boolean);
  const idText = ids.length > 0 ? ` [${ids.join(', ')}]` : '';
  return `${details.method} ${details.path} failed: ${what}${exception}${text}${cause}${idText}`;
}

/** True for failures worth retrying later: network, timeout, 429, 5xx but 501. */
export function isTransientFailure(error: unknown): boolean {
  return error instanceof ActionsServiceError && error.transient;
}
