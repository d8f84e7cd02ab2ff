// What tests, the demo and the benchmark read of the protocol's state (wall-clock times).
import type { Clock } from '../../clock.js';
import type {
  JobMessage,
  PollRecord,
  QueuedMessage,
  ScaleSetContext,
  ScaleSetJob,
  ScaleSetJobState,
  ScaleSetRecord,
  SessionRecord,
  Statistics,
} from './context.js';
import { statistics } from './statistics.js';

export interface ScaleSetSessionView {
  id: string;
  scaleSetId: number;
  ownerName: string;
  /** Held after a crash until `heldUntil`. */
  crashed: boolean;
  heldUntil?: Date;
  queueTokenExpiresAt: Date;
}

export interface ScaleSetView {
  id: number;
  name: string;
  scope: string;
  tenantId: number;
  runnerGroupId: number;
  labels: string[];
  /** What the service reports (stale-statistics faults included). */
  statistics: Statistics;
  session?: ScaleSetSessionView;
  /** The last X-ScaleSetMaxCapacity a poll sent. */
  maxCapacity?: number;
  /** Messages not acknowledged yet (delivered or not). */
  pendingMessages: number;
  runnerIds: number[];
}

export interface ScaleSetMessageView {
  messageId: number;
  /** Delivered at least once (its statistics are then frozen). */
  delivered: boolean;
  statistics?: Statistics;
  jobMessages: JobMessage[];
}

export interface ScaleSetJobView {
  jobId: number;
  scaleSetId: number;
  state: ScaleSetJobState;
  runnerRequestId: number;
  reassignments: number;
  runnerName?: string;
}

export interface ScaleSetPollView extends Omit<PollRecord, 'at'> {
  at: Date;
}

export function sessionView(clock: Clock, session: SessionRecord): ScaleSetSessionView {
  return {
    id: session.id,
    scaleSetId: session.scaleSetId,
    ownerName: session.ownerName,
    crashed: session.crashed,
    ...(session.heldUntil !== undefined ? { heldUntil: new Date(clock.toWall(session.heldUntil)) } : {}),
    queueTokenExpiresAt: new Date(clock.toWall(session.queueTokenExpiresAt)),
  };
}

export function scaleSetView(sc: ScaleSetContext, set: ScaleSetRecord): ScaleSetView {
  return {
    id: set.id,
    name: set.name,
    scope: set.scope,
    tenantId: set.tenantId,
    runnerGroupId: set.runnerGroupId,
    labels: set.labels.map((label) => label.name),
    statistics: statistics(sc, set),
    ...(set.session ? { session: sessionView(sc.gh.clock, set.session) } : {}),
    ...(set.maxCapacity !== undefined ? { maxCapacity: set.maxCapacity } : {}),
    pendingMessages: set.messages.length,
    runnerIds: [...set.runnerIds].filter((id) => sc.gh.state.runners.has(id)),
  };
}

export function messageView(message: QueuedMessage): ScaleSetMessageView {
  return {
    messageId: message.id,
    delivered: message.statistics !== undefined,
    ...(message.statistics ? { statistics: { ...message.statistics } } : {}),
    jobMessages: message.jobMessages.map((jobMessage) => ({ ...jobMessage })),
  };
}

export function jobView(entry: ScaleSetJob): ScaleSetJobView {
  return {
    jobId: entry.job.id,
    scaleSetId: entry.scaleSetId,
    state: entry.state,
    runnerRequestId: entry.runnerRequestId,
    reassignments: entry.reassignments,
    ...(entry.runnerName ? { runnerName: entry.runnerName } : {}),
  };
}

export function pollView(poll: PollRecord): ScaleSetPollView {
  return { ...poll, at: new Date(poll.at) };
}
