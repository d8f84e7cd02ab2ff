// A small fleet on the emulator that needs launches and removals at once, plus another environment's
// resources that must stay untouched, and the runs of dist/index.js against it.
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { TAG_ENVIRONMENT, TAG_IDLE_SINCE, TAG_POOL, TAG_STALE_SINCE } from '../src/contract.js';
import { runAction, type ActionRun } from '../emulator/run-action.js';
import {
  startEmulator,
  type Emulator,
  type EmulatorRequest,
  type FaultHandle,
  type FaultSpec,
  type KilledJob,
} from '../emulator/index.js';
import {
  checkInvariants,
  checkJobsServed,
  INVARIANTS,
  snapshotForeign,
  type ForeignResources,
  type Invariant,
  type Violation,
  type Writes,
} from './invariants.js';

export const MIN = 60_000;
export const ENVIRONMENT = 'rel';
export const FOREIGN_ENVIRONMENT = 'rel-other';
export const REGION = 'eu-west-1';
const TOKEN = 'ghs_reliability_0123456789abcdef';
const APP_ID = '424242';
export const BOOT_TIMEOUT_MS = 10 * MIN;
export const IDLE_TIMEOUT_MS = 5 * MIN;
/** Queued linux jobs of the default world: each needs exactly one instance. */
export const DEMAND = 3;
export const JOB_MS = 2 * MIN;
export const LINUX_LABELS = ['self-hosted', 'linux', 'x64'];
export const ARM_LABELS = ['self-hosted', 'linux', 'arm64'];

export interface WorldOptions {
  /** `max` of the linux pool (default 4) and its extra pool fields (YAML lines). */
  linuxMax?: number;
  linuxExtra?: string;
  /** Queued linux jobs (default 3: with the dead instances present, the first launch meets max). */
  jobs?: number;
  /** Seed dead linux instances (an orphan and a stale one), a ghost runner and a leaked parameter. Default true. */
  dead?: boolean;
  /** Idle arm runners, confirmed idle, that a reconcile removes. Default 2. */
  idleArm?: number;
  /** Authenticate as a GitHub App (a generated key) instead of with a token. */
  app?: boolean;
  installationTokenLifetimeMs?: number;
  busyLagMs?: number;
  /** What a DELETE during the busy lag does; default `kills-job`, what GitHub does. */
  deleteDuringBusyLag?: 'conflict' | 'kills-job';
  /** The job-started hook of the instances; default true. */
  reportJobStart?: boolean;
}

export interface RunOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  event?: { name: string; payload: unknown };
  runId?: number;
  onSpawn?: (child: ChildProcess) => void;
}

export interface RunRecord {
  label: string;
  mode: string;
  run: ActionRun;
  startedAt: Date;
  ms: number;
}

export interface Checkpoint {
  label: string;
  checked: number;
  violations: Violation[];
}

export interface Seeded {
  /** A linux instance without a runner, past bootTimeout. */
  orphan?: string;
  /** A linux instance with an offline runner and its parameter, past bootTimeout. */
  stale?: string;
  /** Confirmed idle arm instances. */
  arm: string[];
}

export interface World {
  emulator: Emulator;
  seeded: Seeded;
  pools: string;
  max: Record<string, number>;
  foreign: ForeignResources;
  writes: Writes;
  runs: RunRecord[];
  checkpoints: Checkpoint[];
  /** Injected faults; their hits count as faults injected. */
  inject(spec: FaultSpec): FaultHandle;
  /** Faults that are not emulator faults (never-boot instances, interruptions, lagging job starts). */
  countFaults(n: number): void;
  faultsInjected(): number;
  /** Injected faults that never answered a call: a scenario that proves nothing. */
  unfiredFaults(): string[];
  clearFaults(): void;
  run(mode: string, options?: RunOptions & { label?: string }): Promise<ActionRun>;
  advance(ms: number): Promise<void>;
  check(label: string, options?: { only?: readonly Invariant[]; served?: boolean }): Violation[];
  /** Jobs killed for a cause other than an injected fault's. */
  killed(): KilledJob[];
  stop(): Promise<void>;
}

export function poolsFile(options: WorldOptions = {}): string {
  return `
environment: ${ENVIRONMENT}
github: { organization: acme }
coordination: { table: runner-scaler }
defaults:
  region: ${REGION}
  launchTemplate: runner
  repositories: [acme/app]
  idleTimeout: 5m
  minLifetime: 1m
  bootTimeout: 10m
pools:
  linux:
    labels: [linux, x64]
    max: ${options.linuxMax ?? 4}
${options.linuxExtra ?? ''}
  arm:
    labels: [linux, arm64]
    max: 2
`;
}

const ago = (ms: number) => new Date(Date.now() - ms);

