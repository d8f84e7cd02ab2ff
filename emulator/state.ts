// The emulator's world: EC2 instances, SSM parameters and GitHub runners, runs and jobs.
// Every timestamp is in emulator time (see clock.ts); views convert to wall-clock time.

export type Service = 'ec2' | 'ssm' | 'github' | 'dynamodb' | 'cloudwatch';
export type Caller = 'action' | 'instance';

export type Ec2InstanceState =
  'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const INSTANCE_STATE_CODES: Record<Ec2InstanceState, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** A tag value; ISO timestamps are kept as emulator time so that advance() ages them too. */
export type TagValue = string | { time: number; millis: boolean };

/** What EC2 attaches to an instance at launch: only its answers show them. */
export interface InstanceAttachments {
  /** Index of the instance in its launch (amiLaunchIndex). */
  launchIndex: number;
  vpcId: string;
  securityGroup: { id: string; name: string };
  networkInterfaceId: string;
  networkAttachmentId: string;
  macAddress: string;
  /** Absent for an instance without a public address. */
  publicIp?: string;
  rootVolumeId: string;
  iamInstanceProfile: { arn: string; id: string };
  spotRequestId?: string;
}

export interface InstanceRecord {
  id: string;
  /** Launch order, used as a stable pagination cursor. */
  seq: number;
  region: string;
  state: Ec2InstanceState;
  launchTime: number;
  instanceType: string;
  imageId: string;
  subnetId: string;
  availabilityZone: string;
  privateIp: string;
  reservationId: string;
  lifecycle: 'spot' | 'on-demand';
  clientToken?: string;
  launchTemplate?: { id?: string; name?: string; version?: string };
  tags: Map<string, TagValue>;
  stateReason?: { code: string; message: string };
  stateChangedAt: number;
  attachments: InstanceAttachments;
}

export interface ParameterRecord {
  region: string;
  name: string;
  value: string;
  type: 'String' | 'StringList' | 'SecureString';
  version: number;
  lastModified: number;
  description?: string;
  /** Parameter tags (AddTagsToResource, PutParameter's Tags); at most 50. */
  tags: Map<string, string>;
}

/** A launch made with a ClientToken: a retry with the same token and parameters answers the same. */
export type LaunchRecord =
  | { kind: 'RunInstances'; fingerprint: string; instanceIds: string[]; reservationId: string }
  | {
      kind: 'CreateFleet';
      fingerprint: string;
      instanceIds: string[];
      fleetId: string;
      outcomes: FleetOutcome[];
    };

/** One line of CreateFleet's answer: instances launched from one override, or its error. */
export interface FleetOutcome {
  candidate: FleetCandidate;
  market: 'spot' | 'on-demand';
  instanceIds: string[];
  error?: { code: string; message: string };
}

export interface FleetCandidate {
  configIndex: number;
  launchTemplate: { id?: string; name?: string; version?: string };
  instanceType: string;
  subnetId?: string;
  availabilityZone?: string;
  priority?: number;
  weightedCapacity?: number;
  order: number;
}

/** `acme` for an organization, `acme/app` for a repository. */
export type ScopeKey = string;

export interface RunnerRecord {
  id: number;
  name: string;
  scope: ScopeKey;
  labels: string[];
  status: 'online' | 'offline';
  /** The real state: a job is running on the runner. */
  busy: boolean;
  /** The API reports `busy: true` only from this time on (the lagging busy flag). */
  busyVisibleAt: number;
  ephemeral: boolean;
  runnerGroupId: number;
  os: string;
  createdAt: number;
  instanceId?: string;
  jobId?: number;
  encodedJitConfig?: string;
}

export type JobStatus = 'queued' | 'in_progress' | 'completed';
export type Conclusion = 'success' | 'failure' | 'cancelled' | null;

export interface JobRecord {
  id: number;
  runId: number;
  repository: string;
  name: string;
  labels: string[];
  status: JobStatus;
  conclusion: Conclusion;
  durationMs: number;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  runnerId?: number;
  runnerName?: string;
}

export interface RunRecord {
  id: number;
  repository: string;
  name: string;
  event: string;
  headBranch: string;
  status: JobStatus;
  conclusion: Conclusion;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  jobIds: number[];
  runNumber: number;
}

export interface OwnerRecord {
  login: string;
  installationId: number;
}

export interface RepoRecord {
  owner: string;
  name: string;
  fullName: string;
  id: number;
}

export interface IssuedToken {
  token: string;
  kind: 'installation' | 'registration';
  expiresAt: number;
  /** The installation id for installation tokens; the scope for registration tokens. */
  installationId?: number;
  scope?: ScopeKey;
}

/** A job that ended because its runner or instance was taken away while it ran. */
export interface KilledJob {
  jobId: number;
  runnerName: string;
  /**
   * `runner-deleted`: a DELETE accepted during the busy lag; `terminated`: TerminateInstances;
   * `interrupted`: a spot interruption; `self-shutdown`: the instance shut itself down.
   */
  cause: 'runner-deleted' | 'terminated' | 'interrupted' | 'self-shutdown';
  /** Emulator time. */
  at: number;
}

