// The benchmark's scenarios: how each seeds the emulator, how the action is started, the minimum calls the
// work needs, the time the API budgets force on them, and the baseline that does the same work naively.
import { randomBytes } from 'node:crypto';
import { parameterName, runnerName, TAG_IDLE_SINCE, TAG_JOB_STARTED } from '../src/contract.js';
import { DEFAULT_EC2_BUCKETS, DEFAULT_SSM_BUCKETS, ec2ApiClass } from '../emulator/budgets.js';
import type { Emulator } from '../emulator/index.js';
import type { MinimumCall, Milestones, ParallelRun, Service } from './measure.js';
import type { BoundTerm, Target } from './report.js';

export const ENVIRONMENT = 'ci';
export const ORG = 'acme';
export const REPOSITORY = 'acme/app';
export const REGION = 'eu-west-1';
export const POOL = 'linux';
export const LABELS = ['self-hosted', 'linux', 'x64'];
export const TOKEN = 'ghs_bench_token_0123456789abcdef';

const MIN = 60_000;
/** GitHub's secondary limit: 900 points a rolling minute, a write costs 5. */
export const GITHUB_POINTS_PER_MINUTE = 900;
export const GITHUB_WRITE_POINTS = 5;

export const OP = {
  listRunners: 'GET /orgs/{org}/actions/runners',
  deleteRunner: 'DELETE /orgs/{org}/actions/runners/{runner_id}',
  jitConfig: 'POST /orgs/{org}/actions/runners/generate-jitconfig',
  registrationToken: 'POST /orgs/{org}/actions/runners/registration-token',
  listRuns: 'GET /repos/{owner}/{repo}/actions/runs',
  listJobs: 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
} as const;

export interface Latency {
  github: number;
  ec2: number;
  ssm: number;
  /** The coordination store (default as SSM's: both are AWS JSON APIs in the same region). */
  dynamodb: number;
  /** EC2's cost per KB of an answer, on top of `ec2` (a page of 1000 instances is about 9 MB). */
  ec2PerKb: number;
}

/**
 * Bytes of one instance in a DescribeInstances answer of the emulator (with every field EC2 returns; measured in
 * test/emulator/instance-answers.test.ts): what a page of instances costs at `ec2PerKb`.
 */
export const INSTANCE_ITEM_KB = 9;

/** Transfer time of `instances` listed at the per-KB cost. */
export function transferMs(instances: number, l: Latency): number {
  return Math.round(instances * INSTANCE_ITEM_KB * l.ec2PerKb);
}

/** What a scenario left in the emulator, for the minimum plan and the baseline. */
export interface Seeded {
  event?: { name: string; payload: unknown };
  /** Scale-up: the queued jobs. */
  jobs: { id: number; runId: number }[];
}

export type ScenarioName = 'burst-jit' | 'burst-token' | 'drain' | 'steady' | 'churn' | 'concurrent';

export interface Scenario {
  name: string;
  key: ScenarioName;
  title: string;
  description: string;
  size: number;
  mode: 'scale-up' | 'drain' | 'reconcile';
  pools: string;
  seed(emulator: Emulator): Seeded;
  minimum: MinimumCall[];
  milestones: Milestones;
  /** Round trips that must follow each other, at the configured latency. */
  latencyFloor(latency: Latency): { ms: number; note: string };
  /** Runs started at once instead of one (`mode` then names the scenario's kind of run). */
  parallel?(seeded: Seeded): ParallelRun[];
  /** The scenario's own targets, read from the emulator after the run. */
  checks?(emulator: Emulator): Target[];
  /** Which baseline does the same work naively; undefined when there is none (nothing to change). */
  baseline?: 'scale-up-per-event' | 'removal-per-runner';
}

export function pools(registration: 'jit' | 'token'): string {
  return `
environment: ${ENVIRONMENT}
github: { organization: ${ORG} }
coordination: { table: runner-scaler }
defaults:
  region: ${REGION}
  launchTemplate: runner
  repositories: [${REPOSITORY}]
pools:
  ${POOL}:
    labels: [linux, x64]
    registration: ${registration}
    min: 0
    max: 10000
    idleTimeout: 5m
    bootTimeout: 10m
    minLifetime: 2m
`;
}

