// The invariants every run of runner-scaler must leave behind, whatever AWS and GitHub did, checked on
// the emulator's state (not on what the action reported).
import { createHash } from 'node:crypto';
import {
  instanceIdOfParameter,
  instanceIdOfRunner,
  parameterPath,
  TAG_ENVIRONMENT,
  TAG_POOL,
} from '../src/contract.js';
import type { Emulator, KilledJob } from '../emulator/index.js';

export const INVARIANTS = [
  'no instance without a runner past boot',
  'no parameter without an instance',
  'no ghost runner',
  'no job killed',
  'no foreign resource touched',
  'never more instances than max',
] as const;

export type Invariant = (typeof INVARIANTS)[number];

/** What may be violated right after a failing run: the rest is cleaned up by the next reconcile. */
export const SAFETY_INVARIANTS: Invariant[] = [
  'no job killed',
  'no foreign resource touched',
  'never more instances than max',
];

export interface Violation {
  invariant: Invariant | string;
  detail: string;
}

/** Another environment's resources, fingerprinted before the runs. */
export interface ForeignResources {
  environment: string;
  instances: Map<string, string>;
  runners: Map<number, string>;
  parameters: Map<string, string>;
}

/** Every resource the action wrote to (from the emulator's call observer). */
export interface Writes {
  /** Instance ids per successful TerminateInstances call, in order. */
  terminateCalls: string[][];
  taggedInstances: Set<string>;
  deletedRunners: Set<number>;
  deletedParameters: Set<string>;
  writtenParameters: Set<string>;
  /** Largest number of live instances per pool right after any launch call. */
  peaks: Map<string, number>;
}

export interface InvariantOptions {
  environment: string;
  /** The pools' `max`: one number for every pool, or per pool. */
  max: number | Record<string, number>;
  bootTimeoutMs: number;
  /**
   * A runner offline past bootTimeout is removed on its second sighting, this long after the first (the pools'
   * idleTimeout): until then its instance is not a violation. Default 0.
   */
  staleConfirmMs?: number;
  /** A parameter whose instance the listing does not show is a leak only once older than this. Default 0. */
  parameterGraceMs?: number;
  /** When the scaler last looked (wall clock): an instance is judged by its age then. Default now. */
  observedAt?: Date;
  foreign?: ForeignResources;
  writes?: Writes;
  /** Causes of job deaths that are the injected fault's doing, not the scaler's. Default: spot interruptions. */
  killCausesAllowed?: KilledJob['cause'][];
  /** Check only these. */
  only?: readonly Invariant[];
}

/** Alive and costing money: the states in which an instance must have a working runner after boot. */
const LIVE = new Set(['pending', 'running', 'stopped']);
/** Gone: a runner or parameter of such an instance is a leak. Shutting-down instances are still leaving. */
const GONE = new Set(['terminated']);

const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** Fingerprints another environment's instances (state, launch time, raw tags), runners and parameters. */
export function snapshotForeign(emulator: Emulator, environment: string): ForeignResources {
  const { state } = emulator;
  const instances = new Map<string, string>();
  for (const instance of state.instances.values()) {
    const env = instance.tags.get(TAG_ENVIRONMENT);
    if (env !== environment) continue;
    // Raw tag values are kept in emulator time, so advancing the clock does not change them.
    instances.set(instance.id, digest([instance.state, instance.launchTime, [...instance.tags]]));
  }
  const runners = new Map<number, string>();
  for (const runner of state.runners.values()) {
    if (!runner.name.startsWith(`${environment}-`)) continue;
    runners.set(runner.id, digest([runner.name, runner.status, runner.labels, runner.scope]));
  }
  const parameters = new Map<string, string>();
  for (const parameter of emulator.ssm.parameters()) {
    if (!parameter.name.startsWith(`${parameterPath(environment)}/`)) continue;
    parameters.set(parameter.name, digest([parameter.version, parameter.value]));
  }
  return { environment, instances, runners, parameters };
}

function maxOf(options: InvariantOptions, pool: string): number | undefined {
  return typeof options.max === 'number' ? options.max : options.max[pool];
}