export interface EmulatorState {
  instances: Map<string, InstanceRecord>;
  /** region -> name -> parameter */
  parameters: Map<string, Map<string, ParameterRecord>>;
  owners: Map<string, OwnerRecord>;
  repos: Map<string, RepoRecord>;
  runners: Map<number, RunnerRecord>;
  /** scope -> runners of that scope in id order */
  runnersByScope: Map<ScopeKey, Map<number, RunnerRecord>>;
  /** `scope \u0000 lower-case name` -> runner */
  runnersByName: Map<string, RunnerRecord>;
  runnersByJitConfig: Map<string, RunnerRecord>;
  runs: Map<number, RunRecord>;
  jobs: Map<number, JobRecord>;
  /** Queued jobs, oldest first. */
  queuedJobs: Map<number, JobRecord>;
  tokens: Map<string, IssuedToken>;
  /** Lower-case runner label -> the id GitHub shows for it (numbered in first-seen order). */
  labelIds: Map<string, number>;
  secrets: Set<string>;
  killedJobs: KilledJob[];
  /** `region \u0000 ClientToken` -> the launch it made. */
  launches: Map<string, LaunchRecord>;
  /** `market:instanceType` or `market:*` -> instances that can still be launched (no entry: unlimited). */
  capacity: Map<string, number>;
  counters: {
    instanceSeq: number;
    runnerId: number;
    runId: number;
    jobId: number;
    repoId: number;
    installationId: number;
    ip: number;
  };
}

export function createState(): EmulatorState {
  return {
    instances: new Map(),
    parameters: new Map(),
    owners: new Map(),
    repos: new Map(),
    runners: new Map(),
    runnersByScope: new Map(),
    runnersByName: new Map(),
    runnersByJitConfig: new Map(),
    runs: new Map(),
    jobs: new Map(),
    queuedJobs: new Map(),
    tokens: new Map(),
    labelIds: new Map(),
    secrets: new Set(),
    killedJobs: [],
    launches: new Map(),
    capacity: new Map(),
    counters: {
      instanceSeq: 0,
      runnerId: 0,
      runId: 1000,
      jobId: 50_000,
      repoId: 100,
      installationId: 4000,
      ip: 0,
    },
  };
}

// ------------------------------------------------------------------ tags

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** Stores a tag value written by a client (wall clock) in emulator time when it is an ISO timestamp. */
export function tagValueFromWall(value: string, offset: number): TagValue {
  if (!ISO_TIMESTAMP.test(value)) return value;
  const wall = Date.parse(value);
  if (Number.isNaN(wall)) return value;
  return { time: wall + offset, millis: value.includes('.') };
}

export function tagValueToWall(value: TagValue, offset: number): string {
  if (typeof value === 'string') return value;
  const iso = new Date(value.time - offset).toISOString();
  return value.millis ? iso : iso.replace(/\.\d{3}Z$/, 'Z');
}

// ------------------------------------------------------------------ runners

export function runnerNameKey(scope: ScopeKey, name: string): string {
  return `${scope}\u0000${name.toLowerCase()}`;
}

export function addRunnerRecord(state: EmulatorState, runner: RunnerRecord): void {
  state.runners.set(runner.id, runner);
  let byScope = state.runnersByScope.get(runner.scope);
  if (!byScope) {
    byScope = new Map();
    state.runnersByScope.set(runner.scope, byScope);
  }
  byScope.set(runner.id, runner);
  state.runnersByName.set(runnerNameKey(runner.scope, runner.name), runner);
  if (runner.encodedJitConfig) state.runnersByJitConfig.set(runner.encodedJitConfig, runner);
}

export function removeRunnerRecord(state: EmulatorState, runner: RunnerRecord): void {
  state.runners.delete(runner.id);
  state.runnersByScope.get(runner.scope)?.delete(runner.id);
  const key = runnerNameKey(runner.scope, runner.name);
  if (state.runnersByName.get(key) === runner) state.runnersByName.delete(key);
  if (runner.encodedJitConfig) state.runnersByJitConfig.delete(runner.encodedJitConfig);
}

/** The scope a job can be served from: its repository's runners and its owner's runners. */
export function jobFitsScope(job: JobRecord, scope: ScopeKey): boolean {
  const repository = job.repository.toLowerCase();
  if (scope.includes('/')) return scope === repository;
  return repository.startsWith(`${scope}/`);
}

/** A job matches a runner when the job's labels are a subset of the runner's labels plus `self-hosted`. */
export function labelsMatch(jobLabels: string[], runnerLabels: string[]): boolean {
  const available = new Set(runnerLabels.map((label) => label.toLowerCase()));
  available.add('self-hosted');
  return jobLabels.every((label) => available.has(label.toLowerCase()));
}

// ------------------------------------------------------------------ parameters

export function regionParameters(state: EmulatorState, region: string): Map<string, ParameterRecord> {
  let byName = state.parameters.get(region);
  if (!byName) {
    byName = new Map();
    state.parameters.set(region, byName);
  }
  return byName;
}
