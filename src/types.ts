// Domain types shared by the gateways, the engine and the report.
// The resource contract (tags, names, parameter paths) lives in contract.ts.
import type { MinSchedule, ScheduledMin } from './engine/schedule.js';

export type Mode = 'scale-up' | 'scale-down' | 'reconcile' | 'drain';
/** What the action's `mode` input selects: a planning mode, or the long-running scale-set listener. */
export type RunMode = Mode | 'listen';
export type Market = 'on-demand' | 'spot' | 'spot-with-fallback';
export type Registration = 'jit' | 'token';

export type GitHubScope = { kind: 'org'; org: string } | { kind: 'repo'; owner: string; repo: string };

export interface PoolConfig {
  name: string;
  labels: string[];
  region: string;
  /** `lt-…` ids are ids, anything else is a launch template name. */
  launchTemplate: { id?: string; name?: string; version: string };
  instanceTypes: string[];
  subnets: string[];
  market: Market;
  registration: Registration;
  min: number;
  max: number;
  idleTimeoutMs: number;
  bootTimeoutMs: number;
  minLifetimeMs: number;
  maxLifetimeMs: number;
  /**
   * How long an insufficient-capacity shortfall with no fallback left is a warning before it fails the run
   * (default 30m when not set).
   */
  capacityTimeoutMs?: number;
  /** `owner/name` repositories polled for queued jobs. */
  repositories: string[];
  /** `min` by time of day and day of week; `min` applies outside every window. */
  schedule?: MinSchedule;
  /** The pool is a runner scale set of this name: its runners register through the set (listen mode). */
  scaleSet?: { name: string };
}

export interface Config {
  environment: string;
  /** The DynamoDB table shared by every run of the environment, and its region. */
  coordination: { table: string; region: string };
  github: { scope: GitHubScope; runnerGroupId: number; runnerGroup?: string };
  pools: PoolConfig[];
  /** Publish per-pool CloudWatch metrics once per run (PutMetricData) in this namespace and region. */
  metrics?: { namespace: string; region: string };
}

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'stopping' | 'stopped' | 'terminated';

export interface Instance {
  id: string;
  region: string;
  state: InstanceState;
  launchTime: Date;
  /** Value of the pool tag; undefined when the tag is missing. */
  pool?: string;
  /** First sighting as idle (tag runner-scaler:idle-since). */
  idleSince?: Date;
  /** The instance reported a job start (tag runner-scaler:job-started). */
  jobStartedAt?: Date;
  /** First sighting of its runner offline past bootTimeout (tag runner-scaler:stale-since). */
  staleSince?: Date;
  tags: Record<string, string>;
  /** A stand-in for an instance a launch record names that the listing does not show (yet). Never acted on. */
  unlisted?: boolean;
}

export interface Runner {
  id: number;
  name: string;
  status: 'online' | 'offline';
  busy: boolean;
  labels: string[];
  ephemeral?: boolean;
}

export interface Parameter {
  name: string;
  region: string;
  /** Instance id parsed from the name; undefined for pool-level parameters. */
  instanceId?: string;
  lastModified?: Date;
}

export interface QueuedJob {
  id: number;
  runId: number;
  /** `owner/name` */
  repository: string;
  labels: string[];
  name?: string;
  /** When GitHub queued the job (its created_at), when known. */
  createdAt?: Date;
}

/** What one read of the world returned; `complete` is false for a failed or partial read. */
export interface Read<T> {
  items: T[];
  complete: boolean;
  error?: string;
}

/** A repository whose queued jobs could not be read: the pools that poll it do not know their demand. */
export interface DemandGap {
  repository: string;
  error: string;
  /** The HTTP status when GitHub answered one (404 and 403 are configuration errors). */
  status?: number;
}