function seedForeign(emulator: Emulator): void {
  const base = { environment: FOREIGN_ENVIRONMENT, pool: 'linux', launchTime: ago(60 * MIN) };
  // Each would be removed if it were ours: an orphan, a confirmed idle runner, a stale runner with its parameter.
  emulator.seedInstance({ ...base, withRunner: false });
  emulator.seedInstance({
    ...base,
    withRunner: 'idle',
    labels: ['self-hosted', 'foreign-only'],
    tags: { [TAG_IDLE_SINCE]: ago(60 * MIN).toISOString() },
  });
  emulator.seedInstance({ ...base, withRunner: 'offline', withParameter: true });
  emulator.ssm.put(`/runner-scaler/${FOREIGN_ENVIRONMENT}/i-0aaaaaaaaaaaaaaa1`, 'leaked', {
    region: REGION,
    lastModified: ago(30 * MIN),
  });
  emulator.github.addRunner({ name: `${FOREIGN_ENVIRONMENT}-i-0aaaaaaaaaaaaaaa2`, status: 'offline' });
}

function seedOwn(emulator: Emulator, options: WorldOptions): Seeded {
  const seeded: Seeded = { arm: [] };
  if (options.dead ?? true) {
    seeded.orphan = emulator.seedInstance({
      environment: ENVIRONMENT,
      pool: 'linux',
      launchTime: ago(30 * MIN),
    }).instanceId;
    seeded.stale = emulator.seedInstance({
      environment: ENVIRONMENT,
      pool: 'linux',
      launchTime: ago(30 * MIN),
      withRunner: 'offline',
      withParameter: true,
      // An earlier run saw its runner offline already: this run's sighting is the second.
      tags: { [TAG_STALE_SINCE]: ago(20 * MIN).toISOString() },
    }).instanceId;
    emulator.github.addRunner({
      name: `${ENVIRONMENT}-i-0bbbbbbbbbbbbbbb1`,
      status: 'offline',
      labels: LINUX_LABELS,
    });
    emulator.ssm.put(`/runner-scaler/${ENVIRONMENT}/i-0bbbbbbbbbbbbbbb2`, 'leaked', {
      region: REGION,
      lastModified: ago(30 * MIN),
    });
  }
  for (let i = 0; i < (options.idleArm ?? 2); i++) {
    const arm = emulator.seedInstance({
      environment: ENVIRONMENT,
      pool: 'arm',
      launchTime: ago(30 * MIN),
      withRunner: 'idle',
      labels: ARM_LABELS,
      tags: { [TAG_IDLE_SINCE]: ago(20 * MIN).toISOString() },
    });
    seeded.arm.push(arm.instanceId);
  }
  const jobs = options.jobs ?? DEMAND;
  if (jobs > 0) {
    emulator.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: LINUX_LABELS, durationMs: JOB_MS }],
      count: jobs,
    });
  }
  return seeded;
}

const ids = (form: URLSearchParams, prefix: string) =>
  [...form].filter(([key]) => key.startsWith(prefix)).map(([, value]) => value);

