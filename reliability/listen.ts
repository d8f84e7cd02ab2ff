// Listen-mode scenarios: each a situation GitHub's scale set protocol is known for (a listener killed in the
// middle of a message, two listeners at once, an evicted session, expired tokens, statistics stuck high, a
// scale set deleted behind the listener's back, a broker 5xx storm, every trigger at once), run against
// dist/index.js and the emulator, judged on the emulator's state: never more than max, no job killed, no
// double launch, every job served, and the listener still listening (or exiting green when told to stop).
import { checkInvariants, SAFETY_INVARIANTS, type Violation } from './invariants.js';
import {
  FAST_TIMINGS,
  LISTEN_ENV,
  listenStage,
  type ListenStage,
  type RunningListener,
} from './listen-world.js';

const MIN = 60_000;

export interface ListenScenarioResult {
  name: string;
  promise: string;
  violations: Violation[];
  facts: Record<string, string | number>;
  /** Checks made (invariants and the scenario's own). */
  checked: number;
  /** Faults injected (each kill, eviction, expiry, 5xx answer…). */
  faults: number;
  ms: number;
}

export interface ListenScenario {
  name: string;
  promise: string;
  run(): Promise<Omit<ListenScenarioResult, 'name' | 'promise' | 'ms'>>;
}

interface Judge {
  violations: Violation[];
  checked: number;
  check(ok: boolean, invariant: string, detail: string): void;
}

function judge(): Judge {
  const j: Judge = {
    violations: [],
    checked: 0,
    check(ok, invariant, detail) {
      j.checked += 1;
      if (!ok) j.violations.push({ invariant, detail });
    },
  };
  return j;
}

type Outcome = Pick<ListenScenarioResult, 'faults' | 'facts'>;

/** Runs a scenario on a fresh stage (listener periods shortened) with a fresh judge; the stage stops whatever happens. */
async function onStage(
  max: number | undefined,
  body: (s: ListenStage, j: Judge) => Promise<Outcome>,
): Promise<Omit<ListenScenarioResult, 'name' | 'promise' | 'ms'>> {
  const s = await listenStage({ ...(max === undefined ? {} : { max }), timings: FAST_TIMINGS });
  const j = judge();
  try {
    const outcome = await body(s, j);
    return { violations: j.violations, checked: j.checked, ...outcome };
  } finally {
    await s.stop();
  }
}

/** Never more than max (at any launch, and now), no job killed. */
function safety(s: ListenStage, j: Judge): void {
  const found = checkInvariants(s.emulator, {
    environment: LISTEN_ENV,
    max: { linux: s.max },
    bootTimeoutMs: 10 * MIN,
    only: SAFETY_INVARIANTS.filter((i) => i !== 'no foreign resource touched'),
  });
  j.checked += 2;
  j.violations.push(...found);
  j.check(s.peak() <= s.max, 'never more instances than max', `peak ${s.peak()} live, max ${s.max}`);
}

const launched = (s: ListenStage) => s.emulator.ec2.instances({ environment: LISTEN_ENV }).length;

/**
 * Lets the instances boot and run their jobs: 15 s of emulator time at a time, with a second of real time
 * between for the listener's decisions (one every 2 s), so that emulated time runs at most 15 times faster
 * than the listener decides: an adoption window of 5 minutes (bootTimeout / 2 to bootTimeout) then holds
 * several decisions, as it holds at least one in production (a reconcile every 3 minutes). True when every
 * job completed successfully.
 */
