// The control API of the protocol for tests, the demo and the benchmark: what the service holds
// (scale sets, sessions, messages, polls, jobs), runners driven without an instance, behaviour
// switches, and the faults the protocol is known for.
import type { Conclusion, RunnerRecord } from '../../state.js';
import { completeJob } from '../runs.js';
import type {
  AssignmentMode,
  BrokerErrorSpec,
  ScaleSetContext,
  ScaleSetRecord,
  ScaleSetSettings,
  StaleStatistics,
  Statistics,
} from './context.js';
import { reassign } from './jobs.js';
import { connectRunner } from './runners.js';
import { removeScaleSet } from './scale-sets.js';
import { crashSession, evictSession } from './sessions.js';
import { statistics } from './statistics.js';
import {
  jobView,
  messageView,
  pollView,
  scaleSetView,
  sessionView,
  type ScaleSetJobView,
  type ScaleSetMessageView,
  type ScaleSetPollView,
  type ScaleSetSessionView,
  type ScaleSetView,
} from './views.js';

export type ScaleSetSwitches = Partial<
  Pick<
    ScaleSetSettings,
    | 'bom'
    | 'plainTextErrors'
    | 'pollTimeoutMs'
    | 'reassignAfterMs'
    | 'sessionTimeoutMs'
    | 'queueTokenLifetimeMs'
    | 'adminTokenLifetimeMs'
    | 'jitRunnerExpiryMs'
  >
>;

export interface ScaleSetControl {
  list(): ScaleSetView[];
  /** A scale set by id or name. */
  get(idOrName: number | string): ScaleSetView | undefined;
  statistics(scaleSetId: number): Statistics;
  sessions(): ScaleSetSessionView[];
  /** The set's messages not acknowledged yet, oldest first, bodies parsed. */
  messages(scaleSetId: number): ScaleSetMessageView[];
  /** Every poll of the message queue (of one set), with its X-ScaleSetMaxCapacity. */
  polls(scaleSetId?: number): ScaleSetPollView[];
  /** Jobs routed to scale sets and not finished. */
  jobs(scaleSetId?: number): ScaleSetJobView[];
  /** Brings a scale-set runner online without an instance; it runs one job for the job's duration, then leaves. */
  connectRunner(nameOrId: string | number): void;
  /** Ends a running (or waiting) scale-set job now. */
  finishJob(jobId: number, conclusion?: Exclude<Conclusion, null>): void;
  setAssignment(mode: AssignmentMode): void;
  setBehaviour(switches: ScaleSetSwitches): void;
  /** The session's owner dies without DELETE: new sessions get 409 for `holdMs` (default the session timeout). */
  crashSession(scaleSetId: number, holdMs?: number): ScaleSetSessionView;
  /** The service forgets the set's session: PATCH 404, DELETE 400, queue calls 401. */
  evictSession(scaleSetId: number): boolean;
  /** Queue tokens (of one set) expire now; answers how many did. */
  expireQueueTokens(scaleSetId?: number): number;
  /** Every admin token expires now; answers how many did. */
  expireAdminTokens(): number;
  /** Stale statistics for a set (assigned stuck high, or zeros); undefined restores the real ones. */
  staleStatistics(scaleSetId: number, stale: StaleStatistics | undefined): void;
  /** The service deletes the set behind the listener's back. */
  deleteScaleSet(scaleSetId: number): void;
  /** The next `times` Actions-service calls fail with a 5xx (and Retry-After). */
  brokerErrors(spec?: BrokerErrorSpec): { remove(): void; readonly remaining: number };
  /** The next `times` session answers carry an empty messageQueueUrl. */
  emptyQueueUrl(times?: number): void;
  /** No runner took the job: JobCompleted canceled, then JobAssigned again (the 4th time it is cancelled). */
  reassign(jobId: number): boolean;
}

function setOf(sc: ScaleSetContext, id: number): ScaleSetRecord {
  const set = sc.store.sets.get(id);
  if (!set) throw new Error(`no scale set ${id}; known: ${[...sc.store.sets.keys()].join(', ') || 'none'}`);
  return set;
}