const pages = (items: number, perPage: number) => Math.max(1, Math.ceil(items / perPage));
const batches = (items: number, perCall: number) => Math.ceil(items / perCall);
const ago = (ms: number) => new Date(Date.now() - ms);

/** An instance id that no instance has (a ghost runner's or a leaked parameter's). */
function goneInstanceId(): string {
  return `i-0${randomBytes(8).toString('hex')}`;
}

// ---------------------------------------------------------------- fleets

interface FleetShape {
  busy: number;
  idle: number;
  booting: number;
  orphans: number;
  ghosts: number;
  leaked: number;
}

/** A fleet at rest: busy runners (job-started reported), idle ones (first sighting a minute ago), booting ones. */
function steadyShape(size: number): FleetShape {
  const idle = Math.round(size * 0.3);
  const booting = Math.round(size * 0.1);
  return { busy: size - idle - booting, idle, booting, orphans: 0, ghosts: 0, leaked: 0 };
}

function churnShape(size: number): FleetShape {
  const orphans = Math.round(size * 0.1);
  return {
    ...steadyShape(size - orphans),
    orphans,
    ghosts: Math.round(size * 0.05),
    leaked: Math.round(size * 0.1),
  };
}

function seedFleet(emulator: Emulator, shape: FleetShape): void {
  const base = { environment: ENVIRONMENT, pool: POOL, labels: LABELS, scope: ORG };
  for (let i = 0; i < shape.busy; i++) {
    emulator.seedInstance({
      ...base,
      launchTime: ago(40 * MIN),
      withRunner: 'busy',
      tags: { [TAG_JOB_STARTED]: ago(10 * MIN).toISOString() },
    });
  }
  for (let i = 0; i < shape.idle; i++) {
    emulator.seedInstance({
      ...base,
      launchTime: ago(30 * MIN),
      withRunner: 'idle',
      tags: { [TAG_IDLE_SINCE]: ago(1 * MIN).toISOString() },
    });
  }
  for (let i = 0; i < shape.booting; i++) {
    // Launched a minute ago: its JIT runner is registered (offline) and its config waits in SSM.
    emulator.seedInstance({
      ...base,
      state: 'pending',
      launchTime: ago(1 * MIN),
      withRunner: 'offline',
      withParameter: true,
    });
  }
  for (let i = 0; i < shape.orphans; i++) {
    emulator.seedInstance({ ...base, launchTime: ago(30 * MIN), withRunner: false });
  }
  for (let i = 0; i < shape.ghosts; i++) {
    emulator.github.addRunner({
      scope: ORG,
      name: runnerName(ENVIRONMENT, goneInstanceId()),
      labels: LABELS,
      status: 'offline',
    });
  }
  for (let i = 0; i < shape.leaked; i++) {
    // Written long ago (a parameter younger than bootTimeout may belong to an instance not listed yet).
    emulator.ssm.put(parameterName(ENVIRONMENT, goneInstanceId()), randomBytes(48).toString('base64'), {
      region: REGION,
      lastModified: ago(60 * MIN),
    });
  }
}

/**
 * The coordination store's calls: a run that may launch takes the lease (a conditional PutItem), reads the
 * environment's records (one Query) and releases the lease (DeleteItem); each launch is recorded twice (its
 * intent before the call, its instances after). A run that does not launch only reads the records.
 */
function coordinationCalls(launching: boolean, launches = 0, runs = 1): MinimumCall[] {
  const query = {
    service: 'dynamodb' as const,
    operation: 'Query',
    minimum: runs,
    note: runs > 1 ? 'the records, one page per run' : 'the records, one page',
  };
  if (!launching) return [query];
  return [
    {
      service: 'dynamodb',
      operation: 'PutItem',
      minimum: runs + 2 * launches,
      note: launches ? 'the lease, and each launch recorded before and after' : 'the lease',
    },
    query,
    { service: 'dynamodb', operation: 'DeleteItem', minimum: runs, note: 'the lease released' },
  ];
}

// ---------------------------------------------------------------- scenarios