export function checkInvariants(emulator: Emulator, options: InvariantOptions): Violation[] {
  const { environment } = options;
  const only = new Set(options.only ?? INVARIANTS);
  const violations: Violation[] = [];
  const fail = (invariant: Invariant, detail: string) => violations.push({ invariant, detail });
  const instances = emulator.ec2.instances({ environment });
  const byId = new Map(emulator.ec2.instances().map((i) => [i.id, i]));
  const runners = emulator.github.runners();
  const ours = runners.filter((r) => instanceIdOfRunner(environment, r.name) !== undefined);
  const runnerOf = new Map(ours.map((r) => [instanceIdOfRunner(environment, r.name) as string, r]));
  const observedAt = (options.observedAt ?? new Date()).getTime();

  if (only.has('no instance without a runner past boot')) {
    for (const instance of instances) {
      if (!LIVE.has(instance.state)) continue;
      const ageMs = observedAt - instance.launchTime.getTime();
      if (ageMs <= options.bootTimeoutMs) continue;
      const runner = runnerOf.get(instance.id);
      // A registered runner offline past boot gets its second sighting before it goes.
      if (runner && ageMs <= options.bootTimeoutMs + (options.staleConfirmMs ?? 0)) continue;
      if (!runner || runner.status !== 'online') {
        fail(
          'no instance without a runner past boot',
          `${instance.id} (${instance.state}, up ${Math.round(ageMs / 1000)} s) has ${runner ? 'an offline runner' : 'no runner'}`,
        );
      }
    }
  }

  if (only.has('no parameter without an instance')) {
    for (const parameter of emulator.ssm.parameters()) {
      const id = instanceIdOfParameter(environment, parameter.name);
      if (id === undefined) continue;
      const instance = byId.get(id);
      const young = observedAt - parameter.lastModified.getTime() < (options.parameterGraceMs ?? 0);
      if ((!instance || GONE.has(instance.state)) && !young) {
        fail(
          'no parameter without an instance',
          `${parameter.name}: instance ${instance?.state ?? 'unknown'}`,
        );
      }
    }
  }

  if (only.has('no ghost runner')) {
    for (const [id, runner] of runnerOf) {
      const instance = byId.get(id);
      if (!instance || GONE.has(instance.state)) {
        fail(
          'no ghost runner',
          `${runner.name} (${runner.status}): instance ${instance?.state ?? 'unknown'}`,
        );
      }
    }
  }

  if (only.has('no job killed')) {
    const allowed = new Set(options.killCausesAllowed ?? ['interrupted']);
    for (const killed of emulator.github.killedJobs()) {
      if (allowed.has(killed.cause)) continue;
      fail('no job killed', `job ${killed.jobId} on ${killed.runnerName}: ${killed.cause}`);
    }
  }

  if (only.has('no foreign resource touched') && options.foreign) {
    const foreign = options.foreign;
    const now = snapshotForeign(emulator, foreign.environment);
    const compare = <K>(what: string, before: Map<K, string>, after: Map<K, string>) => {
      for (const [key, fingerprint] of before) {
        if (after.get(key) !== fingerprint) {
          fail(
            'no foreign resource touched',
            `${what} ${String(key)} ${after.has(key) ? 'changed' : 'gone'}`,
          );
        }
      }
    };
    compare('instance', foreign.instances, now.instances);
    compare('runner', foreign.runners, now.runners);
    compare('parameter', foreign.parameters, now.parameters);
    const writes = options.writes;
    if (writes) {
      const touched = [
        ...writes.terminateCalls.flat().filter((id) => foreign.instances.has(id)),
        ...[...writes.taggedInstances].filter((id) => foreign.instances.has(id)),
        ...[...writes.deletedRunners].filter((id) => foreign.runners.has(id)).map(String),
        ...[...writes.deletedParameters, ...writes.writtenParameters].filter((n) =>
          foreign.parameters.has(n),
        ),
      ];
      for (const target of touched) fail('no foreign resource touched', `the action wrote to ${target}`);
    }
  }

  if (only.has('never more instances than max')) {
    const live = new Map<string, number>();
    for (const instance of instances) {
      if (instance.state === 'shutting-down' || instance.state === 'terminated') continue;
      const pool = instance.tags[TAG_POOL] ?? '';
      live.set(pool, (live.get(pool) ?? 0) + 1);
    }
    const seen = new Map([...live]);
    for (const [pool, peak] of options.writes?.peaks ?? [])
      seen.set(pool, Math.max(peak, seen.get(pool) ?? 0));
    for (const [pool, count] of seen) {
      const max = maxOf(options, pool);
      if (max !== undefined && count > max) {
        fail('never more instances than max', `pool ${pool}: ${count} live instances, max ${max}`);
      }
    }
  }
  return violations;
}

/** Liveness: every job ran to success, except those an injected fault killed. */
export function checkJobsServed(
  emulator: Emulator,
  killCausesAllowed: KilledJob['cause'][] = ['interrupted'],
): Violation[] {
  const excused = new Set(
    emulator.github
      .killedJobs()
      .filter((k) => killCausesAllowed.includes(k.cause))
      .map((k) => k.jobId),
  );
  return emulator.github
    .jobs()
    .filter((job) => !excused.has(job.id) && (job.status !== 'completed' || job.conclusion !== 'success'))
    .map((job) => ({
      invariant: 'every job ran to success',
      detail: `job ${job.id} (${job.name}): ${job.status}${job.conclusion ? ` ${job.conclusion}` : ''}`,
    }));
}
