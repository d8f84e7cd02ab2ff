// Adversarial scenarios: each is a plain situation that breaks one of runner-scaler's promises unless the
// code defends it (concurrent triggers from different repositories, EC2 listing lag, GitHub's busy lag, a
// crash between two calls). Each runs dist/index.js (or another bundle, to show it failing before a fix)
// against a fresh emulator and reports the promises it saw broken, read from the emulator's state.
import { TAG_ENVIRONMENT, TAG_IDLE_SINCE, TAG_JOB_STARTED, TAG_POOL } from '../src/contract.js';
import { tagValueFromWall } from '../emulator/state.js';
import { runAction, type ActionRun, type RunOptions } from '../emulator/run-action.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { dispatchEvent } from './events.js';
import type { Violation } from './invariants.js';

export { dispatchEvent };

export const MIN = 60_000;
const TOKEN = 'ghs_adversarial_0123456789abcdef';
export const ENV = 'adv';
export const REGION = 'eu-west-1';
export const LINUX = ['self-hosted', 'linux', 'x64'];

export interface AdversarialOptions {
  /** The bundle to run; default dist/index.js. */
  action?: string;
  /** The bundle predates the coordination store: its pools files have no `coordination` key. */
  beforeCoordination?: boolean;
}

export interface AdversarialResult {
  name: string;
  promise: string;
  violations: Violation[];
  /** Checks made (passed and failed). */
  checked: number;
  facts: Record<string, string | number>;
  ms: number;
}

export interface AdversarialScenario {
  name: string;
  /** The promise the scenario tries to break. */
  promise: string;
  run(options: AdversarialOptions): Promise<{ checks: Check[]; facts: AdversarialResult['facts'] }>;
}

const ago = (ms: number) => new Date(Date.now() - ms);

/** One check of a scenario; the failed ones are its violations. */
export interface Check extends Violation {
  ok: boolean;
}

export function violation(ok: boolean, invariant: string, detail: string): Check[] {
  return [{ ok, invariant, detail }];
}

/** One emulator with the settings every scenario shares, and runs of the action against it. */
export interface Stage {
  emulator: Emulator;
  run(
    mode: string,
    pools: string,
    extra?: Partial<RunOptions> & { inputs?: Record<string, string> },
  ): Promise<ActionRun>;
  stop(): Promise<void>;
}