function burst(registration: 'jit' | 'token', size: number): Scenario {
  const jit = registration === 'jit';
  const jobPages = pages(size, 100);
  return {
    name: `burst-${size}-${registration}`,
    key: jit ? 'burst-jit' : 'burst-token',
    title: `${size} queued jobs at once, ${registration} registration`,
    description:
      `A ${size}-job matrix is queued on one pool; one scale-up run, started by the run's workflow_run ` +
      `(requested) event, lists the run's queued jobs and launches for them. ` +
      (jit
        ? 'Every runner gets its own JIT config (a GitHub write each) in its own SSM parameter.'
        : 'The pool gets one registration token in one SSM parameter, which every instance reads.'),
    size,
    mode: 'scale-up',
    pools: pools(registration),
    seed(emulator) {
      const { runId, jobIds } = emulator.github.queueRun({
        repository: REPOSITORY,
        jobs: [{ labels: LABELS, durationMs: 10 * MIN }],
        count: size,
      });
      return {
        event: {
          name: 'workflow_run',
          payload: {
            action: 'requested',
            workflow_run: { id: runId },
            repository: { full_name: REPOSITORY },
          },
        },
        jobs: jobIds.map((id) => ({ id, runId })),
      };
    },
    minimum: [
      ...coordinationCalls(true, 1),
      { service: 'github', operation: OP.listJobs, minimum: jobPages, note: '100 jobs per page' },
      { service: 'github', operation: OP.listRunners, minimum: 1 },
      { service: 'ssm', operation: 'DescribeParameters', minimum: 1 },
      { service: 'ec2', operation: 'DescribeInstances', minimum: 1 },
      { service: 'ec2', operation: 'RunInstances', minimum: 1, batched: true, note: 'one call per pool' },
      jit
        ? { service: 'github', operation: OP.jitConfig, minimum: size, note: 'one per runner, no batch API' }
        : { service: 'github', operation: OP.registrationToken, minimum: 1, batched: true },
      {
        service: 'ssm',
        operation: 'PutParameter',
        minimum: jit ? size : 1,
        batched: !jit,
        note: jit ? 'one per runner' : 'one per pool',
      },
    ],
    milestones: {
      launch: ['RunInstances', 'CreateFleet'],
      config: { operation: 'PutParameter', count: jit ? size : 1 },
    },
    latencyFloor(l) {
      const reads = Math.max(jobPages * l.github, Math.max(l.github, l.ssm) + l.ec2);
      return {
        ms: reads + l.ec2 + l.github + l.ssm,
        note:
          `the reads (${jobPages} job page(s) in parallel with runners and parameters, then instances) ` +
          `${reads} ms, the launch ${l.ec2} ms, then one ${jit ? 'JIT config' : 'registration token'} ` +
          `${l.github} ms and its parameter ${l.ssm} ms`,
      };
    },
    baseline: 'scale-up-per-event',
  };
}

function drain(size: number): Scenario {
  const runnerPages = pages(size, 100);
  const parameterPages = pages(size, 50);
  return {
    name: `drain-${size}`,
    key: 'drain',
    title: `${size} idle runners, one drain run`,
    description:
      `${size} idle runners on running instances, each instance's JIT config parameter still in SSM ` +
      `(the case the minimum of ${batches(size, 10)} DeleteParameters calls counts); one drain run ` +
      'unregisters every runner, terminates the instances and deletes their parameters.',
    size,
    mode: 'drain',
    pools: pools('jit'),
    seed(emulator) {
      for (let i = 0; i < size; i++) {
        emulator.seedInstance({
          environment: ENVIRONMENT,
          pool: POOL,
          labels: LABELS,
          scope: ORG,
          launchTime: ago(30 * MIN),
          withRunner: 'idle',
          withParameter: true,
        });
      }
      return { event: { name: 'workflow_dispatch', payload: {} }, jobs: [] };
    },
    minimum: [
      { service: 'github', operation: OP.listRunners, minimum: runnerPages, note: '100 per page' },
      {
        service: 'ssm',
        operation: 'DescribeParameters',
        minimum: parameterPages,
        note: '50 per page',
      },
      ...coordinationCalls(false),
      {
        service: 'ec2',
        operation: 'DescribeInstances',
        minimum: 1 + batches(size, 5),
        note: 'the listing, and a re-check before each group of 5 unregisters (at the paced write rate, each DELETE goes out within 2 s of its evidence)',
      },
      { service: 'github', operation: OP.deleteRunner, minimum: size, note: 'one per runner, no batch API' },
      {
        service: 'ec2',
        operation: 'TerminateInstances',
        minimum: batches(size, 100),
        batched: true,
        note: '100 ids per call',
      },
      {
        service: 'ssm',
        operation: 'DeleteParameters',
        minimum: batches(size, 10),
        batched: true,
        note: '10 names per call',
      },
    ],
    milestones: {},
    latencyFloor(l) {
      const runnerReads = `${runnerPages} runner pages (the first, then the rest at once)`;
      const reads =
        Math.max(Math.min(runnerPages, 2) * l.github, parameterPages * l.ssm) + l.ec2 + transferMs(size, l);
      return {
        ms: reads + l.ec2 + l.github + l.ec2 + l.ssm,
        note:
          `the reads (${runnerReads} beside ${parameterPages} parameter pages one after the other, then ` +
          `instances, ${transferMs(size, l)} ms of it their size) ${reads} ms, the re-check ${l.ec2} ms, then the last runner's unregister ${l.github} ms, ` +
          `terminate ${l.ec2} ms and parameter delete ${l.ssm} ms`,
      };
    },
    baseline: 'removal-per-runner',
  };
}

