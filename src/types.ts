// Domain types shared by the gateways, the engine and the report.
// The resource contract (tags, names, parameter paths) lives in contract.ts.

export type Mode = 'scale-up' | 'scale-down' | 'reconcile' | 'drain';
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
  /** `owner/name` repositories polled for queued jobs. */
  repositories: string[];
}

export interface Config {
  environment: string;
  github: { scope: GitHubScope; runnerGroupId: number; runnerGroup?: string };
  pools: PoolConfig[];
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
  tags: Record<string, string>;
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
}

/** What one read of the world returned; `complete` is false for a failed or partial read. */
export interface Read<T> {
  items: T[];
  complete: boolean;
  error?: string;
}

export interface Snapshot {
  instances: Read<Instance>;
  runners: Read<Runner>;
  parameters: Read<Parameter>;
  jobs: Read<QueuedJob>;
}

// ---------------------------------------------------------------- plan

export interface LaunchAction {
  kind: 'launch';
  pool: string;
  count: number;
  clientToken: string;
  /** Queued job ids this launch serves (empty for min / count launches). */
  jobIds: number[];
  /** Extra labels for the runners (the run-unique label of the pre-job pattern). */
  extraLabels: string[];
  /** Booting instances an earlier run launched but never configured: their runner configs are delivered too. */
  adopt?: string[];
  reason: string;
}

export interface TagIdleAction {
  kind: 'mark-idle';
  region: string;
  instanceIds: string[];
  since: Date;
  reason: string;
}

export interface ClearIdleAction {
  kind: 'clear-idle';
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
  /** The instance's JIT config parameter, seen at observe time: deleted once the instance terminated. */
  parameter?: string;
  reason: string;
}

/** Terminate an instance that has no runner registration. */
export interface TerminateAction {
  kind: 'terminate';
  pool?: string;
  instanceId: string;
  region: string;
  parameter?: string;
  reason: string;
}

export interface DeleteParameterAction {
  kind: 'delete-parameter';
  name: string;
  region: string;
  reason: string;
}

export type Action =
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
  total: number;
}

export interface PoolPlan {
  pool: string;
  queued: number;
  before: PoolCounts;
  after: PoolCounts;
}

export interface Plan {
  mode: Mode;
  now: Date;
  actions: Action[];
  pools: PoolPlan[];
  /** Why something was not done (e.g. removal held back after a partial read). */
  notes: string[];
}

// ---------------------------------------------------------------- outcomes

export type OutcomeStatus = 'done' | 'skipped' | 'failed';

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

export type DeleteRunnerResult = 'deleted' | 'not-found' | 'busy';

export interface JitConfig {
  runnerId: number;
  encodedJitConfig: string;
}

export interface GitHubGateway {
  listRunners(): Promise<Runner[]>;
  /** The runner registered with exactly this name, if any: a lookup that does not rely on paging. */
  findRunner(name: string): Promise<Runner | undefined>;
  /** Returns the runner's JIT config; on 409 (a retried request) looks the runner up and reports it. */
  generateJitConfig(name: string, labels: string[], runnerGroupId: number): Promise<JitConfig>;
  createRegistrationToken(): Promise<{ token: string; expiresAt: string }>;
  deleteRunner(id: number): Promise<DeleteRunnerResult>;
  /** Queued jobs of one workflow run. */
  listQueuedJobsOfRun(repository: string, runId: number): Promise<QueuedJob[]>;
  /** Queued jobs of the queued (and in-progress) runs of a repository. */
  listQueuedJobs(repository: string): Promise<QueuedJob[]>;
}

/** The gateways a run uses, one EC2 and SSM gateway per region, built once by main. */
export interface Gateways {
  github: GitHubGateway;
  ec2(region: string): Ec2Gateway;
  ssm(region: string): SsmGateway;
}

/** Progress lines for the job log. */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
}
