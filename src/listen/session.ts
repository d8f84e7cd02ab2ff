// One scale set's message session, kept for as long as the listener runs: the scale set ensured, a session
// created (another holder's 409 waited out), the queue long-polled with the pool's max as
// X-ScaleSetMaxCapacity, each message acknowledged first, its JobAvailable requests acquired, its statistics
// and jobs handed on. A session the service lost (evicted, expired token, empty queue URL, scale set deleted)
// is created again; transient failures are waited out with backoff (p-retry). Only the stop signal ends it,
// and the session is deleted then, so that the next listener can take over at once.
import pRetry from 'p-retry';
import type { GitHubLog } from '../github/client.js';
import {
  ActionsServiceError,
  InvalidSessionError,
  QueueUnauthorizedError,
  ScaleSetNotFoundError,
  SessionConflictError,
  SessionGoneError,
} from '../github/scaleset/errors.js';
import type {
  JobMessage,
  ScaleSetClient,
  ScaleSetSession,
  ScaleSetStatistics,
} from '../github/scaleset/types.js';
import type { PoolConfig } from '../types.js';
import type { ScaleSetBackend } from './backend.js';
import { errorKind } from './metrics.js';

export interface RetryTimes {
  /** First wait after a failure. */
  minMs: number;
  /** Longest wait between attempts after failures. */
  maxMs: number;
  /** Longest wait between session creates while another session holds the set (the handover gap). */
  conflictMaxMs: number;
  /** How long a session DELETE may take when stopping. */
  stopMs: number;
}

export const DEFAULT_RETRY: RetryTimes = { minMs: 1_000, maxMs: 30_000, conflictMaxMs: 5_000, stopMs: 3_000 };

export interface SessionEvents {
  /** Statistics of a new session (the backlog), of a message, or (`idle`) a poll that brought nothing. */
  statistics(
    pool: string,
    statistics: ScaleSetStatistics | undefined,
    source: 'session' | 'message' | 'idle',
  ): void;
  jobs(pool: string, jobs: JobMessage[]): void;
  /** The pool has a session now (true) or lost it (false). */
  session(pool: string, held: boolean): void;
  /** A failure the listener survives, by kind. */
  error(pool: string, kind: string, error: unknown): void;
}

export interface SessionDeps {
  client: ScaleSetClient;
  backend: ScaleSetBackend;
  pool: PoolConfig;
  ownerName: string;
  log: GitHubLog;
  retry: RetryTimes;
  events: SessionEvents;
}

