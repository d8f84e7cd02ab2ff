// The benchmark's report: its JSON schema (the test parses every report with it) and the markdown writer.
import { z } from 'zod';

const service = z.enum(['github', 'ec2', 'ssm', 'dynamodb', 'cloudwatch']);
const ms = z.number().nonnegative();

export const callStatSchema = z.object({
  service,
  operation: z.string(),
  /** Requests sent, throttled and failed ones included. */
  calls: z.number().int().nonnegative(),
  /** Answered with a rate-limit error (GitHub 403/429 limit, RequestLimitExceeded, ThrottlingException). */
  throttled: z.number().int().nonnegative(),
  /** Answered with another error (404, 422, ParameterNotFound…). */
  failed: z.number().int().nonnegative(),
  /** The fewest calls the work needs; null when the operation is not part of the minimum plan. */
  minimum: z.number().int().nonnegative().nullable(),
  /** A batched call (several items per request): its count must equal the minimum. */
  batched: z.boolean(),
  /** When the first call was sent and the last answered, ms after the run started; null without calls. */
  firstMs: ms.nullable(),
  lastMs: ms.nullable(),
  note: z.string().optional(),
});

export const runSchema = z.object({
  kind: z.enum(['action', 'baseline']),
  description: z.string(),
  /** From just before the run started (the process spawn for the action) to its end. */
  wallMs: ms,
  /** Action only: process start to the first request the emulator saw. */
  coldStartMs: ms.nullable(),
  /** Action only: peak resident set size of the action process. */
  peakRssMb: ms.nullable(),
  exitCode: z.number().int().nullable(),
  /** Scale-up: when the last instance's launch call returned (ms after the start). */
  launchedMs: ms.nullable(),
  /** Scale-up: when the last runner config was written (ms after the start). */
  configInPlaceMs: ms.nullable(),
  githubRequests: z.number().int().nonnegative(),
  /** Points charged against GitHub's secondary limit (GET 1, write 5; refused requests cost nothing). */
  githubPoints: z.number().int().nonnegative(),
  totals: z.object({
    github: z.number().int(),
    ec2: z.number().int(),
    ssm: z.number().int(),
    /** The coordination store (absent in reports from before it existed). */
    dynamodb: z.number().int().default(0),
  }),
  calls: z.array(callStatSchema),
  result: z.object({
    launched: z.number().int(),
    removed: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
  }),
  /** Anything that went wrong: a failed item, a non-zero exit, an emulator error. */
  problems: z.array(z.string()),
  /** The scenario's own targets, read from the emulator after the run (launches = demand, …). */
  checks: z.array(z.lazy(() => targetSchema)).default([]),
});

export const boundTermSchema = z.object({ budget: z.string(), work: z.string(), ms });

export const targetSchema = z.object({
  name: z.string(),
  goal: z.string(),
  value: z.string(),
  /** null: not applicable to this scenario. */
  met: z.boolean().nullable(),
});

export const scenarioSchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  size: z.number().int().positive(),
  action: runSchema,
  baseline: runSchema.nullable(),
  minimum: z.object({
    /** Time the API budgets force on the minimum calls: the slowest budget (they run in parallel). */
    budgetBoundMs: ms,
    budgetTerms: z.array(boundTermSchema),
    /** Round trips that must follow each other at the configured latency. */
    latencyFloorMs: ms,
    latencyFloorNote: z.string(),
    /** max(budget bound, latency floor): what the ratio compares the wall time with. */
    minimumMs: ms,
  }),
  ratios: z.object({
    /** Action wall time / minimum time. */
    toMinimum: z.number().nonnegative(),
    /** The same without the action's cold start (process start to first request). */
    toMinimumAfterColdStart: z.number().nonnegative().nullable(),
    /** Baseline wall time / action wall time (how many times faster the action is). */
    speedup: z.number().nonnegative().nullable(),
    launchedSpeedup: z.number().nonnegative().nullable(),
    configSpeedup: z.number().nonnegative().nullable(),
  }),
  targets: z.array(targetSchema),
});

export const reportSchema = z.object({
  version: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string(),
  command: z.string(),
  machine: z.object({
    cpus: z.number().int().positive(),
    cpuModel: z.string(),
    memoryGb: z.number().positive(),
    node: z.string(),
    platform: z.string(),
  }),
  settings: z.object({
    latencyMs: z.object({
      github: ms,
      ec2: ms,
      ssm: ms,
      dynamodb: ms.default(0),
      /** EC2's cost per KB of an answer (absent in reports from before it existed). */
      ec2PerKb: ms.default(0),
    }),
    budgets: z.string(),
    baselines: z.boolean(),
    /** Extra NODE_OPTIONS the action process ran with ('' for none). */
    nodeOptions: z.string(),
    /** The bundle measured. */
    action: z.string(),
  }),
  scenarios: z.array(scenarioSchema),
  /** `--compare`: the same scenarios run with another bundle, alternating with the measured one. */
  comparison: z
    .object({
      /** The other bundle ("before"). */
      before: z.string(),
      repeat: z.number().int().positive(),
      scenarios: z.array(
        z.object({
          name: z.string(),
          /** Wall times of each pair, in run order; the runs of a pair follow each other. */
          beforeMs: z.array(ms),
          afterMs: z.array(ms),
          /** Median of after / before over the pairs. */
          medianRatio: z.number().nonnegative(),
          before: runSchema,
        }),
      ),
    })
    .optional(),
});

