// Job summary and outputs from the Plan and the Outcomes. Pure: main writes what these return.
import { GHOST_REASON } from '../engine/plan.js';
import type { Action, Outcome, Plan, PoolCounts } from '../types.js';

/** Rows listed one by one; beyond this the summary counts them, so it stays far under the 1 MiB limit. */
export const MAX_ROWS = 100;

export interface RunTotals {
  launched: number;
  removed: number;
  failed: number;
  skipped: number;
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
  };
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const counts = (c: PoolCounts) => `${c.booting} / ${c.idle} / ${c.busy} / ${c.total}`;

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

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** Rows of a long list: the first MAX_ROWS, then a line counting the rest by kind. */
function limited<T>(
  items: T[],
  row: (item: T) => string[],
  kind: (item: T) => string,
): { rows: string[][]; rest: string } {
  const rest = items.slice(MAX_ROWS);
  const byKind = new Map<string, number>();
  for (const item of rest) byKind.set(kind(item), (byKind.get(kind(item)) ?? 0) + 1);
  const text = [...byKind].map(([k, n]) => `${n} × ${k}`).join(', ');
  return {
    rows: items.slice(0, MAX_ROWS).map(row),
    rest: rest.length ? `… and ${rest.length} more: ${text}` : '',
  };
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
}

export function renderSummary({ plan, outcomes, totals: t, environment, dryRun }: SummaryInput): string {
  const lines: string[] = [];
  lines.push(`## runner-scaler: ${plan.mode}${dryRun ? ' (dry run: nothing changed)' : ''}`, '');
  lines.push(`Environment \`${environment}\` at ${plan.now.toISOString()}.`, '');
  if (t) {
    lines.push(
      `**${t.launched} launched, ${t.removed} removed, ${t.failed} failed, ${t.skipped} skipped.**`,
      '',
    );
  }
  lines.push(
    ...table(
      ['pool', 'queued jobs', 'before: booting / idle / busy / total', 'after (planned)'],
      plan.pools.map((p) => [p.pool, String(p.queued), counts(p.before), counts(p.after)]),
    ),
    '',
  );
  if (plan.problems.length) lines.push('### Problems', '', ...plan.problems.map((n) => `- ${cell(n)}`), '');
  if (plan.notes.length) lines.push('### Notes', '', ...plan.notes.map((n) => `- ${cell(n)}`), '');

  if (outcomes) {
    const failures = outcomes.filter((o) => o.status === 'failed');
    const ordered = groupOutcomes([...failures, ...outcomes.filter((o) => o.status !== 'failed')]);
    const { rows, rest } = limited(
      ordered,
      (o) => [
        o.status,
        o.action,
        o.target,
        o.pool ?? '',
        o.reason,
        [o.code, o.detail].filter(Boolean).join(': '),
      ],
      (o) => `${o.action} ${o.status}`,
    );
    lines.push('### What changed', '');
    if (ordered.length === 0) lines.push('Nothing to do.');
    else lines.push(...table(['outcome', 'action', 'target', 'pool', 'why', 'detail'], rows));
    if (rest) lines.push('', rest);
  } else {
    const { rows, rest } = limited(
      plan.actions,
      (a) => {
        const d = describeAction(a);
        return [d.what, d.target, a.reason];
      },
      (a) => describeAction(a).what,
    );
    lines.push('### Planned', '');
    if (plan.actions.length === 0) lines.push('Nothing to do.');
    else lines.push(...table(['action', 'target', 'why'], rows));
    if (rest) lines.push('', rest);
  }
  return `${lines.join('\n')}\n`;
}

/** The `result` output: totals and outcomes, capped so outputs stay far below GitHub's 1 MB per job. */
export function resultJson(plan: Plan, outcomes: Outcome[] | undefined, t: RunTotals | undefined): string {
  const items = outcomes ?? [];
  return JSON.stringify({
    mode: plan.mode,
    dryRun: outcomes === undefined,
    ...(t ?? { launched: 0, removed: 0, failed: 0, skipped: 0 }),
    planned: plan.actions.length,
    outcomes: items.slice(0, 1000),
    truncated: items.length > 1000,
  });
}