async function serve(s: ListenStage, ms = 8 * MIN): Promise<boolean> {
  for (let t = 0; t < ms; t += 15_000) {
    await s.emulator.advance(15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (s.emulator.github.jobs().every((job) => job.conclusion === 'success')) return true;
  }
  return s.emulator.github.jobs().every((job) => job.conclusion === 'success');
}

/** Stops a listener with SIGTERM: it must exit green with its summary, its session deleted. */
async function stopGreen(s: ListenStage, listener: RunningListener, j: Judge): Promise<string> {
  listener.signal('SIGTERM');
  const run = await listener.done;
  j.check(
    run.exitCode === 0,
    'a stopped listener exits green',
    `exit ${run.exitCode} ${run.errors.join('; ')}`,
  );
  j.check(s.emulator.scaleSets.sessions().length === 0, 'its session deleted', 'a session is left');
  return run.summary;
}

const sessionHeld = (s: ListenStage) => s.emulator.scaleSets.sessions().some((x) => !x.crashed);

/** Waits for a live session, of the listener of run `runId` when given. */
async function started(s: ListenStage, j: Judge, runId?: number): Promise<void> {
  const ours = () =>
    s.emulator.scaleSets
      .sessions()
      .some((x) => !x.crashed && (runId === undefined || x.ownerName.includes(`#${runId}/`)));
  j.check(await s.until(ours, 30_000), 'the listener holds a session', 'no session in 30 s');
}

/** A job queued now gets its launch call within `ms`; answers the delay (or -1). */
async function launchDelay(s: ListenStage, jobs: number, ms = 5_000): Promise<number> {
  const before = s.launchCalls().length;
  const at = Date.now();
  s.queue(jobs);
  if (!(await s.until(() => s.launchCalls().length > before, ms))) return -1;
  return (s.launchCalls()[before] as number) - at;
}

// ---------------------------------------------------------------- a listener SIGKILLed mid-message

type KillPoint =
  'before it acknowledged the message' | 'during its launch call' | 'during its first runner config';

const KILL_MATCH: Record<KillPoint, (method: string, action: string, status: number) => boolean> = {
  'before it acknowledged the message': (m, a, status) =>
    m === 'GET' && /messages$/.test(a) && status === 200,
  'during its launch call': (_m, a) => a === 'RunInstances' || a === 'CreateFleet',
  'during its first runner config': (m, a) => m === 'POST' && /generatejitconfig$/.test(a),
};

function killedMidMessage(point: KillPoint): ListenScenario {
  return {
    name: `a listener SIGKILLed ${point}, restarted at once`,
    promise: 'no double launch after a restart',
    async run() {
      return onStage(4, async (s, j) => {
        const first = s.listen();
        await started(s, j);
        let killed = false;
        const stopWatching = s.emulator.onCall((request, answer) => {
          if (killed || !KILL_MATCH[point](request.method, request.action, answer.status)) return;
          killed = true;
          first.child()?.kill('SIGKILL');
        });
        s.queue(3);
        j.check(await s.until(() => killed, 10_000), 'the kill point was reached', point);
        stopWatching();
        await first.done;
        const second = s.listen({ runId: 9201 });
        // It waits out the dead listener's session (held until the service times it out), then scales from
        // the new session's statistics (3 assigned) against what exists.
        await started(s, j, 9201);
        // A lease the dead listener held expires by itself (60 s): its launches wait at most that long.
        await s.emulator.advance(MIN);
        await s.until(() => launched(s) >= 3, 15_000);
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        const afterRestart = launched(s);
        j.check(afterRestart <= 3, 'no double launch', `${afterRestart} instances for 3 jobs`);
        // Instances a kill left without their config are configured by a later decision (adoption, from
        // half their bootTimeout on).
        const served = await serve(s, 12 * MIN);
        j.check(served, 'every job ran to success', 'a job did not complete');
        j.check(launched(s) === 3, 'launches = demand', `${launched(s)} launched for 3 jobs`);
        safety(s, j);
        await stopGreen(s, second, j);
        return {
          faults: 1,
          facts: {
            'instances for 3 jobs': launched(s),
            'peak live (max 4)': s.peak(),
            'jobs served': String(served),
          },
        };
      });
    },
  };
}

// ---------------------------------------------------------------- two listeners

const twoListeners: ListenScenario = {
  name: 'two listeners started at once; the one listening stops, the other takes over',
  promise: 'one waits, no double launch; handover within seconds',
  async run() {
    return onStage(6, async (s, j) => {
      const a = s.listen({ runId: 9101 });
      const b = s.listen({ runId: 9102 });
      await started(s, j);
      await launchDelay(s, 3);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      j.check(launched(s) === 3, 'launches = demand', `${launched(s)} launched for 3 jobs`);
      const holder = s.emulator.scaleSets.sessions()[0]?.ownerName.includes('#9101') ? a : b;
      const other = holder === a ? b : a;
      holder.signal('SIGTERM');
      const run = await holder.done;
      const gone = Date.now();
      j.check(run.exitCode === 0, 'the stopped listener exits green', `exit ${run.exitCode}`);
      j.check(await s.until(() => sessionHeld(s), 20_000), 'the other takes over', 'no session after 20 s');
      const gap = Date.now() - gone;
      const delay = await launchDelay(s, 2);
      j.check(delay >= 0 && delay < 2_000, 'the successor launches at once', `${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      j.check(launched(s) === 5, 'launches = demand', `${launched(s)} launched for 5 jobs`);
      safety(s, j);
      await stopGreen(s, other, j);
      return {
        faults: 1,
        facts: {
          'handover gap (ms)': gap,
          'instances for 5 jobs': launched(s),
          'launch after handover (ms)': delay,
        },
      };
    });
  },
};

// ---------------------------------------------------------------- the service loses the session

const evicted: ListenScenario = {
  name: 'the service evicts the session (PATCH 404), then answers a session without a queue URL',
  promise: 'a new session, the listener keeps serving',
  async run() {
    return onStage(undefined, async (s, j) => {
      const listener = s.listen();
      await started(s, j);
      const old = s.emulator.scaleSets.sessions()[0]?.id;
      const at = Date.now();
      s.emulator.scaleSets.emptyQueueUrl(1);
      s.emulator.scaleSets.evictSession(s.scaleSetId() as number);
      const renewed = await s.until(
        () => sessionHeld(s) && s.emulator.scaleSets.sessions()[0]?.id !== old,
        20_000,
      );
      j.check(renewed, 'a new session', 'none within 20 s');
      const recovery = Date.now() - at;
      const delay = await launchDelay(s, 1);
      j.check(delay >= 0 && delay < 2_000, 'a job after the eviction is launched for at once', `${delay} ms`);
      safety(s, j);
      const summary = await stopGreen(s, listener, j);
      j.check(/invalid-session 1/.test(summary), 'the session without a queue URL was replaced', summary);
      return {
        faults: 2,
        facts: {
          'new session after (ms)': recovery,
          'launch after (ms)': delay,
          survived: /Errors survived: ([^.]*)\./.exec(summary)?.[1] ?? '?',
        },
      };
    });
  },
};

const tokensExpire: ListenScenario = {
  name: 'the queue token and the admin token expire',
  promise: 'tokens renewed (session PATCHed, token chain run again), nothing lost',
  async run() {
    return onStage(undefined, async (s, j) => {
      const listener = s.listen();
      await started(s, j);
      const session = s.emulator.scaleSets.sessions()[0]?.id;
      const expired = s.emulator.scaleSets.expireQueueTokens() + s.emulator.scaleSets.expireAdminTokens();
      // The next poll meets the expired queue token; the next Actions-service call the expired admin token.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const delay = await launchDelay(s, 1);
      j.check(delay >= 0 && delay < 2_000, 'a job after the expiry is launched for at once', `${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      j.check(
        s.emulator.scaleSets.sessions()[0]?.id === session,
        'the session is kept (refreshed, not replaced)',
        'a new session was created',
      );
      j.check(
        s.emulator.scaleSets.statistics(s.scaleSetId() as number).totalRegisteredRunners === 1,
        'its runner registered through the scale set (a new admin token)',
        'no runner registered',
      );
      safety(s, j);
      await stopGreen(s, listener, j);
      return {
        faults: expired,
        facts: { 'launch after (ms)': delay },
      };
    });
  },
};

// ---------------------------------------------------------------- statistics stuck high

const stuckStatistics: ListenScenario = {
  name: 'statistics stuck at 30 assigned jobs for 30 minutes (max 4)',
  promise: 'never above max; the extra runners go by the idle rules; the summary and the watchdog say so',
  async run() {
    return onStage(4, async (s, j) => {
      const listener = s.listen();
      await started(s, j);
      s.emulator.scaleSets.staleStatistics(s.scaleSetId() as number, { extraAssigned: 30 });
      s.queue(1, 60 * MIN);
      await s.until(() => s.emulator.ssm.parameters().length >= 4, 10_000);
      // Thirty minutes: the runners boot, one takes the real job, the others stay idle; reconcile decisions
      // see them idle twice, idleTimeout apart.
      for (let minute = 0; minute < 30; minute += 1) {
        await s.emulator.advance(MIN);
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const calls = s.launchCalls().length;
      j.check(launched(s) <= 4, 'launches stop at max', `${launched(s)} launched`);
      j.check(s.live() <= 2, 'the idle extra runners were removed', `${s.live()} live after 30 min`);
      const watchdog = await s.run('reconcile');
      j.check(
        watchdog.summary.includes('statistics stuck at 31 assigned'),
        'the scheduler (watchdog) says so',
        watchdog.summary.slice(-400),
      );
      safety(s, j);
      const summary = await stopGreen(s, listener, j);
      j.check(summary.includes('statistics stuck at'), 'the summary says so', summary.slice(-400));
      return {
        faults: 1,
        facts: { 'instances launched': launched(s), 'launch calls': calls, 'live after 30 min': s.live() },
      };
    });
  },
};

// ---------------------------------------------------------------- the scale set deleted

const scaleSetDeleted: ListenScenario = {
  name: 'GitHub deletes the scale set behind the listener',
  promise: 'the scale set is created again and serves',
  async run() {
    return onStage(undefined, async (s, j) => {
      const listener = s.listen();
      await started(s, j);
      const old = s.scaleSetId() as number;
      s.emulator.scaleSets.deleteScaleSet(old);
      const back = await s.until(() => (s.scaleSetId() ?? old) !== old && sessionHeld(s), 20_000);
      j.check(back, 'the scale set is back with a session', 'not within 20 s');
      const delay = await launchDelay(s, 1);
      j.check(delay >= 0 && delay < 2_000, 'a job after it is launched for at once', `${delay} ms`);
      await s.until(() => s.emulator.ssm.parameters().length >= 1, 5_000);
      j.check(await serve(s), 'the job ran on a runner of the new scale set', 'not served');
      safety(s, j);
      await stopGreen(s, listener, j);
      return {
        faults: 1,
        facts: { 'launch after (ms)': delay },
      };
    });
  },
};

// ---------------------------------------------------------------- a broker storm

const STORM_MS = 40_000;

const brokerStorm: ListenScenario = {
  name: `a broker 5xx storm: ${STORM_MS / 1000} s of 503 (Retry-After 1) on the queue and 502 on every other call`,
  promise: 'never exit on a transient error; serve once it passes',
  async run() {
    return onStage(undefined, async (s, j) => {
      const listener = s.listen();
      await started(s, j);
      const queue = s.emulator.scaleSets.brokerErrors({
        status: 503,
        times: 1_000_000,
        routes: 'queue',
        retryAfterSeconds: 1,
      });
      const all = s.emulator.scaleSets.brokerErrors({ status: 502, times: 1_000_000, routes: 'all' });
      // Jobs queued during the storm wait for it to pass.
      await new Promise((resolve) => setTimeout(resolve, STORM_MS / 2));
      s.queue(1);
      await new Promise((resolve) => setTimeout(resolve, STORM_MS / 2));
      const faults = 2_000_000 - queue.remaining - all.remaining;
      queue.remove();
      all.remove();
      const passed = Date.now();
      j.check(listener.child()?.exitCode === null, 'the listener is still running', 'it exited');
      const served = await s.until(() => s.launchCalls().length > 0, 90_000);
      j.check(served, 'the job queued during the storm is launched for once it passed', 'not within 90 s');
      const recovery = Date.now() - passed;
      const delay = await launchDelay(s, 1);
      j.check(delay >= 0 && delay < 2_000, 'a job after the storm is launched for at once', `${delay} ms`);
      safety(s, j);
      const summary = await stopGreen(s, listener, j);
      return {
        faults,
        facts: {
          '5xx answers': faults,
          'launch after the storm (ms)': recovery,
          survived: /Errors survived: ([^.]*)\./.exec(summary)?.[1] ?? '?',
        },
      };
    });
  },
};

// ---------------------------------------------------------------- every trigger at once

const everyTrigger: ListenScenario = {
  name: 'listener, scheduler and a pre-job at once on 4 queued jobs (max 8)',
  promise: 'max holds, nothing counted twice',
  async run() {
    return onStage(8, async (s, j) => {
      const listener = s.listen();
      await started(s, j);
      // Jobs in the repository the scheduler polls; the pre-job asks for 2 runners of its own.
      s.emulator.faults.inject({
        service: 'ec2',
        action: /^(RunInstances|CreateFleet)$/,
        delayMs: 800,
        times: 3,
      });
      s.queue(4, 2 * MIN, 'acme/infra');
      const runs = await Promise.all([s.run('reconcile'), s.run('scale-up', { pool: 'linux', count: '2' })]);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const total = launched(s);
      j.check(total <= 6, 'nothing counted twice', `${total} instances for 4 jobs and a pre-job of 2`);
      j.check(total >= 4, 'the demand is served', `${total} instances for 4 jobs`);
      j.check(
        runs.every((r) => r.exitCode === 0),
        'the runs succeed',
        runs.map((r) => r.errors.join(' ')).join('; '),
      );
      await s.until(() => s.emulator.ssm.parameters().length >= total, 10_000);
      j.check(await serve(s), 'every job ran to success', 'a job did not');
      safety(s, j);
      await stopGreen(s, listener, j);
      return {
        faults: 3,
        facts: { 'instances for 4 jobs + a pre-job of 2': total, 'peak live (max 8)': s.peak() },
      };
    });
  },
};

export const LISTEN_SCENARIOS: ListenScenario[] = [
  killedMidMessage('before it acknowledged the message'),
  killedMidMessage('during its launch call'),
  killedMidMessage('during its first runner config'),
  twoListeners,
  evicted,
  tokensExpire,
  stuckStatistics,
  scaleSetDeleted,
  brokerStorm,
  everyTrigger,
];

export async function runListenScenario(scenario: ListenScenario): Promise<ListenScenarioResult> {
  const at = Date.now();
  const result = await scenario.run();
  return { name: scenario.name, promise: scenario.promise, ...result, ms: Date.now() - at };
}
