// Races: runs of the same environment at once, and a job that starts between a run's observe and apply.
import { TAG_ENVIRONMENT } from '../src/contract.js';
import type { EmulatorRequest } from '../emulator/index.js';
import { dispatchEvent } from './events.js';
import { SAFETY_INVARIANTS, type Violation } from './invariants.js';
import { TOKEN_WINDOW_MS } from '../src/engine/plan.js';
import {
  ARM_LABELS,
  createWorld,
  DEMAND,
  JOB_MS,
  launchedByAction,
  serveJobs,
  tally,
  type World,
  type WorldOptions,
} from './world.js';

export interface RaceResult {
  name: string;
  checked: number;
  violations: (Violation & { at: string })[];
  /** What the race produced, for the report. */
  facts: Record<string, number | string>;
  faults: number;
  ms: number;
}

interface Race {
  name: string;
  world?: WorldOptions;
  /** Races the runs; returns checks of its own and facts for the report. */
  race(
    world: World,
  ): Promise<{ violations: Violation[]; checked: number; facts: Record<string, number | string> }>;
  /** Let the jobs run to completion afterwards and check that every one succeeded. Default true. */
  serve?: boolean;
}

/** The ClientTokens of runs that start together agree only inside one cron window: don't start on its edge. */
async function awayFromTokenWindowEdge(): Promise<void> {
  const intoWindow = Date.now() % TOKEN_WINDOW_MS;
  const margin = 15_000;
  if (intoWindow > TOKEN_WINDOW_MS - margin) {
    await new Promise((resolve) => setTimeout(resolve, TOKEN_WINDOW_MS - intoWindow + 100));
  }
}

/** Ids terminated by more than one successful TerminateInstances call. */
export function doubleTerminations(world: World): string[] {
  const seen = new Map<string, number>();
  for (const call of world.writes.terminateCalls)
    for (const id of new Set(call)) seen.set(id, (seen.get(id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

function dispatchOf(world: World) {
  return dispatchEvent(world.emulator.github.jobs({ status: 'queued' }));
}

const violation = (ok: boolean, invariant: string, detail: string): Violation[] =>
  ok ? [] : [{ invariant, detail }];

/** The action's own DescribeInstances of observe (by the environment tag), not the re-check by id. */
const isOwnedListing = (request: EmulatorRequest) =>
  request.action === 'DescribeInstances' && [...request.form.values()].includes(`tag:${TAG_ENVIRONMENT}`);

function jobBetweenObserveAndApply(world: World): { jobId: () => number | undefined } {
  let jobId: number | undefined;
  world.inject({
    service: 'ec2',
    match: isOwnedListing,
    times: 1,
    // Right after the instance list was read: the plan will not see the job start, only the re-check can.
    afterCall() {
      jobId = world.emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: ARM_LABELS, durationMs: JOB_MS }],
      }).jobIds[0];
    },
  });
  return { jobId: () => jobId };
}

