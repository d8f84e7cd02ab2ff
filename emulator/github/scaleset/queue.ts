// A scale set's message queue over HTTP, with the session's queue token: the long poll (the oldest
// un-acked message after lastMessageId at once, else held until one arrives or the poll timeout,
// then 202; each poll's X-ScaleSetMaxCapacity is recorded and bounds the set's assignments) and the
// acknowledgement (DELETE). The queue belongs to the scale set, so un-acked messages are
// redelivered to the next session too.
import type { EmulatorRequest, EmulatorResponse } from '../../context.js';
import type { RouteSpec } from '../../router.js';
import type { PollRecord, ScaleSetContext, ScaleSetRecord, SessionRecord } from './context.js';
import { actionsRoute, badArgument, errorAnswer, noContent, unauthorized } from './http.js';
import { assignWaiting } from './jobs.js';
import { messageAnswer, nextMessage } from './messages.js';
import { queueSession, sessionIsCurrent, touchSession } from './tokens.js';

const MAX_POLL_RECORDS = 10_000;

function intQuery(request: EmulatorRequest, name: string): number {
  const raw = request.query.get(name);
  if (raw === null || raw === '') return 0;
  if (!/^\d+$/.test(raw)) throw badArgument(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

/** The session of a queue call: its token, and the path and `sessionId` query of its queue URL. */
function queueCall(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const session = queueSession(sc, request);
  const set = sc.store.sets.get(session.scaleSetId)!;
  if (String(set.id) !== params.scale_set_id || request.query.get('sessionId') !== session.id) {
    throw badArgument(
      'The message queue URL does not belong to this session (its path and query must be kept).',
    );
  }
  return { session, set };
}

function recordPoll(
  sc: ScaleSetContext,
  set: ScaleSetRecord,
  session: SessionRecord,
  request: EmulatorRequest,
): PollRecord {
  const header = request.headers['x-scalesetmaxcapacity'];
  const raw = Array.isArray(header) ? header[0] : header;
  const poll: PollRecord = {
    scaleSetId: set.id,
    sessionId: session.id,
    at: Date.now(),
    lastMessageId: intQuery(request, 'lastMessageId'),
  };
  if (raw !== undefined && /^\d+$/.test(raw.trim())) poll.maxCapacity = Number(raw.trim());
  sc.store.polls.push(poll);
  if (sc.store.polls.length > MAX_POLL_RECORDS) sc.store.polls.shift();
  return poll;
}

/** Holds the poll until a message after lastMessageId exists, the session ends, or the timeout. */
function holdPoll(sc: ScaleSetContext, set: ScaleSetRecord, session: SessionRecord, poll: PollRecord) {
  const waiters = sc.store.waiters.get(set.id) ?? new Set<() => void>();
  sc.store.waiters.set(set.id, waiters);
  session.pollsInFlight += 1;
  return new Promise<EmulatorResponse>((resolve) => {
    const finish = (answer: EmulatorResponse) => {
      clearTimeout(timer);
      waiters.delete(check);
      session.pollsInFlight -= 1;
      touchSession(sc, session);
      poll.status = answer.status;
      resolve(answer);
    };
    const check = () => {
      if (!sessionIsCurrent(sc, session) || sc.store.sets.get(set.id) !== set) {
        return finish(errorAnswer(sc.settings, unauthorized('The message queue token is not valid.')));
      }
      const message = nextMessage(set, poll.lastMessageId);
      if (message) {
        poll.messageId = message.id;
        finish(messageAnswer(sc, set, message));
      }
    };
    const timer = setTimeout(() => finish(noContent(202)), sc.settings.pollTimeoutMs);
    timer.unref();
    waiters.add(check);
  });
}

function getMessage(
  sc: ScaleSetContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const { session, set } = queueCall(sc, request, params);
  const poll = recordPoll(sc, set, session, request);
  if (poll.maxCapacity !== undefined) {
    set.maxCapacity = poll.maxCapacity;
    assignWaiting(sc, set);
  }
  const message = nextMessage(set, poll.lastMessageId);
  if (message) {
    poll.messageId = message.id;
    poll.status = 200;
    return messageAnswer(sc, set, message);
  }
  return { ...noContent(202), deferred: holdPoll(sc, set, session, poll) };
}

function deleteMessage(
  sc: ScaleSetContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const { set } = queueCall(sc, request, params);
  const id = Number(params.message_id);
  const index = set.messages.findIndex((message) => message.id === id);
  // Only a delivered message can be acknowledged; deleting it again is harmless.
  if (index >= 0 && set.messages[index]!.statistics !== undefined) set.messages.splice(index, 1);
  return noContent();
}

/** The broker's routes (prefix `/broker`), authenticated by the session's queue token. */
export function queueRoutes(sc: ScaleSetContext): RouteSpec[] {
  const path = '/scalesets/{scale_set_id}/messages';
  return [
    actionsRoute(sc, 'GET', path, 'queue', (request, params) => getMessage(sc, request, params)),
    actionsRoute(sc, 'DELETE', `${path}/{message_id}`, 'queue', (request, params) =>
      deleteMessage(sc, request, params),
    ),
  ];
}
