// The local emulator of EC2, SSM and GitHub that the demo, the end-to-end tests and the benchmark
// run runner-scaler against. One HTTP server on 127.0.0.1 speaks all three wire protocols, so the
// unmodified AWS SDK and Octokit clients work against it (AWS_ENDPOINT_URL, GITHUB_API_URL).
import type { Emulator, EmulatorOptions } from './api.js';
import { createEc2Budget, createGitHubBudget, createSsmBudget, type BudgetOptions } from './budgets.js';
import { createClock, createScheduler } from './clock.js';
import { noHooks, type CallLogEntry, type EmulatorContext } from './context.js';
import { STORE_TIME_ATTRIBUTES } from '../src/aws/store.js';
import { createCloudWatchService } from './cloudwatch/index.js';
import { createControl } from './control.js';
import { createDynamoDbService } from './dynamodb/index.js';
import { createEc2Service } from './ec2/index.js';
import { ec2Facade, githubFacade, ssmFacade } from './facade.js';
import { createFaults } from './faults.js';
import { createGitHubService } from './github/index.js';
import { seedInstance } from './seed.js';
import { createEmulatorServer, DEFAULT_LATENCY_PER_KB_MS, type CallObserver } from './server/index.js';
import { createSimulator } from './simulator/index.js';
import { createSsmService } from './ssm/index.js';
import { createState, type Service } from './state.js';
import { startSpeedTicker } from './ticker.js';

export type * from './api.js';

/** The coordination table the emulator has from the start (the demo's and the tests' pools files name it). */
export const DEFAULT_COORDINATION_TABLE = 'runner-scaler';
export type { CallLogEntry, EmulatorRequest } from './context.js';
export type * from './github/scaleset/index.js';
export type { DynamoDbOptions, DynamoDbService, DynamoDbTableSpec } from './dynamodb/index.js';
export type { CallObserver } from './server/index.js';
export { DEFAULT_LATENCY_PER_KB_MS } from './server/index.js';
export type { FaultSpec, FaultHandle, Faults } from './faults.js';
export type { InstanceView, Market, LaunchTemplateDefinition, Ec2Options } from './ec2/index.js';
export type { ParameterView, SsmOptions } from './ssm/index.js';
export type {
  RunnerView,
  JobView,
  RunView,
  QueueRunSpec,
  JobSpec,
  RunnerSpec,
  GitHubOptions,
} from './github/index.js';
export type { SimulatorOptions, NeverBootSpec, AgentPhase, Simulator } from './simulator/index.js';
export type { BudgetOptions, GitHubBudgetOptions, Ec2BudgetOptions, SsmBudgetOptions } from './budgets.js';
export type { Clock } from './clock.js';
export type { EmulatorState, KilledJob, Service } from './state.js';

/** The shared context every service works in, with the call log and the emulator's own failures. */
function createContext(options: EmulatorOptions) {
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
  const ctx: EmulatorContext = {
    state,
    clock,
    scheduler,
    defaultRegion: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '123456789012',
    hooks: noHooks,
    log: (entry) => calls.push({ latencyMs: 0, at: Date.now(), ...entry }),
    recordSecret: (secret) => state.secrets.add(secret),
    reportError,
  };
  return { ctx, calls, errors };
}

function budgetOption<T extends object>(value: boolean | T | undefined): T | undefined {
  return value === true ? ({} as T) : value === false || value === undefined ? undefined : value;
}

function createBudgets(options: BudgetOptions = {}) {
  return {
    github: createGitHubBudget(budgetOption(options.github), Date.now),
    ec2: createEc2Budget(budgetOption(options.ec2), Date.now),
    ssm: createSsmBudget(budgetOption(options.ssm), Date.now),
  };
}

function createServices(
  ctx: EmulatorContext,
  options: EmulatorOptions,
  budgets: ReturnType<typeof createBudgets>,
) {
  const ec2 = createEc2Service(ctx, options.ec2);
  const ssm = createSsmService(ctx, options.ssm);
  const github = createGitHubService(ctx, options.github, budgets.github);
  const simulatorOptions =
    options.simulator === false ? { bootstrap: false } : options.simulator === true ? {} : options.simulator;
  const simulator = createSimulator(ctx, { ec2, ssm, github }, simulatorOptions);
  ctx.hooks = simulator.hooks;
  const faults = createFaults({ ec2, github, simulator });
  // The coordination store's table exists from the start, like the one the CloudFormation example creates.
  const dynamodb = createDynamoDbService(
    { clock: ctx.clock, defaultRegion: ctx.defaultRegion, accountId: ctx.accountId },
    {
      timeAttributes: STORE_TIME_ATTRIBUTES,
      tables: [{ name: DEFAULT_COORDINATION_TABLE, region: ctx.defaultRegion, ttlAttribute: 'ttl' }],
      ...options.dynamodb,
    },
  );
  const cloudwatch = createCloudWatchService();
  return { ec2, ssm, github, simulator, faults, dynamodb, cloudwatch };
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { ctx, calls, errors } = createContext(options);
  const { state, clock, scheduler, defaultRegion: region } = ctx;
  const budgets = createBudgets(options.budgets);
  const services = createServices(ctx, options, budgets);
  const seed: Emulator['seedInstance'] = (spec) => seedInstance({ ctx, ...services }, spec);
  const latencyMs: Record<Service, number> = {
    ec2: 0,
    ssm: 0,
    github: 0,
    dynamodb: 0,
    cloudwatch: 0,
    ...options.latencyMs,
  };
  const latencyPerKbMs: Record<Service, number> = { ...DEFAULT_LATENCY_PER_KB_MS, ...options.latencyPerKbMs };
  const observers = new Set<CallObserver>();
  const control = createControl({ ...services, scheduler, clock, calls, seedInstance: seed });
  const server = createEmulatorServer({
    ...services,
    ctx,
    budgets,
    latencyMs,
    latencyPerKbMs,
    observers,
    control,
  });
  const url = await server.listen(options.host ?? '127.0.0.1', options.port ?? 0);
  const speed = options.speed ?? 1;
  const ticker =
    speed > 1 ? startSpeedTicker(scheduler, speed, options.tickMs ?? 100, ctx.reportError) : undefined;
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
    faults: services.faults,
    simulator: services.simulator,
    scaleSets: services.github.scaleSets,
    dynamodb: services.dynamodb,
    cloudwatch: {
      metrics: (filter) => services.cloudwatch.metrics(filter),
      putCalls: () => services.cloudwatch.putCalls(),
    },
    latencyMs,
    latencyPerKbMs,
    ec2: ec2Facade(services.ec2),
    ssm: ssmFacade(services.ssm, region, clock),
    github: githubFacade(services.github, state),
    seedInstance: seed,
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
