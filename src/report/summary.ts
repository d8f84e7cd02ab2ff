// Job summary and outputs from the Plan and the Outcomes. Pure: main writes what these return.
//
// Read by an on-call engineer at a glance: the status first, then an alert block per kind of trouble (what, why,
// what was held back, the fix), the pools before and after, what was kept and why, the queued jobs no pool serves,
// and every item's outcome, failures first. Long lists are cut at MAX_ROWS, so a fleet of thousands stays far under
// the 1 MiB a step summary may have.
import { GHOST_REASON } from '../engine/plan.js';
import { describeMin } from '../engine/schedule.js';
import { formatDuration } from '../engine/format.js';
import type { Action, Outcome, Plan, PoolCounts, PoolPlan } from '../types.js';
import { actualAfter } from './after.js';
import { alertBlocks, runStatus, type Notice, type Status } from './alerts.js';
import { barChart, cell, code, limited, plainError, table } from './markdown.js';

export { MAX_ROWS } from './markdown.js';
export type { Notice } from './alerts.js';

/** A step summary may have 1 MiB; the summary is cut well before (it never is with MAX_ROWS rows per table). */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;

export interface RunTotals {
  launched: number;
  removed: number;
  failed: number;
  skipped: number;
  warnings: number;
}

export function totals(outcomes: Outcome[], launched: number): RunTotals {
  // One removal per instance terminated, plus runners unregistered that had no instance (ghosts).
  const done = outcomes.filter((o) => o.status === 'done');
  const terminated = done.filter((o) => o.action === 'terminate').length;
  const ghosts = done.filter((o) => o.action === 'unregister' && o.reason === GHOST_REASON).length;
  return {
    launched,
    removed: terminated + ghosts,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    skipped: outcomes.filter((o) => o.status === 'skipped').length,
    warnings: outcomes.filter((o) => o.status === 'warning').length,
  };
}

function describeAction(action: Action): { what: string; target: string } {
  switch (action.kind) {
    case 'launch':
      return action.count === 0 && action.adopt?.length
        ? { what: 'configure', target: `${action.adopt.length} in ${action.pool}` }
        : { what: 'launch', target: `${action.count} in ${action.pool}` };
    case 'mark-idle':
    case 'clear-idle':
    case 'mark-stale':
    case 'clear-stale':
      return { what: action.kind, target: `${action.instanceIds.length} instance(s)` };
    case 'breaker':
      return { what: 'breaker', target: `pool ${action.pool}` };
    case 'remove-runner':
      return { what: action.instanceId ? 'remove' : 'unregister', target: action.runnerName };
    case 'terminate':
      return { what: 'terminate', target: action.instanceId };
    case 'delete-parameter':
      return { what: 'delete parameter', target: action.name };
  }
}

/** Outcomes alike but for their target (status, action, pool, reason, code) share one row when there are many. */
export function groupOutcomes(outcomes: Outcome[], threshold = 3): Outcome[] {
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const key = JSON.stringify([o.status, o.action, o.pool, o.reason, o.code]);
    const group = groups.get(key);
    if (group) group.push(o);
    else groups.set(key, [o]);
  }
  return [...groups.values()].flatMap((group) => {
    const first = group[0] as Outcome;
    if (group.length <= threshold) return group;
    const names = group.slice(0, 3).map((o) => o.target);
    const sameDetail = group.every((o) => o.detail === first.detail);
    return [
      {
        ...first,
        target: `${group.length} × ${names.join(', ')}, …`,
        detail: sameDetail ? first.detail : undefined,
      },
    ];
  });
}

export interface SummaryInput {
  plan: Plan;
  outcomes?: Outcome[];
  totals?: RunTotals;
  environment: string;
  dryRun: boolean;
  /** The README of the action's own release, for the troubleshooting links (unknown in local runs). */
  docsUrl?: string;
  /** The GitHub web root, for links to jobs (default https://github.com). */
  serverUrl?: string;
  /** Pools file warnings, metrics not published, … */
  notices?: Notice[];
}

const STATUS_TEXT: Record<Status, string> = { ok: '🟢 OK', warnings: '🟡 Warnings', failed: '🔴 Failed' };
const MARK: Record<Outcome['status'], string> = {
  failed: '❌ failed',
  warning: '⚠️ warning',
  skipped: '⏭️ skipped',
  done: '✅ done',
};
const ORDER: Outcome['status'][] = ['failed', 'warning', 'skipped', 'done'];

/** The status first, in the heading (GitHub lists a job's summaries by it), then the counts. */
function statusLines(input: SummaryInput, status: Status): string[] {
  const { plan, totals: t, dryRun, environment } = input;
  const counts = t
    ? `${t.launched} launched, ${t.removed} removed, ${t.failed} failed, ${t.warnings} warning(s), ${t.skipped} skipped`
    : `${plan.actions.length} item(s) planned`;
  const dry = dryRun ? ' (dry run: nothing changed)' : '';
  return [
    `## ${STATUS_TEXT[status]} · runner-scaler: ${plan.mode}${dry} · \`${environment}\``,
    '',
    `**${counts}** · ${plan.now.toISOString()}`,
    '',
  ];
}

