// A stage for mode listen: the emulator speaking the runner scale set protocol (short long polls and session
// timeouts, so that a scenario runs in seconds), a pools file with a scale-set pool, and listeners started
// from dist/index.js as the Actions runner starts them (and stopped by signal, or killed).
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { TAG_ENVIRONMENT, TAG_POOL } from '../src/contract.js';
import { runAction, type ActionRun } from '../emulator/run-action.js';
import {
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type ScaleSetOptions,
} from '../emulator/index.js';

export const LISTEN_ENV = 'lst';
export const ORG = 'acme';
export const REGION = 'eu-west-1';
export const LINUX = ['self-hosted', 'linux', 'x64'];
const APP_ID = '515151';
const MIN = 60_000;

export interface ListenStageOptions {
  /** max of the scale-set pool (default 4) and extra YAML lines for it. */
  max?: number;
  poolExtra?: string;
  scaleSets?: ScaleSetOptions;
  emulator?: EmulatorOptions;
  /** The bundle to run; default dist/index.js. */
  action?: string;
  /** The listeners' periods (RUNNER_SCALER_LISTEN_TIMINGS); default the production ones. */
  timings?: Record<string, number>;
}

/** Periods that let a scenario show in seconds what takes minutes in production. */
export const FAST_TIMINGS = {
  reconcileEveryMs: 2_000,
  heartbeatEveryMs: 1_000,
  staleAfterMs: 3_000,
  conflictMaxMs: 500,
};

export interface RunningListener {
  /** Resolves when the process ended. */
  done: Promise<ActionRun>;
  child(): ChildProcess | undefined;
  /** Sends a signal once the process started. */
  signal(signal: NodeJS.Signals): void;
}

export interface ListenStage {
  emulator: Emulator;
  pools: string;
  max: number;
  /** Starts a listener (mode listen) that runs until its deadline or a signal. */
  listen(options?: {
    minutes?: number;
    runId?: number;
    env?: Record<string, string>;
    /** Also require an ::add-mask:: for every secret the listener received (see runAction). */
    requireMasks?: boolean;
  }): RunningListener;
  /** One run of another mode (the scheduler's reconcile, a pre-job's scale-up). */
  run(mode: string, inputs?: Record<string, string>, runId?: number): Promise<ActionRun>;
  /** Queues jobs for the scale-set pool in a repository the pools file does not name. */
  queue(count: number, durationMs?: number, repository?: string): number[];
  /** The scale set once a listener created it. */
  scaleSetId(): number | undefined;
  /** Live instances of the pool now, and the most seen right after any launch call. */
  live(): number;
  peak(): number;
  /** RunInstances/CreateFleet calls answered 200, with their wall time. */
  launchCalls(): number[];
  /** Waits (real time) until `ready` holds; false after `ms`. */
  until(ready: () => boolean, ms: number): Promise<boolean>;
  stop(): Promise<void>;
}

export function listenPools(max: number, extra = ''): string {
  return `
environment: ${LISTEN_ENV}
github: { organization: ${ORG} }
coordination: { table: runner-scaler }
defaults:
  region: ${REGION}
  launchTemplate: runner
  repositories: [acme/infra]
  idleTimeout: 5m
  minLifetime: 1m
  bootTimeout: 10m
pools:
  linux:
    labels: [linux, x64]
    max: ${max}
    scaleSet: true
${extra}`;
}

function liveCount(emulator: Emulator): number {
  let n = 0;
  for (const instance of emulator.state.instances.values()) {
    if (instance.tags.get(TAG_ENVIRONMENT) !== LISTEN_ENV || instance.tags.get(TAG_POOL) !== 'linux')
      continue;
    if (instance.state !== 'shutting-down' && instance.state !== 'terminated') n += 1;
  }
  return n;
}

