// Reading Octokit's request errors without depending on @octokit/request-error directly.

/** The HTTP status of an Octokit request error (500 for network failures), if it is one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number') {
    return error.status;
  }
  return undefined;
}

/** `HTTP <status>: <message>` for request errors, the message otherwise. Never includes request headers. */
export function describeGitHubError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = httpStatusOf(error);
  return status === undefined ? message : `HTTP ${status}: ${message}`;
}

/** A request its `beforeSend` callback cancelled: never sent, so nothing changed. */
export class RequestCancelled extends Error {
  override name = 'RequestCancelled';
}

/**
 * generate-jitconfig answered 409 for a runner of that name that is online or running a job: another run (or
 * an earlier attempt of this one) configured it and its instance is using it. Never replaced or removed here.
 */
export class RunnerAlreadyRegistered extends Error {
  override name = 'RunnerAlreadyRegistered';
  constructor(
    message: string,
    readonly runnerId: number,
    readonly state: 'online' | 'busy',
  ) {
    super(message);
  }
}