/** What the coordination store told this run. */
export interface Coordination {
  /**
   * `held`: this run holds the environment's lease and may launch; `busy`: another run held it longer than
   * this run could wait; `unavailable`: the store failed; `none`: the run does not launch (no lease taken).
   */
  lease: 'held' | 'busy' | 'unavailable' | 'none';
  /** Unexpired launch records (what EC2 may not list yet) and the pools' boot-failure breakers. */
  launches: LaunchRecord[];
  breakers: BreakerRecord[];
  /** The pools' insufficient-capacity shortages, since when they last (absent when the store was not read). */
  shortages?: ShortageRecord[];
  /** Whether `launches` and `breakers` were read (false when the store failed). */
  read: boolean;
  error?: string;
  /** The other holder, when `busy`. */
  heldBy?: string;
}

export interface Snapshot {
  instances: Read<Instance>;
  runners: Read<Runner>;
  parameters: Read<Parameter>;
  /** Queued jobs; incomplete when any source failed (see demandGaps for which repositories). */
  jobs: Read<QueuedJob>;
  demandGaps: DemandGap[];
  coordination: Coordination;
}

// ---------------------------------------------------------------- plan

export interface LaunchAction {
  kind: 'launch';
  pool: string;
  count: number;
  clientToken: string;
  /** Queued job ids this launch serves (empty for min / count launches). */
  jobIds: number[];
  /**
   * Runners reserved for the jobs that ask for this run-unique label (the pre-job pattern): their instances
   * carry it as a tag, and their runners only the labels those jobs ask for (`labels`, default the label alone).
   */
  reservedLabel?: string;
  labels?: string[];
  /** Booting instances an earlier run launched but never configured: their runner configs are delivered too. */
  adopt?: string[];
  /** The pool's capacity shortage as the coordination store had it: a shortfall of this launch continues it. */
  shortage?: ShortageRecord;
  reason: string;
}

/** First sighting tags: idle-since (an idle runner) or stale-since (a runner offline past bootTimeout). */
export interface TagIdleAction {
  kind: 'mark-idle' | 'mark-stale';
  region: string;
  instanceIds: string[];
  since: Date;
  reason: string;
}

export interface ClearIdleAction {
  kind: 'clear-idle' | 'clear-stale';
  region: string;
  instanceIds: string[];
  reason: string;
}

/** Unregister a runner; when `instanceId` is set, terminate that instance after a 204/404. */
export interface RemoveRunnerAction {
  kind: 'remove-runner';
  pool?: string;
  runnerId: number;
  runnerName: string;
  instanceId?: string;
  region?: string;
  /** The instance's JIT config parameter, seen at observe time: deleted once the runner is unregistered. */
  parameter?: string;
  /** A ghost: unregistered only when a lookup by id in these regions finds the instance gone or terminated. */
  confirmGone?: { instanceId: string; regions: string[] };
  /** The instance's job-started tag as observed; the re-check compares the fresh tag with it. */
  observedJobStart?: Date;
  reason: string;
}

/** Terminate an instance that has no runner registration. */
export interface TerminateAction {
  kind: 'terminate';
  pool?: string;
  instanceId: string;
  region: string;
  parameter?: string;
  /** The instance's job-started tag as observed; the re-check compares the fresh tag with it. */
  observedJobStart?: Date;
  /** Only an instance launched at or after this time may be terminated (the launch path's own instances). */
  launchedAfter?: Date;
  reason: string;
}

export interface DeleteParameterAction {
  kind: 'delete-parameter';
  name: string;
  region: string;
  reason: string;
}

/** A pool's boot-failure breaker, updated with this run's evidence (see engine/breaker.ts). */
export interface BreakerAction {
  kind: 'breaker';
  pool: string;
  /** Instances removed this run that died at bootTimeout without a runner ever online. */
  failedBoots: string[];
  /** An instance of the pool launched after the last failure has a runner online: the pool boots. */
  booted: boolean;
  settingsHash: string;
  /** The record as read (its version guards the write). */
  current?: BreakerRecord;
  reason: string;
}

export type Action =
  | BreakerAction
  | LaunchAction
  | TagIdleAction
  | ClearIdleAction
  | RemoveRunnerAction
  | TerminateAction
  | DeleteParameterAction;

export interface PoolCounts {
  booting: number;
  idle: number;
  busy: number;
  /** Orphans and stale runners: instances that never got, or lost, their runner. */
  dead: number;
  total: number;
}

