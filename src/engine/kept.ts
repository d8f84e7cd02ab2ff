// What a plan keeps, and why: the instances of a pool it does not remove, grouped by the reason, for the job
// summary's "kept, and why". Pure. It explains the decisions of plan.ts (planDead, planIdle) and decides nothing.
import type { KeptGroup, Mode, PoolConfig } from '../types.js';
import type { ClassifiedInstance } from './classify.js';
import type { PoolJob } from './demand.js';
import { formatDuration } from './format.js';

export interface KeptInput {
  pool: PoolConfig;
  members: ClassifiedInstance[];
  jobs: PoolJob[];
  removed: Set<string>;
  mode: Mode;
  now: Date;
  /** Whether this run removes anything at all (no read failed, not scale-up). */
  removes: boolean;
  /** Whether the pool's queued jobs were all read. */
  demandKnown: boolean;
}

type Group = Omit<KeptGroup, 'pool'>;

/** The time left until `since + span`, never negative; `span` when there was no first sighting yet. */
const remaining = (now: Date, since: Date | undefined, span: number) =>
  Math.max(0, span - (since ? now.getTime() - since.getTime() : 0));

const earliest = (values: number[]) => (values.length ? Math.min(...values) : undefined);

function idleKept(input: KeptInput, idle: ClassifiedInstance[]): Group[] {
  const { pool, now } = input;
  const groups: Group[] = [];
  for (const label of [...new Set(idle.map((m) => m.reservedLabel))]) {
    const kept = idle.filter((m) => m.reservedLabel === label);
    const queued = input.jobs.filter((j) => j.reservedLabel === label).length;
    const needed = queued + (label === undefined ? pool.min : 0);
    const unconfirmed = kept.filter(
      (m) => !m.instance.idleSince || now.getTime() - m.instance.idleSince.getTime() < pool.idleTimeoutMs,
    );
    const young = kept.filter((m) => !unconfirmed.includes(m) && m.ageMs < pool.minLifetimeMs);
    // Those beyond what the pool needs would go if they were eligible: they wait; the others are needed.
    const excess = Math.max(0, kept.length - needed);
    const waitingSighting = Math.min(unconfirmed.length, excess);
    const waitingYoung = Math.min(young.length, excess - waitingSighting);
    const kinds: [number, Group['reason'], string, number | undefined][] = [
      [
        waitingSighting,
        'idle-sighting',
        `waiting for the second idle sighting, idleTimeout ${formatDuration(pool.idleTimeoutMs)} after the first`,
        earliest(unconfirmed.map((m) => remaining(now, m.instance.idleSince, pool.idleTimeoutMs))),
      ],
      [
        waitingYoung,
        'young',
        `younger than minLifetime ${formatDuration(pool.minLifetimeMs)}`,
        earliest(young.map((m) => Math.max(0, pool.minLifetimeMs - m.ageMs))),
      ],
    ];
    const needs = kept.length - waitingSighting - waitingYoung;
    if (label !== undefined)
      kinds.push([needs, 'queued', `reserved for ${queued} queued job(s) asking for ${label}`, undefined]);
    else {
      const forMin = Math.min(needs, pool.min);
      kinds.push([forMin, 'min', `the pool's min ${pool.min}`, undefined]);
      kinds.push([needs - forMin, 'queued', `for ${queued} queued job(s) they may take`, undefined]);
    }
    for (const [count, reason, detail, waitMs] of kinds) {
      if (count > 0)
        groups.push({ what: 'idle', reason, count, detail, ...(waitMs !== undefined ? { waitMs } : {}) });
    }
  }
  return groups;
}

function deadKept(input: KeptInput, dead: ClassifiedInstance[]): Group[] {
  const { pool, now } = input;
  const stale = dead.filter((m) => m.cls === 'stale');
  if (!input.removes || stale.length === 0) return [];
  return [
    {
      what: 'dead',
      reason: 'stale-sighting',
      count: stale.length,
      detail: `runner offline past bootTimeout: waiting for the second sighting, idleTimeout ${formatDuration(pool.idleTimeoutMs)} after the first`,
      waitMs: Math.min(...stale.map((m) => remaining(now, m.instance.staleSince, pool.idleTimeoutMs))),
    },
  ];
}

/** Why what was not removed stays; in drain and scale-down, in reconcile, and in scale-up (which removes nothing). */
export function keptGroups(input: KeptInput): KeptGroup[] {
  const { pool } = input;
  const kept = input.members.filter((m) => m.cls !== 'leaving' && !input.removed.has(m.instance.id));
  const of = (cls: ClassifiedInstance['cls']) => kept.filter((m) => m.cls === cls);
  const groups: Group[] = [];
  const busy = of('busy');
  if (busy.length) groups.push({ what: 'busy', reason: 'busy', count: busy.length, detail: 'running a job' });
  const booting = of('booting');
  if (booting.length) {
    const unlisted = booting.filter((m) => m.instance.unlisted).length;
    groups.push({
      what: 'booting',
      reason: 'booting',
      count: booting.length,
      detail: `within bootTimeout ${formatDuration(pool.bootTimeoutMs)}${unlisted ? ` (${unlisted} launched moments ago, not listed by EC2 yet)` : ''}`,
    });
  }
  const idle = of('idle');
  const dead = [...of('orphan'), ...of('stale')];
  if (input.mode === 'scale-up') {
    if (idle.length)
      groups.push({
        what: 'idle',
        reason: 'scale-up',
        count: idle.length,
        detail: 'scale-up removes nothing',
      });
  } else if (!input.removes) {
    for (const [what, list] of [
      ['idle', idle],
      ['dead', dead],
    ] as const) {
      if (list.length)
        groups.push({
          what,
          reason: 'read-failed',
          count: list.length,
          detail: 'a read failed: nothing is removed',
        });
    }
  } else {
    if (idle.length && !input.demandKnown) {
      groups.push({
        what: 'idle',
        reason: 'demand-unknown',
        count: idle.length,
        detail: "the queued jobs of the pool's repositories could not all be read",
      });
    } else groups.push(...idleKept(input, idle));
    groups.push(...deadKept(input, dead));
  }
  return groups.map((g) => ({ pool: pool.name, ...g }));
}
