// The listen benchmark: how fast a queued job gets its launch call (and its runner online) from a listener,
// beside the 5-minute scheduler on the same arrivals, and what the listener costs. Every phase gets a fresh
// emulator with the stated latencies and the real API budgets; the listener is dist/index.js in mode listen
// (production periods: 50 s long polls, a reconcile every 3 minutes, a heartbeat every 30 s).
import { runAction } from '../emulator/run-action.js';
import { startEmulator, type CallLogEntry, type Emulator } from '../emulator/index.js';
import { listenPools, LINUX, LISTEN_ENV, ORG, REGION } from '../reliability/listen-world.js';
import { percentile } from '../src/listen/metrics.js';
import type { Latency } from './scenarios.js';

const TOKEN = 'ghp_bench_listen_token_0123456789';
const MIN = 60_000;
/** The scheduler's cron period, and where in it the arrivals start (half way: the average wait). */
const CRON_MS = 5 * MIN;
const CRON_PHASE_MS = CRON_MS / 2;

export interface ListenBenchOptions {
  /** A job every this many ms … */
  trickleEveryMs: number;
  /** … for this long. */
  trickleForMs: number;
  /** Jobs queued at once. */
  burst: number;
  /** How long the listener is measured idle (requests per idle hour). */
  idleMs: number;
  latency: Latency;
  /** Emulated boot: instance pending -> running, then the runner's start. */
  bootDelayMs: number;
  runnerStartMs: number;
  action?: string;
  log: (line: string) => void;
}

export interface LatencyFigures {
  jobs: number;
  launched: number;
  launchCalls: number;
  queueToLaunchMs: { p50?: number; p95?: number; max?: number };
  queueToOnlineMs: { p50?: number; p95?: number; max?: number };
}

export interface ListenBenchReport {
  settings: Omit<ListenBenchOptions, 'log' | 'action'> & { cronMs: number; cronPhaseMs: number };
  trickle: { listener: LatencyFigures; scheduler: LatencyFigures };
  burst: { listener: LatencyFigures; firstLaunchAfterQueueMs?: number };
  cost: {
    idleMs: number;
    perIdleHour: Record<string, number>;
    perJob: Record<string, number>;
    githubPointsPerIdleHour: number;
  };
}

