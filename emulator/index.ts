// The local emulator of EC2, SSM and GitHub that the demo, the end-to-end tests and the benchmark
// run runner-scaler against. One HTTP server on 127.0.0.1 speaks all three wire protocols, so the
// unmodified AWS SDK and Octokit clients work against it (AWS_ENDPOINT_URL, GITHUB_API_URL).
import { randomBytes } from 'node:crypto';
import { instanceTags, parameterName, runnerName, TAG_ENVIRONMENT } from '../src/contract.js';
import { createEc2Budget, createGitHubBudget, createSsmBudget, type BudgetOptions } from './budgets.js';
import { createClock, createScheduler, type Clock } from './clock.js';
import { noHooks, type CallLogEntry, type EmulatorContext } from './context.js';
import { createEc2Service, type Ec2Options, type InstanceView, type Market } from './ec2.js';
import { createFaults, type Faults } from './faults.js';
import {
  createGitHubService,
  type GitHubOptions,
  type JobView,
  type QueueRunSpec,
  type RunnerSpec,
  type RunnerView,
  type RunView,
  type ScaleSetControl,
} from './github/index.js';
import { createEmulatorServer, type CallObserver } from './server.js';
import { createSimulator, type AgentPhase, type Simulator, type SimulatorOptions } from './simulator.js';
import { createSsmService, type ParameterType, type ParameterView, type SsmOptions } from './ssm.js';
import {
  createState,
  tagValueFromWall,
  type Ec2InstanceState,
  type EmulatorState,
  type JobRecord,
  type KilledJob,
  type Service,
} from './state.js';

