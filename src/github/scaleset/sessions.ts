// Message sessions and their queue. The queue URL and token live here, keyed by the session object the
// caller holds, so they never sit on anything the caller could print. A 401 from the queue (the token
// expires, ~hourly) refreshes the session once and retries once; a refresh answered 404 means the
// service evicted the session.
import {
  ActionsServiceError,
  BadAnswerError,
  InvalidSessionError,
  QueueUnauthorizedError,
  ScaleSetNotFoundError,
  SessionConflictError,
  SessionGoneError,
} from './errors.js';
import { SCALE_SETS_PATH } from './scale-sets.js';
import type { ActionsService, ServiceResponse } from './service.js';
import type { ScaleSetClient, ScaleSetSession } from './types.js';
import { acquiredJobsSchema, parseAnswer, sessionSchema, toMessage } from './wire.js';

type SessionOps = Pick<
  ScaleSetClient,
  'createSession' | 'refreshSession' | 'deleteSession' | 'getMessage' | 'deleteMessage' | 'acquireJobs'
>;

interface QueueAccess {
  queueUrl: string;
  token: string;
  /** A refresh under way, shared by every call that met the same expired token. */
  refreshing?: Promise<void>;
}

export function createSessionOps(service: ActionsService): SessionOps {
  const { log } = service;
  const queues = new WeakMap<ScaleSetSession, QueueAccess>();

  const sessionPath = (session: { scaleSetId: number; sessionId: string }) =>
    `${SCALE_SETS_PATH}/${session.scaleSetId}/sessions/${encodeURIComponent(session.sessionId)}`;

  function accessOf(session: ScaleSetSession): QueueAccess {
    const access = queues.get(session);
    if (!access) throw new Error(`session ${session.sessionId}: not created by this client, or deleted`);
    return access;
  }

  /** Checks a create/refresh answer; an unusable session is deleted (best effort) so a new one can start. */
  async function readSession(response: ServiceResponse, scaleSetId: number) {
    const body = response.body as { messageQueueAccessToken?: unknown } | undefined;
    if (typeof body?.messageQueueAccessToken === 'string' && body.messageQueueAccessToken !== '') {
      log.setSecret(body.messageQueueAccessToken);
    }
    const wire = parseAnswer(sessionSchema, response.body, response);
    const missing = [
      wire.sessionId === '' ? 'sessionId' : '',
      isHttpUrl(wire.messageQueueUrl) ? '' : 'messageQueueUrl',
      wire.messageQueueAccessToken === '' ? 'messageQueueAccessToken' : '',
    ].filter(Boolean);
    if (missing.length === 0) return wire;
    const deleted = wire.sessionId !== '' && (await deleteQuietly({ scaleSetId, sessionId: wire.sessionId }));
    throw new InvalidSessionError(
      response,
      `${response.method} ${response.path}: session answer without a usable ${missing.join(', ')}` +
        (deleted ? ' (session deleted)' : ''),
      deleted,
    );
  }

  async function deleteQuietly(session: { scaleSetId: number; sessionId: string }): Promise<boolean> {
    try {
      await service.call('DELETE', sessionPath(session), { scaleSetId: session.scaleSetId });
      return true;
    } catch (error) {
      log.warning(`Deleting unusable session ${session.sessionId} failed: ${String(error)}`);
      return false;
    }
  }

  async function createSession(scaleSetId: number, ownerName: string): Promise<ScaleSetSession> {
    let response: ServiceResponse;
    try {
      response = await service.call('POST', `${SCALE_SETS_PATH}/${scaleSetId}/sessions`, {
        body: { ownerName },
        scaleSetId,
      });
    } catch (error) {
      throw sessionCreateError(error);
    }
    const wire = await readSession(response, scaleSetId);
    const session: ScaleSetSession = Object.freeze({
      sessionId: wire.sessionId,
      scaleSetId,
      ownerName: wire.ownerName || ownerName,
      statistics: wire.statistics ?? undefined,
    });
    queues.set(session, { queueUrl: wire.messageQueueUrl, token: wire.messageQueueAccessToken });
    log.debug(`Session ${session.sessionId} on scale set ${scaleSetId} for ${session.ownerName}`);
    return session;
  }

  async function patchSession(session: ScaleSetSession, access: QueueAccess): Promise<void> {
    let response: ServiceResponse;
    try {
      response = await service.call('PATCH', sessionPath(session), { scaleSetId: session.scaleSetId });
    } catch (error) {
      throw sessionGoneError(error, session);
    }
    const wire = await readSession(response, session.scaleSetId);
    access.queueUrl = wire.messageQueueUrl;
    access.token = wire.messageQueueAccessToken;
    log.debug(`Session ${session.sessionId} refreshed`);
  }

  /** One PATCH per expired token, however many calls met it at once. */
  function refresh(session: ScaleSetSession, expiredToken?: string): Promise<void> {
    const access = accessOf(session);
    if (expiredToken !== undefined && access.token !== expiredToken) return Promise.resolve();
    access.refreshing ??= patchSession(session, access).finally(() => (access.refreshing = undefined));
    return access.refreshing;
  }

  /** Runs a queue call; on 401 refreshes the session and runs it once more. */
  async function withQueueToken<T>(
    session: ScaleSetSession,
    run: (access: QueueAccess) => Promise<T>,
  ): Promise<T> {
    const access = accessOf(session);
    const token = access.token;
    try {
      return await run(access);
    } catch (error) {
      if (!(error instanceof ActionsServiceError) || error.status !== 401) throw error;
      log.debug(`${error.message}; refreshing session ${session.sessionId}`);
    }
    await refresh(session, token);
    try {
      return await run(accessOf(session));
    } catch (error) {
      if (error instanceof ActionsServiceError && error.status === 401) {
        throw new QueueUnauthorizedError(error, `${error.message} (again after refreshing the session)`);
      }
      throw error;
    }
  }

  return {
    createSession,
    refreshSession: (session) => refresh(session),
    async deleteSession(session) {
      let result: 'deleted' | 'gone' = 'deleted';
      try {
        await service.call('DELETE', sessionPath(session), { scaleSetId: session.scaleSetId });
      } catch (error) {
        const typed = sessionGoneError(error, session);
        if (!(typed instanceof SessionGoneError || typed instanceof ScaleSetNotFoundError)) throw typed;
        result = 'gone';
      }
      queues.delete(session);
      return result;
    },
    ...createQueueCalls(service, withQueueToken),
  };
}

