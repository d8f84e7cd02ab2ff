// The fault matrix: for each scenario, inject the fault and run the failing mode, then one reconcile
// without faults, then let the jobs run; the invariants are checked after each step. The tests
// (matrix.test.ts) and `npm run reliability` run these same definitions.
import type { EmulatorRequest } from '../emulator/index.js';
import { SAFETY_INVARIANTS, type Violation } from './invariants.js';
import {
  ARM_LABELS,
  createWorld,
  JOB_MS,
  MIN,
  serveJobs,
  tally,
  type World,
  type WorldOptions,
} from './world.js';

export interface Scenario {
  name: string;
  /** The fault, as the report shows it. */
  fault: string;
  world?: WorldOptions;
  /** Injects the fault and runs the failing mode. */
  failing(world: World): Promise<void>;
  /** Emulator time let pass before the reconcile without faults (boot timeouts, shutdowns). */
  settleMs?: number;
  /** Checks of what the scenario is about, beyond the invariants. */
  expect?(world: World): Violation[];
}

export interface ScenarioResult {
  name: string;
  fault: string;
  /** The modes run with the fault injected. */
  modes: string[];
  faults: number;
  checked: number;
  violations: (Violation & { at: string })[];
  runs: number;
  /** Every run's outcomes that were not done (for the report and for debugging). */
  notes: string[];
  ms: number;
  /** Real time of each run. */
  runMs: Record<string, number>;
}

const GITHUB_DELETE_RUNNER = 'DELETE /orgs/{org}/actions/runners/{runner_id}';
const GITHUB_JIT = 'POST /orgs/{org}/actions/runners/generate-jitconfig';
const GITHUB_LIST_RUNNERS = 'GET /orgs/{org}/actions/runners';
const SECONDARY_LIMIT =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';

function expectation(ok: boolean, invariant: string, detail: string): Violation[] {
  return ok ? [] : [{ invariant, detail }];
}

function outcomes(world: World, label?: string) {
  return world.runs
    .filter((r) => label === undefined || r.label === label)
    .flatMap((r) => r.run.result?.outcomes ?? []);
}