/** Errors after which the session is of no use: create a new one. */
function sessionBroken(error: unknown): boolean {
  return (
    error instanceof SessionGoneError ||
    error instanceof QueueUnauthorizedError ||
    error instanceof InvalidSessionError ||
    error instanceof ScaleSetNotFoundError ||
    (error instanceof ActionsServiceError && error.kind === 'http' && error.status === 404)
  );
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Creates a session, waiting out conflicts (another listener, or one that crashed) and transient failures. */
async function openSession(deps: SessionDeps, signal: AbortSignal): Promise<ScaleSetSession> {
  const { pool, backend, client, retry, events, log } = deps;
  let conflictLogged = false;
  return pRetry(
    async () => {
      const set = await backend.scaleSet();
      try {
        return await client.createSession(set.id, deps.ownerName);
      } catch (error) {
        // GitHub deleted the set (days without a listener, or by hand): ensure it again on the next attempt.
        if (error instanceof ScaleSetNotFoundError) backend.forget();
        throw error;
      }
    },
    {
      retries: Number.POSITIVE_INFINITY,
      factor: 1.5,
      minTimeout: retry.minMs,
      // A conflict ends when the other listener deletes its session: ask often, so the handover gap stays
      // short. (Transient failures were already retried by the client's transport.)
      maxTimeout: retry.conflictMaxMs,
      randomize: true,
      signal,
      onFailedAttempt: ({ error }) => {
        events.error(pool.name, errorKind(error), error);
        if (error instanceof SessionConflictError) {
          if (!conflictLogged) log.info(`pool ${pool.name}: ${error.message}; waiting for it to end`);
          conflictLogged = true;
        } else log.warning(`pool ${pool.name}: creating a message session failed: ${message(error)}`);
      },
      shouldRetry: () => !signal.aborted,
    },
  ).then((session) => {
    deps.log.info(
      `pool ${pool.name}: listening to scale set ${session.scaleSetId} (session ${session.sessionId})`,
    );
    return session;
  });
}

/** One queue call, transient failures retried with backoff; a broken session or the stop signal ends it. */
function queueCall<T>(
  deps: SessionDeps,
  signal: AbortSignal,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  return pRetry(call, {
    retries: Number.POSITIVE_INFINITY,
    factor: 2,
    minTimeout: deps.retry.minMs,
    maxTimeout: deps.retry.maxMs,
    randomize: true,
    signal,
    shouldRetry: ({ error }) => !signal.aborted && !sessionBroken(error),
    onFailedAttempt: ({ error }) => {
      if (signal.aborted) return;
      deps.events.error(deps.pool.name, errorKind(error), error);
      deps.log.warning(`pool ${deps.pool.name}: ${what} failed: ${message(error)}`);
    },
  });
}

/** Polls until the session breaks (returns) or the stop signal comes (throws its reason). */
async function poll(deps: SessionDeps, session: ScaleSetSession, signal: AbortSignal): Promise<void> {
  const { client, pool, events } = deps;
  let lastMessageId = 0;
  for (;;) {
    const received = await queueCall(deps, signal, 'reading the message queue', () =>
      client.getMessage(session, lastMessageId, pool.max, { signal }),
    );
    if (!received) {
      events.statistics(pool.name, undefined, 'idle');
      continue;
    }
    lastMessageId = received.messageId;
    // Acknowledged first (as GitHub's listener does): scaling reads the statistics, never counts messages.
    await queueCall(deps, signal, `acknowledging message ${received.messageId}`, () =>
      client.deleteMessage(session, received.messageId),
    );
    const available = received.jobs.flatMap((j) =>
      j.messageType === 'JobAvailable' ? [j.runnerRequestId] : [],
    );
    if (available.length > 0) {
      await queueCall(deps, signal, `acquiring ${available.length} job(s)`, () =>
        client.acquireJobs(session, available),
      );
    }
    events.jobs(pool.name, received.jobs);
    events.statistics(pool.name, received.statistics, 'message');
  }
}

async function deleteSession(deps: SessionDeps, session: ScaleSetSession): Promise<void> {
  const timeout = AbortSignal.timeout(deps.retry.stopMs);
  const answer = await Promise.race([
    deps.client.deleteSession(session).then(
      (result) => `session ${result}`,
      (error: unknown) => `deleting the session failed: ${message(error)}`,
    ),
    new Promise<string>((resolve) =>
      timeout.addEventListener('abort', () => resolve('deleting the session timed out')),
    ),
  ]);
  deps.log.info(`pool ${deps.pool.name}: ${answer}`);
}

/** Listens to the pool's scale set until `signal` aborts; never throws for anything else. */
export async function listenToPool(deps: SessionDeps, signal: AbortSignal): Promise<void> {
  const { pool, events, log } = deps;
  while (!signal.aborted) {
    let session: ScaleSetSession | undefined;
    try {
      session = await openSession(deps, signal);
      events.session(pool.name, true);
      events.statistics(pool.name, session.statistics, 'session');
      await poll(deps, session, signal);
    } catch (error) {
      if (signal.aborted) break;
      events.error(pool.name, errorKind(error), error);
      log.warning(`pool ${pool.name}: the message session ended (${message(error)}); creating a new one`);
    } finally {
      if (session) {
        events.session(pool.name, false);
        if (signal.aborted) await deleteSession(deps, session);
      }
    }
  }
}