function findRunner(sc: ScaleSetContext, nameOrId: string | number): RunnerRecord {
  for (const id of sc.store.runnerSets.keys()) {
    const runner = sc.gh.state.runners.get(id);
    if (runner && (runner.id === nameOrId || runner.name === nameOrId)) return runner;
  }
  throw new Error(`no scale-set runner ${nameOrId}`);
}

function expireQueueTokens(sc: ScaleSetContext, scaleSetId: number | undefined): number {
  let expired = 0;
  for (const session of sc.store.queueTokens.values()) {
    if (scaleSetId !== undefined && session.scaleSetId !== scaleSetId) continue;
    if (session.queueTokenExpiresAt <= sc.gh.clock.now()) continue;
    session.queueTokenExpiresAt = sc.gh.clock.now();
    expired += 1;
  }
  return expired;
}

function brokerErrors(sc: ScaleSetContext, spec: BrokerErrorSpec) {
  const entry = { ...spec, remaining: spec.times ?? 1 };
  sc.store.brokerErrors.push(entry);
  return {
    remove() {
      const index = sc.store.brokerErrors.indexOf(entry);
      if (index >= 0) sc.store.brokerErrors.splice(index, 1);
    },
    get remaining() {
      return Math.max(0, entry.remaining);
    },
  };
}

function views(
  sc: ScaleSetContext,
): Pick<ScaleSetControl, 'list' | 'get' | 'statistics' | 'sessions' | 'messages' | 'polls' | 'jobs'> {
  const sets = () => [...sc.store.sets.values()];
  return {
    list: () => sets().map((set) => scaleSetView(sc, set)),
    get(idOrName) {
      const set = sets().find((candidate) => candidate.id === idOrName || candidate.name === idOrName);
      return set ? scaleSetView(sc, set) : undefined;
    },
    statistics: (id) => statistics(sc, setOf(sc, id)),
    sessions: () => sets().flatMap((set) => (set.session ? [sessionView(sc.gh.clock, set.session)] : [])),
    messages: (id) => setOf(sc, id).messages.map(messageView),
    polls: (id) => sc.store.polls.filter((poll) => id === undefined || poll.scaleSetId === id).map(pollView),
    jobs: (id) =>
      [...sc.store.jobs.values()].filter((entry) => id === undefined || entry.scaleSetId === id).map(jobView),
  };
}

export function createScaleSetControl(sc: ScaleSetContext): ScaleSetControl {
  const { settings, store, gh } = sc;
  return {
    ...views(sc),
    connectRunner: (nameOrId) => connectRunner(sc, findRunner(sc, nameOrId)),
    finishJob(jobId, conclusion = 'success') {
      const job = gh.state.jobs.get(jobId);
      if (!job || !store.jobs.has(jobId)) throw new Error(`job ${jobId} is not a scale-set job in progress`);
      completeJob(gh, job, conclusion);
    },
    setAssignment(mode) {
      settings.assignment = mode;
    },
    setBehaviour(switches) {
      Object.assign(settings, switches);
    },
    crashSession: (id, holdMs) =>
      sessionView(gh.clock, crashSession(sc, setOf(sc, id), holdMs ?? settings.sessionTimeoutMs)),
    evictSession: (id) => evictSession(sc, setOf(sc, id)),
    expireQueueTokens: (id) => expireQueueTokens(sc, id),
    expireAdminTokens() {
      let expired = 0;
      for (const token of store.adminTokens.values()) {
        if (token.expiresAt <= gh.clock.now()) continue;
        token.expiresAt = gh.clock.now();
        expired += 1;
      }
      return expired;
    },
    staleStatistics(id, stale) {
      const set = setOf(sc, id);
      if (stale) set.stale = { ...stale };
      else delete set.stale;
    },
    deleteScaleSet: (id) => removeScaleSet(sc, setOf(sc, id), true),
    brokerErrors: (spec = {}) => brokerErrors(sc, spec),
    emptyQueueUrl(times = 1) {
      store.emptyQueueUrls += times;
    },
    reassign(jobId) {
      const entry = store.jobs.get(jobId);
      if (!entry || entry.state === 'running') return false;
      reassign(sc, entry);
      return true;
    },
  };
}