function fleetReads(shape: FleetShape): MinimumCall[] {
  const instances = shape.busy + shape.idle + shape.booting + shape.orphans;
  const runners = shape.busy + shape.idle + shape.booting + shape.ghosts;
  const parameters = shape.booting + shape.leaked;
  return [
    shape.orphans > 0
      ? {
          service: 'github',
          operation: OP.listRunners,
          minimum: pages(runners, 100) + shape.orphans,
          // Pages are numbered, so a runner can shift past the paging while runners come and go: an instance
          // is never terminated for a runner missing from the listing alone.
          note: `${pages(runners, 100)} pages of 100, and one lookup by name per orphan before it is terminated`,
        }
      : { service: 'github', operation: OP.listRunners, minimum: pages(runners, 100), note: '100 per page' },
    {
      service: 'github',
      operation: OP.listRuns,
      minimum: 2,
      note: 'queued and in-progress runs of the one repository',
    },
    {
      service: 'ssm',
      operation: 'DescribeParameters',
      minimum: pages(parameters, 50),
      note: '50 per page',
    },
    {
      service: 'ec2',
      operation: 'DescribeInstances',
      minimum:
        pages(instances, 1000) +
        (shape.orphans > 0 ? pages(shape.orphans, 200) : 0) +
        (shape.ghosts > 0 ? pages(shape.ghosts, 200) : 0),
      note:
        shape.orphans + shape.ghosts > 0
          ? 'the listing (1000 per page), the re-check of the orphans and the lookup of the ghosts’ instances by id (200 ids per filter)'
          : '1000 per page',
    },
    ...coordinationCalls(true),
  ];
}

function fleetFloor(shape: FleetShape, l: Latency, removes: boolean): { ms: number; note: string } {
  const runnerPages = pages(shape.busy + shape.idle + shape.booting + shape.ghosts, 100);
  const parameterPages = pages(shape.booting + shape.leaked, 50);
  const instancePages = pages(shape.busy + shape.idle + shape.booting + shape.orphans, 1000);
  // Runner pages are numbered: after the first (which gives the count) the rest can be read at once.
  // Parameter and instance pages follow NextTokens, one after the other.
  const runnerTrips = Math.min(runnerPages, 2);
  const runnerReads = `${runnerPages} runner pages (the first, then the rest at once)`;
  const instances = shape.busy + shape.idle + shape.booting + shape.orphans;
  const reads =
    Math.max(runnerTrips * l.github, parameterPages * l.ssm) +
    instancePages * l.ec2 +
    transferMs(instances, l);
  if (!removes) {
    return {
      ms: reads,
      note:
        `${runnerReads} beside ${parameterPages} parameter pages one after the other, then ` +
        `${instancePages} instance page(s) (${transferMs(instances, l)} ms of it their ${instances} instances at ` +
        `${l.ec2PerKb} ms a KB): ${reads} ms`,
    };
  }
  const tail = l.ec2 + Math.max(l.github, l.ec2) + l.ssm;
  return {
    ms: reads + tail,
    note:
      `the reads (${runnerReads} beside ${parameterPages} parameter pages one after the other, then ` +
      `${instancePages} instance page(s), ${transferMs(instances, l)} ms of it their size) ${reads} ms, the re-check ${l.ec2} ms, one unregister or terminate ` +
      `${Math.max(l.github, l.ec2)} ms, one parameter delete ${l.ssm} ms`,
  };
}

