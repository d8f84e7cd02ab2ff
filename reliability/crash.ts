// Crash recovery: a reconcile that launches and removes is killed (SIGKILL) right after its k-th API call,
// for every k; then reconciles without faults must restore the invariants, serve every job, and launch
// no instance twice (the ClientToken and the adoption of instances left without their runner config).
import type { ChildProcess } from 'node:child_process';
import type { Service } from '../emulator/index.js';
import { SAFETY_INVARIANTS, type Violation } from './invariants.js';
import { createWorld, DEMAND, launchedByAction, MIN, serveJobs, tally, type World } from './world.js';

export interface CrashResult {
  k: number;
  /** The call after which the process died. */
  call: string;
  checked: number;
  violations: (Violation & { at: string })[];
  /** Instances the action launched over the whole episode, and the jobs that needed one. */
  launched: number;
  demand: number;
  /** Instances the recovery configured instead of replacing (adopted). */
  adopted: number;
  ms: number;
}

/** The action's API calls of one uninterrupted launch-and-remove reconcile, in the order they were handled. */
export async function callsOfOneReconcile(): Promise<string[]> {
  const world = await createWorld();
  try {
    const calls: string[] = [];
    world.emulator.onCall((request) => calls.push(`${request.service} ${request.action}`));
    await world.run('reconcile');
    return calls;
  } finally {
    await world.stop();
  }
}

/** Answers every call after the crash without effect: the process is dead, its late requests must not act. */
function dropLateCalls(world: World, dead: () => boolean): () => void {
  const services: [Service, { code?: string; status?: number }][] = [
    ['ec2', { code: 'Unavailable' }],
    ['ssm', { code: 'ServiceUnavailable', status: 503 }],
    ['github', { status: 503 }],
  ];
  const handles = services.map(([service, answer]) =>
    world.emulator.faults.inject({ service, ...answer, match: dead }),
  );
  return () => handles.forEach((h) => h.remove());
}

export async function crashAt(k: number): Promise<CrashResult> {
  const started = Date.now();
  const world = await createWorld();
  try {
    let handled = 0;
    let child: ChildProcess | undefined;
    let call = '(the run ended first)';
    let dead = false;
    const stopObserving = world.emulator.onCall((request) => {
      handled += 1;
      if (handled !== k) return;
      // Killed before the answer is sent: the call took effect, the process never learns it.
      call = `${request.service} ${request.action}`;
      dead = true;
      child?.kill('SIGKILL');
    });
    const stopDropping = dropLateCalls(world, () => dead);
    await world.run('reconcile', { label: 'killed', onSpawn: (c) => (child = c) });
    stopObserving();
    stopDropping();
    world.check('after the crash', { only: SAFETY_INVARIANTS });

    await world.run('reconcile', { label: 'recovery' });
    world.check('after one reconcile');
    // Instances the crash left without their runner config are adopted once they are old enough that no
    // other run can still be configuring them; the jobs then run, and one more reconcile serves the rest.
    await world.advance(6 * MIN);
    await world.run('reconcile', { label: 'adopt' });
    world.check('after the adopting reconcile');
    await serveJobs(world);

    const launched = launchedByAction(world);
    const { checked, violations } = tally(world.checkpoints);
    const twice =
      launched > DEMAND
        ? [
            {
              invariant: 'nothing launched twice',
              detail: `${launched} launched for ${DEMAND} jobs`,
              at: 'end',
            },
          ]
        : [];
    return {
      k,
      call,
      checked: checked + 1,
      violations: [...violations, ...twice],
      launched,
      demand: DEMAND,
      adopted: world.runs
        .flatMap((r) => r.run.result?.outcomes ?? [])
        .filter((o) => o.status === 'done' && /booting instance without one/.test(o.reason)).length,
      ms: Date.now() - started,
    };
  } finally {
    await world.stop();
  }
}

/** Every k up to 40, then every 5th: the calls past 40 are more of the same batched work. */
export function crashPoints(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((k) => k <= 40 || k % 5 === 0 || k === n);
}