/** Instance states as the summary counts them. */
export type CountedState = 'booting' | 'idle' | 'busy' | 'dead';

export type KeptReason =
  | 'busy'
  | 'booting'
  | 'min'
  | 'queued'
  | 'idle-sighting'
  | 'stale-sighting'
  | 'young'
  | 'demand-unknown'
  | 'read-failed'
  | 'scale-up';

/** Instances of a pool the plan keeps, and why: one row of the summary's "kept, and why". */
export interface KeptGroup {
  pool: string;
  what: CountedState;
  reason: KeptReason;
  count: number;
  /** How long until the first of them may go (its second sighting, minLifetime), when that is known. */
  waitMs?: number;
  detail: string;
}

export interface PoolPlan {
  pool: string;
  queued: number;
  before: PoolCounts;
  /** As planned; the report computes what happened from the outcomes. */
  after: PoolCounts;
  /** The min in force now (the schedule's, when the pool has one). */
  min?: number;
  max?: number;
  schedule?: ScheduledMin;
  /** Instances the plan removes, by the state they were in: the report counts those whose removal was done. */
  removing?: Record<CountedState, string[]>;
  kept?: KeptGroup[];
  /** When the pool's oldest queued job was queued, when known. */
  oldestQueuedAt?: Date;
  /** Whether the pool's queued jobs were all read (none of its repositories failed). */
  demandKnown?: boolean;
  /** Runners the pool wanted (queued jobs, min) that max kept it from launching. */
  heldByMax?: number;
  /** Why this run launches nothing into the pool: the breaker is open, the lease is held elsewhere, a read failed. */
  launchesHeld?: string;
  /** A pool no longer in the pools file, scaled to zero. */
  retired?: boolean;
}

/** A queued job no pool serves. */
export interface UnservedJob {
  id: number;
  runId: number;
  repository: string;
  labels: string[];
  name?: string;
  why: string;
}

/** An instance the bootstrap tagged with a reason it stopped serving jobs. */
export interface FlaggedInstance {
  instanceId: string;
  pool?: string;
  /** runner-outdated: the runner refused to start (too old); spot-interruption: EC2 announced an interruption. */
  kind: 'runner-outdated' | 'spot-interruption';
  /** The tag's value: a time, or `<action>@<time>`. */
  value: string;
}

export interface Plan {
  mode: Mode;
  now: Date;
  actions: Action[];
  pools: PoolPlan[];
  /** Why something was not done (e.g. removal held back after a partial read). */
  notes: string[];
  /** Why the run must fail though nothing it tried failed: a breaker open, the lease held elsewhere… */
  problems: string[];
  /** Queued jobs no pool serves. */
  unserved?: UnservedJob[];
  /** Instances the bootstrap tagged runner-outdated or spot-interruption. */
  flagged?: FlaggedInstance[];
  /** Reads that failed or were partial, and the repositories whose queued jobs could not be read. */
  unread?: { what: string; error: string }[];
  demandGaps?: DemandGap[];
}

// ---------------------------------------------------------------- outcomes

/** `warning`: fell short in a way the next runs are expected to make up (insufficient capacity for a while). */
export type OutcomeStatus = 'done' | 'skipped' | 'warning' | 'failed';

/** An insufficient-capacity shortfall: what was short, what is left to try, and since when the pool is short. */
export interface Shortage {
  /** `m7i.large in eu-west-1a (spot)` and the like: the types, zones or subnets and markets that were short. */
  short: string[];
  /** Configured alternatives this run did not find short (other types, subnets, on-demand). */
  fallbacks: string[];
  /** The pool has been short since (the coordination store remembers across runs). */
  since: Date;
  /** The pool's capacityTimeout. */
  timeoutMs: number;
}