export type CallStat = z.infer<typeof callStatSchema>;
export type RunMeasurement = z.infer<typeof runSchema>;
export type BoundTerm = z.infer<typeof boundTermSchema>;
export type Target = z.infer<typeof targetSchema>;
export type ScenarioResult = z.infer<typeof scenarioSchema>;
export type BenchmarkReport = z.infer<typeof reportSchema>;

/** Parses and validates a report file's text; throws naming the first bad field. */
export function parseReport(text: string): BenchmarkReport {
  const result = reportSchema.safeParse(JSON.parse(text));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`invalid benchmark report at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`);
  }
  return result.data;
}

// ---------------------------------------------------------------- markdown

const seconds = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
const times = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${value.toFixed(value < 10 ? 2 : 1)}×`;
const mark = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : '**missed**');

function span(stat: CallStat | undefined): string {
  if (!stat || stat.firstMs === null || stat.lastMs === null) return '—';
  return `${seconds(stat.firstMs)} – ${seconds(stat.lastMs)}`;
}

function callsCell(stat: CallStat): string {
  const extra = [
    stat.throttled ? `${stat.throttled} throttled` : '',
    stat.failed ? `${stat.failed} failed` : '',
  ].filter(Boolean);
  return `${stat.calls}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** One table row per scenario: the headline numbers. */
