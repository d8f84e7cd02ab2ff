// The multi-trigger soak: hours of emulated fleet life with every trigger at once. A scheduler reconciles every
// 5 minutes from the infrastructure repository; jobs arrive at random; pre-jobs (count + unique label) and
// repository_dispatch scale-ups from application repositories start beside the scheduler at random; spot
// interruptions, API faults, GitHub's lagging busy flag and EC2's listing lag go on all the while. Read from the
// emulator's state: no job killed, `max` never exceeded, no job waiting longer than one scheduler interval plus
// boot (unless the pool was full), and no leak at the end.
import { TAG_ENVIRONMENT, TAG_POOL } from '../src/contract.js';
import type { ActionRun } from '../emulator/run-action.js';
import type { Emulator } from '../emulator/index.js';
import {
  dispatchEvent,
  ENV,
  LINUX,
  poolsFile,
  REGION,
  stage,
  type AdversarialOptions,
} from './adversarial.js';
import { checkInvariants, type Violation } from './invariants.js';

const MIN = 60_000;
export const TICK_MS = 5 * MIN;
const BOOT_MS = 60_000;
const MAX = 8;

export interface SoakOptions extends AdversarialOptions {
  /** Emulated time (default 4 h). */
  hours?: number;
  /** PRNG seed: the same seed gives the same arrivals, triggers and faults. */
  seed?: number;
}

export interface SoakResult {
  hours: number;
  seed: number;
  runs: { scheduler: number; preJob: number; dispatch: number; failed: number };
  jobs: { queued: number; completed: number; interrupted: number; waitP50Ms: number; waitMaxMs: number };
  faults: { api: number; interruptions: number };
  peakLive: number;
  launched: number;
  violations: (Violation & { at: string })[];
  /** Why runs failed (an injected fault, a breaker…): the first line of each. */
  failures: string[];
  ms: number;
}

/** mulberry32: a small, well-known seeded PRNG. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Soak {
  emulator: Emulator;
  rand: () => number;
  pools: string;
  run: (mode: string, extra?: Parameters<Awaited<ReturnType<typeof stage>>['run']>[2]) => Promise<ActionRun>;
  result: SoakResult;
  liveAtLaunch: number[];
  launched: Set<string>;
}

/** Live instances of the pool right after each launch call, and every instance id ever launched. */
function trackLaunches(emulator: Emulator, live: number[], launched: Set<string>): void {
  emulator.onCall((request, answer) => {
    if (request.service !== 'ec2' || answer.status !== 200) return;
    if (request.action !== 'RunInstances' && request.action !== 'CreateFleet') return;
    let count = 0;
    for (const instance of emulator.state.instances.values()) {
      if (instance.tags.get(TAG_ENVIRONMENT) !== ENV || instance.tags.get(TAG_POOL) !== 'linux') continue;
      launched.add(instance.id);
      if (instance.state !== 'shutting-down' && instance.state !== 'terminated') count += 1;
    }
    live.push(count);
  });
}

/** Jobs arrive: 0 to 3 generic ones, 2 to 12 minutes long. */
function arrivals(soak: Soak): number {
  const count = Math.floor(soak.rand() * 4);
  for (let i = 0; i < count; i++) {
    const repository = soak.rand() < 0.5 ? 'acme/app' : 'acme/api';
    const durationMs = (2 + Math.floor(soak.rand() * 10)) * MIN;
    soak.emulator.github.queueRun({ repository, jobs: [{ labels: LINUX, durationMs }] });
  }
  return count;
}

/** A fault for the next runs, now and then: throttling, a 5xx, a lost answer. */
function maybeFault(soak: Soak): void {
  const roll = soak.rand();
  const { faults } = soak.emulator;
  if (roll < 0.08)
    faults.inject({ service: 'ec2', action: 'DescribeInstances', code: 'RequestLimitExceeded', times: 1 });
  else if (roll < 0.14) faults.inject({ service: 'github', status: 502, times: 1 });
  else if (roll < 0.18)
    faults.inject({
      service: 'ssm',
      action: 'PutParameter',
      code: 'ThrottlingException',
      status: 400,
      times: 1,
    });
  else if (roll < 0.2)
    faults.inject({ service: 'dynamodb', code: 'ThrottlingException', status: 400, times: 1 });
  else return;
  soak.result.faults.api += 1;
}

function maybeInterrupt(soak: Soak): void {
  if (soak.rand() >= 0.15) return;
  const busy = soak.emulator.ec2.instances({ environment: ENV, state: 'running' });
  const victim = busy[Math.floor(soak.rand() * busy.length)];
  if (!victim) return;
  soak.emulator.faults.interrupt(victim.id);
  soak.result.faults.interruptions += 1;
}

/** A pre-job: a few runners reserved for its run, then its own jobs asking for their label. */
async function preJob(soak: Soak): Promise<ActionRun> {
  const count = 1 + Math.floor(soak.rand() * 2);
  const run = await soak.run('scale-up', {
    inputs: { pool: 'linux', count: String(count), 'unique-label': 'true' },
    env: { GITHUB_REPOSITORY: 'acme/app' },
  });
  const label = run.outputs.label;
  if (label)
    soak.emulator.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: [label], durationMs: 4 * MIN }],
      count,
    });
  soak.result.runs.preJob += 1;
  return run;
}