export async function stage(options: AdversarialOptions, emulatorOptions: EmulatorOptions = {}) {
  const emulator = await startEmulator({
    region: REGION,
    ...emulatorOptions,
    github: {
      orgs: ['acme'],
      repos: ['acme/app', 'acme/api', 'acme/infra'],
      tokens: [TOKEN],
      ...emulatorOptions.github,
    },
    simulator: emulatorOptions.simulator ?? { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
  let runIds = 8000;
  const result: Stage = {
    emulator,
    run: (mode, pools, extra = {}) =>
      runAction({
        url: emulator.url,
        pools: options.beforeCoordination ? pools.replace(/^coordination:.*\n/m, '') : pools,
        secrets: () => emulator.issuedSecrets(),
        runId: runIds++,
        ...extra,
        inputs: { mode, 'github-token': TOKEN, ...extra.inputs },
        ...(options.action ? { action: options.action } : {}),
      }),
    stop: () => emulator.stop(),
  };
  return result;
}

export function poolsFile(linux: string, extra = ''): string {
  return `
environment: ${ENV}
github: { organization: acme }
coordination: { table: runner-scaler }
defaults:
  region: ${REGION}
  launchTemplate: runner
  repositories: [acme/app]
  idleTimeout: 5m
  minLifetime: 1m
  bootTimeout: 10m
pools:
  linux:
    labels: [linux, x64]
${linux}
${extra}`;
}

/** Jobs that died because the scaler took their runner or instance away (spot interruptions excepted). */
export function killedJobs(emulator: Emulator) {
  return emulator.github.killedJobs().filter((k) => k.cause !== 'interrupted');
}

// ---------------------------------------------------------------- 1: a long unregister batch

/**
 * A drain of 20 idle runners. Right after the first DELETE, GitHub hands a job to the runner that comes
 * last in the batch; the busy flag lags 60 s. The last DELETE acts on whatever check preceded it: if that
 * check is older than the job's start, the DELETE succeeds and kills the job.
 */
const longUnregisterBatch: AdversarialScenario = {
  name: 'a job handed to an idle runner during a long unregister batch',
  promise: 'never kill a running job',
  async run(options) {
    const s = await stage(options, { github: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' } });
    try {
      const seedIdle = (labels: string[]) =>
        s.emulator.seedInstance({
          environment: ENV,
          pool: 'linux',
          launchTime: ago(30 * MIN),
          withRunner: 'idle',
          labels,
          tags: { [TAG_IDLE_SINCE]: ago(20 * MIN).toISOString() },
        });
      for (let i = 0; i < 19; i++) seedIdle(LINUX);
      const target = seedIdle([...LINUX, 'target']);
      let jobId: number | undefined;
      s.emulator.faults.inject({
        service: 'github',
        action: 'DELETE /orgs/{org}/actions/runners/{runner_id}',
        times: 1,
        afterCall() {
          jobId = s.emulator.github.queueRun({
            repository: 'acme/app',
            jobs: [{ labels: [...LINUX, 'target'], durationMs: 2 * MIN }],
          }).jobIds[0];
        },
      });
      const run = await s.run('drain', poolsFile('    max: 30'));
      const taken = s.emulator.github.jobs().find((j) => j.id === jobId);
      const outcome = run.result?.outcomes.find((o) => o.target === target.runnerName);
      const killed = killedJobs(s.emulator);
      return {
        checks: [
          ...violation(
            taken?.runnerName === target.runnerName,
            'the job went to the last runner',
            `${taken?.runnerName}`,
          ),
          ...violation(killed.length === 0, 'no job killed', JSON.stringify(killed)),
        ],
        facts: {
          'runners drained': 20,
          'outcome for the runner that took the job':
            `${outcome?.status ?? '?'} ${outcome?.code ?? ''}`.trim(),
          'jobs killed': killed.length,
        },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- shared checks

/** The most live instances a pool of ENV had right after any launch call answered. */
export function trackPeaks(emulator: Emulator): Map<string, number> {
  const peaks = new Map<string, number>();
  emulator.onCall((request, answer) => {
    if (request.service !== 'ec2' || answer.status !== 200) return;
    if (request.action !== 'RunInstances' && request.action !== 'CreateFleet') return;
    const live = new Map<string, number>();
    for (const instance of emulator.state.instances.values()) {
      if (instance.tags.get(TAG_ENVIRONMENT) !== ENV) continue;
      if (instance.state === 'shutting-down' || instance.state === 'terminated') continue;
      const pool = String(instance.tags.get(TAG_POOL));
      live.set(pool, (live.get(pool) ?? 0) + 1);
    }
    for (const [pool, n] of live) peaks.set(pool, Math.max(n, peaks.get(pool) ?? 0));
  });
  return peaks;
}

const launchedInstances = (emulator: Emulator) => emulator.ec2.instances({ environment: ENV }).length;

const queued = (emulator: Emulator) => emulator.github.jobs({ status: 'queued' });

/** Waits (real time) until `ready` holds, at most `ms`. */
async function until(ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

// ---------------------------------------------------------------- 2: the launch path

/**
 * Two runs plan the same launch (same jobs, same ClientToken). The second run's RunInstances is slow: by the
 * time EC2 hands it the first run's instances (the token replays them), those booted and took their jobs.
 * Its generate-jitconfig then answers 409 for runners that are online and busy.
 */
const launchPathReplay: AdversarialScenario = {
  name: "a launch that EC2 answers with another run's instances, already running jobs",
  promise: 'never kill a running job',
  async run(options) {
    const s = await stage(options, { github: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' } });
    try {
      const { runId, jobIds } = s.emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: LINUX, durationMs: 10 * MIN }],
        count: 2,
      });
      const event = dispatchEvent(jobIds.map((id) => ({ id, runId, labels: LINUX, repository: 'acme/app' })));
      // Both observe an empty pool (the first launch takes 1.5 s), the second launch is answered much later.
      s.emulator.faults.inject({ service: 'ec2', action: 'RunInstances', delayMs: 1500, times: 1 });
      s.emulator.faults.inject({ service: 'ec2', action: 'RunInstances', delayMs: 8000, times: 1 });
      const pools = poolsFile('    max: 4');
      const first = s.run('scale-up', pools, { event, env: { GITHUB_REPOSITORY: 'acme/app' } });
      const second = s.run('scale-up', pools, { event, env: { GITHUB_REPOSITORY: 'acme/infra' } });
      // Let the first run's instances boot and take their jobs while the second waits for EC2.
      await until(() => s.emulator.ssm.parameters().length >= 2, 6000);
      await s.emulator.advance(60_000);
      const runs = await Promise.all([first, second]);
      await s.emulator.advance(12 * MIN);
      const killed = killedJobs(s.emulator);
      const done = s.emulator.github.jobs().filter((j) => j.conclusion === 'success').length;
      return {
        checks: [
          ...violation(killed.length === 0, 'no job killed', JSON.stringify(killed)),
          ...violation(done === 2, 'every job ran to success', `${done} of 2`),
        ],
        facts: {
          'exit codes': runs.map((r) => r.exitCode).join(', '),
          'instances launched': launchedInstances(s.emulator),
          'jobs killed': killed.length,
        },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 3, 4: triggers from two repositories

/** Two runs started together from different repositories, both planning before either launch is visible. */
async function twoTriggers(
  s: Stage,
  pools: string,
  a: { mode: string; inputs?: Record<string, string>; event?: ReturnType<typeof dispatchEvent> },
  b: { mode: string; inputs?: Record<string, string>; event?: ReturnType<typeof dispatchEvent> },
) {
  s.emulator.faults.inject({
    service: 'ec2',
    action: /^(RunInstances|CreateFleet)$/,
    delayMs: 1500,
    times: 2,
  });
  return Promise.all([
    s.run(a.mode, pools, { inputs: a.inputs, event: a.event, env: { GITHUB_REPOSITORY: 'acme/app' } }),
    s.run(b.mode, pools, { inputs: b.inputs, event: b.event, env: { GITHUB_REPOSITORY: 'acme/infra' } }),
  ]);
}

const preJobAndScheduler: AdversarialScenario = {
  name: "a pre-job in an application repository and the scheduler's reconcile, at once",
  promise: 'never run more than max',
  async run(options) {
    const s = await stage(options, { simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000 } });
    try {
      const peaks = trackPeaks(s.emulator);
      s.emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: LINUX }], count: 4 });
      const runs = await twoTriggers(
        s,
        poolsFile('    max: 4'),
        { mode: 'scale-up', inputs: { pool: 'linux', count: '4', 'unique-label': 'true' } },
        { mode: 'reconcile' },
      );
      const peak = peaks.get('linux') ?? 0;
      return {
        checks: violation(peak <= 4, 'never more instances than max', `${peak} live, max 4`),
        facts: { 'peak live (max 4)': peak, 'exit codes': runs.map((r) => r.exitCode).join(', ') },
      };
    } finally {
      await s.stop();
    }
  },
};

const dispatchAndPoll: AdversarialScenario = {
  name: 'a repository_dispatch carrying 3 of 4 queued jobs and a polling reconcile, at once',
  promise: 'never count demand twice',
  async run(options) {
    const s = await stage(options);
    try {
      const peaks = trackPeaks(s.emulator);
      const { runId, jobIds } = s.emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: LINUX }],
        count: 4,
      });
      const event = dispatchEvent(
        jobIds.slice(0, 3).map((id) => ({ id, runId, labels: LINUX, repository: 'acme/app' })),
      );
      const runs = await twoTriggers(
        s,
        poolsFile('    max: 10'),
        { mode: 'scale-up', event },
        { mode: 'reconcile' },
      );
      const launched = launchedInstances(s.emulator);
      return {
        checks: violation(launched <= 4, 'launches equal demand', `${launched} instances for 4 jobs`),
        facts: {
          'instances for 4 jobs': launched,
          'peak live': peaks.get('linux') ?? 0,
          'exit codes': runs.map((r) => r.exitCode).join(', '),
        },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 6: pre-job runners belong to their job

const preJobStranded: AdversarialScenario = {
  name: 'a generic job takes the runner a pre-job launched for its own job',
  promise: 'every queued job is served',
  async run(options) {
    const s = await stage(options);
    try {
      const pools = poolsFile('    max: 4');
      s.emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: LINUX, name: 'generic' }] });
      const pre = await s.run('scale-up', pools, {
        inputs: { pool: 'linux', count: '1', 'unique-label': 'true' },
      });
      const label = pre.outputs.label ?? '(none)';
      // The pre-job's own job asks for its label, as the README tells it to.
      const own = s.emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: [label], name: 'own' }],
      });
      // The scheduler runs every 5 minutes for half an hour.
      for (let i = 0; i < 6; i++) {
        await s.emulator.advance(5 * MIN);
        await s.run('reconcile', pools);
      }
      await s.emulator.advance(5 * MIN);
      const ownJob = s.emulator.github.jobs().find((j) => j.id === own.jobIds[0]);
      const stillQueued = queued(s.emulator).map((j) => `${j.name} [${j.labels.join(', ')}]`);
      return {
        checks: [
          ...violation(pre.exitCode === 0, 'the pre-job ran', pre.errors.join('; ')),
          ...violation(
            stillQueued.length === 0,
            'every queued job is served',
            `still queued: ${stillQueued.join('; ')}`,
          ),
        ],
        facts: {
          'pre-job label': label,
          "the pre-job's own job": `${ownJob?.status ?? '?'}${ownJob?.conclusion ? ` (${ownJob.conclusion})` : ''}`,
        },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 7: boot failures

const endlessChurn: AdversarialScenario = {
  name: 'bootTimeout shorter than the real boot: launch, time out, launch again',
  promise: 'fail loudly instead of churning',
  async run(options) {
    // The instances never come online within the hour (a broken image, a boot far longer than bootTimeout).
    const s = await stage(options, { simulator: { bootDelayMs: 90 * MIN, runnerStartMs: 3_000 } });
    try {
      const pools = poolsFile('    max: 4\n    bootTimeout: 4m');
      s.emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: LINUX }] });
      const exits: (number | null)[] = [];
      let message = '';
      for (let i = 0; i < 12; i++) {
        const run = await s.run('reconcile', pools);
        exits.push(run.exitCode);
        if (run.exitCode !== 0 && !message) message = run.errors.join(' ');
        await s.emulator.advance(5 * MIN);
      }
      const launched = launchedInstances(s.emulator);
      const failing = exits.filter((e) => e !== 0).length;
      return {
        checks: [
          ...violation(
            launched <= 5,
            'launches stop after repeated boot failures',
            `${launched} instances launched in an hour`,
          ),
          ...violation(
            failing > 0 && /bootTimeout/.test(message),
            'the step fails naming bootTimeout',
            `exit codes ${exits.join(',')}; ${message.slice(0, 200)}`,
          ),
        ],
        facts: { 'instances launched in an hour': launched, 'failed runs of 12': failing },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 8: a bad repository

const badRepository: AdversarialScenario = {
  name: 'one entry of repositories answers 404',
  promise: 'dead resources are cleaned up whatever else failed',
  async run(options) {
    const s = await stage(options);
    try {
      const orphan = s.emulator.seedInstance({ environment: ENV, pool: 'linux', launchTime: ago(30 * MIN) });
      const ghost = s.emulator.github.addRunner({
        name: `${ENV}-i-0bbbbbbbbbbbbbbb1`,
        status: 'offline',
        labels: LINUX,
      });
      const leaked = `/runner-scaler/${ENV}/i-0bbbbbbbbbbbbbbb2`;
      s.emulator.ssm.put(leaked, 'leaked', { region: REGION });
      const pools = poolsFile('    max: 4', '').replace(
        'repositories: [acme/app]',
        'repositories: [acme/app, acme/renamed]',
      );
      let run = await s.run('reconcile', pools);
      // Stale runners and leaked parameters need a second sighting or an age: one more run later.
      await s.emulator.advance(11 * MIN);
      run = await s.run('reconcile', pools);
      const alive = s.emulator.ec2.instance(orphan.instanceId)?.state;
      const violations = [
        ...violation(alive === 'shutting-down' || alive === 'terminated', 'orphan terminated', `${alive}`),
        ...violation(!s.emulator.github.runner(ghost.id), 'ghost runner unregistered', ghost.name),
        ...violation(!s.emulator.ssm.parameter(leaked, REGION), 'leaked parameter deleted', leaked),
        ...violation(
          run.exitCode !== 0 && run.errors.join(' ').includes('acme/renamed'),
          'the step fails naming the repository',
          run.errors.join(' ').slice(0, 300),
        ),
      ];
      return {
        checks: violations,
        facts: { 'orphan after two runs': `${alive}`, 'exit code': `${run.exitCode}` },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 9: one sighting

const singleOfflineSighting: AdversarialScenario = {
  name: 'a runner seen offline once (a reconnect) past bootTimeout',
  promise: 'never remove on a single observation',
  async run(options) {
    const s = await stage(options);
    try {
      const seeded = s.emulator.seedInstance({
        environment: ENV,
        pool: 'linux',
        launchTime: ago(30 * MIN),
        withRunner: 'idle',
        labels: LINUX,
      });
      const runner = s.emulator.state.runners.get(seeded.runnerId as number);
      if (runner) runner.status = 'offline'; // the runner's session dropped; it reconnects in seconds
      await s.run('reconcile', poolsFile('    max: 4'));
      const state = s.emulator.ec2.instance(seeded.instanceId)?.state;
      return {
        checks: violation(state === 'running', 'kept after one offline sighting', `instance ${state}`),
        facts: { 'instance after one offline sighting': `${state}` },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 5: EC2 lists a new instance late

const listingLag: AdversarialScenario = {
  name: 'EC2 lists a new instance a minute late; a scale-down and a reconcile right after the launch',
  promise: 'never remove on a single listing; never run more than max',
  async run(options) {
    const s = await stage(options);
    try {
      s.emulator.ec2.setListingLag(60_000);
      const peaks = trackPeaks(s.emulator);
      const pools = poolsFile('    max: 1');
      s.emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: LINUX, durationMs: 10 * MIN }] });
      const up = await s.run('scale-up', pools);
      const launched = s.emulator.ec2.instances({ environment: ENV })[0];
      const runnerName = `${ENV}-${launched?.id ?? '?'}`;
      await s.run('scale-down', pools);
      const runnerKept = s.emulator.github.runner(runnerName) !== undefined;
      const parameterKept =
        s.emulator.ssm.parameter(`/runner-scaler/${ENV}/${launched?.id ?? '?'}`, REGION) !== undefined;
      s.emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: LINUX, durationMs: 10 * MIN }] });
      await s.run('reconcile', pools);
      const peak = peaks.get('linux') ?? 0;
      return {
        checks: [
          ...violation(
            up.exitCode === 0 && launched !== undefined,
            'the first run launched',
            up.errors.join('; '),
          ),
          ...violation(runnerKept, 'the new runner is not a ghost', `${runnerName} unregistered`),
          ...violation(
            parameterKept,
            'its JIT config is not a leak',
            'parameter deleted before the instance read it',
          ),
          ...violation(peak <= 1, 'never more instances than max', `${peak} live, max 1`),
        ],
        facts: {
          'runner kept': String(runnerKept),
          'parameter kept': String(parameterKept),
          'peak live (max 1)': peak,
        },
      };
    } finally {
      await s.stop();
    }
  },
};

// ---------------------------------------------------------------- 9: the instance's clock

/**
 * An instance seen without a runner past bootTimeout (an orphan). Its runner registers and takes a job right
 * after the scaler's lookup by name found none; the job-started tag it writes has one-second precision and a
 * clock 3 s behind the scaler's, so its time reads earlier than the moment the scaler planned.
 */
const skewedJobStart: AdversarialScenario = {
  name: 'a job starts on an orphan right after its runner lookup, the instance clock 3 s behind',
  promise: 'never kill a running job',
  async run(options) {
    const s = await stage(options, { github: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' } });
    try {
      const seeded = s.emulator.seedInstance({ environment: ENV, pool: 'linux', launchTime: ago(30 * MIN) });
      const id = seeded.instanceId;
      s.emulator.faults.inject({
        service: 'github',
        action: 'GET /orgs/{org}/actions/runners',
        match: (request) => request.query.get('name') === `${ENV}-${id}`,
        times: 1,
        afterCall() {
          const instance = s.emulator.state.instances.get(id);
          const view = s.emulator.github.addRunner({
            name: `${ENV}-${id}`,
            status: 'online',
            labels: LINUX,
            instanceId: id,
          });
          const runner = s.emulator.state.runners.get(view.id);
          if (!instance || !runner) return;
          s.emulator.simulator.adopt(instance, 'idle', runner);
          s.emulator.github.queueRun({
            repository: 'acme/app',
            jobs: [{ labels: LINUX, durationMs: 5 * MIN }],
          });
          const skewed = new Date(Math.floor((Date.now() - 3_000) / 1000) * 1000)
            .toISOString()
            .replace('.000', '');
          instance.tags.set(TAG_JOB_STARTED, tagValueFromWall(skewed, s.emulator.clock.offset()));
        },
      });
      await s.run('reconcile', poolsFile('    max: 4'));
      const killed = killedJobs(s.emulator);
      return {
        checks: violation(killed.length === 0, 'no job killed', JSON.stringify(killed)),
        facts: {
          'instance after the run': s.emulator.ec2.instance(id)?.state ?? '?',
          'jobs killed': killed.length,
        },
      };
    } finally {
      await s.stop();
    }
  },
};

export const ADVERSARIAL: AdversarialScenario[] = [
  longUnregisterBatch,
  launchPathReplay,
  preJobAndScheduler,
  dispatchAndPoll,
  preJobStranded,
  endlessChurn,
  badRepository,
  listingLag,
  singleOfflineSighting,
  skewedJobStart,
];

export async function runAdversarial(
  scenario: AdversarialScenario,
  options: AdversarialOptions = {},
): Promise<AdversarialResult> {
  const started = Date.now();
  const { checks, facts } = await scenario.run(options);
  const violations = checks.filter((c) => !c.ok).map(({ invariant, detail }) => ({ invariant, detail }));
  return {
    name: scenario.name,
    promise: scenario.promise,
    violations,
    checked: checks.length,
    facts,
    ms: Date.now() - started,
  };
}
