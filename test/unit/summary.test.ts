// The job summary, rendered as GitHub renders it (GFM tables and alerts, by marked and marked-alert), checked by
// its structure: the status first, alert blocks that are alerts, tables with the right columns, mermaid fenced.
import { describe, expect, it } from 'vitest';
import {
  groupOutcomes,
  renderSummary,
  resultJson,
  totals,
  type SummaryInput,
} from '../../src/report/summary.js';
import type { Outcome, Plan, PoolPlan } from '../../src/types.js';
import { renderGfm, tableAfter, xychartShape } from './gfm.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const DOCS = 'https://github.com/acme/runner-scaler/blob/v1/README.md';
const POOL_COLUMNS = ['pool', 'min', 'queued', 'booting', 'idle', 'busy', 'dead', 'total'];

const counts = (booting = 0, idle = 0, busy = 0, dead = 0) => ({
  booting,
  idle,
  busy,
  dead,
  total: booting + idle + busy + dead,
});
const none = { booting: [], idle: [], busy: [], dead: [] };

function poolPlan(pool: string, overrides: Partial<PoolPlan> = {}): PoolPlan {
  return {
    pool,
    queued: 0,
    before: counts(),
    after: counts(),
    min: 0,
    max: 10,
    removing: none,
    kept: [],
    demandKnown: true,
    ...overrides,
  };
}

function planOf(overrides: Partial<Plan> = {}): Plan {
  return {
    mode: 'reconcile',
    now: NOW,
    actions: [],
    pools: [poolPlan('linux')],
    notes: [],
    problems: [],
    ...overrides,
  };
}

function render(input: Partial<SummaryInput> & { plan: Plan }) {
  const outcomes = input.outcomes;
  const markdown = renderSummary({
    environment: 'ci',
    dryRun: outcomes === undefined,
    docsUrl: DOCS,
    ...(outcomes
      ? {
          totals: totals(
            outcomes,
            outcomes.reduce(
              (n, o) => n + (o.action === 'launch' && o.status === 'done' ? (o.count ?? 0) : 0),
              0,
            ),
          ),
        }
      : {}),
    ...input,
  });
  return { markdown, gfm: renderGfm(markdown) };
}

const done = (action: string, target: string, extra: Partial<Outcome> = {}): Outcome => ({
  action,
  target,
  pool: 'linux',
  status: 'done',
  reason: 'idle 6m (idleTimeout 5m), above min 0',
  ...extra,
});