export const RACES: Race[] = [
  {
    name: 'a reconcile and a dispatched scale-up seeing the same jobs, at once',
    async race(world) {
      await awayFromTokenWindowEdge();
      const event = dispatchOf(world);
      // RunInstances takes a second or two on EC2: both runs observe before either launch is visible.
      world.inject({ service: 'ec2', action: 'RunInstances', delayMs: 1500, times: 2 });
      await Promise.all([
        world.run('reconcile', { label: 'cron' }),
        world.run('scale-up', { label: 'dispatch', event }),
      ]);
      const twice = doubleTerminations(world);
      return {
        checked: 1,
        violations: violation(
          twice.length === 0,
          'never double-terminate',
          `terminated twice: ${twice.join(', ')}`,
        ),
        facts: {
          'instances launched by the two runs': launchedByAction(world),
          'peak live linux instances (max 4)': world.writes.peaks.get('linux') ?? 0,
          'ids terminated twice': twice.length,
        },
      };
    },
  },
  {
    name: 'two reconciles at once (a cron and a manual run)',
    async race(world) {
      await awayFromTokenWindowEdge();
      world.inject({ service: 'ec2', action: 'RunInstances', delayMs: 1500, times: 2 });
      await Promise.all([
        world.run('reconcile', { label: 'cron' }),
        world.run('reconcile', { label: 'manual', runId: 9100 }),
      ]);
      // A runner's DELETE answers 204 to one run only: that run alone terminates its instance. An orphan has
      // no registration to decide between the runs: both may terminate it (EC2 treats the second as a no-op).
      const orphan = world.seeded.orphan as string;
      const twice = doubleTerminations(world);
      const withRunner = twice.filter((id) => id !== orphan);
      return {
        checked: 1,
        violations: violation(
          withRunner.length === 0,
          'never double-terminate an instance with a runner',
          `terminated twice: ${withRunner.join(', ')}`,
        ),
        facts: {
          'instances launched by the two runs': launchedByAction(world),
          'peak live linux instances (max 4)': world.writes.peaks.get('linux') ?? 0,
          'ids terminated twice': twice.length,
          'orphans terminated twice (no registration to arbitrate)': twice.length - withRunner.length,
        },
      };
    },
  },
  {
    name: 'a job assigned between observe and apply, busy flag lagging 60 s',
    world: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' },
    async race(world) {
      const job = jobBetweenObserveAndApply(world);
      const run = await world.run('scale-down');
      const id = job.jobId();
      const taken = world.emulator.github.jobs().find((j) => j.id === id);
      const runner = taken?.runnerName ?? '(none)';
      const outcome = run.result?.outcomes.find((o) => o.target === runner);
      await world.advance(JOB_MS + 10_000);
      const done = world.emulator.github.jobs().find((j) => j.id === id);
      return {
        checked: 3,
        violations: [
          ...violation(
            taken?.runnerName !== undefined,
            'the job started during the run',
            JSON.stringify(taken),
          ),
          ...violation(
            outcome?.status === 'skipped' && outcome.code === 'busy',
            'its runner skipped as busy',
            JSON.stringify(outcome),
          ),
          ...violation(done?.conclusion === 'success', 'the job completed', JSON.stringify(done)),
        ],
        facts: {
          'outcome for its runner': `${outcome?.status} ${outcome?.code ?? ''}`,
          'jobs killed': world.killed().length,
        },
      };
    },
  },
];

/**
 * The same race without the instance's job-started hook: the emulator must see the job die, or the race
 * above proves nothing.
 */
export const CONTROL: Race = {
  name: 'control: the same race without the job-started hook',
  world: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job', reportJobStart: false },
  serve: false,
  async race(world) {
    jobBetweenObserveAndApply(world);
    await world.run('scale-down');
    return {
      checked: 1,
      violations: violation(
        world.killed().length === 1,
        'the job was killed',
        `${world.killed().length} killed`,
      ),
      facts: { 'jobs killed': world.killed().length },
    };
  },
};

export async function runRace(race: Race): Promise<RaceResult> {
  const started = Date.now();
  const world = await createWorld(race.world);
  try {
    const own = await race.race(world);
    world.clearFaults();
    if (race.serve === false) {
      return {
        name: race.name,
        checked: own.checked,
        violations: own.violations.map((v) => ({ ...v, at: 'race' })),
        facts: own.facts,
        faults: world.faultsInjected(),
        ms: Date.now() - started,
      };
    }
    world.check('after the race', { only: SAFETY_INVARIANTS });
    await world.run('reconcile', { label: 'after' });
    world.check('after one more reconcile');
    await serveJobs(world);
    const launched = launchedByAction(world);
    const { checked, violations } = tally(world.checkpoints);
    const extra = [
      ...own.violations,
      ...violation(launched <= DEMAND, 'nothing launched twice', `${launched} launched for ${DEMAND} jobs`),
    ];
    return {
      name: race.name,
      checked: checked + own.checked + 1,
      violations: [...violations, ...extra.map((v) => ({ ...v, at: 'race' }))],
      facts: { ...own.facts, 'instances launched in all': launched },
      faults: world.faultsInjected(),
      ms: Date.now() - started,
    };
  } finally {
    await world.stop();
  }
}
