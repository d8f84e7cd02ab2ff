// The runner scale set protocol as the listener sees it: scale sets, sessions, the message queue and the
// scale set's runners. Tokens never appear in these types: the client keeps them to itself.
import type { GitHubScope } from '../../types.js';
import type { GitHubAuth, GitHubLog } from '../client.js';

/** Counters GitHub attaches to a session and to every message; all default to 0 when absent. */
export interface ScaleSetStatistics {
  totalAvailableJobs: number;
  totalAcquiredJobs: number;
  /** Jobs assigned to the scale set, waiting or running: the scaling input. */
  totalAssignedJobs: number;
  totalRunningJobs: number;
  totalRegisteredRunners: number;
  totalBusyRunners: number;
  totalIdleRunners: number;
}

export interface ScaleSet {
  id: number;
  name: string;
  runnerGroupId: number;
  runnerGroupName: string;
  /** Label names, in the service's order. */
  labels: string[];
  disableUpdate: boolean;
  statistics?: ScaleSetStatistics;
}

export interface RunnerGroup {
  id: number;
  name: string;
  isDefault: boolean;
}

export interface EnsureScaleSetRequest {
  name: string;
  /** Every label a job's `runs-on` may name; sent as given (the scale set name when empty). */
  labels: string[];
  /** Runner group name; absent or "default" means the default group (id 1), without a lookup. */
  runnerGroup?: string;
  /** Runner group id, when no name is given: used without a lookup. */
  runnerGroupId?: number;
  /** Sent as RunnerSetting.disableUpdate (default true: the image pins the runner version). */
  disableUpdate?: boolean;
  /** The id the caller saw last: found by id even when it moved to another group. */
  knownId?: number;
}

export interface EnsureScaleSetResult {
  scaleSet: ScaleSet;
  /** found: as requested already; created: there was none; updated: labels, group or setting PATCHed. */
  action: 'found' | 'created' | 'updated';
}

/**
 * A message session. Pass the object createSession returned to the queue calls: the client keeps the
 * queue URL and token for it (and replaces them on refresh), so the object itself holds no secret.
 */
export interface ScaleSetSession {
  readonly sessionId: string;
  readonly scaleSetId: number;
  readonly ownerName: string;
  /** The statistics at creation: the backlog to scale from at once. */
  readonly statistics: ScaleSetStatistics | undefined;
}

/** Fields every job message carries (zero values when the service leaves them out). */
export interface JobMessageBase {
  runnerRequestId: number;
  repositoryName: string;
  ownerName: string;
  jobId: string;
  jobWorkflowRef: string;
  jobDisplayName: string;
  workflowRunId: number;
  eventName: string;
  requestLabels: string[];
  /** Undefined when absent, unparsable or the zero time (0001-01-01). */
  queueTime?: Date;
  scaleSetAssignTime?: Date;
  runnerAssignTime?: Date;
  finishTime?: Date;
}

export interface JobAvailable extends JobMessageBase {
  messageType: 'JobAvailable';
  acquireJobUrl: string;
}

export interface JobAssigned extends JobMessageBase {
  messageType: 'JobAssigned';
}

export interface JobStarted extends JobMessageBase {
  messageType: 'JobStarted';
  runnerId: number;
  runnerName: string;
}

export interface JobCompleted extends JobMessageBase {
  messageType: 'JobCompleted';
  /** succeeded, failed, canceled… (free text). */
  result: string;
  runnerId: number;
  runnerName: string;
}

export type JobMessage = JobAvailable | JobAssigned | JobStarted | JobCompleted;

export interface ScaleSetMessage {
  messageId: number;
  /** RunnerScaleSetJobMessages; another type carries no jobs (the caller acknowledges it and moves on). */
  messageType: string;
  statistics?: ScaleSetStatistics;
  /** Job messages of known types, in the order of the body. */
  jobs: JobMessage[];
  /** messageType of each job message skipped because its type is unknown. */
  ignoredTypes: string[];
}

export interface ScaleSetRunner {
  id: number;
  name: string;
  scaleSetId: number;
  /** online, offline or busy as reported; undefined when the answer does not say. */
  status?: string;
  /** A job is assigned to it now (assignedRequest present). */
  hasAssignedJob: boolean;
  /** It ran a job already (lastCompletedRequest present). */
  hasCompletedJob: boolean;
}

