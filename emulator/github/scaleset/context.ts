// What the modules of the runner scale set protocol share: the GitHub service's context, the
// protocol's settings (some are behaviour switches a test flips while the emulator runs) and its
// state (scale sets, sessions, queues, tokens, the jobs routed to scale sets).
import type { ScheduledEvent } from '../../clock.js';
import type { JobRecord, ScopeKey } from '../../state.js';
import type { GitHubContext } from '../context.js';

export type AssignmentMode = 'direct' | 'acquire';

export interface ScaleSetOptions {
  /** Lifetime of the admin token the runner-registration exchange hands out (emulator time). Default 1 h. */
  adminTokenLifetimeMs?: number;
  /** Lifetime of a session's message queue token (emulator time). Default 50 min. */
  queueTokenLifetimeMs?: number;
  /** How long a GET of the message queue holds when nothing is new, then answers 202 (real time). Default 50 s. */
  pollTimeoutMs?: number;
  /**
   * A session whose owner made no call for this long gives way to the next session create; silence
   * is measured in emulator time and in real time, so advance() alone never takes a session from a
   * listener that still polls. Also how long a crashed session is held by default (emulator time).
   * Default 2 min.
   */
  sessionTimeoutMs?: number;
  /** An offline JIT runner that never came online is removed after this long (emulator time). Default 1 h. */
  jitRunnerExpiryMs?: number;
  /**
   * `direct` (github.com): a matching job is assigned to the scale set at once (JobAssigned);
   * `acquire` (some GHES versions): JobAvailable first, assigned only once the listener acquires it.
   * Default `direct`.
   */
  assignment?: AssignmentMode;
  /**
   * An assigned job no runner of the set took within this long is reassigned: JobCompleted
   * `canceled`, then JobAssigned again after a growing delay, at most 3 times (emulator time).
   * Default: never.
   */
  reassignAfterMs?: number;
  /** Every Actions-service JSON answer starts with a UTF-8 byte order mark. Default false. */
  bom?: boolean;
  /** Actions-service errors come as text/plain instead of `{typeName, message}`. Default false. */
  plainTextErrors?: boolean;
}

export interface ScaleSetSettings {
  adminTokenLifetimeMs: number;
  queueTokenLifetimeMs: number;
  pollTimeoutMs: number;
  sessionTimeoutMs: number;
  jitRunnerExpiryMs: number;
  assignment: AssignmentMode;
  reassignAfterMs: number | undefined;
  bom: boolean;
  plainTextErrors: boolean;
}

export interface Label {
  name: string;
  type: string;
}

export interface Statistics {
  totalAvailableJobs: number;
  totalAcquiredJobs: number;
  totalAssignedJobs: number;
  totalRunningJobs: number;
  totalRegisteredRunners: number;
  totalBusyRunners: number;
  totalIdleRunners: number;
}

/** A job message as it goes into a message body (JobAvailable, JobAssigned, JobStarted, JobCompleted). */
export type JobMessage = Record<string, unknown> & { messageType: string };

export interface QueuedMessage {
  id: number;
  jobMessages: JobMessage[];
  /** Taken when the message is first delivered; it is then frozen (redelivered as it was). */
  statistics?: Statistics;
}

/** Where a job routed to a scale set stands. */
export type ScaleSetJobState =
  /** Waiting out the delay before a reassignment. */
  | 'requeued'
  /** Offered to the listener (JobAvailable), waiting for acquirejobs. */
  | 'available'
  /** Acquired, waiting for the set's capacity (X-ScaleSetMaxCapacity) to allow its assignment. */
  | 'acquired'
  /** Assigned to the set (JobAssigned), waiting for an idle runner of the set. */
  | 'assigned'
  | 'running';

export interface ScaleSetJob {
  job: JobRecord;
  scaleSetId: number;
  state: ScaleSetJobState;
  runnerRequestId: number;
  queueTime: number;
  scaleSetAssignTime?: number;
  runnerAssignTime?: number;
  runnerId?: number;
  runnerName?: string;
  reassignments: number;
  /** The reassignment timer or the reassignment delay. */
  timer?: ScheduledEvent;
}

export interface SessionRecord {
  id: string;
  scaleSetId: number;
  ownerName: string;
  queueToken: string;
  queueTokenExpiresAt: number;
  /** The owner's last call, in emulator time and in real time. */
  lastActivity: { at: number; wallAt: number };
  pollsInFlight: number;
  /** A crashed owner: nobody uses the session any more, but it is held until `heldUntil`. */
  crashed: boolean;
  heldUntil?: number;
}

