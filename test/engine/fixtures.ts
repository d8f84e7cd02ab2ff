// Builders for planner tests: a world of instances, runners, parameters and jobs at a fixed `now`.
import type {
  Config,
  Coordination,
  DemandGap,
  Instance,
  Parameter,
  PoolConfig,
  QueuedJob,
  Runner,
  Snapshot,
} from '../../src/types.js';

export const NOW = new Date('2026-11-22T12:00:00Z');
export const ENV = 'ci';
export const MIN = 60_000;

export function pool(overrides: Partial<PoolConfig> = {}): PoolConfig {
  return {
    name: 'linux',
    labels: ['linux', 'x64'],
    region: 'eu-west-1',
    launchTemplate: { name: 'runner', version: '$Default' },
    instanceTypes: [],
    subnets: [],
    market: 'on-demand',
    registration: 'jit',
    min: 0,
    max: 100,
    idleTimeoutMs: 5 * MIN,
    bootTimeoutMs: 10 * MIN,
    minLifetimeMs: 2 * MIN,
    maxLifetimeMs: 24 * 60 * MIN,
    repositories: ['acme/app'],
    ...overrides,
  };
}

export function config(...pools: PoolConfig[]): Config {
  return {
    environment: ENV,
    coordination: { table: 'runner-scaler-ci', region: 'eu-west-1' },
    github: { scope: { kind: 'org', org: 'acme' }, runnerGroupId: 1 },
    pools: pools.length ? pools : [pool()],
  };
}

let counter = 0;
export function instanceId(n = ++counter): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

export interface Member {
  /** Minutes since launch. */
  age: number;
  pool?: string;
  state?: Instance['state'];
  /** Runner: none, offline (registered, not online), idle or busy. */
  runner?: 'none' | 'offline' | 'idle' | 'busy';
  /** Minutes since the first idle sighting (tag). */
  idleFor?: number;
  /** Minutes since the first sighting of its runner offline past bootTimeout (tag). */
  staleFor?: number;
  /** The run-unique label the instance is reserved for (tag). */
  label?: string;
  /** Minutes since the instance reported a job start. */
  jobStarted?: number;
  parameter?: boolean;
  id?: string;
}

export interface World {
  /** Launch records of the coordination store; held lease by default. */
  coordination?: Partial<Coordination>;
  /** Repositories whose jobs read failed. */
  gaps?: DemandGap[];
  members?: Member[];
  jobs?: { labels: string[]; count: number; repository?: string }[];
  ghosts?: { status: 'online' | 'offline'; busy?: boolean }[];
  leaked?: number;
  incomplete?: (keyof Snapshot)[];
}

export function snapshot(world: World): Snapshot {
  const instances: Instance[] = [];
  const runners: Runner[] = [];
  const parameters: Parameter[] = [];
  let runnerId = 1000;
  for (const m of world.members ?? []) {
    const id = m.id ?? instanceId();
    const ago = (minutes: number) => new Date(NOW.getTime() - minutes * MIN);
    instances.push({
      id,
      region: 'eu-west-1',
      state: m.state ?? 'running',
      launchTime: ago(m.age),
      pool: m.pool ?? 'linux',
      idleSince: m.idleFor !== undefined ? ago(m.idleFor) : undefined,
      staleSince: m.staleFor !== undefined ? ago(m.staleFor) : undefined,
      jobStartedAt: m.jobStarted !== undefined ? ago(m.jobStarted) : undefined,
      tags: {
        'runner-scaler:environment': ENV,
        'runner-scaler:pool': m.pool ?? 'linux',
        ...(m.label ? { 'runner-scaler:label': m.label } : {}),
      },
    });
    const r = m.runner ?? 'idle';
    if (r !== 'none') {
      runners.push({
        id: runnerId++,
        name: `${ENV}-${id}`,
        status: r === 'offline' ? 'offline' : 'online',
        busy: r === 'busy',
        labels: ['self-hosted', 'linux', 'x64'],
      });
    }
    if (m.parameter)
      parameters.push({ name: `/runner-scaler/${ENV}/${id}`, region: 'eu-west-1', instanceId: id });
  }
  for (const g of world.ghosts ?? []) {
    runners.push({
      id: runnerId++,
      name: `${ENV}-${instanceId()}`,
      status: g.status,
      busy: g.busy ?? false,
      labels: [],
    });
  }
  for (let i = 0; i < (world.leaked ?? 0); i++) {
    const id = instanceId();
    // Older than any bootTimeout: a parameter that young may belong to an instance the listing misses.
    const lastModified = new Date(NOW.getTime() - 60 * MIN);
    parameters.push({
      name: `/runner-scaler/${ENV}/${id}`,
      region: 'eu-west-1',
      instanceId: id,
      lastModified,
    });
  }
  const jobs: QueuedJob[] = [];
  let jobId = 1;
  for (const j of world.jobs ?? []) {
    for (let i = 0; i < j.count; i++) {
      jobs.push({ id: jobId++, runId: 7, repository: j.repository ?? 'acme/app', labels: j.labels });
    }
  }
  const read = <T>(key: keyof Snapshot, items: T[]) =>
    world.incomplete?.includes(key)
      ? { items, complete: false, error: `${key} read failed` }
      : { items, complete: true };
  const gaps = world.gaps ?? [];
  const jobsRead = read('jobs', jobs);
  return {
    instances: read('instances', instances),
    runners: read('runners', runners),
    parameters: read('parameters', parameters),
    jobs: gaps.length
      ? { items: jobs, complete: false, error: gaps.map((g) => g.error).join('; ') }
      : jobsRead,
    demandGaps: gaps,
    coordination: { lease: 'held', launches: [], breakers: [], read: true, ...world.coordination },
  };
}

/** Members repeated n times. */
export function times(n: number, member: Member): Member[] {
  return Array.from({ length: n }, () => ({ ...member }));
}