export function summaryTable(report: BenchmarkReport): string {
  const rows = report.scenarios.map((s) => {
    const a = s.action;
    return [
      s.name,
      seconds(a.wallMs),
      seconds(s.minimum.minimumMs),
      `${times(s.ratios.toMinimum)} (${times(s.ratios.toMinimumAfterColdStart)})`,
      s.baseline ? seconds(s.baseline.wallMs) : '—',
      times(s.ratios.speedup),
      `${a.totals.github} / ${a.totals.ec2} / ${a.totals.ssm}`,
      String(a.githubPoints),
      a.peakRssMb === null ? '—' : `${a.peakRssMb.toFixed(0)} MB`,
      seconds(a.coldStartMs),
    ];
  });
  return [
    '| scenario | wall time | minimum time | ratio to minimum (without cold start) | baseline | speedup vs baseline | calls GitHub / EC2 / SSM | GitHub points | peak RSS | cold start |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function scenarioSection(s: ScenarioResult): string {
  const lines: string[] = [`### ${s.name}: ${s.title}`, '', s.description, ''];
  const a = s.action;
  const b = s.baseline;
  const keys = new Map<string, { action?: CallStat; baseline?: CallStat }>();
  for (const stat of a.calls) keys.set(`${stat.service} ${stat.operation}`, { action: stat });
  for (const stat of b?.calls ?? []) {
    const key = `${stat.service} ${stat.operation}`;
    keys.set(key, { ...keys.get(key), baseline: stat });
  }
  lines.push(
    '| API | operation | action calls | minimum | action: first – last call | baseline calls |',
    '| --- | --- | --: | --: | --: | --: |',
  );
  for (const [, { action, baseline }] of keys) {
    const stat = (action ?? baseline) as CallStat;
    const minimum = action?.minimum ?? null;
    const flag = action && minimum !== null && action.batched && action.calls !== minimum ? ' ≠' : '';
    lines.push(
      `| ${stat.service} | ${stat.operation}${action?.batched ? ' (batched)' : ''} | ${action ? callsCell(action) : '0'} | ${
        minimum === null ? (action ? 'not needed' : '—') : `${minimum}${flag}`
      }${action?.note ? ` (${action.note})` : ''} | ${span(action)} | ${baseline ? callsCell(baseline) : '—'} |`,
    );
  }
  lines.push('');
  const timing: string[][] = [
    ['wall time', seconds(a.wallMs), b ? seconds(b.wallMs) : '—'],
    ['cold start (process start to first request)', seconds(a.coldStartMs), '—'],
  ];
  if (a.launchedMs !== null || b?.launchedMs) {
    timing.push(['every instance launched', seconds(a.launchedMs), seconds(b?.launchedMs)]);
    timing.push(['every runner config in place', seconds(a.configInPlaceMs), seconds(b?.configInPlaceMs)]);
  }
  timing.push(
    [
      'GitHub requests / points',
      `${a.githubRequests} / ${a.githubPoints}`,
      b ? `${b.githubRequests} / ${b.githubPoints}` : '—',
    ],
    ['peak RSS', a.peakRssMb === null ? '—' : `${a.peakRssMb.toFixed(1)} MB`, '—'],
    [
      'launched / removed / failed / skipped',
      `${a.result.launched} / ${a.result.removed} / ${a.result.failed} / ${a.result.skipped}`,
      b ? `${b.result.launched} / ${b.result.removed} / ${b.result.failed} / ${b.result.skipped}` : '—',
    ],
  );
  lines.push(
    '| measure | action | baseline |',
    '| --- | --: | --: |',
    ...timing.map((r) => `| ${r.join(' | ')} |`),
  );
  lines.push('');
  lines.push(
    `Minimum time ${seconds(s.minimum.minimumMs)} = max(budget bound ${seconds(s.minimum.budgetBoundMs)}, latency floor ${seconds(s.minimum.latencyFloorMs)}); ` +
      `the action took ${times(s.ratios.toMinimum)} that, ${times(s.ratios.toMinimumAfterColdStart)} without its cold start.`,
    '',
    '| budget | minimum work | time it forces |',
    '| --- | --- | --: |',
    ...s.minimum.budgetTerms.map((t) => `| ${t.budget} | ${t.work} | ${seconds(t.ms)} |`),
    '',
    `Latency floor: ${s.minimum.latencyFloorNote}`,
    '',
  );
  if (b) lines.push(`Baseline: ${b.description}`, '');
  lines.push(
    '| target | goal | value | |',
    '| --- | --- | --- | --- |',
    ...s.targets.map((t) => `| ${t.name} | ${t.goal} | ${t.value} | ${mark(t.met)} |`),
  );
  const problems = [
    ...a.problems.map((p) => `action: ${p}`),
    ...(b?.problems ?? []).map((p) => `baseline: ${p}`),
  ];
  if (problems.length > 0) {
    lines.push('', 'Problems:', ...problems.slice(0, 20).map((p) => `- ${p}`));
    if (problems.length > 20) lines.push(`- … and ${problems.length - 20} more`);
  }
  return lines.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function medianRatio(afterMs: number[], beforeMs: number[]): number {
  return median(afterMs.map((a, i) => (beforeMs[i] ? a / (beforeMs[i] as number) : 0)));
}

/** `--compare`: wall time and calls of both bundles, per scenario. */
export function comparisonTable(report: BenchmarkReport): string {
  const c = report.comparison;
  if (!c) return '';
  const rows = c.scenarios.map((s) => {
    const after = report.scenarios.find((r) => r.name === s.name)?.action;
    const calls = (r: RunMeasurement | undefined) =>
      r ? `${r.totals.github} / ${r.totals.ec2} / ${r.totals.ssm}` : '—';
    return [
      s.name,
      s.beforeMs.map((v) => seconds(v)).join(', '),
      s.afterMs.map((v) => seconds(v)).join(', '),
      times(s.medianRatio),
      calls(s.before),
      calls(after),
      s.before.peakRssMb === null ? '—' : `${s.before.peakRssMb.toFixed(0)} MB`,
      after?.peakRssMb == null ? '—' : `${after.peakRssMb.toFixed(0)} MB`,
    ];
  });
  return [
    `Side by side: \`${c.before}\` (before) and \`${report.settings.action}\` (after), ${c.repeat} pair(s) per scenario, ` +
      'the two runs of a pair one after the other (the order alternates from pair to pair), each on a fresh emulator.',
    '',
    '| scenario | before: wall | after: wall | after / before (median) | before: calls GitHub / EC2 / SSM | after: calls | before: peak RSS | after: peak RSS |',
    '| --- | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** The whole report as markdown: settings, the summary table and one section per scenario. */
export function renderMarkdown(report: BenchmarkReport): string {
  const m = report.machine;
  const l = report.settings.latencyMs;
  return [
    `Run ${report.startedAt} – ${report.finishedAt} of \`${report.settings.action}\` with \`${report.command}\` on ${m.cpus} × ${m.cpuModel}, ` +
      `${m.memoryGb.toFixed(0)} GB, Node ${m.node} (${m.platform}).`,
    `Emulator latency: GitHub ${l.github} ms, EC2 ${l.ec2} ms (plus ${l.ec2PerKb} ms per KB of answer), SSM ${l.ssm} ms, DynamoDB ${l.dynamodb} ms; budgets: ${report.settings.budgets}` +
      (report.settings.nodeOptions
        ? `; the action ran with NODE_OPTIONS=${report.settings.nodeOptions}.`
        : '.'),
    '',
    summaryTable(report),
    '',
    ...(report.comparison ? [comparisonTable(report), ''] : []),
    ...report.scenarios.map((s) => `${scenarioSection(s)}\n`),
  ].join('\n');
}