type PoolMark = 'failed' | 'warning' | 'ok';

function poolMark(p: PoolPlan, input: SummaryInput): PoolMark {
  const own = (input.outcomes ?? []).filter((o) => o.pool === p.pool);
  const held = input.plan.problems.some((problem) => problem.startsWith(`pool ${p.pool}:`));
  if (own.some((o) => o.status === 'failed') || held || p.demandKnown === false) return 'failed';
  const flagged = (input.plan.flagged ?? []).some((f) => f.pool === p.pool);
  if (own.some((o) => o.status === 'warning') || (p.heldByMax ?? 0) > 0 || flagged) return 'warning';
  return 'ok';
}

const change = (before: number, after: number) => (before === after ? String(after) : `${before} → ${after}`);

function poolRows(input: SummaryInput): { p: PoolPlan; after: PoolCounts; mark: PoolMark }[] {
  const rank: Record<PoolMark, number> = { failed: 0, warning: 1, ok: 2 };
  return input.plan.pools
    .map((p) => ({
      p,
      after: input.outcomes ? actualAfter(p, input.outcomes) : p.after,
      mark: poolMark(p, input),
    }))
    .sort((a, b) => rank[a.mark] - rank[b.mark]);
}

function poolsSection(input: SummaryInput): string[] {
  const rows = poolRows(input);
  if (rows.length === 0) return [];
  const marker: Record<PoolMark, string> = { failed: '❌ ', warning: '⚠️ ', ok: '' };
  const { rows: shown, rest } = limited(
    rows,
    ({ p, after, mark }) => {
      const uncovered = Math.max(0, p.queued - after.idle - after.booting);
      const min = p.retired ? 'retired: 0' : describeMin(p.schedule, p.min ?? 0).replace(/^min /, '');
      return [
        `${marker[mark]}${p.pool}`,
        min,
        change(p.queued, uncovered),
        ...(['booting', 'idle', 'busy', 'dead', 'total'] as const).map((k) => change(p.before[k], after[k])),
      ];
    },
    ({ mark }) => `${mark} pool`,
  );
  const after = input.outcomes ? 'after: what the outcomes say happened' : 'after: as planned';
  return [
    '### Pools',
    '',
    ...table(['pool', 'min', 'queued', 'booting', 'idle', 'busy', 'dead', 'total'], shown),
    ...(rest ? ['', rest] : []),
    '',
    `Each state: before → ${after}. dead: instances without a working runner (none registered, or offline past bootTimeout). queued after: jobs no idle or booting runner is there for.`,
    '',
  ];
}

function chartSection(input: SummaryInput): string[] {
  const rows = poolRows(input);
  const sum = (pick: (r: (typeof rows)[number]) => number) => rows.reduce((n, r) => n + pick(r), 0);
  const states = ['booting', 'idle', 'busy', 'dead'] as const;
  const before = [...states.map((k) => sum((r) => r.p.before[k])), sum((r) => r.p.queued)];
  const after = [
    ...states.map((k) => sum((r) => r.after[k])),
    sum((r) => Math.max(0, r.p.queued - r.after.idle - r.after.booting)),
  ];
  if ([...before, ...after].every((n) => n === 0)) return [];
  const title = input.outcomes
    ? 'Fleet: after (bars), before (line)'
    : 'Fleet: planned (bars), before (line)';
  return [...barChart(title, [...states, 'queued'], after, before), ''];
}

function keptSection(plan: Plan): string[] {
  type Row = { pool: string; what: string; count: string; why: string; wait: string; kind: string };
  const held: Row[] = plan.pools.flatMap((p) =>
    p.launchesHeld
      ? [
          {
            pool: p.pool,
            what: 'launches',
            count: '',
            why: `held: ${p.launchesHeld}`,
            wait: '',
            kind: 'launches',
          },
        ]
      : [],
  );
  const kept: Row[] = plan.pools
    .flatMap((p) => p.kept ?? [])
    .map((g) => ({
      pool: g.pool,
      what: g.what,
      count: String(g.count),
      why: g.detail,
      wait: g.waitMs !== undefined ? `in ${formatDuration(g.waitMs)}` : '',
      kind: g.reason,
    }));
  if (held.length + kept.length === 0) return [];
  const { rows, rest } = limited(
    [...held, ...kept],
    (r) => [r.pool, r.what, r.count, r.why, r.wait],
    (r) => r.kind,
  );
  return [
    '### Kept, and why',
    '',
    ...table(['pool', 'state', 'count', 'why', 'may go'], rows),
    ...(rest ? ['', rest] : []),
    '',
  ];
}

function unservedSection(plan: Plan, serverUrl: string): string[] {
  const jobs = plan.unserved ?? [];
  if (jobs.length === 0) return [];
  const { rows, rest } = limited(
    jobs,
    (j) => [
      `[${(j.name ?? 'job').replace(/[[\]]/g, '')} #${j.id}](${serverUrl}/${j.repository}/actions/runs/${j.runId}/job/${j.id})`,
      j.repository,
      j.labels.map(code).join(' '),
      j.why,
    ],
    (j) => j.repository,
  );
  return [
    '### Queued jobs no pool serves',
    '',
    ...table(['job', 'repository', 'labels', 'why'], rows),
    ...(rest ? ['', rest] : []),
    '',
  ];
}