export type { CallLogEntry, EmulatorRequest } from './context.js';
export type { CallObserver } from './server.js';
export type { FaultSpec, FaultHandle, Faults } from './faults.js';
export type { InstanceView, Market, LaunchTemplateDefinition, Ec2Options } from './ec2.js';
export type { ParameterView, SsmOptions } from './ssm.js';
export type {
  RunnerView,
  JobView,
  RunView,
  QueueRunSpec,
  JobSpec,
  RunnerSpec,
  GitHubOptions,
} from './github/index.js';
export type * from './github/scaleset/index.js';
export type { SimulatorOptions, NeverBootSpec, AgentPhase, Simulator } from './simulator.js';
export type { BudgetOptions, GitHubBudgetOptions, Ec2BudgetOptions, SsmBudgetOptions } from './budgets.js';
export type { Clock } from './clock.js';
export type { EmulatorState, KilledJob, Service } from './state.js';

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
  /** API budgets; each is off unless given (`true` for the real defaults). */
  budgets?: BudgetOptions;
  /** Time runs this many times faster than the wall clock (a ticker calls advance()); for the demo. */
  speed?: number;
  /** How often the speed ticker advances time (real ms). Default 100. */
  tickMs?: number;
  ec2?: Ec2Options;
  ssm?: SsmOptions;
  github?: GitHubOptions;
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
  ec2: {
    instances(filter?: { environment?: string; state?: Ec2InstanceState }): InstanceView[];
    instance(id: string): InstanceView | undefined;
    setCapacity(limit: number | Record<string, number> | undefined, market?: Market): void;
  };
  ssm: {
    parameters(region?: string): ParameterView[];
    parameter(name: string, region?: string): ParameterView | undefined;
    put(name: string, value: string, options?: { type?: ParameterType; region?: string }): void;
    delete(name: string, region?: string): boolean;
    setShortPages(on: boolean): void;
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
  /** The runner scale set protocol: scale sets, sessions, messages, polls, jobs, runners and faults. */
  scaleSets: ScaleSetControl;
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

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = createState();
  const clock = createClock();
  const calls: CallLogEntry[] = [];
  const errors: Error[] = [];
  const reportError = (error: unknown, where: string) => {
    errors.push(
      error instanceof Error
        ? Object.assign(error, { message: `${where}: ${error.message}` })
        : new Error(`${where}: ${String(error)}`),
    );
  };
  const scheduler = createScheduler(clock, reportError);
  const region = options.region ?? 'us-east-1';

  const ctx: EmulatorContext = {
    state,
    clock,
    scheduler,
    defaultRegion: region,
    accountId: options.accountId ?? '123456789012',
    hooks: noHooks,
    log(entry) {
      calls.push({ latencyMs: 0, at: Date.now(), ...entry });
    },
    recordSecret: (secret) => state.secrets.add(secret),
    reportError,
  };

  const budgetOption = <T extends object>(value: boolean | T | undefined): T | undefined =>
    value === true ? ({} as T) : value === false || value === undefined ? undefined : value;
  const budgets = {
    github: createGitHubBudget(budgetOption(options.budgets?.github), Date.now),
    ec2: createEc2Budget(budgetOption(options.budgets?.ec2), Date.now),
    ssm: createSsmBudget(budgetOption(options.budgets?.ssm), Date.now),
  };

  const ec2 = createEc2Service(ctx, options.ec2);
  const ssm = createSsmService(ctx, options.ssm);
  const github = createGitHubService(ctx, options.github, budgets.github);
  const simulatorOptions =
    options.simulator === false ? { bootstrap: false } : options.simulator === true ? {} : options.simulator;
  const simulator = createSimulator(ctx, { ec2, ssm, github }, simulatorOptions);
  ctx.hooks = simulator.hooks;
  const faults = createFaults({ ec2, github, simulator });

  const latencyMs: Record<Service, number> = { ec2: 0, ssm: 0, github: 0, ...options.latencyMs };

  function seedInstance(spec: SeedInstanceSpec = {}): SeededInstance {
    const environment = spec.environment ?? 'runner-scaler';
    const pool = spec.pool ?? 'default';
    const instanceRegion = spec.region ?? region;
    const instanceState = spec.state ?? 'running';
    const withRunner = spec.withRunner ?? false;
    if (instanceState === 'pending' && (withRunner === 'idle' || withRunner === 'busy')) {
      throw new Error('a pending instance cannot have an online runner yet');
    }
    const tags = new Map(
      Object.entries({ ...instanceTags(environment, pool), ...spec.tags }).map(([key, value]) => [
        key,
        tagValueFromWall(value, clock.offset()),
      ]),
    );
    const [instance] = ec2.launch({
      region: instanceRegion,
      count: 1,
      instanceType: spec.instanceType ?? 't3.micro',
      market: spec.market ?? 'on-demand',
      tags,
      state: instanceState,
      launchTime: spec.launchTime ? clock.fromWall(spec.launchTime.getTime()) : clock.now(),
    });
    const seeded: SeededInstance = { instanceId: instance!.id };
    const name = runnerName(environment, instance!.id);
    let runner;
    if (withRunner) {
      const encodedJitConfig = withRunner === 'offline' ? randomBytes(48).toString('base64') : undefined;
      if (encodedJitConfig) ctx.recordSecret(encodedJitConfig);
      runner = github.addRunner({
        name,
        labels: spec.labels ?? ['self-hosted', pool],
        status: withRunner === 'offline' ? 'offline' : 'online',
        busy: withRunner === 'busy',
        ...(spec.scope ? { scope: spec.scope } : {}),
        ...(withRunner !== 'offline' ? { instanceId: instance!.id } : {}),
        ...(encodedJitConfig ? { encodedJitConfig } : {}),
      });
      seeded.runnerId = runner.id;
      seeded.runnerName = name;
    }
    if (spec.withParameter) {
      const value =
        typeof spec.withParameter === 'string'
          ? spec.withParameter
          : (runner?.encodedJitConfig ?? randomBytes(48).toString('base64'));
      if (typeof spec.withParameter !== 'string' && !runner?.encodedJitConfig) ctx.recordSecret(value);
      seeded.parameterName = parameterName(environment, instance!.id);
      ssm.put(instanceRegion, seeded.parameterName, value, 'SecureString');
    }
    if (instanceState === 'running') {
      let phase: AgentPhase = 'inert';
      if (withRunner === 'idle') phase = 'idle';
      else if (withRunner === 'busy') phase = 'busy';
      else if (spec.bootstrap) phase = 'waiting-config';
      const linked = withRunner === 'idle' || withRunner === 'busy' ? runner : undefined;
      simulator.adopt(instance!, phase, linked, spec.busyForMs);
    }
    return seeded;
  }

  const observers = new Set<CallObserver>();
  const server = createEmulatorServer({
    observers,
    ctx,
    ec2,
    ssm,
    github,
    faults,
    budgets,
    latencyMs,
    async control(method, path, json) {
      try {
        return await controlRequest(method, path, json);
      } catch (error) {
        // A bad control request is the caller's mistake, not an emulator failure.
        return {
          status: 400,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ error: error instanceof Error ? error.message : String(error) }),
        };
      }
    },
  });

  async function controlRequest(method: string, path: string, json: unknown) {
    const input = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
    const ok = (body: unknown) => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (method === 'GET' && path === '/_emulator/state') {
      return ok({
        instances: ec2.instances(),
        runners: github.runners(),
        parameters: ssm.parameters().map(({ value: _value, ...rest }) => rest),
        runs: github.runs(),
        jobs: github.jobs(),
      });
    }
    if (method === 'GET' && path === '/_emulator/calls') return ok(calls);
    if (method === 'POST' && path === '/_emulator/runs')
      return ok(github.queueRun(input as unknown as QueueRunSpec));
    if (method === 'POST' && path === '/_emulator/advance') {
      await scheduler.advance(Number(input.ms) || 0);
      return ok({ offsetMs: clock.offset() });
    }
    if (method === 'POST' && path === '/_emulator/instances') {
      const spec = { ...input } as SeedInstanceSpec & { launchTime?: unknown };
      if (typeof spec.launchTime === 'string') spec.launchTime = new Date(spec.launchTime);
      return ok(seedInstance(spec as SeedInstanceSpec));
    }
    return undefined;
  }

  const url = await server.listen(options.host ?? '127.0.0.1', options.port ?? 0);

  let ticker: NodeJS.Timeout | undefined;
  if (options.speed !== undefined && options.speed > 1) {
    const speed = options.speed;
    let last = Date.now();
    let advancing = false;
    ticker = setInterval(() => {
      const now = Date.now();
      const elapsed = now - last;
      last = now;
      if (advancing) return;
      advancing = true;
      scheduler
        .advance((speed - 1) * elapsed)
        .catch((error: unknown) => reportError(error, 'speed ticker'))
        .finally(() => {
          advancing = false;
        });
    }, options.tickMs ?? 100);
    ticker.unref();
  }

  let stopping: Promise<void> | undefined;

  return {
    url,
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'AKIAEMULATOR00000000',
      AWS_SECRET_ACCESS_KEY: 'emulator-dummy-secret-access-key',
      AWS_EC2_METADATA_DISABLED: 'true',
      GITHUB_API_URL: url,
    },
    region,
    state,
    clock,
    calls,
    errors,
    faults,
    simulator,
    latencyMs,
    ec2: {
      instances(filter) {
        return ec2.instances().filter((instance) => {
          if (filter?.state && instance.state !== filter.state) return false;
          if (filter?.environment && instance.tags[TAG_ENVIRONMENT] !== filter.environment) return false;
          return true;
        });
      },
      instance: (id) => ec2.instance(id),
      setCapacity: (limit, market) => ec2.setCapacity(limit, market),
    },
    ssm: {
      parameters: (parameterRegion) => ssm.parameters(parameterRegion),
      parameter: (name, parameterRegion) => ssm.parameter(name, parameterRegion),
      put(name, value, putOptions) {
        ssm.put(putOptions?.region ?? region, name, value, putOptions?.type ?? 'SecureString');
      },
      delete: (name, parameterRegion) => ssm.delete(parameterRegion ?? region, name),
      setShortPages: (on) => ssm.setShortPages(on),
    },
    github: {
      addOrg: (login) => github.addOrg(login),
      addRepo: (fullName) => github.addRepo(fullName),
      queueRun: (spec) => github.queueRun(spec),
      cancelRun: (runId) => github.cancelRun(runId),
      addRunner(spec) {
        const runner = github.addRunner(spec);
        return github.runner(runner.id)!;
      },
      removeRunner(id) {
        const runner = state.runners.get(id);
        if (runner) github.removeRunner(runner);
        return runner !== undefined;
      },
      runners: (scope) => github.runners(scope),
      runner: (nameOrId) => github.runner(nameOrId),
      runs: () => github.runs(),
      jobs: (filter) => github.jobs(filter),
      setBusyLag: (ms) => github.setBusyLag(ms),
      setDeleteDuringBusyLag: (mode) => github.setDeleteDuringBusyLag(mode),
      expireInstallationTokens: () => github.expireInstallationTokens(),
      killedJobs: () => state.killedJobs.map((killed) => ({ ...killed })),
    },
    scaleSets: github.scaleSets,
    seedInstance,
    onCall(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    issuedSecrets: () => [...state.secrets],
    advance: (ms) => scheduler.advance(ms),
    clearCalls() {
      calls.length = 0;
    },
    stop() {
      stopping ??= (async () => {
        if (ticker) clearInterval(ticker);
        scheduler.stop();
        await server.close();
      })();
      return stopping;
    },
  };
}