export interface StaleStatistics {
  /** Phantom assigned jobs added to totalAssignedJobs (statistics stuck high). */
  extraAssigned?: number;
  /** Every job count reads 0 (while job messages still arrive). */
  zero?: boolean;
}

export interface ScaleSetRecord {
  id: number;
  tenantId: number;
  scope: ScopeKey;
  name: string;
  runnerGroupId: number;
  labels: Label[];
  disableUpdate: boolean;
  createdAt: number;
  session?: SessionRecord;
  messages: QueuedMessage[];
  /** Jobs routed to the set and not finished, by job id, in routing order. */
  jobs: Map<number, ScaleSetJob>;
  /** Runners registered through the set's generatejitconfig. */
  runnerIds: Set<number>;
  /** Online idle runners of the set: runner id -> starts a job on it (false when it no longer can). */
  idleRunners: Map<number, (job: JobRecord) => boolean>;
  /** The last X-ScaleSetMaxCapacity a poll sent; the set never holds more assigned jobs. */
  maxCapacity?: number;
  stale?: StaleStatistics;
}

export interface Tenant {
  id: number;
  scope: ScopeKey;
  /** The emulator's origin as the client reached it (the base URLs handed out are built on it). */
  origin: string;
}

export interface AdminToken {
  tenantId: number;
  expiresAt: number;
}

export interface PollRecord {
  scaleSetId: number;
  sessionId: string;
  /** Real time the poll arrived. */
  at: number;
  /** The X-ScaleSetMaxCapacity header, when it was a number. */
  maxCapacity?: number;
  lastMessageId: number;
  /** The status answered; undefined while the poll is held. */
  status?: number;
  messageId?: number;
}

export interface BrokerErrorSpec {
  /** Default 503. */
  status?: number;
  /** How many calls fail. Default 1. */
  times?: number;
  retryAfterSeconds?: number;
  /** `queue`: only the message queue (get, ack) and acquirejobs; `all`: every Actions-service call. Default `all`. */
  routes?: 'queue' | 'all';
}

export interface ScaleSetStore {
  tenants: Map<ScopeKey, Tenant>;
  sets: Map<number, ScaleSetRecord>;
  adminTokens: Map<string, AdminToken>;
  queueTokens: Map<string, SessionRecord>;
  /** Every job routed to a scale set and not finished, by job id. */
  jobs: Map<number, ScaleSetJob>;
  /** Runners of scale sets: runner id -> scale set id. */
  runnerSets: Map<number, number>;
  /** Runners that came online at least once (they do not expire as unused JIT runners). */
  connectedRunners: Set<number>;
  polls: PollRecord[];
  /** Held polls of each scale set, woken when its queue or session changes. */
  waiters: Map<number, Set<() => void>>;
  /** Scale sets whose waiters are to be woken once the current burst of changes is over. */
  wakeScheduled: Set<number>;
  brokerErrors: (BrokerErrorSpec & { remaining: number })[];
  /** How many of the next session answers carry an empty messageQueueUrl. */
  emptyQueueUrls: number;
  counters: { tenantId: number; scaleSetId: number; messageId: number; runnerRequestId: number };
}

export interface ScaleSetContext {
  gh: GitHubContext;
  settings: ScaleSetSettings;
  store: ScaleSetStore;
}

export function createScaleSetContext(gh: GitHubContext, options: ScaleSetOptions = {}): ScaleSetContext {
  const settings: ScaleSetSettings = {
    adminTokenLifetimeMs: options.adminTokenLifetimeMs ?? 3_600_000,
    queueTokenLifetimeMs: options.queueTokenLifetimeMs ?? 3_000_000,
    pollTimeoutMs: options.pollTimeoutMs ?? 50_000,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 120_000,
    jitRunnerExpiryMs: options.jitRunnerExpiryMs ?? 3_600_000,
    assignment: options.assignment ?? 'direct',
    reassignAfterMs: options.reassignAfterMs,
    bom: options.bom ?? false,
    plainTextErrors: options.plainTextErrors ?? false,
  };
  const store: ScaleSetStore = {
    tenants: new Map(),
    sets: new Map(),
    adminTokens: new Map(),
    queueTokens: new Map(),
    jobs: new Map(),
    runnerSets: new Map(),
    connectedRunners: new Set(),
    polls: [],
    waiters: new Map(),
    wakeScheduled: new Set(),
    brokerErrors: [],
    emptyQueueUrls: 0,
    counters: { tenantId: 0, scaleSetId: 0, messageId: 100_000_000, runnerRequestId: 700_000 },
  };
  return { gh, settings, store };
}
