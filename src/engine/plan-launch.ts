// How many runners a pool needs, and with which labels. Pure.
//
// Demand is counted per label class: the pool's generic runners serve the jobs that ask for the pool's labels;
// runners reserved for a run-unique label serve only the jobs that ask for that label. Supply is what is idle
// or booting in the class (listed, or named by a launch record the listing misses), and `max` holds for the
// pool as a whole: everything present counts, busy, booting and not yet listed alike.
import { createHash } from 'node:crypto';
import type { LaunchAction, PoolConfig } from '../types.js';
import type { ClassifiedInstance } from './classify.js';
import type { PoolJob } from './demand.js';

/** Launch tokens of the same demand are equal within this window (the cron period). */
export const TOKEN_WINDOW_MS = 5 * 60_000;

/** EC2 ClientToken (<= 64 chars) from what the launch serves, so two runs seeing the same demand launch once. */
export function clientToken(parts: (string | number)[]): string {
  return `rs-${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 48)}`;
}

export interface PoolLaunchInput {
  pool: PoolConfig;
  members: ClassifiedInstance[];
  jobs: PoolJob[];
  /** Instances this run removes: not supply. */
  removed: Set<string>;
  /** Jobs a launch record already serves: served last by a new launch (another run's instances are on the way). */
  served: Set<number>;
  now: Date;
  /** An explicit count for the pool (the pre-job pattern), with its ClientToken seed and reserved label. */
  count?: { count: number; runKey: string; reservedLabel?: string };
  /** At most this many launched in the pool (no lease: the store is unavailable). */
  cap?: number;
  /**
   * A scale set's desired size (min + assigned jobs, at most max): the pool grows to it, counting everything
   * present (booting, idle and busy alike: a busy runner runs an assigned job).
   */
  target?: number;
}

interface Want {
  want: number;
  jobIds: number[];
  reason: string;
  token: (count: number) => string;
  reservedLabel?: string;
  labels?: string[];
}

const supplyOf = (input: PoolLaunchInput, label: string | undefined) =>
  input.members.filter(
    (m) =>
      (m.cls === 'idle' || m.cls === 'booting') &&
      !input.removed.has(m.instance.id) &&
      m.reservedLabel === label,
  );

/**
 * The jobs a launch of `gap` runners serves: the supply takes the oldest jobs, the launch the newest; among
 * them, those no launch record serves yet come first.
 */
function pickJobs(jobs: PoolJob[], gap: number, served: Set<number>): number[] {
  if (gap <= 0) return [];
  const sorted = [...jobs].sort((a, b) => a.id - b.id);
  const fresh = sorted.filter((j) => !served.has(j.id));
  const taken = sorted.filter((j) => served.has(j.id));
  return [...taken, ...fresh]
    .slice(-gap)
    .map((j) => j.id)
    .sort((a, b) => a - b);
}

/** The union of the jobs' labels, first spelling kept: what a runner needs for every one of them to match. */
function unionLabels(jobs: PoolJob[]): string[] {
  const byLower = new Map<string, string>();
  for (const label of jobs.flatMap((j) => j.labels))
    if (!byLower.has(label.toLowerCase())) byLower.set(label.toLowerCase(), label);
  return [...byLower.values()];
}

function genericWant(input: PoolLaunchInput, present: ClassifiedInstance[]): Want {
  const { pool } = input;
  const jobs = input.jobs.filter((j) => !j.reservedLabel).sort((a, b) => a.id - b.id);
  const supply = supplyOf(input, undefined);
  const gap = Math.max(0, jobs.length - supply.length);
  const deficit = Math.max(0, pool.min - Math.max(0, supply.length - jobs.length));
  const jobIds = gap > 0 ? pickJobs(jobs, gap, input.served) : [];
  const parts = [
    `${jobs.length} queued job(s)`,
    `${supply.length} idle or booting`,
    ...(deficit > 0 ? [`min ${pool.min} idle`] : []),
  ];
  // Served jobs identify job-driven launches; the pool's current members identify min top-ups. The time window
  // keeps a token from being reused once its instances are gone (EC2 then refuses it), e.g. when an instance
  // died before taking its job and the job is still queued. Within the window, the dead instances a launch
  // replaces tell it from the launch that created them, which EC2 would otherwise replay.
  const members = present
    .filter((m) => !m.instance.unlisted)
    .map((m) => m.instance.id)
    .sort();
  const dead = input.members
    .filter((m) => m.cls === 'orphan' || m.cls === 'stale' || m.cls === 'leaving')
    .map((m) => m.instance.id)
    .sort();
  const window = Math.floor(input.now.getTime() / TOKEN_WINDOW_MS);
  const served = ['|', ...jobIds.map(String), '|', ...(gap ? dead : members)];
  return {
    want: gap + deficit,
    jobIds,
    reason: `demand: ${parts.join(', ')}`,
    token: (count) => clientToken(['demand', pool.name, count, window, ...served]),
  };
}

