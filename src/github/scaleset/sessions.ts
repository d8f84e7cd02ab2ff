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
import type { GetMessageOptions, ScaleSetClient, ScaleSetMessage, ScaleSetSession } from './types.js';
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

/** The Actions service and the queue access of each live session of one client. */
interface Sessions {
  service: ActionsService;
  queues: WeakMap<ScaleSetSession, QueueAccess>;
}

interface SessionRef {
  scaleSetId: number;
  sessionId: string;
}

export function createSessionOps(service: ActionsService): SessionOps {
  const sessions: Sessions = { service, queues: new WeakMap() };
  return {
    createSession: (scaleSetId, ownerName) => createSession(sessions, scaleSetId, ownerName),
    refreshSession: (session) => refresh(sessions, session),
    deleteSession: (session) => deleteSession(sessions, session),
    getMessage: (session, lastMessageId, maxCapacity, options) =>
      getMessage(sessions, session, lastMessageId, maxCapacity, options),
    deleteMessage: (session, messageId) => deleteMessage(sessions, session, messageId),
    acquireJobs: (session, ids) => acquireJobs(sessions, session, ids),
  };
}

const sessionPath = (session: SessionRef) =>
  `${SCALE_SETS_PATH}/${session.scaleSetId}/sessions/${encodeURIComponent(session.sessionId)}`;

function accessOf(sessions: Sessions, session: ScaleSetSession): QueueAccess {
  const access = sessions.queues.get(session);
  if (!access) throw new Error(`session ${session.sessionId}: not created by this client, or deleted`);
  return access;
}

async function createSession(
  sessions: Sessions,
  scaleSetId: number,
  ownerName: string,
): Promise<ScaleSetSession> {
  let response: ServiceResponse;
  try {
    response = await sessions.service.call('POST', `${SCALE_SETS_PATH}/${scaleSetId}/sessions`, {
      body: { ownerName },
      scaleSetId,
    });
  } catch (error) {
    throw sessionCreateError(error);
  }
  const wire = await readSession(sessions.service, response, scaleSetId);
  const session: ScaleSetSession = Object.freeze({
    sessionId: wire.sessionId,
    scaleSetId,
    ownerName: wire.ownerName || ownerName,
    statistics: wire.statistics ?? undefined,
  });
  sessions.queues.set(session, { queueUrl: wire.messageQueueUrl, token: wire.messageQueueAccessToken });
  sessions.service.log.debug(
    `Session ${session.sessionId} on scale set ${scaleSetId} for ${session.ownerName}`,
  );
  return session;
}

/** Checks a create/refresh answer; an unusable session is deleted (best effort) so a new one can start. */
async function readSession(service: ActionsService, response: ServiceResponse, scaleSetId: number) {
  const body = response.body as { messageQueueAccessToken?: unknown } | undefined;
  if (typeof body?.messageQueueAccessToken === 'string' && body.messageQueueAccessToken !== '') {
    service.log.setSecret(body.messageQueueAccessToken);
  }
  const wire = parseAnswer(sessionSchema, response.body, response);
  const missing = [
    wire.sessionId === '' ? 'sessionId' : '',
    isHttpUrl(wire.messageQueueUrl) ? '' : 'messageQueueUrl',
    wire.messageQueueAccessToken === '' ? 'messageQueueAccessToken' : '',
  ].filter(Boolean);
  if (missing.length === 0) return wire;
  const deleted =
    wire.sessionId !== '' && (await deleteQuietly(service, { scaleSetId, sessionId: wire.sessionId }));
  throw new InvalidSessionError(
    response,
    `${response.method} ${response.path}: session answer without a usable ${missing.join(', ')}` +
      (deleted ? ' (session deleted)' : ''),
    deleted,
  );
}

async function deleteQuietly(service: ActionsService, session: SessionRef): Promise<boolean> {
  try {
    await service.call('DELETE', sessionPath(session), { scaleSetId: session.scaleSetId });
    return true;
  } catch (error) {
    service.log.warning(`Deleting unusable session ${session.sessionId} failed: ${String(error)}`);
    return false;
  }
}