/** Fails the first `times` action calls of a service after the first `skip` of them. */
function afterCalls(skip: number): (request: EmulatorRequest) => boolean {
  let seen = 0;
  return () => ++seen > skip;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'EC2 throttling storm',
    fault:
      'RequestLimitExceeded on DescribeInstances ×2, RunInstances ×3 (all attempts), TerminateInstances ×2',
    async failing(world) {
      world.inject({ service: 'ec2', action: 'DescribeInstances', code: 'RequestLimitExceeded', times: 2 });
      world.inject({ service: 'ec2', action: 'RunInstances', code: 'RequestLimitExceeded', times: 3 });
      world.inject({ service: 'ec2', action: 'TerminateInstances', code: 'RequestLimitExceeded', times: 2 });
      await world.run('reconcile', { env: { AWS_MAX_ATTEMPTS: '3' } });
    },
  },
  {
    name: 'SSM throttling storm',
    fault: 'ThrottlingException on DescribeParameters ×2, PutParameter ×4, DeleteParameters ×3',
    async failing(world) {
      world.inject({ service: 'ssm', action: 'DescribeParameters', code: 'ThrottlingException', times: 2 });
      world.inject({ service: 'ssm', action: 'PutParameter', code: 'ThrottlingException', times: 4 });
      world.inject({ service: 'ssm', action: 'DeleteParameters', code: 'ThrottlingException', times: 3 });
      await world.run('reconcile', { env: { AWS_MAX_ATTEMPTS: '3' } });
    },
  },
  {
    name: 'GitHub secondary rate limit',
    fault: '403 secondary rate limit (retry-after: 1) ×4 on any call, ×2 on DELETE runner',
    async failing(world) {
      world.inject({
        service: 'github',
        action: GITHUB_DELETE_RUNNER,
        status: 403,
        message: SECONDARY_LIMIT,
        headers: { 'retry-after': '1' },
        times: 2,
      });
      world.inject({
        service: 'github',
        status: 403,
        message: SECONDARY_LIMIT,
        headers: { 'retry-after': '1' },
        times: 4,
      });
      await world.run('reconcile');
    },
  },
  {
    name: 'GitHub primary rate limit exhausted mid-run',
    fault: '403 x-ratelimit-remaining: 0, reset in 1 h, on every GitHub call after the first',
    async failing(world) {
      const reset = String(Math.ceil(Date.now() / 1000) + 3600);
      world.inject({
        service: 'github',
        status: 403,
        message: 'API rate limit exceeded for installation.',
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
        match: afterCalls(1),
      });
      await world.run('reconcile');
    },
  },
  {
    name: 'GitHub primary rate limit, resetting soon',
    fault: '403 x-ratelimit-remaining: 0, reset in 1 s, ×3',
    async failing(world) {
      const reset = () => String(Math.ceil(Date.now() / 1000) + 1);
      world.inject({
        service: 'github',
        status: 403,
        message: 'API rate limit exceeded for installation.',
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset() },
        times: 3,
      });
      await world.run('reconcile');
    },
  },
  {
    name: 'EC2 5xx burst',
    fault: 'InternalError 500 ×2 on the first calls, Unavailable 503 on every attempt of TerminateInstances',
    async failing(world) {
      world.inject({ service: 'ec2', code: 'InternalError', times: 2 });
      world.inject({ service: 'ec2', action: 'TerminateInstances', code: 'Unavailable', times: 3 });
      await world.run('reconcile', { env: { AWS_MAX_ATTEMPTS: '3' } });
    },
  },
  {
    name: 'SSM 5xx burst',
    fault: 'InternalServerError 500 ×3, then ×3 on PutParameter',
    async failing(world) {
      world.inject({ service: 'ssm', code: 'InternalServerError', times: 3 });
      world.inject({ service: 'ssm', action: 'PutParameter', code: 'InternalServerError', times: 3 });
      await world.run('reconcile');
    },
  },
  {
    name: 'GitHub 5xx burst',
    fault: '502 ×2 on any call, 500 ×1 on DELETE runner',
    async failing(world) {
      world.inject({ service: 'github', status: 502, times: 2 });
      world.inject({ service: 'github', action: GITHUB_DELETE_RUNNER, status: 500, times: 1 });
      await world.run('reconcile');
    },
  },
  {
    name: 'partial CreateFleet',
    fault: 'fleet capacity: 1 m7i.large, 0 m6i.large (Instances + Errors)',
    world: { linuxExtra: '    instanceTypes: [m7i.large, m6i.large]' },
    async failing(world) {
      world.emulator.faults.fleetCapacity({ 'm7i.large': 1, 'm6i.large': 0 });
      world.countFaults(1);
      await world.run('scale-up');
      world.emulator.faults.restoreCapacity();
    },
    expect(world) {
      // Short of capacity for the first time: a warning (a failure once it lasts capacityTimeout).
      const partial = outcomes(world, 'scale-up').find(
        (o) => o.action === 'launch' && o.status === 'warning',
      );
      return expectation(
        partial?.code?.includes('InsufficientInstanceCapacity') === true,
        'partial launch reported',
        `launch outcome: ${JSON.stringify(partial)}`,
      );
    },
  },
  {
    name: 'TerminateInstances batch with bad ids',
    fault: 'InvalidInstanceID.NotFound naming one id of the batch (eventual consistency) ×1',
    async failing(world) {
      const orphan = world.seeded.orphan as string;
      world.inject({
        service: 'ec2',
        action: 'TerminateInstances',
        code: 'InvalidInstanceID.NotFound',
        message: `The instance IDs '${orphan}, i-0ddddddddddddddd1' do not exist`,
        times: 1,
      });
      await world.run('reconcile');
    },
    expect(world) {
      // The other ids of the batch were retried without the bad one.
      const stale = world.seeded.stale as string;
      return expectation(
        world.writes.terminateCalls.flat().includes(stale),
        'the rest of the batch terminated',
        `terminate calls: ${JSON.stringify(world.writes.terminateCalls)}`,
      );
    },
  },
  {
    name: 'DeleteParameters partial InvalidParameters',
    fault: 'a parameter deleted by its instance right before DeleteParameters ×1',
    async failing(world) {
      world.inject({
        service: 'ssm',
        action: 'DeleteParameters',
        times: 1,
        beforeCall(request) {
          const [first] = (request.json as { Names?: string[] }).Names ?? [];
          if (first) world.emulator.ssm.delete(first, request.region);
        },
      });
      await world.run('reconcile');
    },
  },
  {
    name: '422 busy on unregister',
    fault: '422 "still running a job" on DELETE runner ×1',
    async failing(world) {
      world.inject({
        service: 'github',
        action: GITHUB_DELETE_RUNNER,
        status: 422,
        message: 'Runner is still running a job',
        times: 1,
      });
      await world.run('drain');
    },
    expect(world) {
      const skipped = outcomes(world, 'drain').filter((o) => o.status === 'skipped' && o.code === 'busy');
      return expectation(skipped.length === 1, 'skipped as busy', `busy skips: ${skipped.length}`);
    },
  },
  {
    name: 'JIT 409 on a retried name',
    fault: 'generate-jitconfig answered 502 after it registered the runner (lost answer) ×1',
    async failing(world) {
      world.inject({ service: 'github', action: GITHUB_JIT, status: 502, lostResponse: true, times: 1 });
      await world.run('scale-up');
    },
    expect(world) {
      const failed = outcomes(world, 'scale-up').filter((o) => o.status === 'failed');
      const conflicts = world.emulator.calls.filter((c) => c.action === GITHUB_JIT && c.status === 409);
      return [
        ...expectation(conflicts.length >= 1, 'the retry met a 409', `409 answers: ${conflicts.length}`),
        ...expectation(failed.length === 0, 'every runner registered', JSON.stringify(failed)),
      ];
    },
  },
  {
    name: 'GitHub App installation token expires mid-run',
    fault: 'every installation token expires right before the first generate-jitconfig',
    world: { app: true },
    async failing(world) {
      world.inject({
        service: 'github',
        action: GITHUB_JIT,
        times: 1,
        beforeCall: () => void world.emulator.github.expireInstallationTokens(),
      });
      await world.run('reconcile');
    },
  },
  {
    name: 'instances that never boot',
    fault: 'one launched instance stuck pending, one booted without its bootstrap',
    settleMs: 11 * MIN,
    async failing(world) {
      const pending = world.emulator.faults.neverBoot({ count: 1, mode: 'pending' });
      const silent = world.emulator.faults.neverBoot({ count: 1 });
      await world.run('reconcile');
      world.countFaults(pending.hits + silent.hits);
      pending.remove();
      silent.remove();
    },
  },
  {
    name: 'spot interruptions',
    fault: 'both spot instances interrupted while running jobs (instance gone, runner offline)',
    world: { linuxExtra: '    market: spot' },
    settleMs: 10_000,
    async failing(world) {
      await world.run('reconcile', { label: 'launch' });
      await world.advance(40_000);
      const running = world.emulator.ec2
        .instances({ environment: 'rel', state: 'running' })
        .filter((i) => i.lifecycle === 'spot');
      for (const instance of running) world.emulator.faults.interrupt(instance.id);
      world.countFaults(running.length);
      await world.run('reconcile');
    },
  },
  {
    name: 'busy flag lagging a job start by 60 s',
    fault: 'a job starts on an idle runner right after the runner list is read; busy reads false for 60 s',
    world: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' },
    async failing(world) {
      world.inject({
        service: 'github',
        action: GITHUB_LIST_RUNNERS,
        times: 1,
        afterCall() {
          world.emulator.github.queueRun({
            repository: 'acme/app',
            jobs: [{ labels: ARM_LABELS, durationMs: JOB_MS }],
          });
        },
      });
      await world.run('scale-down');
    },
    expect(world) {
      const armJob = world.emulator.github.jobs().find((j) => j.labels.includes('arm64'));
      return [
        ...expectation(
          armJob?.startedAt !== undefined,
          'the job started during the run',
          JSON.stringify(armJob),
        ),
        ...expectation(
          outcomes(world, 'scale-down').filter(
            (o) =>
              o.action === 'unregister' &&
              o.status === 'done' &&
              o.target.includes(world.seeded.arm[0] ?? '-'),
          ).length +
            outcomes(world, 'scale-down').filter(
              (o) =>
                o.action === 'unregister' &&
                o.status === 'done' &&
                o.target.includes(world.seeded.arm[1] ?? '-'),
            ).length ===
            1,
          'the other idle runner removed',
          JSON.stringify(outcomes(world, 'scale-down')),
        ),
      ];
    },
  },
  {
    name: 'coordination store unavailable',
    fault: 'DynamoDB answers 503 ServiceUnavailable to every call of a reconcile (after the SDK retries)',
    async failing(world) {
      world.inject({ service: 'dynamodb', code: 'ServiceUnavailable', status: 503, times: 1000 });
      await world.run('reconcile', { label: 'without the store', env: { AWS_MAX_ATTEMPTS: '2' } });
    },
    expect(world) {
      const run = world.runs.find((r) => r.label === 'without the store')?.run;
      const done = outcomes(world, 'without the store').filter((o) => o.status === 'done');
      const launched = run?.result?.launched ?? 0;
      const orphan = world.seeded.orphan ?? '-';
      return [
        ...expectation(
          done.some((o) => o.action === 'terminate' && o.target === orphan),
          'removals go on without the store',
          JSON.stringify(done.map((o) => `${o.action} ${o.target}`)),
        ),
        ...expectation(
          launched >= 1 && launched <= 1,
          'launches go on, at most a quarter of max (1 of max 4) per pool',
          `${launched} launched`,
        ),
        ...expectation(
          run?.exitCode === 1 && /coordination store is unavailable/.test(run.errors.join(' ')),
          'the run fails, saying why',
          run?.errors.join(' ').slice(0, 300) ?? 'no run',
        ),
      ];
    },
  },
  {
    name: 'coordination store throttling',
    fault: 'DynamoDB ThrottlingException on its first 3 calls (the SDK retries them)',
    async failing(world) {
      world.inject({ service: 'dynamodb', code: 'ThrottlingException', status: 400, times: 3 });
      await world.run('reconcile', { label: 'throttled store' });
    },
    expect(world) {
      const run = world.runs.find((r) => r.label === 'throttled store')?.run;
      return expectation(
        run?.exitCode === 0 && (run.result?.launched ?? 0) >= 1,
        'the run goes on as usual after the retries',
        run?.errors.join(' ').slice(0, 300) ?? 'no run',
      );
    },
  },
];

