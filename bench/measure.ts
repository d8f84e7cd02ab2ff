// Measuring one run: the emulator's call log (calls per operation, GitHub points, milestones) and, for the
// action, the bundled dist/index.js run as a child process with a probe for its peak RSS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CallLogEntry, Emulator } from '../emulator/index.js';
import { launchAction, type LaunchResult } from './launch.js';
import type { CallStat, RunMeasurement } from './report.js';

export type Service = 'github' | 'ec2' | 'ssm' | 'dynamodb' | 'cloudwatch';

/** One operation of the minimum plan: how many calls the work needs at the least. */
export interface MinimumCall {
  service: Service;
  operation: string;
  minimum: number;
  batched?: boolean;
  note?: string;
}

const PROBE = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'probe.mjs')).href;

const THROTTLE_CODES = new Set([
  'secondary_rate_limit',
  'rate_limit',
  'RequestLimitExceeded',
  'ThrottlingException',
  'Throttling',
]);

export const isThrottled = (call: CallLogEntry) => call.code !== undefined && THROTTLE_CODES.has(call.code);
const isWrite = (call: CallLogEntry) => call.service === 'github' && !call.action.startsWith('GET ');
const done = (call: CallLogEntry) => call.at + call.latencyMs;

/** Calls per operation, set against the minimum plan (operations of the plan that were not called show 0). */
export function callStats(calls: CallLogEntry[], minimum: MinimumCall[], startedAt: number): CallStat[] {
  const stats = new Map<string, CallStat>();
  const key = (service: string, operation: string) => `${service} ${operation}`;
  for (const m of minimum) {
    stats.set(key(m.service, m.operation), {
      service: m.service,
      operation: m.operation,
      calls: 0,
      throttled: 0,
      failed: 0,
      minimum: m.minimum,
      batched: m.batched ?? false,
      firstMs: null,
      lastMs: null,
      ...(m.note ? { note: m.note } : {}),
    });
  }
  for (const call of calls) {
    const k = key(call.service, call.action);
    let stat = stats.get(k);
    if (!stat) {
      stat = {
        service: call.service,
        operation: call.action,
        calls: 0,
        throttled: 0,
        failed: 0,
        minimum: null,
        batched: false,
        firstMs: null,
        lastMs: null,
      };
      stats.set(k, stat);
    }
    stat.calls += 1;
    const sent = call.at - startedAt;
    stat.firstMs = Math.min(stat.firstMs ?? sent, sent);
    stat.lastMs = Math.max(stat.lastMs ?? 0, done(call) - startedAt);
    if (isThrottled(call)) stat.throttled += 1;
    else if (call.status >= 400) stat.failed += 1;
  }
  return [...stats.values()];
}

/** Points GitHub's secondary limit charged: GET 1, any write 5; a refused request is not charged. */
export function githubPoints(calls: CallLogEntry[]): number {
  return calls
    .filter((c) => c.service === 'github' && !isThrottled(c))
    .reduce((points, c) => points + (isWrite(c) ? 5 : 1), 0);
}

export interface Milestones {
  /** Operations whose last successful answer means "every instance launched". */
  launch?: string[];
  /** Operations whose last successful answer means "every runner config written". */
  config?: { operation: string; count: number };
}

/** When the last successful call of the milestone's operations returned, relative to `startedAt`. */
export function milestones(calls: CallLogEntry[], spec: Milestones, startedAt: number) {
  const lastDone = (ops: string[], count?: number) => {
    const ok = calls.filter((c) => ops.includes(c.action) && c.status < 300);
    if (ok.length === 0 || (count !== undefined && ok.length < count)) return null;
    return Math.max(...ok.map(done)) - startedAt;
  };
  return {
    launchedMs: spec.launch ? lastDone(spec.launch) : null,
    configInPlaceMs: spec.config ? lastDone([spec.config.operation], spec.config.count) : null,
  };
}

export function totals(calls: CallLogEntry[]) {
  const count = (s: Service) => calls.filter((c) => c.service === s).length;
  return { github: count('github'), ec2: count('ec2'), ssm: count('ssm'), dynamodb: count('dynamodb') };
}

export interface ActionRunOptions {
  /** The bundle to run (a snapshot of dist/index.js). */
  entry: string;
  emulator: Emulator;
  token: string;
  mode: string;
  pools: string;
  event?: { name: string; payload: unknown };
  minimum: MinimumCall[];
  milestones: Milestones;
  description: string;
  /** Extra NODE_OPTIONS for the action process (what a workflow could set in the step's env). */
  nodeOptions?: string;
  /** Runs started at the same moment instead of one (triggers from several repositories at once). */
  parallel?: ParallelRun[];
}