describe('the summary', () => {
  it('an OK run: the status first, no alerts, the pools before and after, a chart', () => {
    const plan = planOf({
      pools: [
        poolPlan('linux', {
          before: counts(0, 3, 1),
          removing: { ...none, idle: ['i-1', 'i-2'] },
          kept: [{ pool: 'linux', what: 'idle', reason: 'min', count: 1, detail: "the pool's min 1" }],
          min: 1,
        }),
      ],
    });
    const outcomes = [
      done('unregister', 'ci-i-1'),
      done('terminate', 'i-1'),
      done('unregister', 'ci-i-2'),
      done('terminate', 'i-2'),
    ];
    const { gfm } = render({ plan, outcomes });
    expect(gfm.blocks.slice(0, 2)).toEqual(['heading', 'paragraph']);
    expect(gfm.headings[0]).toBe('🟢 OK · runner-scaler: reconcile · `ci`');
    expect(gfm.paragraphs[0]).toBe(
      '**0 launched, 2 removed, 0 failed, 0 warning(s), 0 skipped** · 2026-11-22T12:00:00.000Z',
    );
    expect(gfm.alerts).toEqual([]);
    expect(gfm.quotes).toEqual([]);
    const pools = tableAfter(gfm, 'Pools');
    expect(pools?.header).toEqual(POOL_COLUMNS);
    expect(pools?.rows).toEqual([['linux', '1', '0', '0', '3 → 1', '1', '0', '4 → 2']]);
    expect(tableAfter(gfm, 'Kept, and why')?.rows).toEqual([['linux', 'idle', '1', "the pool's min 1", '']]);
    const chart = gfm.code.find((c) => c.lang === 'mermaid');
    expect(xychartShape(chart?.text ?? '')).toEqual({
      categories: 5,
      bars: [0, 1, 1, 0, 0],
      lines: [0, 3, 1, 0, 0],
    });
    expect(tableAfter(gfm, 'What changed')?.header).toEqual([
      'outcome',
      'action',
      'target',
      'pool',
      'why',
      'detail',
    ]);
  });

  it('a failure: an alert saying what, why, what was held back and the fix; failed rows marked and first', () => {
    const plan = planOf({
      pools: [
        poolPlan('arm', { before: counts(0, 1) }),
        poolPlan('linux', { before: counts(0, 2), removing: { ...none, idle: ['i-1', 'i-2'] } }),
      ],
    });
    const denied = (id: string): Outcome => ({
      ...done('terminate', id),
      status: 'failed',
      code: 'UnauthorizedOperation',
      detail: 'You are not authorized to perform this operation.',
    });
    const outcomes = [
      done('unregister', 'ci-i-1'),
      done('unregister', 'ci-i-2'),
      denied('i-1'),
      denied('i-2'),
    ];
    const { gfm } = render({ plan, outcomes });
    expect(gfm.headings[0]).toMatch(/^🔴 Failed · /);
    expect(gfm.paragraphs[0]).toMatch(/^\*\*0 launched, 0 removed, 2 failed/);
    expect(gfm.blocks[2]).toBe('alert:caution');
    const [caution] = gfm.alerts;
    expect(caution?.text).toContain('**2 termination(s) failed with `UnauthorizedOperation`: `i-1`, `i-2`**');
    expect(caution?.text).toContain('**Why:** idle 6m (idleTimeout 5m), above min 0: You are not authorized');
    expect(caution?.text).toContain(
      '**Held back:** 2 instance(s) keep running (and cost) until the next run retries',
    );
    expect(caution?.text).toContain(
      `**Fix:** attach examples/iam/runner-scaler-policy.json with your environment ([Troubleshooting](${DOCS}#ts-aws-denied))`,
    );
    expect(tableAfter(gfm, 'Pools')?.rows.map((r) => r[0])).toEqual(['❌ linux', 'arm']);
    // The runners were unregistered, the instances not terminated: both still count.
    expect(tableAfter(gfm, 'Pools')?.rows[0]).toEqual(['❌ linux', '0', '0', '0', '2', '0', '0', '2']);
    expect(tableAfter(gfm, 'What changed')?.rows.map((r) => r[0])).toEqual([
      '❌ failed',
      '❌ failed',
      '✅ done',
      '✅ done',
    ]);
  });

  it('a read failure: what was kept because of it, and the repository to fix', () => {
    const plan = planOf({
      unread: [
        {
          what: 'parameters',
          error: 'AccessDeniedException: not authorized to perform ssm:DescribeParameters',
        },
        { what: 'jobs', error: 'HttpError: Not Found' },
      ],
      demandGaps: [{ repository: 'acme/gone', error: 'HttpError: Not Found', status: 404 }],
      pools: [
        poolPlan('linux', {
          before: counts(0, 2, 0, 1),
          demandKnown: false,
          kept: [
            {
              pool: 'linux',
              what: 'idle',
              reason: 'read-failed',
              count: 2,
              detail: 'a read failed: nothing is removed',
            },
            {
              pool: 'linux',
              what: 'dead',
              reason: 'read-failed',
              count: 1,
              detail: 'a read failed: nothing is removed',
            },
          ],
        }),
      ],
    });
    const { gfm } = render({ plan, outcomes: [] });
    expect(gfm.headings[0]).toMatch(/^🔴 Failed · /);
    expect(gfm.alerts.map((a) => a.variant)).toEqual(['caution', 'caution']);
    expect(gfm.alerts[0]?.text).toMatch(
      /\*\*the parameters read failed\*\*[^]*Held back:\*\* nothing removed \(3 kept\)[^]*#ts-aws-denied/,
    );
    expect(gfm.alerts[1]?.text).toMatch(
      /the queued jobs of `acme\/gone` could not be read \(HTTP 404\)[^]*renamed, deleted, or the GitHub App is not installed there[^]*#ts-repository/,
    );
    expect(gfm.html).not.toContain('https://docs.github.com/rest');
    expect(tableAfter(gfm, 'Kept, and why')?.rows).toHaveLength(2);
    expect(tableAfter(gfm, 'Pools')?.rows[0]?.[0]).toBe('❌ linux');
  });

  it('after is what happened: 7 of 20 launched, the shortfall a capacity warning naming what was short', () => {
    const plan = planOf({
      pools: [poolPlan('linux', { queued: 20, after: counts(20), max: 50 })],
    });
    const outcomes: Outcome[] = [
      done('launch', 'linux', { count: 7, reason: 'demand: 20 queued job(s), 0 idle or booting' }),
      {
        ...done('launch', 'linux'),
        status: 'warning',
        code: 'InsufficientInstanceCapacity',
        count: 13,
        reason: '13 of 20 not launched (the next run retries the shortfall)',
        shortage: {
          short: ['m7i.large in eu-west-1a (spot)'],
          fallbacks: ["m7i.large in the template's subnet (on-demand)"],
          since: new Date('2026-11-22T11:50:00Z'),
          timeoutMs: 30 * 60_000,
        },
      },
    ];
    const { gfm } = render({ plan, outcomes });
    expect(gfm.headings[0]).toMatch(/^🟡 Warnings · /);
    expect(gfm.paragraphs[0]).toMatch(/^\*\*7 launched, 0 removed, 0 failed, 1 warning\(s\)/);
    expect(tableAfter(gfm, 'Pools')?.rows[0]).toEqual([
      '⚠️ linux',
      '0',
      '20 → 13',
      '0 → 7',
      '0',
      '0',
      '0',
      '0 → 7',
    ]);
    expect(gfm.alerts).toHaveLength(1);
    expect(gfm.alerts[0]?.variant).toBe('warning');
    expect(gfm.alerts[0]?.text).toMatch(
      /pool `linux`: 13 instance\(s\) not launched, short of EC2 capacity[^]*short: m7i\.large in eu-west-1a \(spot\); not found short yet: m7i\.large in the template's subnet \(on-demand\); short since 11:50 UTC \(capacityTimeout 30m\)[^]*#ts-capacity/,
    );
  });

  it('names unmatched queued jobs with labels, repository and a link; shows the schedule; flags outdated runners', () => {
    const plan = planOf({
      unserved: [
        {
          id: 41,
          runId: 7,
          repository: 'acme/ml',
          labels: ['self-hosted', 'gpu'],
          name: 'train | big',
          why: "no pool offers all of the job's labels",
        },
      ],
      flagged: [
        { instanceId: 'i-0abc', pool: 'linux', kind: 'runner-outdated', value: '2026-11-22T11:58:00Z' },
      ],
      pools: [
        poolPlan('linux', {
          min: 4,
          schedule: {
            min: 4,
            timeZone: 'Europe/Berlin',
            until: '18:00',
            next: 0,
            window: 'mon-fri 08:00-18:00',
          },
        }),
      ],
    });
    const { gfm } = render({ plan, outcomes: [], serverUrl: 'https://github.com' });
    expect(tableAfter(gfm, 'Pools')?.rows[0]?.[1]).toBe('4 until 18:00 Europe/Berlin (then 0)');
    const jobs = tableAfter(gfm, 'Queued jobs no pool serves');
    expect(jobs?.header).toEqual(['job', 'repository', 'labels', 'why']);
    expect(jobs?.rows[0]).toEqual([
      '[train | big #41](https://github.com/acme/ml/actions/runs/7/job/41)',
      'acme/ml',
      '`self-hosted` `gpu`',
      "no pool offers all of the job's labels",
    ]);
    expect(gfm.html).toContain(
      '<a href="https://github.com/acme/ml/actions/runs/7/job/41">train | big #41</a>',
    );
    expect(gfm.alerts.map((a) => a.variant)).toEqual(['warning', 'warning']);
    expect(gfm.alerts[0]?.text).toMatch(
      /1 instance\(s\) ran a runner too old to start: `i-0abc`[^]*#ts-runner-outdated/,
    );
    expect(gfm.alerts[1]?.text).toMatch(
      /1 queued job\(s\) match no pool[^]*`\[self-hosted, gpu\]`[^]*#ts-unserved-jobs/,
    );
    expect(tableAfter(gfm, 'Instances the bootstrap flagged')?.rows).toEqual([
      ['`i-0abc`', 'linux', 'runner too old to start', '2026-11-22T11:58:00Z'],
    ]);
  });

  it('a dry run shows the plan; its result output lists every planned item', () => {
    const plan = planOf({
      actions: [
        {
          kind: 'launch',
          pool: 'linux',
          count: 3,
          clientToken: 'rs-1',
          jobIds: [1, 2, 3],
          reason: 'demand: 3 queued job(s)',
        },
        {
          kind: 'terminate',
          pool: 'linux',
          instanceId: 'i-1',
          region: 'eu-west-1',
          reason: 'orphan: no runner',
        },
      ],
      pools: [poolPlan('linux', { queued: 3, before: counts(0, 0, 0, 1), after: counts(3) })],
    });
    const { gfm } = render({ plan, dryRun: true });
    expect(gfm.headings[0]).toBe('🟢 OK · runner-scaler: reconcile (dry run: nothing changed) · `ci`');
    expect(gfm.paragraphs[0]).toBe('**2 item(s) planned** · 2026-11-22T12:00:00.000Z');
    expect(tableAfter(gfm, 'Planned')?.rows).toEqual([
      ['launch', '3 in linux', 'demand: 3 queued job(s)'],
      ['terminate', 'i-1', 'orphan: no runner'],
    ]);
    expect(tableAfter(gfm, 'Pools')?.rows[0]).toEqual([
      'linux',
      '0',
      '3 → 0',
      '0 → 3',
      '0',
      '0',
      '1 → 0',
      '1 → 3',
    ]);
    expect(JSON.parse(resultJson(plan, undefined, undefined))).toMatchObject({
      dryRun: true,
      planned: 2,
      plannedItems: [
        {
          action: 'launch',
          target: '3 in linux',
          pool: 'linux',
          count: 3,
          reason: 'demand: 3 queued job(s)',
        },
        { action: 'terminate', target: 'i-1', pool: 'linux', reason: 'orphan: no runner' },
      ],
      plannedTruncated: false,
    });
  });

  it('without the action’s repository, names the README row instead of linking', () => {
    const plan = planOf({
      problems: [
        'nothing launched: another run (acme/app#9/1/ab) held the coordination lease longer than this run could wait; it or the next run serves the demand',
      ],
      pools: [poolPlan('linux', { queued: 2, launchesHeld: 'another run holds the coordination lease' })],
    });
    const { gfm } = render({ plan, outcomes: [], docsUrl: undefined });
    expect(gfm.alerts[0]?.text).toMatch(
      /Held back:\*\* nothing launched by this run[^]*README\.md, Troubleshooting \(#ts-lease\)/,
    );
    expect(tableAfter(gfm, 'Kept, and why')?.rows).toEqual([
      ['linux', 'launches', '', 'held: another run holds the coordination lease', ''],
    ]);
  });

  it('stays far under 1 MiB for a fleet of thousands, every table cut at 100 rows', () => {
    const fleet = 5000;
    const ids = Array.from({ length: fleet }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
    const plan = planOf({
      mode: 'drain',
      pools: Array.from({ length: 150 }, (_, i) =>
        poolPlan(`pool-${i}`, { before: counts(0, i === 0 ? fleet : 1) }),
      ).map((p, i) => (i === 0 ? { ...p, removing: { ...none, idle: ids } } : p)),
      unserved: Array.from({ length: fleet }, (_, i) => ({
        id: i,
        runId: 1,
        repository: 'acme/app',
        labels: ['x'],
        why: 'no pool',
      })),
      flagged: ids.map((instanceId) => ({
        instanceId,
        kind: 'spot-interruption' as const,
        value: 'terminate@2026-11-22T12:02:00Z',
      })),
    });
    const outcomes: Outcome[] = ids.flatMap((id, i) => [
      done('unregister', `ci-${id}`, { pool: 'pool-0', reason: 'drain: idle runner' }),
      i % 50 === 0
        ? {
            ...done('terminate', id, { pool: 'pool-0' }),
            status: 'failed',
            code: `Code${i}`,
            reason: 'drain: idle runner',
          }
        : done('terminate', id, { pool: 'pool-0', reason: 'drain: idle runner' }),
    ]);
    const { markdown, gfm } = render({ plan, outcomes });
    expect(Buffer.byteLength(markdown)).toBeLessThan(256 * 1024);
    for (const t of gfm.tables) expect(t.rows.length).toBeLessThanOrEqual(100);
    expect(tableAfter(gfm, 'Pools')?.rows[0]).toEqual([
      '❌ pool-0',
      '0',
      '0',
      '0',
      '5000 → 100',
      '0',
      '0',
      '5000 → 100',
    ]);
    expect(markdown).toMatch(/… and 50 more: 50 × ok pool/);
    expect(gfm.alerts.length).toBeLessThanOrEqual(12);
    expect(markdown).toMatch(/… and \d+ more \(see the tables below\)/);
    expect(Buffer.byteLength(resultJson(plan, outcomes, totals(outcomes, 0)))).toBeLessThan(1024 * 1024);
  });

  it('groups alike outcomes into one row, keeps small groups apart', () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => [
        done('unregister', `ci-i-${i}`),
        done('terminate', `i-${i}`),
      ]).flat();
    const grouped = groupOutcomes(many(5));
    expect(grouped).toHaveLength(2);
    expect(grouped[0]?.target).toBe('5 × ci-i-0, ci-i-1, ci-i-2, …');
    expect(groupOutcomes(many(3))).toHaveLength(6);
  });

  it('counts a runner and its instance as one removal, ghosts as one each', () => {
    const list: Outcome[] = [
      done('unregister', 'ci-i-1'),
      done('terminate', 'i-1'),
      {
        action: 'unregister',
        target: 'ci-i-x',
        status: 'done',
        reason: 'ghost: runner registered for an instance that no longer exists',
      },
      { action: 'unregister', target: 'ci-i-y', status: 'skipped', code: 'busy', reason: 'idle' },
      { ...done('launch', 'linux'), status: 'warning', code: 'InsufficientInstanceCapacity' },
    ];
    expect(totals(list, 4)).toEqual({ launched: 4, removed: 2, failed: 0, skipped: 1, warnings: 1 });
  });
});