function steady(size: number): Scenario {
  const shape = steadyShape(size);
  return {
    name: `steady-${size}`,
    key: 'steady',
    title: `${size} instances and runners, nothing to change`,
    description:
      `${shape.busy} busy runners, ${shape.idle} idle ones (first seen idle a minute ago) and ${shape.booting} ` +
      'booting instances (runner registered offline, JIT config parameter waiting); no queued job. One ' +
      'reconcile run, the cost of a 5-minute cron: it must read everything and change nothing.',
    size,
    mode: 'reconcile',
    pools: pools('jit'),
    seed(emulator) {
      seedFleet(emulator, shape);
      return { event: { name: 'schedule', payload: {} }, jobs: [] };
    },
    minimum: fleetReads(shape),
    milestones: {},
    latencyFloor: (l) => fleetFloor(shape, l, false),
  };
}

function churn(size: number): Scenario {
  const shape = churnShape(size);
  return {
    name: `churn-${size}`,
    key: 'churn',
    title: `${size} instances with 10% orphans, 5% ghosts, 10% leaked parameters`,
    description:
      `As steady (${shape.busy} busy, ${shape.idle} idle, ${shape.booting} booting), plus ${shape.orphans} ` +
      `orphan instances (running 30 minutes, no runner), ${shape.ghosts} ghost runners (offline, their ` +
      `instance gone) and ${shape.leaked} leaked parameters (their instance gone). One reconcile run.`,
    size,
    mode: 'reconcile',
    pools: pools('jit'),
    seed(emulator) {
      seedFleet(emulator, shape);
      return { event: { name: 'schedule', payload: {} }, jobs: [] };
    },
    minimum: [
      ...fleetReads(shape),
      { service: 'github', operation: OP.deleteRunner, minimum: shape.ghosts, note: 'one per ghost' },
      {
        service: 'ec2',
        operation: 'TerminateInstances',
        minimum: batches(shape.orphans, 100),
        batched: true,
        note: '100 ids per call',
      },
      {
        service: 'ssm',
        operation: 'DeleteParameters',
        minimum: batches(shape.leaked, 10),
        batched: true,
        note: '10 names per call',
      },
    ],
    milestones: {},
    latencyFloor: (l) => fleetFloor(shape, l, true),
    baseline: 'removal-per-runner',
  };
}

/** Pre-jobs of the concurrent scenario, each launching this many runners for its own jobs. */
const PRE_JOBS = 5;
const PRE_JOB_RUNNERS = 10;

/**
 * Triggers from several repositories at once, all for one fleet: the scheduler's reconcile (from the
 * infrastructure repository) polling every queued job, a repository_dispatch carrying half of them (an application
 * repository), and pre-jobs launching runners for their own jobs. Every launch decision waits for the coordination
 * lease and counts what the others recorded: launches must equal demand, and the pool never exceeds max.
 */