export interface Outcome {
  /** What the item is: `launch`, `jit`, `unregister`, `terminate`, `delete-parameter`, `tag`. */
  action: string;
  /** The runner name, instance id, parameter name or pool the outcome is about. */
  target: string;
  pool?: string;
  status: OutcomeStatus;
  reason: string;
  /** API error code for failures; why for skips (busy, changed, protected). */
  code?: string;
  detail?: string;
  /** Launch outcomes: the instances launched (done) or not launched (a shortfall). */
  count?: number;
  shortage?: Shortage;
}

// ---------------------------------------------------------------- gateways

export interface LaunchRequest {
  pool: PoolConfig;
  count: number;
  clientToken: string;
  tags: Record<string, string>;
}

export interface LaunchError {
  code: string;
  message: string;
  count?: number;
  /** Where it failed, when EC2 said: the fleet override's type and subnet, the zone the message names. */
  instanceType?: string;
  subnet?: string;
  zone?: string;
  market?: 'spot' | 'on-demand';
}

export interface LaunchResult {
  instanceIds: string[];
  errors: LaunchError[];
}

export interface TerminateResult {
  terminated: string[];
  /** Ids EC2 said do not exist (already gone or malformed): no instance to wait for. */
  notFound: string[];
  failed: { id: string; code: string; message: string }[];
}

export interface DeleteParametersResult {
  deleted: string[];
  /** Names SSM reported as not existing: already gone, not an error. */
  invalid: string[];
  failed: { name: string; code: string; message: string }[];
}

/** EC2 in one region. */
export interface Ec2Gateway {
  listOwnedInstances(environment: string): Promise<Instance[]>;
  /** Fresh tags for specific instances, used right before unregistering their runners. */
  describeInstances(ids: string[]): Promise<Instance[]>;
  launchInstances(request: LaunchRequest): Promise<LaunchResult>;
  terminateInstances(ids: string[]): Promise<TerminateResult>;
  createTags(ids: string[], tags: Record<string, string>): Promise<void>;
  deleteTags(ids: string[], keys: string[]): Promise<void>;
}

/** SSM Parameter Store in one region. */
export interface SsmGateway {
  /**
   * Writes a SecureString. With tags, the parameter is created with them (SSM takes no Tags with Overwrite); one
   * that already exists keeps the tags it was created with and gets the new value.
   */
  putSecureParameter(name: string, value: string, tags?: Record<string, string>): Promise<void>;
  listParameters(path: string): Promise<{ name: string; lastModified?: Date }[]>;
  deleteParameters(names: string[]): Promise<DeleteParametersResult>;
}

/** `cancelled`: the `beforeSend` check said no, so the DELETE was never sent. */
export type DeleteRunnerResult = 'deleted' | 'not-found' | 'busy' | 'cancelled';

export interface JitConfig {
  runnerId: number;
  encodedJitConfig: string;
}

export interface GitHubGateway {
  listRunners(): Promise<Runner[]>;
  /** The runner registered with exactly this name, if any: a lookup that does not rely on paging. */
  findRunner(name: string): Promise<Runner | undefined>;
  /**
   * Returns the runner's JIT config. On 409 (a retried request) looks the runner up: an offline one is replaced
   * (its DELETE checked by `beforeReplace` right before it is sent); an online or busy one is reported with a
   * RunnerAlreadyRegistered error and left alone.
   */
  generateJitConfig(
    name: string,
    labels: string[],
    runnerGroupId: number,
    beforeReplace?: () => Promise<boolean>,
  ): Promise<JitConfig>;
  createRegistrationToken(): Promise<{ token: string; expiresAt: string }>;
  /**
   * Unregisters a runner. `beforeSend` runs right before the DELETE is sent (after any wait for the write
   * budget): the removal checks its evidence there; resolving false cancels the DELETE.
   */
  deleteRunner(id: number, beforeSend?: () => Promise<boolean>): Promise<DeleteRunnerResult>;
  /** Queued jobs of one workflow run. */
  listQueuedJobsOfRun(repository: string, runId: number): Promise<QueuedJob[]>;
  /** Queued jobs of the queued (and in-progress) runs of a repository. */
  listQueuedJobs(repository: string): Promise<QueuedJob[]>;
}