function stats(values: number[]) {
  if (values.length === 0) return {};
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

async function emulatorFor(options: ListenBenchOptions): Promise<Emulator> {
  return startEmulator({
    region: REGION,
    github: { orgs: [ORG], repos: ['acme/infra', 'acme/unlisted'], tokens: [TOKEN] },
    latencyMs: { ...options.latency },
    budgets: { github: true, ec2: true, ssm: true },
    simulator: { bootDelayMs: options.bootDelayMs, runnerStartMs: options.runnerStartMs },
  });
}

/** Launch calls (emulator time of the call, instances launched) and runners' first online times, as they happen. */
function watch(emulator: Emulator) {
  const launches: { at: number; count: number }[] = [];
  let seen = 0;
  emulator.onCall((request, answer) => {
    if (request.service !== 'ec2' || answer.status !== 200) return;
    if (request.action !== 'RunInstances' && request.action !== 'CreateFleet') return;
    // The call is handled (its instances exist) before it is answered.
    const total = emulator.ec2.instances({ environment: LISTEN_ENV }).length;
    launches.push({ at: emulator.clock.now(), count: total - seen });
    seen = total;
  });
  const online = new Map<number, number>();
  const timer = setInterval(() => {
    for (const runner of emulator.state.runners.values()) {
      if (runner.status === 'online' && runner.name.startsWith(`${LISTEN_ENV}-`) && !online.has(runner.id))
        online.set(runner.id, emulator.clock.now());
    }
  }, 100);
  return {
    launches,
    onlineTimes: () => [...online.values()].sort((a, b) => a - b),
    stop: () => clearInterval(timer),
  };
}

/** Job i is served by the i-th instance launched and the i-th runner online (all interchangeable). */
function figures(queued: number[], watcher: ReturnType<typeof watch>): LatencyFigures {
  const instanceTimes = watcher.launches.flatMap((l) => Array.from({ length: l.count }, () => l.at));
  const online = watcher.onlineTimes();
  const toLaunch = queued.flatMap((q, i) => (instanceTimes[i] === undefined ? [] : [instanceTimes[i] - q]));
  const toOnline = queued.flatMap((q, i) => (online[i] === undefined ? [] : [online[i] - q]));
  return {
    jobs: queued.length,
    launched: instanceTimes.length,
    launchCalls: watcher.launches.length,
    queueToLaunchMs: stats(toLaunch),
    queueToOnlineMs: stats(toOnline),
  };
}

function queueOne(emulator: Emulator, repository = 'acme/unlisted'): number {
  emulator.github.queueRun({ repository, jobs: [{ labels: LINUX, durationMs: 30 * MIN }] });
  return emulator.clock.now();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startListener(emulator: Emulator, options: ListenBenchOptions, max: number) {
  let kill: (() => void) | undefined;
  const done = runAction({
    url: emulator.url,
    inputs: { mode: 'listen', 'github-token': TOKEN, 'listen-minutes': '120' },
    pools: listenPools(max),
    ...(options.action ? { action: options.action } : {}),
    onSpawn: (child) => (kill = () => child.kill('SIGTERM')),
  });
  return { done, stop: () => kill?.() };
}

async function untilSession(emulator: Emulator): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (emulator.scaleSets.sessions().length === 0) {
    if (Date.now() > deadline) throw new Error('bench listen: the listener held no session within 60 s');
    await sleep(50);
  }
}

/** The trickle with a listener: arrivals in real time (the listener lives in it). */
async function trickleListener(options: ListenBenchOptions): Promise<LatencyFigures> {
  const emulator = await emulatorFor(options);
  const watcher = watch(emulator);
  const jobs = Math.max(1, Math.floor(options.trickleForMs / options.trickleEveryMs));
  const listener = startListener(emulator, options, jobs + 10);
  try {
    await untilSession(emulator);
    const queued: number[] = [];
    for (let i = 0; i < jobs; i++) {
      queued.push(queueOne(emulator));
      options.log(`listen trickle: job ${i + 1}/${jobs}`);
      await sleep(options.trickleEveryMs);
    }
    await sleep(options.bootDelayMs + options.runnerStartMs + 10_000);
    return figures(queued, watcher);
  } finally {
    listener.stop();
    await listener.done;
    watcher.stop();
    await emulator.stop();
  }
}

/** The same arrivals served by a reconcile every 5 minutes, in emulator time (the runs themselves are real). */
async function trickleScheduler(options: ListenBenchOptions): Promise<LatencyFigures> {
  const emulator = await emulatorFor(options);
  const watcher = watch(emulator);
  const jobs = Math.max(1, Math.floor(options.trickleForMs / options.trickleEveryMs));
  const pools = listenPools(jobs + 10).replace('repositories: [acme/infra]', 'repositories: [acme/unlisted]');
  const arrivals = Array.from({ length: jobs }, (_, i) => CRON_PHASE_MS + i * options.trickleEveryMs);
  const end = arrivals[arrivals.length - 1] ?? 0;
  const queued: number[] = [];
  let t = 0;
  try {
    for (let tick = CRON_MS; ; tick += CRON_MS) {
      for (const at of arrivals.filter((a) => a >= t && a < tick)) {
        await emulator.advance(at - t);
        t = at;
        queued.push(queueOne(emulator));
      }
      await emulator.advance(tick - t);
      t = tick;
      await runAction({ url: emulator.url, inputs: { mode: 'reconcile', 'github-token': TOKEN }, pools });
      if (tick > end) break;
    }
    await emulator.advance(options.bootDelayMs + options.runnerStartMs + 5_000);
    await sleep(500);
    return figures(queued, watcher);
  } finally {
    watcher.stop();
    await emulator.stop();
  }
}

async function burstListener(options: ListenBenchOptions): Promise<ListenBenchReport['burst']> {
  const emulator = await emulatorFor(options);
  const watcher = watch(emulator);
  const listener = startListener(emulator, options, options.burst + 10);
  try {
    await untilSession(emulator);
    const at = emulator.clock.now();
    emulator.github.queueRun({
      repository: 'acme/unlisted',
      jobs: [{ labels: LINUX, durationMs: 30 * MIN }],
      count: options.burst,
    });
    const queued = Array.from({ length: options.burst }, () => at);
    const deadline = Date.now() + 30_000;
    while (watcher.launches.reduce((n, l) => n + l.count, 0) < options.burst && Date.now() < deadline)
      await sleep(100);
    // Runner configs go out at the API budgets' pace while the instances boot.
    await sleep(options.bootDelayMs + options.runnerStartMs + options.burst * 400 + 5_000);
    const first = watcher.launches[0]?.at;
    return {
      listener: figures(queued, watcher),
      ...(first === undefined ? {} : { firstLaunchAfterQueueMs: first - at }),
    };
  } finally {
    listener.stop();
    await listener.done;
    watcher.stop();
    await emulator.stop();
  }
}

/** Calls by kind: REST (GitHub points: GET 1, write 5), the Actions service, the broker's long polls, AWS. */
function classify(calls: CallLogEntry[]): { counts: Record<string, number>; points: number } {
  const counts: Record<string, number> = {};
  let points = 0;
  for (const call of calls.filter((c) => c.caller === 'action')) {
    let kind: string = call.service;
    if (call.service === 'github') {
      const path = call.action.split(' ')[1] ?? '';
      if (path.includes('/messages')) kind = 'GitHub broker (long polls, acks)';
      else if (
        path.startsWith('/tenant') ||
        path.includes('_apis') ||
        path.startsWith('/runtime') ||
        path.startsWith('/distributedtask')
      )
        kind = 'GitHub Actions service';
      else {
        kind = 'GitHub REST';
        points += call.action.startsWith('GET ') ? 1 : 5;
      }
    }
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return { counts, points };
}

/** The listener idle: a session, long polls held 50 s, reconcile decisions, heartbeats. */
async function idleCost(options: ListenBenchOptions) {
  const emulator = await emulatorFor(options);
  const listener = startListener(emulator, options, 10);
  try {
    await untilSession(emulator);
    emulator.clearCalls();
    const at = Date.now();
    await sleep(options.idleMs);
    const { counts, points } = classify(emulator.calls);
    const perHour = (n: number) => Math.round((n * 3_600_000) / (Date.now() - at));
    return {
      perIdleHour: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, perHour(v)])),
      githubPointsPerIdleHour: perHour(points),
    };
  } finally {
    listener.stop();
    await listener.done;
    await emulator.stop();
  }
}

