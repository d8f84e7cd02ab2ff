// Message sessions: at most one per scale set (a second create gets 409 until the first is deleted,
// or its owner stayed silent for the session timeout, or a crashed session's hold is over); PATCH
// hands out a new queue token (the old one stops working); an evicted session answers PATCH 404
// and DELETE 400, as the service does for sessions it no longer knows.
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../../context.js';
import type { RouteSpec } from '../../router.js';
import type { ScaleSetContext, ScaleSetRecord, SessionRecord } from './context.js';
import { ActionsError, actionsJson, actionsRoute, jsonObject, noContent, TYPE_NAMES } from './http.js';
import { endSession, messageQueueUrl, wakePolls } from './messages.js';
import { scaleSetJson, scaleSetOf } from './scale-sets.js';
import { statistics } from './statistics.js';
import { issueQueueToken, sessionIsCurrent, touchSession } from './tokens.js';

/** Whether a session can give way to a new one: a crash's hold is over, or its owner went silent. */
function releasable(sc: ScaleSetContext, session: SessionRecord): boolean {
  const now = sc.gh.clock.now();
  if (session.crashed) return session.heldUntil !== undefined && now >= session.heldUntil;
  const timeout = sc.settings.sessionTimeoutMs;
  const silent =
    now - session.lastActivity.at >= timeout && Date.now() - session.lastActivity.wallAt >= timeout;
  return session.pollsInFlight === 0 && silent;
}

function sessionJson(sc: ScaleSetContext, set: ScaleSetRecord, session: SessionRecord, base: string) {
  const empty = sc.store.emptyQueueUrls > 0;
  if (empty) sc.store.emptyQueueUrls -= 1;
  return {
    sessionId: session.id,
    ownerName: session.ownerName,
    runnerScaleSet: scaleSetJson(sc, set, base),
    messageQueueUrl: empty ? '' : messageQueueUrl(sc, set, session),
    messageQueueAccessToken: session.queueToken,
    statistics: statistics(sc, set),
  };
}

function conflict(set: ScaleSetRecord, held: SessionRecord): ActionsError {
  return new ActionsError(
    409,
    TYPE_NAMES.sessionConflict,
    `The actions runner scaleset ${set.name} already has an active session for owner ${held.ownerName}.`,
  );
}

/** Opens a session for `ownerName` (the routes and the crash fault's stand-in owner). */
export function openSession(sc: ScaleSetContext, set: ScaleSetRecord, ownerName: string): SessionRecord {
  const held = set.session;
  if (held) {
    if (!releasable(sc, held)) throw conflict(set, held);
    endSession(sc, set, held);
  }
  const now = sc.gh.clock.now();
  const session: SessionRecord = {
    id: randomUUID(),
    scaleSetId: set.id,
    ownerName,
    queueToken: '',
    queueTokenExpiresAt: now,
    lastActivity: { at: now, wallAt: Date.now() },
    pollsInFlight: 0,
    crashed: false,
  };
  issueQueueToken(sc, session);
  set.session = session;
  return session;
}

function createSession(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { set, base } = scaleSetOf(sc, request, params);
  const { ownerName } = jsonObject(request);
  const session = openSession(sc, set, typeof ownerName === 'string' && ownerName ? ownerName : 'unknown');
  return actionsJson(sc.settings, 200, sessionJson(sc, set, session, base));
}

function evicted(sessionId: string | undefined): ActionsError {
  return new ActionsError(
    404,
    TYPE_NAMES.runnerAdmin,
    `runner referenced a session ID that doesn't exist in redis: ${sessionId ?? ''}`,
  );
}

function refreshSession(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { set, base } = scaleSetOf(sc, request, params);
  const session = set.session;
  if (!session || session.id !== params.session || !sessionIsCurrent(sc, session))
    throw evicted(params.session);
  issueQueueToken(sc, session);
  touchSession(sc, session);
  return actionsJson(sc.settings, 200, sessionJson(sc, set, session, base));
}

function deleteSession(
  sc: ScaleSetContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const { set } = scaleSetOf(sc, request, params);
  const session = set.session;
  if (!session || session.id !== params.session || !sessionIsCurrent(sc, session)) {
    throw new ActionsError(
      400,
      TYPE_NAMES.sessionExpired,
      `The session identifier ${params.session ?? ''} is not valid.`,
    );
  }
  endSession(sc, set, session);
  return noContent();
}

/** The crash fault: the owner is gone without a DELETE; the session is held for `holdMs`. */
export function crashSession(sc: ScaleSetContext, set: ScaleSetRecord, holdMs: number): SessionRecord {
  const session = set.session ?? openSession(sc, set, 'crashed-listener');
  sc.store.queueTokens.delete(session.queueToken);
  session.crashed = true;
  session.heldUntil = sc.gh.clock.now() + holdMs;
  wakePolls(sc, set.id);
  return session;
}

/** The eviction fault: the service forgets the session (PATCH 404, DELETE 400, queue calls 401). */
export function evictSession(sc: ScaleSetContext, set: ScaleSetRecord): boolean {
  if (!set.session) return false;
  endSession(sc, set, set.session);
  return true;
}

export function sessionRoutes(sc: ScaleSetContext): RouteSpec[] {
  const sessions = '/runtime/runnerscalesets/{scale_set_id}/sessions';
  return [
    actionsRoute(sc, 'POST', sessions, 'admin', (request, params) => createSession(sc, request, params)),
    actionsRoute(sc, 'PATCH', `${sessions}/{session}`, 'admin', (request, params) =>
      refreshSession(sc, request, params),
    ),
    actionsRoute(sc, 'DELETE', `${sessions}/{session}`, 'admin', (request, params) =>
      deleteSession(sc, request, params),
    ),
  ];
}