function flaggedSection(plan: Plan): string[] {
  const flagged = plan.flagged ?? [];
  if (flagged.length === 0) return [];
  const what = { 'runner-outdated': 'runner too old to start', 'spot-interruption': 'spot interruption' };
  const { rows, rest } = limited(
    flagged,
    (f) => [code(f.instanceId), f.pool ?? '', what[f.kind], f.value],
    (f) => f.kind,
  );
  return [
    '### Instances the bootstrap flagged',
    '',
    ...table(['instance', 'pool', 'flag', 'since'], rows),
    ...(rest ? ['', rest] : []),
    '',
  ];
}

function changesSection(plan: Plan, outcomes: Outcome[] | undefined): string[] {
  if (!outcomes) {
    const { rows, rest } = limited(
      plan.actions,
      (a) => {
        const d = describeAction(a);
        return [d.what, d.target, a.reason];
      },
      (a) => describeAction(a).what,
    );
    const body = plan.actions.length ? table(['action', 'target', 'why'], rows) : ['Nothing to do.'];
    return ['### Planned', '', ...body, ...(rest ? ['', rest] : [])];
  }
  const ordered = groupOutcomes(ORDER.flatMap((status) => outcomes.filter((o) => o.status === status)));
  const { rows, rest } = limited(
    ordered,
    (o) => [
      MARK[o.status],
      o.action,
      o.target,
      o.pool ?? '',
      o.reason,
      plainError([o.code, o.detail].filter(Boolean).join(': ')),
    ],
    (o) => `${o.action} ${o.status}`,
  );
  const body = ordered.length
    ? table(['outcome', 'action', 'target', 'pool', 'why', 'detail'], rows)
    : ['Nothing to do.'];
  return ['### What changed', '', ...body, ...(rest ? ['', rest] : [])];
}

/** Cut at a line boundary under the limit (never reached with MAX_ROWS rows per table; a guard all the same). */
function capped(text: string): string {
  if (Buffer.byteLength(text) <= SUMMARY_LIMIT_BYTES) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    bytes += Buffer.byteLength(line) + 1;
    if (bytes > SUMMARY_LIMIT_BYTES - 200) break;
    kept.push(line);
  }
  return `${kept.join('\n')}\n\n… (the summary was cut to stay under the step summary limit of 1 MiB)\n`;
}

export function renderSummary(input: SummaryInput): string {
  const { plan, outcomes } = input;
  const notices = input.notices ?? [];
  const status = runStatus(plan, outcomes ?? [], notices);
  const lines = [
    ...statusLines(input, status),
    ...alertBlocks(plan, outcomes ?? [], notices, input.docsUrl),
    ...poolsSection(input),
    ...chartSection(input),
    ...keptSection(plan),
    ...unservedSection(plan, input.serverUrl ?? 'https://github.com'),
    ...flaggedSection(plan),
    ...(plan.notes.length ? ['### Notes', '', ...plan.notes.map((n) => `- ${cell(plainError(n))}`), ''] : []),
    ...changesSection(plan, outcomes),
  ];
  return capped(`${lines.join('\n')}\n`);
}

/** Caps on the `result` output: GitHub allows 1 MB of outputs per job. */
const MAX_OUTCOMES = 1000;
const MAX_PLANNED_BYTES = 800_000;

/** Every planned item, compactly, as far as MAX_PLANNED_BYTES allows. */
function plannedItems(plan: Plan): { items: Record<string, unknown>[]; truncated: boolean } {
  const items: Record<string, unknown>[] = [];
  let bytes = 0;
  for (const action of plan.actions) {
    const { what, target } = describeAction(action);
    const pool = 'pool' in action && action.pool ? { pool: action.pool } : {};
    const count = action.kind === 'launch' ? { count: action.count } : {};
    const item = { action: what, target, ...pool, ...count, reason: action.reason };
    bytes += JSON.stringify(item).length + 1;
    if (bytes > MAX_PLANNED_BYTES) return { items, truncated: true };
    items.push(item);
  }
  return { items, truncated: false };
}

/** The `result` output: totals, and every outcome (capped) or, in a dry run, every planned item. */
export function resultJson(plan: Plan, outcomes: Outcome[] | undefined, t: RunTotals | undefined): string {
  const items = outcomes ?? [];
  const planned = outcomes === undefined ? plannedItems(plan) : undefined;
  return JSON.stringify({
    mode: plan.mode,
    dryRun: outcomes === undefined,
    ...(t ?? { launched: 0, removed: 0, failed: 0, skipped: 0, warnings: 0 }),
    planned: plan.actions.length,
    ...(planned ? { plannedItems: planned.items, plannedTruncated: planned.truncated } : {}),
    outcomes: items.slice(0, MAX_OUTCOMES),
    truncated: items.length > MAX_OUTCOMES,
  });
}