/** Runs one scenario on a fresh world: failing mode, one reconcile without faults, then the jobs run. */
export async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const world = await createWorld(scenario.world);
  try {
    await scenario.failing(world);
    world.check('after the failing run', { only: SAFETY_INVARIANTS });
    world.clearFaults();
    const unfired = world.unfiredFaults();
    if (scenario.settleMs) await world.advance(scenario.settleMs);
    await world.run('reconcile', { label: 'recovery' });
    world.check('after one reconcile without faults');
    await serveJobs(world);
    const { checked, violations } = tally(world.checkpoints);
    const extra = [
      ...(scenario.expect?.(world) ?? []),
      ...unfired.map((fault) => ({ invariant: 'the fault fired', detail: fault })),
    ];
    const recovery = world.runs.findIndex((r) => r.label === 'recovery');
    return {
      name: scenario.name,
      fault: scenario.fault,
      modes: [...new Set(world.runs.slice(0, recovery).map((r) => r.mode))],
      faults: world.faultsInjected(),
      checked: checked + (scenario.expect ? 1 : 0),
      violations: [...violations, ...extra.map((v) => ({ ...v, at: 'scenario' }))],
      runs: world.runs.length,
      notes: world.runs.flatMap((r) =>
        (r.run.result?.outcomes ?? [])
          .filter((o) => o.status !== 'done')
          .map((o) => `${r.label}: ${o.action} ${o.target} ${o.status} ${o.code ?? ''}`),
      ),
      ms: Date.now() - started,
      runMs: Object.fromEntries(world.runs.map((r) => [r.label, r.ms])),
    };
  } finally {
    await world.stop();
  }
}