/**
 * Where a pool's runners are registered and removed: GitHub's REST runner API for ordinary pools, the runner
 * scale set's JIT and agents API for scale-set pools. The GitHub gateway is one.
 */
export type RunnerBackend = Pick<GitHubGateway, 'generateJitConfig' | 'deleteRunner' | 'findRunner'>;

/** The gateways a run uses, one EC2 and SSM gateway per region, built once by main. */
export interface Gateways {
  github: GitHubGateway;
  /** The runner back end of a pool (by name); the GitHub gateway when absent or for an unknown pool. */
  runners?(pool: string | undefined): RunnerBackend;
  ec2(region: string): Ec2Gateway;
  ssm(region: string): SsmGateway;
  /** The environment's coordination store (the pools file's `coordination.table`). */
  store?: CoordinationStore;
}

/** Progress lines for the job log. */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
}

// ---------------------------------------------------------------- coordination store

export interface LeaseState {
  holder: string;
  acquiredAt: Date;
  expiresAt: Date;
}

export type LaunchRecordState = 'intent' | 'launched' | 'failed';

/** A launch as its run recorded it: the next lease holder counts what EC2 does not list yet. */
export interface LaunchRecord {
  pool: string;
  clientToken: string;
  /** Instances requested. */
  count: number;
  /** Empty while the launch call is in flight (an intent). */
  instanceIds: string[];
  jobIds: number[];
  /** The runners' labels when they are not the pool's (runners reserved for a run-unique label). */
  labels?: string[];
  runId: string;
  at: Date;
  expiresAt: Date;
  state: LaunchRecordState;
}

export interface BreakerRecord {
  pool: string;
  /** Boot failures in a row (no boot success in between). */
  failures: number;
  /** The failed instances counted, so that no instance is counted twice. */
  instanceIds: string[];
  lastFailureAt?: Date;
  /** Launches into the pool stop until then; undefined when closed. */
  openUntil?: Date;
  /** The pool settings the failures happened with: a change resets the breaker. */
  settingsHash: string;
  reason?: string;
  version: number;
}

/** A pool short of EC2 capacity: since when, and which of its launch options were found short meanwhile. */
export interface ShortageRecord {
  pool: string;
  since: Date;
  lastAt: Date;
  /** Launch options (`<type> in <subnet or zone> (<market>)`) found short since `since`. */
  short: string[];
  /** A shortage not seen again by then is over: the next one starts afresh. */
  expiresAt: Date;
}

export interface StoreSnapshot {
  lease?: LeaseState;
  launches: LaunchRecord[];
  breakers: BreakerRecord[];
  shortages: ShortageRecord[];
}

export type LeaseResult = { acquired: true } | { acquired: false; heldBy: LeaseState };

/** The environment's coordination store (one DynamoDB table per deployment). */
export interface CoordinationStore {
  /** Conditional put: succeeds when no lease, an expired one, or our own. */
  tryAcquireLease(holder: string, ttlMs: number, now: Date): Promise<LeaseResult>;
  /** Conditional update on holder = us; false when the lease was lost. */
  renewLease(holder: string, ttlMs: number, now: Date): Promise<boolean>;
  /** Conditional delete on holder = us; a lost lease is not an error. */
  releaseLease(holder: string): Promise<void>;
  /** One strongly consistent read of the environment: unexpired launches and breakers, the lease. */
  read(now: Date): Promise<StoreSnapshot>;
  /** Put (overwrites the same clientToken's record: intent first, then launched or failed). */
  recordLaunch(record: LaunchRecord): Promise<void>;
  /**
   * Conditional put on version (0 = must not exist); false when another run wrote first. The item is written
   * with version `expectedVersion + 1` (the record's own `version` is not used).
   */
  writeBreaker(record: BreakerRecord, expectedVersion: number): Promise<boolean>;
  /** Put: the pool's shortage as of this run (the last writer wins: each run merges what it read). */
  recordShortage(record: ShortageRecord): Promise<void>;
  /** The pool launched all it asked for: its shortage is over. A missing item is not an error. */
  clearShortage(pool: string): Promise<void>;
}