export type GenerateJitConfigResult =
  | { status: 'created'; runner: ScaleSetRunner; encodedJitConfig: string }
  /** The name is taken by a runner that may be in use (or belongs to another scale set): pick another name. */
  | { status: 'exists'; runner: ScaleSetRunner | undefined };

/**
 * deleted: gone now; busy: a job is running on it (JobStillRunning), try later; not-found: it was already gone;
 * cancelled: the caller's `beforeSend` check said no, so the DELETE was never sent.
 */
export type RemoveRunnerResult = 'deleted' | 'busy' | 'not-found' | 'cancelled';

export interface RemoveRunnerOptions {
  /** Runs right before each attempt of the DELETE is sent; resolving false cancels it. */
  beforeSend?: () => Promise<boolean>;
}

export interface GenerateJitConfigOptions {
  workFolder?: string;
  /**
   * Runs right before the DELETE of an unused runner that holds the name (AgentExists); resolving false keeps
   * that runner and answers `exists`.
   */
  beforeReplace?: () => Promise<boolean>;
}

export interface GetMessageOptions {
  /** Aborts a long poll (e.g. on SIGTERM); the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ScaleSetClient {
  /** The configuration URL the scale sets belong to: https://host/org or https://host/owner/repo. */
  readonly configUrl: string;
  findRunnerGroup(name: string): Promise<RunnerGroup>;
  /** Finds the scale set by id or name; creates it when absent; PATCHes labels, group or setting that differ. */
  ensureScaleSet(request: EnsureScaleSetRequest): Promise<EnsureScaleSetResult>;
  getScaleSet(id: number): Promise<ScaleSet | undefined>;
  findScaleSet(name: string, runnerGroupId: number): Promise<ScaleSet | undefined>;
  deleteScaleSet(id: number): Promise<'deleted' | 'not-found'>;
  /** SessionConflictError while another session holds the scale set; ScaleSetNotFoundError when it is gone. */
  createSession(scaleSetId: number, ownerName: string): Promise<ScaleSetSession>;
  /** PATCHes the session for a new queue token; SessionGoneError when the service evicted it. */
  refreshSession(session: ScaleSetSession): Promise<void>;
  /** gone: the service no longer knew it (expired, evicted or its scale set deleted). */
  deleteSession(session: ScaleSetSession): Promise<'deleted' | 'gone'>;
  /** Long poll: a message, or undefined when none came within the service's hold (~50 s). */
  getMessage(
    session: ScaleSetSession,
    lastMessageId: number,
    maxCapacity: number,
    options?: GetMessageOptions,
  ): Promise<ScaleSetMessage | undefined>;
  deleteMessage(session: ScaleSetSession, messageId: number): Promise<void>;
  /** Acquires JobAvailable requests; returns the runnerRequestIds the service handed to the scale set. */
  acquireJobs(session: ScaleSetSession, runnerRequestIds: number[]): Promise<number[]>;
  generateJitConfig(
    scaleSetId: number,
    name: string,
    options?: GenerateJitConfigOptions,
  ): Promise<GenerateJitConfigResult>;
  getRunner(id: number): Promise<ScaleSetRunner | undefined>;
  findRunner(name: string): Promise<ScaleSetRunner | undefined>;
  removeRunner(id: number, options?: RemoveRunnerOptions): Promise<RemoveRunnerResult>;
}

export interface ScaleSetClientOptions {
  auth: GitHubAuth;
  /** Web root, as GITHUB_SERVER_URL: https://github.com, https://ghes.example, http://127.0.0.1:4010. */
  serverUrl: string;
  /** The pools file's github scope (organization or repository). */
  scope: GitHubScope;
  log: GitHubLog;
  /**
   * The REST API root when it is known (GITHUB_API_URL inside Actions); derived from `serverUrl` otherwise.
   * The config URL always comes from `serverUrl`.
   */
  apiUrl?: string;
  /** Treat the host as GitHub Enterprise Server even when it looks hosted (GITHUB_ACTIONS_FORCE_GHES). */
  forceGhes?: boolean;
  /** Version shown in the User-Agent. */
  version?: string;
  /** Length of one second in retry waits and Retry-After. Tests shorten it. */
  secondMs?: number;
  /** Time limit of one attempt; a long poll holds ~50 s. Default 120 s. */
  requestTimeoutMs?: number;
  /** Retries of a transient failure (network, 429, 5xx but 501) after the first attempt. Default 4. */
  retries?: number;
  /** Clock for token expiry. */
  now?: () => number;
}