/** One of several runs started at once: its own inputs (beyond mode and token), event and environment. */
export interface ParallelRun {
  mode: string;
  inputs?: Record<string, string>;
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
}

interface ProbeResult {
  startedAtMs?: number;
  vmHwmKb?: number;
  maxRssKb?: number;
}

function readProbe(file: string): ProbeResult | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProbeResult;
  } catch {
    return undefined;
  }
}

function actionProblems(run: LaunchResult, emulator: Emulator): string[] {
  const problems: string[] = [];
  if (run.exitCode !== 0) problems.push(`exit code ${run.exitCode ?? 'none (killed)'}`);
  problems.push(...run.errors);
  for (const o of run.result?.outcomes ?? []) {
    if (o.status === 'failed') problems.push(`${o.action} ${o.target}: ${o.code ?? 'failed'}`);
  }
  problems.push(...emulator.errors.map((e) => `emulator: ${e.message}`));
  return problems;
}

/** Several runs as one: every problem, the sums of their results, the first failing exit code. */
function mergeRuns(runs: LaunchResult[]): LaunchResult {
  if (runs.length === 1) return runs[0] as LaunchResult;
  const outcomes = runs.flatMap((r) => r.result?.outcomes ?? []);
  const sum = (key: 'launched' | 'removed' | 'failed') =>
    runs.reduce((n, r) => n + (r.result?.[key] ?? 0), 0);
  return {
    exitCode: runs.find((r) => r.exitCode !== 0)?.exitCode ?? 0,
    errors: runs.flatMap((r) => r.errors),
    result: { launched: sum('launched'), removed: sum('removed'), failed: sum('failed'), outcomes },
  };
}

/** The earliest start and the largest peak of several processes. */
function mergeProbes(probes: (ProbeResult | undefined)[]): ProbeResult | undefined {
  const known = probes.filter((p): p is ProbeResult => p !== undefined);
  if (known.length === 0) return undefined;
  const peak = (p: ProbeResult) => p.vmHwmKb ?? p.maxRssKb ?? 0;
  return {
    startedAtMs: Math.min(...known.map((p) => p.startedAtMs ?? Infinity)),
    vmHwmKb: Math.max(...known.map(peak)),
  };
}

/** Runs dist/index.js once against the emulator as the Actions runner would, and measures it. */
export async function measureAction(options: ActionRunOptions): Promise<RunMeasurement> {
  const { emulator } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'rs-bench-'));
  const probeFile = path.join(dir, 'probe.json');
  emulator.clearCalls();
  // Collect the benchmark's own garbage (the seeded fleet) now rather than while the action's first
  // requests wait for the emulator (npm run bench runs node with --expose-gc).
  globalThis.gc?.();
  const startedAt = Date.now();
  const specs: ParallelRun[] = options.parallel ?? [
    { mode: options.mode, ...(options.event ? { event: options.event } : {}) },
  ];
  const runs = await Promise.all(
    specs.map((spec, i) =>
      launchAction({
        entry: options.entry,
        url: emulator.url,
        inputs: { mode: spec.mode, 'github-token': options.token, ...spec.inputs },
        pools: options.pools,
        event: spec.event,
        env: {
          NODE_OPTIONS: [`--import=${PROBE}`, options.nodeOptions ?? ''].join(' ').trim(),
          BENCH_PROBE_FILE: `${probeFile}.${i}`,
          ...spec.env,
        },
      }),
    ),
  );
  const wallMs = Date.now() - startedAt;
  const probes = specs.map((_, i) => readProbe(`${probeFile}.${i}`));
  rmSync(dir, { recursive: true, force: true });
  const run = mergeRuns(runs);
  const probe = mergeProbes(probes);
  const calls = emulator.calls.filter((c) => c.caller === 'action');
  const first = calls.length > 0 ? Math.min(...calls.map((c) => c.at)) : undefined;
  const peakKb = probe?.vmHwmKb ?? probe?.maxRssKb;
  const outcomes = run.result?.outcomes ?? [];
  return {
    kind: 'action',
    description: options.description,
    checks: [],
    wallMs,
    coldStartMs: first === undefined ? null : first - (probe?.startedAtMs ?? startedAt),
    peakRssMb: peakKb === undefined ? null : peakKb / 1024,
    exitCode: run.exitCode,
    ...milestones(calls, options.milestones, startedAt),
    githubRequests: calls.filter((c) => c.service === 'github').length,
    githubPoints: githubPoints(calls),
    totals: totals(calls),
    calls: callStats(calls, options.minimum, startedAt),
    result: {
      launched: run.result?.launched ?? 0,
      removed: run.result?.removed ?? 0,
      failed: run.result?.failed ?? 0,
      skipped: outcomes.filter((o) => o.status === 'skipped').length,
    },
    problems: actionProblems(run, emulator),
  };
}
