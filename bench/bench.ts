// Runs the scenarios: each measured run (the action, then its baseline) gets a freshly started and seeded
// emulator, so that both start with full API budgets and the same fleet.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { measureBaseline } from './baselines.js';
import { snapshotAction } from './launch.js';
import { measureAction } from './measure.js';
import {
  medianRatio,
  type BenchmarkReport,
  type RunMeasurement,
  type ScenarioResult,
  type Target,
} from './report.js';
import {
  budgetTerms,
  ec2ResourceTerms,
  instanceWork,
  ORG,
  REGION,
  REPOSITORY,
  scenarios,
  TOKEN,
  type Latency,
  type Scenario,
  type ScenarioName,
  type Sizes,
} from './scenarios.js';

export const DEFAULT_ACTION = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');

export interface BenchmarkOptions {
  /** The bundle to measure; default dist/index.js. */
  action?: string;
  /** Another bundle ("before") run beside the measured one, scenario by scenario. */
  compare?: string;
  /** Pairs of runs per scenario with `compare`. Default 1. */
  repeat?: number;
  /** Bundles that predate the coordination store: their pools files have no `coordination` key. */
  withoutCoordination?: 'before' | 'all';
  sizes: Sizes;
  only?: ScenarioName[];
  latency: Latency;
  baselines: boolean;
  /** Extra NODE_OPTIONS for the action process. */
  nodeOptions?: string;
  /** The command line, for the report. */
  command: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Targets of the issue; each is reported met, missed, or not applicable. */
export const TARGETS = {
  maxRatioToMinimum: 1.2,
  minSpeedup: 10,
  maxSteadyGitHubRequests: 30,
  maxPeakRssMb: 150,
};

async function emulatorFor(latency: Latency): Promise<Emulator> {
  return startEmulator({
    region: REGION,
    github: { orgs: [ORG], repos: [REPOSITORY], tokens: [TOKEN] },
    latencyMs: { github: latency.github, ec2: latency.ec2, ssm: latency.ssm, dynamodb: latency.dynamodb },
    latencyPerKbMs: { ec2: latency.ec2PerKb },
    budgets: { github: true, ec2: true, ssm: true },
    // Emulator time is not advanced: launched instances stay pending, seeded runners keep their state.
    simulator: { bootDelayMs: 20_000 },
  });
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
const fixed = (value: number) => value.toFixed(value < 10 ? 2 : 1);

function minimumOf(scenario: Scenario, latency: Latency): ScenarioResult['minimum'] {
  const work = instanceWork(scenario);
  const terms = [
    ...budgetTerms(scenario.minimum.map((m) => ({ ...m, count: m.minimum }))),
    ...ec2ResourceTerms(work.launched, work.terminated),
  ];
  const budgetBoundMs = Math.max(0, ...terms.map((t) => t.ms));
  const floor = scenario.latencyFloor(latency);
  return {
    budgetBoundMs,
    budgetTerms: terms,
    latencyFloorMs: floor.ms,
    latencyFloorNote: floor.note,
    minimumMs: Math.max(budgetBoundMs, floor.ms),
  };
}

function targetsOf(
  scenario: Scenario,
  action: RunMeasurement,
  baseline: RunMeasurement | null,
  ratios: ScenarioResult['ratios'],
): Target[] {
  const targets: Target[] = [];
  targets.push({
    name: 'run succeeded',
    goal: 'exit code 0, no failed item',
    value: action.problems.length === 0 ? 'yes' : `${action.problems.length} problem(s)`,
    met: action.problems.length === 0,
  });
  const batched = action.calls.filter((c) => c.batched && c.minimum !== null);
  targets.push({
    name: 'batched calls',
    goal: 'equal to the minimum',
    value: batched.length
      ? batched.map((c) => `${c.operation} ${c.calls}/${c.minimum}`).join(', ')
      : 'no batched call',
    met: batched.length ? batched.every((c) => c.calls === c.minimum) : null,
  });
  targets.push({
    name: 'wall time',
    goal: `≤ ${TARGETS.maxRatioToMinimum}× the minimum time`,
    value: `${fixed(ratios.toMinimum)}×`,
    met: ratios.toMinimum <= TARGETS.maxRatioToMinimum,
  });
  const speedupApplies = scenario.key !== 'churn' && scenario.key !== 'steady';
  if (baseline) {
    const parts = [`wall ${ratios.speedup === null ? '—' : `${fixed(ratios.speedup)}×`}`];
    if (ratios.launchedSpeedup !== null)
      parts.push(`every instance launched ${fixed(ratios.launchedSpeedup)}×`);
    if (ratios.configSpeedup !== null) parts.push(`every config in place ${fixed(ratios.configSpeedup)}×`);
    targets.push({
      name: 'faster than the baseline',
      goal: speedupApplies ? `≥ ${TARGETS.minSpeedup}× (wall time)` : 'reported only',
      value: parts.join('; '),
      met: speedupApplies && ratios.speedup !== null ? ratios.speedup >= TARGETS.minSpeedup : null,
    });
  }
  if (scenario.key === 'steady') {
    targets.push({
      name: 'GitHub requests',
      goal: `< ${TARGETS.maxSteadyGitHubRequests}`,
      value: String(action.githubRequests),
      met: action.githubRequests < TARGETS.maxSteadyGitHubRequests,
    });
  }
  targets.push(...action.checks);
  targets.push({
    name: 'peak RSS',
    goal: `< ${TARGETS.maxPeakRssMb} MB`,
    value: action.peakRssMb === null ? 'not measured' : `${action.peakRssMb.toFixed(1)} MB`,
    met: action.peakRssMb === null ? null : action.peakRssMb < TARGETS.maxPeakRssMb,
  });
  return targets;
}

async function measureRun(
  scenario: Scenario,
  entry: string,
  options: BenchmarkOptions,
  bundle: string,
): Promise<RunMeasurement> {
  const emulator = await emulatorFor(options.latency);
  try {
    const seeded = scenario.seed(emulator);
    const parallel = scenario.parallel?.(seeded);
    const legacy =
      options.withoutCoordination === 'all' ||
      (options.withoutCoordination === 'before' && bundle === options.compare);
    const measured = await measureAction({
      entry,
      emulator,
      token: TOKEN,
      mode: scenario.mode,
      pools: legacy ? scenario.pools.replace(/^coordination:.*\n/m, '') : scenario.pools,
      event: seeded.event,
      ...(parallel ? { parallel } : {}),
      minimum: scenario.minimum,
      milestones: scenario.milestones,
      description: `${path.relative(process.cwd(), bundle)}, mode ${scenario.mode}`,
      ...(options.nodeOptions ? { nodeOptions: options.nodeOptions } : {}),
    });
    return { ...measured, checks: scenario.checks?.(emulator) ?? [] };
  } finally {
    await emulator.stop();
  }
}

type Comparison = NonNullable<BenchmarkReport['comparison']>['scenarios'][number];

/** Pairs of runs, the order alternating so that neither bundle always runs on a warmer machine. */
async function measurePairs(
  scenario: Scenario,
  entries: { after: string; before: string },
  options: BenchmarkOptions,
): Promise<{ action: RunMeasurement; comparison: Comparison }> {
  const log = options.log ?? (() => undefined);
  const afterRuns: RunMeasurement[] = [];
  const beforeRuns: RunMeasurement[] = [];
  for (let pair = 0; pair < (options.repeat ?? 1); pair++) {
    for (const which of pair % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
      const bundle = which === 'after' ? (options.action ?? DEFAULT_ACTION) : (options.compare as string);
      const run = await measureRun(scenario, entries[which], options, bundle);
      (which === 'after' ? afterRuns : beforeRuns).push(run);
      log(`${scenario.name}: ${which} ${(run.wallMs / 1000).toFixed(1)} s (pair ${pair + 1})`);
    }
  }
  const afterMs = afterRuns.map((r) => r.wallMs);
  const beforeMs = beforeRuns.map((r) => r.wallMs);
  return {
    action: afterRuns[0] as RunMeasurement,
    comparison: {
      name: scenario.name,
      beforeMs,
      afterMs,
      medianRatio: medianRatio(afterMs, beforeMs),
      before: beforeRuns[0] as RunMeasurement,
    },
  };
}

async function measureScenario(
  scenario: Scenario,
  entries: { after: string; before?: string },
  options: BenchmarkOptions,
): Promise<{ result: ScenarioResult; comparison?: Comparison }> {
  const log = options.log ?? (() => undefined);
  log(`${scenario.name}: action…`);
  let action: RunMeasurement;
  let comparison: Comparison | undefined;
  if (entries.before) {
    ({ action, comparison } = await measurePairs(
      scenario,
      { after: entries.after, before: entries.before },
      options,
    ));
  } else {
    action = await measureRun(scenario, entries.after, options, options.action ?? DEFAULT_ACTION);
  }
  log(
    `${scenario.name}: action ${(action.wallMs / 1000).toFixed(1)} s, ${action.problems.length} problem(s)`,
  );

  let baseline: RunMeasurement | null = null;
  if (options.baselines && scenario.baseline) {
    log(`${scenario.name}: baseline…`);
    const emulator = await emulatorFor(options.latency);
    try {
      baseline = await measureBaseline(emulator, scenario, scenario.seed(emulator));
    } finally {
      await emulator.stop();
    }
    log(`${scenario.name}: baseline ${(baseline.wallMs / 1000).toFixed(1)} s`);
  }

  const minimum = minimumOf(scenario, options.latency);
  const speedupOf = (a: number | null, b: number | null | undefined) =>
    a !== null && b !== null && b !== undefined && a > 0 ? b / a : null;
  const ratios = {
    toMinimum: ratio(action.wallMs, minimum.minimumMs),
    toMinimumAfterColdStart:
      action.coldStartMs === null ? null : ratio(action.wallMs - action.coldStartMs, minimum.minimumMs),
    speedup: baseline ? ratio(baseline.wallMs, action.wallMs) : null,
    launchedSpeedup: speedupOf(action.launchedMs, baseline?.launchedMs),
    configSpeedup: speedupOf(action.configInPlaceMs, baseline?.configInPlaceMs),
  };
  const result = {
    name: scenario.name,
    title: scenario.title,
    description: scenario.description,
    size: scenario.size,
    action,
    baseline,
    minimum,
    ratios,
    targets: targetsOf(scenario, action, baseline, ratios),
  };
  return { result, comparison };
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const startedAt = new Date().toISOString();
  const results: ScenarioResult[] = [];
  const comparisons: Comparison[] = [];
  // Every run starts the same bundle, even if dist/ is rebuilt while the benchmark runs.
  const snapshot = snapshotAction(options.action ?? DEFAULT_ACTION);
  const before = options.compare ? snapshotAction(options.compare) : undefined;
  try {
    for (const scenario of scenarios(options.sizes, options.only)) {
      const measured = await measureScenario(
        scenario,
        { after: snapshot.entry, before: before?.entry },
        options,
      );
      results.push(measured.result);
      if (measured.comparison) comparisons.push(measured.comparison);
    }
  } finally {
    snapshot.remove();
    before?.remove();
  }
  const cpus = os.cpus();
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    command: options.command,
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      memoryGb: os.totalmem() / 1024 ** 3,
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    },
    settings: {
      latencyMs: { ...options.latency },
      budgets:
        'real defaults on (GitHub 900 points/min, write 5, 5000/h; EC2 token buckets; SSM 3 TPS for ' +
        'PutParameter and DeleteParameter(s), 40 TPS for reads)',
      baselines: options.baselines,
      nodeOptions: options.nodeOptions ?? '',
      action: path.relative(process.cwd(), options.action ?? DEFAULT_ACTION),
    },
    scenarios: results,
    ...(options.compare
      ? {
          comparison: {
            before: path.relative(process.cwd(), options.compare),
            repeat: options.repeat ?? 1,
            scenarios: comparisons,
          },
        }
      : {}),
  };
}