function concurrent(size: number): Scenario {
  const reserved = Math.min(PRE_JOBS * PRE_JOB_RUNNERS, Math.floor(size / 5));
  const preJobs = Math.max(1, Math.round(reserved / PRE_JOB_RUNNERS));
  const generic = size - preJobs * PRE_JOB_RUNNERS;
  const max = Math.ceil(size * 1.2);
  return {
    name: `concurrent-${size}`,
    key: 'concurrent',
    title: `${size} jobs served by a scheduler, ${preJobs} pre-jobs and a dispatch, all at once`,
    description:
      `${generic} queued jobs; at the same moment the scheduler reconciles (it polls them all), a repository_dispatch ` +
      `scale-up carries half of them, and ${preJobs} pre-jobs each launch ${PRE_JOB_RUNNERS} runners for their own ` +
      `jobs (count + unique-label). Demand is ${size} runners; max is ${max}. The runs come from three repositories, so ` +
      'no concurrency group serialises them: the coordination lease and the launch records must.',
    size,
    mode: 'reconcile',
    pools: pools('jit').replace('max: 10000', `max: ${max}`),
    seed(emulator) {
      const { runId, jobIds } = emulator.github.queueRun({
        repository: REPOSITORY,
        jobs: [{ labels: LABELS }],
        count: generic,
      });
      return { event: { name: 'schedule', payload: {} }, jobs: jobIds.map((id) => ({ id, runId })) };
    },
    parallel(seeded) {
      const half = seeded.jobs.slice(0, Math.ceil(seeded.jobs.length / 2));
      const dispatch = {
        name: 'repository_dispatch',
        payload: {
          action: 'workflow_job',
          client_payload: {
            events: half.map((j) => ({
              action: 'queued',
              workflow_job: { id: j.id, run_id: j.runId, labels: LABELS, status: 'queued' },
              repository: { full_name: REPOSITORY },
            })),
          },
        },
      };
      return [
        { mode: 'reconcile', env: { GITHUB_REPOSITORY: 'acme/infra', GITHUB_RUN_ID: '5001' } },
        { mode: 'scale-up', event: dispatch, env: { GITHUB_REPOSITORY: REPOSITORY, GITHUB_RUN_ID: '5002' } },
        ...Array.from({ length: preJobs }, (_, i) => ({
          mode: 'scale-up',
          inputs: { pool: POOL, count: String(PRE_JOB_RUNNERS), 'unique-label': 'true' },
          env: { GITHUB_REPOSITORY: REPOSITORY, GITHUB_RUN_ID: String(6001 + i) },
        })),
      ];
    },
    checks(emulator) {
      const launched = emulator.ec2.instances({ environment: ENVIRONMENT }).length;
      return [
        {
          name: 'launches equal demand',
          goal: `${size} instances`,
          value: String(launched),
          met: launched === size,
        },
        { name: 'never over max', goal: `≤ ${max} live`, value: String(launched), met: launched <= max },
      ];
    },
    minimum: [
      ...coordinationCalls(true, 1 + preJobs, 2 + preJobs),
      {
        service: 'ec2',
        operation: 'RunInstances',
        minimum: 1 + preJobs,
        note: 'one per pre-job, one or two for the generic jobs (the dispatch launches none if the scheduler served them first)',
      },
      { service: 'github', operation: OP.jitConfig, minimum: size, note: 'one per runner, no batch API' },
      { service: 'ssm', operation: 'PutParameter', minimum: size, note: 'one per runner' },
    ],
    milestones: {
      launch: ['RunInstances'],
      config: { operation: 'PutParameter', count: size },
    },
    latencyFloor: (l) => ({
      ms: l.github + l.ec2 + l.github + l.ssm,
      note: 'a read, the launch, one JIT config and its parameter',
    }),
  };
}

export interface Sizes {
  burst: number;
  drain: number;
  steady: number;
  churn: number;
  concurrent: number;
}

export const DEFAULT_SIZES: Sizes = { burst: 250, drain: 1000, steady: 2000, churn: 2000, concurrent: 250 };
export const SCENARIO_NAMES: ScenarioName[] = [
  'burst-jit',
  'burst-token',
  'drain',
  'steady',
  'churn',
  'concurrent',
];

export function scenarios(sizes: Sizes, only: ScenarioName[] = SCENARIO_NAMES): Scenario[] {
  const all: Scenario[] = [
    burst('jit', sizes.burst),
    burst('token', sizes.burst),
    drain(sizes.drain),
    steady(sizes.steady),
    churn(sizes.churn),
    concurrent(sizes.concurrent),
  ];
  return all.filter((s) => only.includes(s.key));
}

// ---------------------------------------------------------------- budget bound

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * The time the API budgets force on a set of calls, budget by budget (they are independent, so the bound is
 * the slowest). GitHub: writes at 180 a minute (900 points, 5 a write), the steady rate the action paces at. EC2 and SSM: token buckets, the
 * calls beyond the bucket's burst capacity at its refill rate.
 */