/** Starts dist/index.js (or `action`) as the runner starts a step; signals sent before it started wait for it. */
function startAction(
  emulator: Emulator,
  o: {
    inputs: Record<string, string>;
    pools: string;
    runId: number;
    env?: Record<string, string>;
    action?: string;
    requireMasks?: boolean;
  },
): RunningListener {
  let child: ChildProcess | undefined;
  const pending: NodeJS.Signals[] = [];
  const done = runAction({
    url: emulator.url,
    inputs: o.inputs,
    pools: o.pools,
    secrets: () => emulator.issuedSecrets(),
    runId: o.runId,
    ...(o.env ? { env: o.env } : {}),
    ...(o.action ? { action: o.action } : {}),
    ...(o.requireMasks ? { requireMasks: true } : {}),
    onSpawn: (c) => {
      child = c;
      for (const s of pending) c.kill(s);
    },
  });
  return {
    done,
    child: () => child,
    signal(signal: NodeJS.Signals) {
      if (child) child.kill(signal);
      else pending.push(signal);
    },
  };
}

export async function listenStage(options: ListenStageOptions = {}): Promise<ListenStage> {
  // The listener holds the App's key and mints its own tokens, as in production.
  const app = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const emulator = await startEmulator({
    region: REGION,
    ...options.emulator,
    github: {
      orgs: [ORG],
      repos: ['acme/infra', 'acme/unlisted'],
      app: { id: APP_ID, privateKey: app.privateKey },
      scaleSets: { pollTimeoutMs: 1_500, sessionTimeoutMs: 4_000, ...options.scaleSets },
      ...options.emulator?.github,
    },
    simulator: options.emulator?.simulator ?? { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
  const max = options.max ?? 4;
  const pools = listenPools(max, options.poolExtra);
  const auth = { 'github-app-id': APP_ID, 'github-app-private-key': app.privateKey };
  let peak = 0;
  const launches: number[] = [];
  emulator.onCall((request, answer) => {
    if (request.service !== 'ec2' || answer.status !== 200) return;
    if (request.action !== 'RunInstances' && request.action !== 'CreateFleet') return;
    launches.push(Date.now());
    peak = Math.max(peak, liveCount(emulator));
  });
  let runIds = 9000;
  const start = (
    mode: string,
    inputs: Record<string, string>,
    more: { runId?: number; env?: Record<string, string>; requireMasks?: boolean } = {},
  ) =>
    startAction(emulator, {
      inputs: { mode, ...auth, ...inputs },
      pools,
      runId: more.runId ?? runIds++,
      ...(more.env ? { env: more.env } : {}),
      ...(more.requireMasks ? { requireMasks: true } : {}),
      ...(options.action ? { action: options.action } : {}),
    });
  return {
    emulator,
    pools,
    max,
    listen: (o = {}) =>
      start(
        'listen',
        { 'listen-minutes': String(o.minutes ?? 30) },
        {
          ...(o.runId !== undefined ? { runId: o.runId } : {}),
          ...(o.requireMasks ? { requireMasks: true } : {}),
          env: {
            ...(options.timings ? { RUNNER_SCALER_LISTEN_TIMINGS: JSON.stringify(options.timings) } : {}),
            ...o.env,
          },
        },
      ),
    run: (mode, inputs = {}, runId) => start(mode, inputs, runId === undefined ? {} : { runId }).done,
    queue(count, durationMs = 2 * MIN, repository = 'acme/unlisted') {
      return emulator.github.queueRun({ repository, jobs: [{ labels: LINUX, durationMs }], count }).jobIds;
    },
    scaleSetId: () => emulator.scaleSets.get(`${LISTEN_ENV}-linux`)?.id,
    live: () => liveCount(emulator),
    peak: () => Math.max(peak, liveCount(emulator)),
    launchCalls: () => [...launches],
    async until(ready, ms) {
      const deadline = Date.now() + ms;
      while (!ready()) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return true;
    },
    stop: () => emulator.stop(),
  };
}
