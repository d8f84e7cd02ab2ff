// The emulator's public types: its options, what a test can seed, and the handle startEmulator returns.
import type { BudgetOptions } from './budgets.js';
import type { Clock } from './clock.js';
import type { CallLogEntry } from './context.js';
import type { Ec2Options, InstanceView, Market } from './ec2/index.js';
import type { MetricFilter, MetricPoint } from './cloudwatch/index.js';
import type { DynamoDbOptions, DynamoDbService } from './dynamodb/index.js';
import type { Faults } from './faults.js';
import type { ScaleSetControl } from './github/scaleset/index.js';
import type {
  GitHubOptions,
  JobView,
  QueueRunSpec,
  RunnerSpec,
  RunnerView,
  RunView,
} from './github/index.js';
import type { CallObserver } from './server/index.js';
import type { Simulator, SimulatorOptions } from './simulator/index.js';
import type { ParameterType, ParameterView, SsmOptions } from './ssm/index.js';
import type { Ec2InstanceState, EmulatorState, JobRecord, KilledJob, Service } from './state.js';

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** Region of requests without a SigV4 credential scope and of seeded resources. Default us-east-1. */
  region?: string;
  accountId?: string;
  /** Real-time latency added to every answer of a service. */
  latencyMs?: Partial<Record<Service, number>>;
  /**
   * Real-time latency added per KB of an answer's body, on top of `latencyMs` (a full DescribeInstances
   * page takes longer than an empty one). Defaults: DEFAULT_LATENCY_PER_KB_MS.
   */
  latencyPerKbMs?: Partial<Record<Service, number>>;
  /** API budgets; each is off unless given (`true` for the real defaults). */
  budgets?: BudgetOptions;
  /** Time runs this many times faster than the wall clock (a ticker calls advance()); for the demo. */
  speed?: number;
  /** How often the speed ticker advances time (real ms). Default 100. */
  tickMs?: number;
  ec2?: Ec2Options;
  ssm?: SsmOptions;
  github?: GitHubOptions;
  /** DynamoDB (the coordination store); `tables` that exist from the start. */
  dynamodb?: DynamoDbOptions;
  /** The instance simulator; `false` keeps instances from running their bootstrap (they still boot). */
  simulator?: boolean | SimulatorOptions;
}

export interface SeedInstanceSpec {
  environment?: string;
  pool?: string;
  region?: string;
  /** Default running. */
  state?: Ec2InstanceState;
  /** Wall-clock launch time (what the action sees). Default now. */
  launchTime?: Date;
  /** Extra tags; ISO timestamps among them age with advance(). */
  tags?: Record<string, string>;
  instanceType?: string;
  market?: Market;
  /** A runner registration for the instance (`<env>-<instance-id>`): online idle, online busy, or offline. */
  withRunner?: 'idle' | 'busy' | 'offline' | false;
  /** The runner's scope (`org` or `owner/repo`); default the first organization or repository added. */
  scope?: string;
  /** The runner's labels; default ['self-hosted', pool]. */
  labels?: string[];
  /** A busy runner finishes its job after this long (emulator time); default never. */
  busyForMs?: number;
  /** The instance's JIT parameter: `true` holds its offline runner's JIT config (or a dummy value); a string is the value. */
  withParameter?: boolean | string;
  /** A running instance without an online runner runs its bootstrap (polls for its parameter). Default false. */
  bootstrap?: boolean;
}

export interface SeededInstance {
  instanceId: string;
  runnerId?: number;
  runnerName?: string;
  parameterName?: string;
}

export interface Emulator {
  /** Base URL for AWS_ENDPOINT_URL and GITHUB_API_URL. */
  url: string;
  /** Variables a client process needs: endpoints, region, dummy AWS credentials. */
  env: Record<string, string>;
  region: string;
  state: EmulatorState;
  clock: Clock;
  /** Every call, in arrival order (the action's over HTTP, the instances' from the simulator). */
  calls: CallLogEntry[];
  /** Failures inside the emulator itself (a test can assert there were none). */
  errors: Error[];
  faults: Faults;
  simulator: Simulator;
  /** Real-time latency per service; may be changed while running. */
  latencyMs: Record<Service, number>;
  /** Real-time latency per KB of an answer, per service; may be changed while running. */
  latencyPerKbMs: Record<Service, number>;
  ec2: {
    instances(filter?: { environment?: string; state?: Ec2InstanceState }): InstanceView[];
    instance(id: string): InstanceView | undefined;
    setCapacity(limit: number | Record<string, number> | undefined, market?: Market): void;
    /** New instances are missing from listings filtered by tag (and from lookups by id) for this long. */
    setListingLag(listingMs: number, lookupMs?: number): void;
  };
  ssm: {
    parameters(region?: string): ParameterView[];
    parameter(name: string, region?: string): ParameterView | undefined;
    put(
      name: string,
      value: string,
      options?: {
        type?: ParameterType;
        region?: string;
        /** Wall clock; default now. */ lastModified?: Date;
      },
    ): void;
    delete(name: string, region?: string): boolean;
    setShortPages(on: boolean): void;
    /** See SsmOptions.describeFiltersEachPage. */
    setDescribeFiltersEachPage(on: boolean): void;
  };
  github: {
    addOrg(login: string): void;
    addRepo(fullName: string): void;
    queueRun(spec: QueueRunSpec): { runId: number; jobIds: number[] };
    cancelRun(runId: number): void;
    addRunner(spec: RunnerSpec): RunnerView;
    /** The runner leaves by itself, as an ephemeral runner does once its job is over; false when unknown. */
    removeRunner(id: number): boolean;
    runners(scope?: string): RunnerView[];
    runner(nameOrId: string | number): RunnerView | undefined;
    runs(): RunView[];
    jobs(filter?: { status?: JobRecord['status']; runId?: number }): JobView[];
    setBusyLag(ms: number): void;
    /** See GitHubOptions.deleteDuringBusyLag. */
    setDeleteDuringBusyLag(mode: 'conflict' | 'kills-job'): void;
    /** Every installation token issued so far stops working now; returns how many did. */
    expireInstallationTokens(): number;
    /** Jobs that died because their runner or instance was taken away while they ran. */
    killedJobs(): KilledJob[];
  };
  /** The runner scale set protocol: state, and faults to inject (see github/scaleset/control.ts). */
  scaleSets: ScaleSetControl;
  /** DynamoDB: tables and their items, and its own fault hooks. */
  dynamodb: DynamoDbService;
  /** CloudWatch: the data points PutMetricData recorded, and how many calls it answered. */
  cloudwatch: { metrics(filter?: MetricFilter): MetricPoint[]; putCalls(): number };
  seedInstance(spec?: SeedInstanceSpec): SeededInstance;
  /** Calls `observer` for every call of the action once handled, before it is answered; returns its removal. */
  onCall(observer: CallObserver): () => void;
  /** Every secret the emulator issued or was given: tokens, JIT configs, the app private key. */
  issuedSecrets(): string[];
  /** Moves emulator time forward (see clock.ts) and fires the simulator's events due meanwhile. */
  advance(ms: number): Promise<void>;
  clearCalls(): void;
  stop(): Promise<void>;
}