export function budgetTerms(calls: { service: Service; operation: string; count: number }[]): BoundTerm[] {
  const terms: BoundTerm[] = [];
  const github = calls.filter((c) => c.service === 'github');
  if (github.length > 0) {
    const writes = github.filter((c) => !c.operation.startsWith('GET ')).reduce((n, c) => n + c.count, 0);
    const reads = github.filter((c) => c.operation.startsWith('GET ')).reduce((n, c) => n + c.count, 0);
    const writesPerMinute = GITHUB_POINTS_PER_MINUTE / GITHUB_WRITE_POINTS;
    // The strict bound of a rolling window: a whole window's points at once, then one more window a minute.
    const points = writes * GITHUB_WRITE_POINTS + reads;
    const rolling = Math.floor(Math.max(0, points - 1) / GITHUB_POINTS_PER_MINUTE) * MIN;
    terms.push({
      budget: `GitHub secondary limit, 900 points/min, write 5 → ${writesPerMinute} writes/min`,
      work:
        `${writes} write(s) at ${writesPerMinute}/min = ${writes} × ${(MIN / writesPerMinute / 1000).toFixed(3)} s ` +
        `(${reads} read(s) at 1 point are not paced; spending a whole rolling window at once, ${points} points ` +
        `could go in ${seconds(rolling)})`,
      ms: (writes / writesPerMinute) * MIN,
    });
  }
  const ec2ByClass = new Map<string, number>();
  for (const c of calls.filter((call) => call.service === 'ec2')) {
    const cls = ec2ApiClass(c.operation);
    ec2ByClass.set(cls, (ec2ByClass.get(cls) ?? 0) + c.count);
  }
  for (const [cls, count] of ec2ByClass) {
    const bucket = DEFAULT_EC2_BUCKETS[cls as keyof typeof DEFAULT_EC2_BUCKETS];
    const ms = (Math.max(0, count - bucket.capacity) / bucket.refillPerSecond) * 1000;
    terms.push({
      budget: `EC2 ${cls} requests (bucket ${bucket.capacity}, refill ${bucket.refillPerSecond}/s)`,
      work: `${count} call(s)`,
      ms,
    });
  }
  for (const c of calls.filter((call) => call.service === 'ssm')) {
    const bucket = DEFAULT_SSM_BUCKETS[c.operation] ?? { capacity: 40, refillPerSecond: 40 };
    const tps = bucket.refillPerSecond;
    terms.push({
      budget:
        bucket.capacity === tps
          ? `SSM ${c.operation} (${tps} TPS)`
          : `SSM ${c.operation} (bucket ${bucket.capacity}, refill ${tps}/s, assumed)`,
      work: `${c.count} call(s)`,
      ms: (Math.max(0, c.count - bucket.capacity) / tps) * 1000,
    });
  }
  return terms;
}

/** EC2 resource buckets: instances launched or terminated beyond the burst. */
export function ec2ResourceTerms(launched: number, terminated: number): BoundTerm[] {
  const terms: BoundTerm[] = [];
  const launch = DEFAULT_EC2_BUCKETS['RunInstances-resource'];
  const terminate = DEFAULT_EC2_BUCKETS['TerminateInstances-resource'];
  if (launched > 0) {
    terms.push({
      budget: `EC2 instances launched (bucket ${launch.capacity}, refill ${launch.refillPerSecond}/s)`,
      work: `${launched} instance(s)`,
      ms: (Math.max(0, launched - launch.capacity) / launch.refillPerSecond) * 1000,
    });
  }
  if (terminated > 0) {
    terms.push({
      budget: `EC2 instances terminated (bucket ${terminate.capacity}, refill ${terminate.refillPerSecond}/s)`,
      work: `${terminated} instance(s)`,
      ms: (Math.max(0, terminated - terminate.capacity) / terminate.refillPerSecond) * 1000,
    });
  }
  return terms;
}

/** Instances a scenario's minimum plan launches and terminates (for the resource buckets). */
export function instanceWork(scenario: Scenario): { launched: number; terminated: number } {
  switch (scenario.key) {
    case 'burst-jit':
    case 'burst-token':
      return { launched: scenario.size, terminated: 0 };
    case 'drain':
      return { launched: 0, terminated: scenario.size };
    case 'churn':
      return { launched: 0, terminated: churnShape(scenario.size).orphans };
    default:
      return { launched: 0, terminated: 0 };
  }
}