type WithQueueToken = <T>(session: ScaleSetSession, run: (access: QueueAccess) => Promise<T>) => Promise<T>;

function createQueueCalls(
  service: ActionsService,
  withQueueToken: WithQueueToken,
): Pick<SessionOps, 'getMessage' | 'deleteMessage' | 'acquireJobs'> {
  const { transport } = service;
  return {
    async getMessage(session, lastMessageId, maxCapacity, options = {}) {
      requireCount('lastMessageId', lastMessageId);
      requireCount('maxCapacity', maxCapacity);
      return withQueueToken(session, async (access) => {
        const url = new URL(access.queueUrl);
        if (lastMessageId > 0) url.searchParams.set('lastMessageId', String(lastMessageId));
        const response = await transport.send({
          method: 'GET',
          url,
          headers: {
            accept: 'application/json; api-version=6.0-preview',
            authorization: `Bearer ${access.token}`,
            'user-agent': service.userAgent(session.scaleSetId),
            'x-scalesetmaxcapacity': String(maxCapacity),
          },
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const call = { method: 'GET', path: url.pathname, status: response.status };
        // 202: the service held the poll (~50 s) and nothing came.
        if (response.status === 202 || response.status === 204) return undefined;
        if (response.status !== 200)
          throw new BadAnswerError(call, `GET ${url.pathname}: unexpected HTTP ${response.status}`);
        return toMessage(response.body, call);
      });
    },
    async deleteMessage(session, messageId) {
      requireCount('messageId', messageId);
      await withQueueToken(session, async (access) => {
        const url = new URL(access.queueUrl);
        url.pathname = `${url.pathname.replace(/\/+$/, '')}/${messageId}`;
        await transport.send({
          method: 'DELETE',
          url,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${access.token}`,
            'user-agent': service.userAgent(session.scaleSetId),
          },
        });
      });
    },
    async acquireJobs(session, runnerRequestIds) {
      if (runnerRequestIds.length === 0) return [];
      return withQueueToken(session, async (access) => {
        // The service URL comes with the admin connection; the call itself carries the queue token.
        const url = await service.url(`${SCALE_SETS_PATH}/${session.scaleSetId}/acquirejobs`);
        const response = await transport.send({
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            authorization: `Bearer ${access.token}`,
            'user-agent': service.userAgent(session.scaleSetId),
          },
          body: runnerRequestIds,
        });
        const call = { method: 'POST', path: url.pathname, status: response.status };
        return parseAnswer(acquiredJobsSchema, response.body, call).value ?? [];
      });
    },
  };
}

/** 409 = another session holds the set; 404 = the set is gone, whatever the typeName says. */
function sessionCreateError(error: unknown): unknown {
  if (!(error instanceof ActionsServiceError) || error.kind !== 'http') return error;
  if (error.status === 409) return new SessionConflictError(error);
  if (error.status === 404) return new ScaleSetNotFoundError(error);
  return error;
}

/** A PATCH or DELETE of a session answered 404 (or a session exception): the session is gone. */
function sessionGoneError(error: unknown, session: ScaleSetSession): unknown {
  if (!(error instanceof ActionsServiceError) || error.kind !== 'http' || error.status !== 404) return error;
  return new SessionGoneError(error, `${error.message} (session ${session.sessionId} was evicted)`);
}

function requireCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name}: got ${value}, expected a whole number from 0`);
  }
}

function isHttpUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}