/** Records what the action wrote to, and the peak number of live instances right after each launch. */
function observeWrites(emulator: Emulator): Writes {
  const writes: Writes = {
    terminateCalls: [],
    taggedInstances: new Set(),
    deletedRunners: new Set(),
    deletedParameters: new Set(),
    writtenParameters: new Set(),
    peaks: new Map(),
  };
  emulator.onCall((request: EmulatorRequest, answer) => {
    const { action } = request;
    if (request.service === 'ec2') {
      if (action === 'TerminateInstances' && answer.status === 200)
        writes.terminateCalls.push(ids(request.form, 'InstanceId.'));
      if (action === 'CreateTags' || action === 'DeleteTags')
        for (const id of ids(request.form, 'ResourceId.')) writes.taggedInstances.add(id);
      if ((action === 'RunInstances' || action === 'CreateFleet') && answer.status === 200) {
        const live = new Map<string, number>();
        for (const instance of emulator.state.instances.values()) {
          if (instance.tags.get(TAG_ENVIRONMENT) !== ENVIRONMENT) continue;
          if (instance.state === 'shutting-down' || instance.state === 'terminated') continue;
          const pool = String(instance.tags.get(TAG_POOL));
          live.set(pool, (live.get(pool) ?? 0) + 1);
        }
        for (const [pool, count] of live)
          writes.peaks.set(pool, Math.max(count, writes.peaks.get(pool) ?? 0));
      }
    } else if (request.service === 'ssm') {
      const json = (request.json ?? {}) as { Names?: string[]; Name?: string };
      if (action === 'DeleteParameters')
        for (const name of json.Names ?? []) writes.deletedParameters.add(name);
      if (action === 'DeleteParameter' && json.Name) writes.deletedParameters.add(json.Name);
      if (action === 'PutParameter' && json.Name) writes.writtenParameters.add(json.Name);
    } else if (request.method === 'DELETE' && request.pathParams.runner_id) {
      writes.deletedRunners.add(Number(request.pathParams.runner_id));
    }
  });
  return writes;
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const app = options.app
    ? generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      })
    : undefined;
  const emulator = await startEmulator({
    region: REGION,
    github: {
      orgs: ['acme'],
      repos: ['acme/app'],
      tokens: [TOKEN],
      busyLagMs: options.busyLagMs ?? 0,
      deleteDuringBusyLag: options.deleteDuringBusyLag ?? 'kills-job',
      ...(app ? { app: { id: APP_ID, privateKey: app.privateKey } } : {}),
      ...(options.installationTokenLifetimeMs
        ? { installationTokenLifetimeMs: options.installationTokenLifetimeMs }
        : {}),
    },
    simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000, reportJobStart: options.reportJobStart ?? true },
  });
  seedForeign(emulator);
  const foreign = snapshotForeign(emulator, FOREIGN_ENVIRONMENT);
  const seeded = seedOwn(emulator, options);
  const writes = observeWrites(emulator);
  const pools = poolsFile(options);
  const max = { linux: options.linuxMax ?? 4, arm: 2 };
  const auth: Record<string, string> = app
    ? { 'github-app-id': APP_ID, 'github-app-private-key': app.privateKey }
    : { 'github-token': TOKEN };
  const handles: { handle: FaultHandle; spec: FaultSpec }[] = [];
  let otherFaults = 0;
  const runs: RunRecord[] = [];
  const checkpoints: Checkpoint[] = [];
  let runIds = 7000;

  const world: World = {
    emulator,
    seeded,
    pools,
    max,
    foreign,
    writes,
    runs,
    checkpoints,
    inject(spec) {
      const handle = emulator.faults.inject(spec);
      handles.push({ handle, spec });
      return handle;
    },
    countFaults(n) {
      otherFaults += n;
    },
    faultsInjected: () => handles.reduce((n, h) => n + h.handle.hits, 0) + otherFaults,
    unfiredFaults: () =>
      handles
        .filter((h) => h.handle.hits === 0)
        .map(
          (h) =>
            `${h.spec.service} ${String(h.spec.action ?? '*')} ${h.spec.code ?? h.spec.status ?? 'hook'}`,
        ),
    clearFaults() {
      for (const { handle } of handles) handle.remove();
    },
    async run(mode, runOptions = {}) {
      const startedAt = new Date();
      const run = await runAction({
        url: emulator.url,
        inputs: { mode, ...auth, ...runOptions.inputs },
        pools,
        // The secret scan of every end-to-end run (test/security) covers these runs too.
        secrets: () => emulator.issuedSecrets(),
        runId: runOptions.runId ?? runIds++,
        ...(runOptions.event ? { event: runOptions.event } : {}),
        ...(runOptions.env ? { env: runOptions.env } : {}),
        ...(runOptions.onSpawn ? { onSpawn: runOptions.onSpawn } : {}),
      });
      runs.push({
        label: runOptions.label ?? mode,
        mode,
        run,
        startedAt,
        ms: Date.now() - startedAt.getTime(),
      });
      return run;
    },
    advance: (ms) => emulator.advance(ms),
    check(label, checkOptions = {}) {
      const last = runs[runs.length - 1];
      const only = checkOptions.only ?? INVARIANTS;
      const violations = checkInvariants(emulator, {
        environment: ENVIRONMENT,
        max,
        bootTimeoutMs: BOOT_TIMEOUT_MS,
        staleConfirmMs: IDLE_TIMEOUT_MS,
        parameterGraceMs: BOOT_TIMEOUT_MS,
        ...(last ? { observedAt: last.startedAt } : {}),
        foreign,
        writes,
        only,
      });
      if (checkOptions.served) violations.push(...checkJobsServed(emulator));
      checkpoints.push({ label, checked: only.length + (checkOptions.served ? 1 : 0), violations });
      return violations;
    },
    killed: () => emulator.github.killedJobs().filter((k) => k.cause !== 'interrupted'),
    stop: () => emulator.stop(),
  };
  return world;
}

/** Lets the jobs run: a reconcile every 3 minutes until every job completed (at most 3), then a check. */
export async function serveJobs(world: World): Promise<void> {
  for (let round = 1; round <= 3; round++) {
    await world.advance(3 * MIN);
    await world.run('reconcile', { label: `serve ${round}` });
    if (world.emulator.github.jobs().every((job) => job.status === 'completed')) break;
  }
  world.check('after the jobs ran', { served: true });
}

/** Instances of the environment the action launched (every one but the seeded). */
export function launchedByAction(world: World): number {
  const seeded = new Set([world.seeded.orphan, world.seeded.stale, ...world.seeded.arm]);
  return world.emulator.ec2.instances({ environment: ENVIRONMENT }).filter((i) => !seeded.has(i.id)).length;
}

/** Total invariants checked and violations over a world's checkpoints. */
export function tally(checkpoints: Checkpoint[]) {
  return {
    checked: checkpoints.reduce((n, c) => n + c.checked, 0),
    violations: checkpoints.flatMap((c) => c.violations.map((v) => ({ ...v, at: c.label }))),
  };
}