function reservedWants(input: PoolLaunchInput): Want[] {
  const labels = [...new Set(input.jobs.flatMap((j) => (j.reservedLabel ? [j.reservedLabel] : [])))].sort();
  const window = Math.floor(input.now.getTime() / TOKEN_WINDOW_MS);
  return labels.map((label) => {
    const jobs = input.jobs.filter((j) => j.reservedLabel === label);
    const supply = supplyOf(input, label);
    const gap = Math.max(0, jobs.length - supply.length);
    const jobIds = pickJobs(jobs, gap, input.served);
    return {
      want: gap,
      jobIds,
      reason: `demand: ${jobs.length} queued job(s) asking for ${label}, ${supply.length} idle or booting for it`,
      token: (count: number) => clientToken(['reserved', input.pool.name, label, count, window, ...jobIds]),
      reservedLabel: label,
      labels: unionLabels(jobs),
    };
  });
}

function targetWant(input: PoolLaunchInput, present: ClassifiedInstance[]): Want {
  const { pool } = input;
  const target = input.target ?? 0;
  const counted = present.filter((m) => !input.removed.has(m.instance.id));
  const members = counted
    .filter((m) => !m.instance.unlisted)
    .map((m) => m.instance.id)
    .sort();
  const window = Math.floor(input.now.getTime() / TOKEN_WINDOW_MS);
  return {
    want: Math.max(0, target - counted.length),
    jobIds: [],
    reason: `scale set: desired ${target} (min ${pool.min} + assigned jobs, at most max ${pool.max}), ${counted.length} present`,
    token: (count) => clientToken(['scale-set', pool.name, count, target, window, ...members]),
  };
}

function countWant(input: PoolLaunchInput): Want {
  const { pool } = input;
  const { count, runKey, reservedLabel } = input.count as NonNullable<PoolLaunchInput['count']>;
  return {
    want: count,
    jobIds: [],
    reason: `count input: ${count} runner(s) requested`,
    token: (n) => clientToken(['count', runKey, pool.name, n]),
    ...(reservedLabel ? { reservedLabel, labels: [reservedLabel] } : {}),
  };
}

/**
 * The pool's launches (reserved classes first, then the generic one), why anything wanted was not, and how many
 * runners `max` held back.
 */
export function planPoolLaunches(input: PoolLaunchInput): {
  launches: LaunchAction[];
  notes: string[];
  heldByMax: number;
} {
  const { pool } = input;
  const present = input.members.filter((m) => m.cls !== 'leaving');
  let room = Math.max(0, pool.max - present.length);
  let cap = input.cap ?? Infinity;
  const wants = input.count
    ? [countWant(input)]
    : input.target !== undefined
      ? [targetWant(input, present)]
      : [...reservedWants(input), genericWant(input, present)];
  const launches: LaunchAction[] = [];
  const notes: string[] = [];
  let heldByMax = 0;
  for (const want of wants) {
    if (want.want <= 0) continue;
    heldByMax += Math.max(0, want.want - room);
    const count = Math.min(want.want, room, cap);
    const capped =
      count < want.want
        ? count < Math.min(want.want, room)
          ? `; capped at ${input.cap} without the coordination lease`
          : `; capped by max ${pool.max} (${present.length} present)`
        : '';
    if (count === 0) {
      notes.push(`pool ${pool.name}: ${want.reason}, but max ${pool.max} reached: nothing launched`);
      continue;
    }
    room -= count;
    cap -= count;
    launches.push({
      kind: 'launch',
      pool: pool.name,
      count,
      clientToken: want.token(count),
      jobIds: want.jobIds,
      ...(want.reservedLabel ? { reservedLabel: want.reservedLabel, labels: want.labels } : {}),
      reason: `${want.reason}${capped}`,
    });
  }
  return { launches, notes, heldByMax };
}