/** Calls per job: a burst's calls, less what the same time idle costs. */
async function perJobCost(options: ListenBenchOptions, idle: Record<string, number>, jobs: number) {
  const emulator = await emulatorFor(options);
  const listener = startListener(emulator, options, jobs + 10);
  try {
    await untilSession(emulator);
    emulator.clearCalls();
    const at = Date.now();
    emulator.github.queueRun({
      repository: 'acme/unlisted',
      jobs: [{ labels: LINUX, durationMs: 30 * MIN }],
      count: jobs,
    });
    await sleep(Math.max(10_000, jobs * 500));
    const { counts } = classify(emulator.calls);
    const hours = (Date.now() - at) / 3_600_000;
    return Object.fromEntries(
      Object.entries(counts).map(([k, v]) => [k, Math.max(0, (v - (idle[k] ?? 0) * hours) / jobs)]),
    );
  } finally {
    listener.stop();
    await listener.done;
    await emulator.stop();
  }
}

export async function runListenBench(options: ListenBenchOptions): Promise<ListenBenchReport> {
  options.log('listen: trickle with a listener…');
  const listener = await trickleListener(options);
  options.log('listen: the same trickle with the 5-minute scheduler…');
  const scheduler = await trickleScheduler(options);
  options.log(`listen: a burst of ${options.burst}…`);
  const burst = await burstListener(options);
  options.log(`listen: idle for ${Math.round(options.idleMs / 1000)} s…`);
  const idle = await idleCost(options);
  options.log('listen: calls per job…');
  const perJob = await perJobCost(options, idle.perIdleHour, 10);
  const settings = {
    trickleEveryMs: options.trickleEveryMs,
    trickleForMs: options.trickleForMs,
    burst: options.burst,
    idleMs: options.idleMs,
    latency: options.latency,
    bootDelayMs: options.bootDelayMs,
    runnerStartMs: options.runnerStartMs,
  };
  return {
    settings: { ...settings, cronMs: CRON_MS, cronPhaseMs: CRON_PHASE_MS },
    trickle: { listener, scheduler },
    burst,
    cost: {
      idleMs: options.idleMs,
      perIdleHour: idle.perIdleHour,
      perJob,
      githubPointsPerIdleHour: idle.githubPointsPerIdleHour,
    },
  };
}
