// The messages of a scale set's queue: job messages batched into messages (at most 50 each) with
// increasing ids, a statistics snapshot taken when a message is first delivered (then frozen, so a
// redelivery is identical) and a JSON-string body; and the wake-up of the polls held on the queue.
import type { EmulatorResponse } from '../../context.js';
import type { JobMessage, QueuedMessage, ScaleSetContext, ScaleSetRecord, SessionRecord } from './context.js';
import { actionsJson } from './http.js';
import { statistics } from './statistics.js';
import { tenantBase } from './tokens.js';

export const MAX_JOB_MESSAGES = 50;

/** The queue URL a session hands out; ack URLs are `<its path>/{messageId}` with its query kept. */
export function messageQueueUrl(sc: ScaleSetContext, set: ScaleSetRecord, session: SessionRecord): string {
  const tenant = [...sc.store.tenants.values()].find((candidate) => candidate.id === set.tenantId)!;
  const origin = new URL(tenantBase(tenant)).origin;
  return `${origin}/broker/scalesets/${set.id}/messages?sessionId=${session.id}`;
}

/** Wakes the set's held polls once the current burst of changes is over (so a burst is one message). */
export function wakePolls(sc: ScaleSetContext, scaleSetId: number): void {
  const { store } = sc;
  if (store.wakeScheduled.has(scaleSetId)) return;
  store.wakeScheduled.add(scaleSetId);
  setImmediate(() => {
    store.wakeScheduled.delete(scaleSetId);
    for (const wake of [...(store.waiters.get(scaleSetId) ?? [])]) wake();
  });
}

/** Adds a job message to the newest message not yet delivered, or to a new one. */
export function emit(sc: ScaleSetContext, set: ScaleSetRecord, message: JobMessage): void {
  const last = set.messages.at(-1);
  if (last && last.statistics === undefined && last.jobMessages.length < MAX_JOB_MESSAGES) {
    last.jobMessages.push(message);
  } else {
    set.messages.push({ id: ++sc.store.counters.messageId, jobMessages: [message] });
  }
  wakePolls(sc, set.id);
}

export function nextMessage(set: ScaleSetRecord, lastMessageId: number): QueuedMessage | undefined {
  return set.messages.find((message) => message.id > lastMessageId);
}

export function messageAnswer(
  sc: ScaleSetContext,
  set: ScaleSetRecord,
  message: QueuedMessage,
): EmulatorResponse {
  message.statistics ??= statistics(sc, set);
  return actionsJson(sc.settings, 200, {
    messageId: message.id,
    messageType: 'RunnerScaleSetJobMessages',
    statistics: message.statistics,
    body: JSON.stringify(message.jobMessages),
  });
}

/** The session ends: its queue token stops working and its held polls are answered. */
export function endSession(sc: ScaleSetContext, set: ScaleSetRecord, session: SessionRecord): void {
  sc.store.queueTokens.delete(session.queueToken);
  if (set.session === session) delete set.session;
  wakePolls(sc, set.id);
}