async function dispatch(soak: Soak): Promise<ActionRun> {
  const jobs = soak.emulator.github
    .jobs({ status: 'queued' })
    .filter((j) => j.labels.every((l) => LINUX.includes(l)));
  const some = jobs.filter(() => soak.rand() < 0.7);
  soak.result.runs.dispatch += 1;
  return soak.run('scale-up', {
    event: dispatchEvent(
      some.map((j) => ({ id: j.id, runId: j.runId, labels: j.labels, repository: j.repository })),
    ),
    env: { GITHUB_REPOSITORY: 'acme/api' },
  });
}

/** One scheduler interval: arrivals, the scheduler with whatever triggers start beside it, time passing. */
async function tick(soak: Soak): Promise<void> {
  maybeFault(soak);
  const runs: Promise<ActionRun>[] = [soak.run('reconcile', { env: { GITHUB_REPOSITORY: 'acme/infra' } })];
  soak.result.runs.scheduler += 1;
  if (soak.rand() < 0.3) runs.push(preJob(soak));
  if (soak.rand() < 0.3) runs.push(dispatch(soak));
  for (const run of await Promise.all(runs)) {
    if (run.exitCode === 0) continue;
    soak.result.runs.failed += 1;
    soak.result.failures.push(`tick ${soak.result.runs.scheduler}: ${run.errors.join(' ').slice(0, 300)}`);
  }
  soak.emulator.faults.clear();
  await soak.emulator.advance(TICK_MS / 2);
  soak.result.jobs.queued += arrivals(soak);
  maybeInterrupt(soak);
  await soak.emulator.advance(TICK_MS / 2);
  const violations = checkInvariants(soak.emulator, {
    environment: ENV,
    max: MAX,
    bootTimeoutMs: 10 * MIN,
    only: ['no job killed', 'never more instances than max'],
  });
  for (const v of violations) soak.result.violations.push({ ...v, at: `tick ${soak.result.runs.scheduler}` });
}

/**
 * A job waits at most one scheduler interval plus boot and runner start, unless the pool was full (then it waits
 * for a runner to leave): the soak keeps demand below `max` on average, and counts the exceptions.
 */
function waits(soak: Soak) {
  const jobs = soak.emulator.github.jobs();
  const started = jobs.filter((j) => j.startedAt);
  const ms = started
    .map((j) => (j.startedAt as Date).getTime() - j.createdAt.getTime())
    .sort((a, b) => a - b);
  const bound = TICK_MS + BOOT_MS + 2 * MIN;
  for (const job of started) {
    const wait = (job.startedAt as Date).getTime() - job.createdAt.getTime();
    if (wait > bound)
      soak.result.violations.push({
        invariant: 'no job waits longer than a scheduler interval plus boot',
        detail: `job ${job.id} waited ${Math.round(wait / 1000)} s`,
        at: 'end',
      });
  }
  soak.result.jobs.completed = jobs.filter((j) => j.status === 'completed').length;
  soak.result.jobs.interrupted = soak.emulator.github
    .killedJobs()
    .filter((k) => k.cause === 'interrupted').length;
  soak.result.jobs.waitP50Ms = ms[Math.floor(ms.length / 2)] ?? 0;
  soak.result.jobs.waitMaxMs = ms[ms.length - 1] ?? 0;
}

export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const started = Date.now();
  const hours = options.hours ?? 4;
  const seed = options.seed ?? 20261130;
  const s = await stage(options, {
    github: { busyLagMs: 45_000, deleteDuringBusyLag: 'kills-job' },
    ec2: { listingLagMs: 20_000 },
    simulator: { bootDelayMs: BOOT_MS - 5_000, runnerStartMs: 5_000 },
  });
  const soak: Soak = {
    emulator: s.emulator,
    rand: random(seed),
    pools: poolsFile(`    max: ${MAX}\n    min: 1`).replace(
      'repositories: [acme/app]',
      'repositories: [acme/app, acme/api]',
    ),
    run: (mode, extra) => s.run(mode, soak.pools, extra),
    liveAtLaunch: [],
    launched: new Set(),
    result: {
      hours,
      seed,
      runs: { scheduler: 0, preJob: 0, dispatch: 0, failed: 0 },
      jobs: { queued: 0, completed: 0, interrupted: 0, waitP50Ms: 0, waitMaxMs: 0 },
      faults: { api: 0, interruptions: 0 },
      peakLive: 0,
      launched: 0,
      violations: [],
      failures: [],
      ms: 0,
    },
  };
  trackLaunches(s.emulator, soak.liveAtLaunch, soak.launched);
  try {
    for (let t = 0; t < (hours * 60 * MIN) / TICK_MS; t++) await tick(soak);
    // The last jobs finish and the scheduler cleans up; then nothing may have leaked.
    for (let i = 0; i < 4; i++) {
      await s.run('reconcile', soak.pools);
      await s.emulator.advance(TICK_MS);
    }
    await s.run('reconcile', soak.pools);
    waits(soak);
    const leaks = checkInvariants(s.emulator, {
      environment: ENV,
      max: MAX,
      bootTimeoutMs: 10 * MIN,
      staleConfirmMs: 5 * MIN,
      parameterGraceMs: 10 * MIN,
      only: ['no parameter without an instance', 'no ghost runner', 'no instance without a runner past boot'],
    });
    for (const v of leaks) soak.result.violations.push({ ...v, at: 'end' });
    soak.result.peakLive = Math.max(0, ...soak.liveAtLaunch);
    soak.result.launched = soak.launched.size;
    for (const v of soak.liveAtLaunch.filter((n) => n > MAX)) {
      soak.result.violations.push({
        invariant: 'never more instances than max',
        detail: `${v} live`,
        at: 'a launch',
      });
    }
    return { ...soak.result, ms: Date.now() - started };
  } finally {
    await s.stop();
  }
}

export { REGION };
