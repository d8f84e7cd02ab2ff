// mode listen end to end: dist/index.js as the runner starts it, against the emulator speaking the runner
// scale set protocol. A job queued in a repository the pools file does not name gets its instance within a
// second of the assignment message; a stop deletes the sessions and exits green with the period's summary.
import { afterEach, describe, expect, it } from 'vitest';
import { listenStage, LISTEN_ENV, type ListenStage } from '../../reliability/listen-world.js';

let stage: ListenStage | undefined;
afterEach(async () => {
  await stage?.stop();
  expect(stage?.emulator.errors).toEqual([]);
  stage = undefined;
});

const jobsOf = (s: ListenStage, ids: number[]) => s.emulator.github.jobs().filter((j) => ids.includes(j.id));

describe('mode listen', () => {
  it('launches within a second of the assignment message, runs the job on a scale-set runner, stops green on SIGTERM', async () => {
    stage = await listenStage();
    const s = stage;
    // Every secret it receives (installation, registration, admin and queue tokens, JIT configs) is masked.
    const listener = s.listen({ requireMasks: true });
    expect(await s.until(() => s.emulator.scaleSets.sessions().length === 1, 20_000)).toBe(true);
    const set = s.emulator.scaleSets.get(`${LISTEN_ENV}-linux`);
    expect(set?.labels.sort()).toEqual(['linux', 'self-hosted', 'x64']);
    const queuedAt = Date.now();
    const ids = s.queue(2);
    expect(await s.until(() => s.launchCalls().length > 0, 5_000)).toBe(true);
    const delay = (s.launchCalls()[0] as number) - queuedAt;
    expect(delay).toBeLessThan(1_000);
    // The instances boot, read their scale-set JIT config and take the jobs through the set's assignment.
    expect(await s.until(() => s.emulator.ssm.parameters().length === 2, 5_000)).toBe(true);
    await s.emulator.advance(30_000);
    expect(await s.until(() => jobsOf(s, ids).every((j) => j.status !== 'queued'), 5_000)).toBe(true);
    expect(jobsOf(s, ids).map((j) => j.runnerName?.startsWith(`${LISTEN_ENV}-i-`))).toEqual([true, true]);
    expect(s.emulator.scaleSets.statistics(set?.id as number).totalRegisteredRunners).toBe(2);
    // The job messages that came back were acknowledged; each poll said the pool's max.
    expect(s.emulator.scaleSets.polls(set?.id).every((p) => p.maxCapacity === s.max)).toBe(true);
    listener.signal('SIGTERM');
    const run = await listener.done;
    expect(run.exitCode).toBe(0);
    expect(s.emulator.scaleSets.sessions()).toEqual([]);
    expect(run.summary).toContain('stopped: SIGTERM');
    expect(run.summary).toMatch(/Queue → launch call .*2 job\(s\): p50 0\.\d\d s/);
    expect(run.summary).toContain('JobAssigned 2');
    expect(run.outputs.launched).toBe('2');
  });

  it('acquires JobAvailable where the service offers jobs first (GHES), and stops at its deadline', async () => {
    stage = await listenStage();
    const s = stage;
    s.emulator.scaleSets.setAssignment('acquire');
    const listener = s.listen({ minutes: 0.15 });
    expect(await s.until(() => s.emulator.scaleSets.sessions().length === 1, 20_000)).toBe(true);
    const [id] = s.queue(1);
    expect(await s.until(() => s.launchCalls().length > 0, 5_000)).toBe(true);
    expect(s.emulator.scaleSets.jobs().find((j) => j.jobId === id)?.state).toBe('assigned');
    const run = await listener.done;
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('stopped: deadline');
    expect(run.summary).toContain('JobAvailable 1');
    expect(s.emulator.scaleSets.sessions()).toEqual([]);
  });

  it("the scheduler registers a scale-set pool's runners through the scale set, and watches the listener", async () => {
    stage = await listenStage();
    const s = stage;
    // The scheduler sees the job queued in REST (a repository it polls) before any listener ran.
    s.queue(1, 60_000, 'acme/infra');
    const first = await s.run('reconcile');
    expect(first.exitCode).toBe(0);
    expect(first.outputs.listener).toBe('start');
    expect(first.summary).toContain('no listener has run yet');
    const setId = s.scaleSetId() as number;
    expect(setId).toBeDefined();
    expect(s.emulator.scaleSets.statistics(setId).totalRegisteredRunners).toBe(1);
    // The start it asked for counts as on its way: the next run does not ask again.
    const second = await s.run('reconcile');
    expect(second.outputs.listener).toBe('alive');
    expect(s.live()).toBe(1);
  });
});