async function deleteSession(sessions: Sessions, session: ScaleSetSession): Promise<'deleted' | 'gone'> {
  let result: 'deleted' | 'gone' = 'deleted';
  try {
    await sessions.service.call('DELETE', sessionPath(session), { scaleSetId: session.scaleSetId });
  } catch (error) {
    const typed = sessionGoneError(error, session);
    if (!(typed instanceof SessionGoneError || typed instanceof ScaleSetNotFoundError)) throw typed;
    result = 'gone';
  }
  sessions.queues.delete(session);
  return result;
}

async function patchSession(
  sessions: Sessions,
  session: ScaleSetSession,
  access: QueueAccess,
): Promise<void> {
  let response: ServiceResponse;
  try {
    response = await sessions.service.call('PATCH', sessionPath(session), { scaleSetId: session.scaleSetId });
  } catch (error) {
    throw sessionGoneError(error, session);
  }
  const wire = await readSession(sessions.service, response, session.scaleSetId);
  access.queueUrl = wire.messageQueueUrl;
  access.token = wire.messageQueueAccessToken;
  sessions.service.log.debug(`Session ${session.sessionId} refreshed`);
}

/** One PATCH per expired token, however many calls met it at once. */
function refresh(sessions: Sessions, session: ScaleSetSession, expiredToken?: string): Promise<void> {
  const access = accessOf(sessions, session);
  if (expiredToken !== undefined && access.token !== expiredToken) return Promise.resolve();
  access.refreshing ??= patchSession(sessions, session, access).finally(
    () => (access.refreshing = undefined),
  );
  return access.refreshing;
}

/** Runs a queue call; on 401 refreshes the session and runs it once more. */
async function withQueueToken<T>(
  sessions: Sessions,
  session: ScaleSetSession,
  run: (access: QueueAccess) => Promise<T>,
): Promise<T> {
  const access = accessOf(sessions, session);
  const token = access.token;
  try {
    return await run(access);
  } catch (error) {
    if (!(error instanceof ActionsServiceError) || error.status !== 401) throw error;
    sessions.service.log.debug(`${error.message}; refreshing session ${session.sessionId}`);
  }
  await refresh(sessions, session, token);
  try {
    return await run(accessOf(sessions, session));
  } catch (error) {
    if (error instanceof ActionsServiceError && error.status === 401) {
      throw new QueueUnauthorizedError(error, `${error.message} (again after refreshing the session)`);
    }
    throw error;
  }
}

async function getMessage(
  sessions: Sessions,
  session: ScaleSetSession,
  lastMessageId: number,
  maxCapacity: number,
  options: GetMessageOptions = {},
): Promise<ScaleSetMessage | undefined> {
  requireCount('lastMessageId', lastMessageId);
  requireCount('maxCapacity', maxCapacity);
  const { service } = sessions;
  return withQueueToken(sessions, session, async (access) => {
    const url = new URL(access.queueUrl);
    // Appended to the raw query: the queue URL's own parameters go back exactly as the service wrote them.
    if (lastMessageId > 0)
      url.search = `${url.search || '?'}${url.search ? '&' : ''}lastMessageId=${lastMessageId}`;
    const response = await service.transport.send({
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
}

async function deleteMessage(sessions: Sessions, session: ScaleSetSession, messageId: number): Promise<void> {
  requireCount('messageId', messageId);
  const { service } = sessions;
  await withQueueToken(sessions, session, async (access) => {
    const url = new URL(access.queueUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${messageId}`;
    await service.transport.send({
      method: 'DELETE',
      url,
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${access.token}`,
        'user-agent': service.userAgent(session.scaleSetId),
      },
    });
  });
}

async function acquireJobs(
  sessions: Sessions,
  session: ScaleSetSession,
  runnerRequestIds: number[],
): Promise<number[]> {
  if (runnerRequestIds.length === 0) return [];
  const { service } = sessions;
  return withQueueToken(sessions, session, async (access) => {
    // The service URL comes with the admin connection; the call itself carries the queue token.
    const url = await service.url(`${SCALE_SETS_PATH}/${session.scaleSetId}/acquirejobs`);
    const response = await service.transport.send({
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
