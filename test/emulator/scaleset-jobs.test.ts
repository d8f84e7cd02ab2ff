// Jobs on runner scale sets in the emulator: routing by labels, assignment (github.com style) or
// offer and acquire (GHES style), runners taking jobs (driven directly or by the instance
// simulator from a scale-set JIT config in SSM), statistics, reassignment and stale statistics.
import { afterEach, describe, expect, it } from 'vitest';
import {
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type ScaleSetOptions,
} from '../../emulator/index.js';
import {
  connect,
  jobMessages,
  sessionOf,
  type Loose,
  type ScaleSetClient,
  type ScaleSetSession,
} from './scaleset-client.js';

let emulator: Emulator | undefined;

interface Fixture {
  emu: Emulator;
  client: ScaleSetClient;
  setId: number;
  session: ScaleSetSession;
  /** Every job message received so far, in order (messages acknowledged as read). */
  received: Loose[];
  /** Polls until nothing new arrives; answers the job messages that came. */
  drain(): Promise<Loose[]>;
}

async function start(scaleSets: ScaleSetOptions = {}, options: EmulatorOptions = {}): Promise<Fixture> {
  emulator = await startEmulator({
    simulator: false,
    ...options,
    github: { orgs: ['acme', 'other'], scaleSets: { pollTimeoutMs: 200, ...scaleSets } },
  });
  const emu = emulator;
  const client = await connect(emu);
  const set = await client.createScaleSet('linux', ['linux', 'self-hosted']);
  const setId = Number(set.id);
  const session = sessionOf(await client.createSession(setId));
  const received: Loose[] = [];
  let lastMessageId = 0;
  async function drain(): Promise<Loose[]> {
    const got: Loose[] = [];
    for (;;) {
      const answer = await client.poll(session, { lastMessageId, maxCapacity: 100 });
      if (answer.status !== 200) break;
      lastMessageId = Number(answer.json.messageId);
      await client.ack(session, lastMessageId);
      got.push(...jobMessages(answer.json));
    }
    received.push(...got);
    return got;
  }
  return { emu, client, setId, session, received, drain };
}

afterEach(async () => {
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

function queue(emu: Emulator, labels: string[], repository = 'acme/app', durationMs = 60_000): number {
  return emu.github.queueRun({ repository, jobs: [{ labels, durationMs }] }).jobIds[0]!;
}

const types = (messages: Loose[]) => messages.map((message) => String(message.messageType));

describe('routing and the github.com flow', () => {
  it('assigned -> started on an idle runner of the set -> completed, the runner removed', async () => {
    const { emu, client, setId, drain } = await start();
    const jobId = queue(emu, ['self-hosted', 'linux'], 'acme/app', 30_000);
    const [assigned] = await drain();
    expect(assigned).toMatchObject({ messageType: 'JobAssigned', jobId: String(jobId) });
    expect(emu.scaleSets.statistics(setId)).toMatchObject({ totalAssignedJobs: 1, totalRunningJobs: 0 });
    // Ordinary runners do not see it: it is not in their queue; REST still shows it queued.
    expect(emu.state.queuedJobs.has(jobId)).toBe(false);
    expect(emu.github.jobs({ status: 'queued' }).map((job) => job.id)).toEqual([jobId]);

    const jit = await client.generateJitConfig(setId, 'runner-1');
    const runnerId = Number(jit.json.runner!.id);
    expect(emu.scaleSets.statistics(setId)).toMatchObject({ totalRegisteredRunners: 1, totalIdleRunners: 0 });
    emu.scaleSets.connectRunner('runner-1');
    const [started] = await drain();
    expect(started).toMatchObject({
      messageType: 'JobStarted',
      jobId: String(jobId),
      runnerId,
      runnerName: 'runner-1',
      runnerRequestId: assigned!.runnerRequestId,
    });
    expect(Date.parse(String(started!.runnerAssignTime))).toBeGreaterThan(0);
    expect(emu.scaleSets.statistics(setId)).toEqual({
      totalAvailableJobs: 0,
      totalAcquiredJobs: 1,
      totalAssignedJobs: 1,
      totalRunningJobs: 1,
      totalRegisteredRunners: 1,
      totalBusyRunners: 1,
      totalIdleRunners: 0,
    });
    // A runner with a job cannot be removed.
    const refused = await client.call('DELETE', `_apis/distributedtask/pools/0/agents/${runnerId}`);
    expect(refused.status).toBe(400);
    expect(refused.json.typeName).toContain('JobStillRunningException');

    await emu.advance(30_000);
    const [completed] = await drain();
    expect(completed).toMatchObject({
      messageType: 'JobCompleted',
      jobId: String(jobId),
      result: 'succeeded',
      runnerId,
      runnerName: 'runner-1',
    });
    expect(Date.parse(String(completed!.finishTime))).toBeGreaterThan(0);
    expect(emu.github.runner('runner-1')).toBeUndefined();
    expect(emu.github.jobs().find((job) => job.id === jobId)).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      runnerName: 'runner-1',
    });
    expect(emu.scaleSets.statistics(setId)).toMatchObject({
      totalAssignedJobs: 0,
      totalRegisteredRunners: 0,
    });
  });

  it('routes only jobs whose labels are all among the set labels, in the set scope', async () => {
    const { emu, client, setId, drain } = await start();
    const matching = queue(emu, ['linux']);
    const extraLabel = queue(emu, ['linux', 'gpu']);
    const otherOrg = queue(emu, ['linux'], 'other/repo');
    // No implicit self-hosted label: a set without it does not match jobs asking for it.
    const arm = await client.createScaleSet('arm', ['arm']);
    const selfHosted = queue(emu, ['self-hosted', 'arm']);
    const armOnly = queue(emu, ['arm']);
    const messages = await drain();
    expect(messages.map((message) => message.jobId)).toEqual([String(matching)]);
    expect(emu.scaleSets.jobs(setId).map((job) => job.jobId)).toEqual([matching]);
    expect(emu.scaleSets.jobs(Number(arm.id)).map((job) => job.jobId)).toEqual([armOnly]);
    expect([...emu.state.queuedJobs.keys()]).toEqual([extraLabel, otherOrg, selfHosted]);
  });

  it('a job queued before the set exists goes to it once created; a job cancelled while assigned', async () => {
    const { emu, client, drain } = await start();
    const early = queue(emu, ['windows']);
    const created = await client.createScaleSet('windows', ['windows']);
    expect(emu.scaleSets.jobs(Number(created.id))).toEqual([
      expect.objectContaining({ jobId: early, state: 'assigned' }),
    ]);
    const jobId = queue(emu, ['linux']);
    await drain();
    emu.github.cancelRun(emu.github.jobs().find((job) => job.id === jobId)!.runId);
    const [completed] = await drain();
    expect(completed).toMatchObject({
      messageType: 'JobCompleted',
      jobId: String(jobId),
      result: 'canceled',
    });
  });

  it('an idle runner waits for the next assigned job; finishJob reports a failure', async () => {
    const { emu, client, setId, drain } = await start();
    await client.generateJitConfig(setId, 'waiting');
    emu.scaleSets.connectRunner('waiting');
    expect(emu.scaleSets.statistics(setId)).toMatchObject({ totalIdleRunners: 1, totalBusyRunners: 0 });
    const jobId = queue(emu, ['linux']);
    expect(types(await drain())).toEqual(['JobAssigned', 'JobStarted']);
    emu.scaleSets.finishJob(jobId, 'failure');
    const [completed] = await drain();
    expect(completed).toMatchObject({ messageType: 'JobCompleted', result: 'failed', runnerName: 'waiting' });
  });

  it('deleting a set through the API is refused while one of its runners runs a job', async () => {
    const { emu, client, setId } = await start();
    await client.generateJitConfig(setId, 'busy');
    await client.generateJitConfig(setId, 'offline');
    emu.scaleSets.connectRunner('busy');
    const jobId = queue(emu, ['linux']);
    const refused = await client.call('DELETE', `_apis/runtime/runnerscalesets/${setId}`);
    expect(refused.status).toBe(400);
    expect(refused.json.typeName).toContain('JobStillRunningException');
    emu.scaleSets.finishJob(jobId);
    expect((await client.call('DELETE', `_apis/runtime/runnerscalesets/${setId}`)).status).toBe(204);
    // Its offline runners go with it.
    expect(emu.github.runner('offline')).toBeUndefined();
  });
});

describe('GHES-style offer and acquire', () => {
  it('JobAvailable first; assigned only after acquirejobs with the queue token', async () => {
    const { emu, client, setId, session, drain } = await start({ assignment: 'acquire' });
    const jobId = queue(emu, ['linux']);
    const [available] = await drain();
    expect(available).toMatchObject({
      messageType: 'JobAvailable',
      jobId: String(jobId),
      acquireJobUrl: `${client.registration.base}_apis/runtime/runnerscalesets/${setId}/acquirejobs`,
    });
    expect(emu.scaleSets.statistics(setId)).toMatchObject({ totalAvailableJobs: 1, totalAssignedJobs: 0 });
    const listed = await client.call('GET', `_apis/runtime/runnerscalesets/${setId}/acquirablejobs`);
    expect(listed.json).toMatchObject({ count: 1, value: [{ runnerRequestId: available!.runnerRequestId }] });

    const path = `_apis/runtime/runnerscalesets/${setId}/acquirejobs`;
    const ids = [available!.runnerRequestId, 123];
    expect((await client.call('POST', path, { body: ids })).status).toBe(401);
    const acquired = await client.call('POST', path, { body: ids, token: session.messageQueueAccessToken });
    expect(acquired.status).toBe(200);
    expect(acquired.json).toEqual({ count: 1, value: [available!.runnerRequestId] });
    expect(types(await drain())).toEqual(['JobAssigned']);
    expect(emu.scaleSets.statistics(setId)).toMatchObject({
      totalAvailableJobs: 0,
      totalAcquiredJobs: 1,
      totalAssignedJobs: 1,
    });
    const again = await client.call('POST', path, { body: ids, token: session.messageQueueAccessToken });
    expect(again.json).toEqual({ count: 0, value: [] });
    expect((await client.call('GET', `_apis/runtime/runnerscalesets/${setId}/acquirablejobs`)).status).toBe(
      204,
    );
    const bad = await client.call('POST', path, { body: { ids }, token: session.messageQueueAccessToken });
    expect(bad.status).toBe(400);
  });

  it('switches between styles while running', async () => {
    const { emu, drain } = await start();
    emu.scaleSets.setAssignment('acquire');
    queue(emu, ['linux']);
    emu.scaleSets.setAssignment('direct');
    queue(emu, ['linux']);
    expect(types(await drain())).toEqual(['JobAvailable', 'JobAssigned']);
  });
});

describe('faults on jobs', () => {
  it('reassignment: canceled then assigned again with a new request id, cancelled after the third', async () => {
    const { emu, setId, drain } = await start({ reassignAfterMs: 30_000 });
    const jobId = queue(emu, ['linux']);
    const [first] = await drain();
    const requestIds = [first!.runnerRequestId];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await emu.advance(30_000);
      expect(await drain()).toEqual([
        expect.objectContaining({ messageType: 'JobCompleted', result: 'canceled' }),
      ]);
      expect(emu.scaleSets.jobs(setId)).toEqual([
        expect.objectContaining({ state: 'requeued', reassignments: attempt }),
      ]);
      await emu.advance(5_000 * attempt);
      const [again] = await drain();
      expect(again).toMatchObject({ messageType: 'JobAssigned', jobId: String(jobId) });
      requestIds.push(again!.runnerRequestId);
    }
    expect(new Set(requestIds).size).toBe(4);
    await emu.advance(30_000);
    expect(types(await drain())).toEqual(['JobCompleted']);
    expect(emu.scaleSets.jobs(setId)).toEqual([]);
    expect(emu.github.jobs().find((job) => job.id === jobId)).toMatchObject({ conclusion: 'cancelled' });
  });

  it('a forced reassignment, and a runner that connects in time keeps the job', async () => {
    const { emu, client, setId, drain } = await start({ reassignAfterMs: 30_000 });
    const jobId = queue(emu, ['linux']);
    await drain();
    expect(emu.scaleSets.reassign(jobId)).toBe(true);
    expect(types(await drain())).toEqual(['JobCompleted']);
    await emu.advance(5_000);
    expect(types(await drain())).toEqual(['JobAssigned']);
    await client.generateJitConfig(setId, 'in-time');
    emu.scaleSets.connectRunner('in-time');
    await emu.advance(30_000);
    expect(types(await drain())).toEqual(['JobStarted']);
    expect(emu.scaleSets.reassign(jobId)).toBe(false);
  });

  it('stale statistics: assigned stuck high, or zero while JobAssigned arrive', async () => {
    const { emu, client, setId, session, drain } = await start();
    emu.scaleSets.staleStatistics(setId, { extraAssigned: 15 });
    queue(emu, ['linux']);
    const answer = await client.poll(session);
    expect(answer.json.statistics).toMatchObject({ totalAssignedJobs: 16, totalRunningJobs: 0 });
    const set = await client.call('GET', `_apis/runtime/runnerscalesets/${setId}`);
    expect(set.json.statistics).toMatchObject({ totalAssignedJobs: 16 });
    await drain();
    emu.scaleSets.staleStatistics(setId, { zero: true });
    queue(emu, ['linux']);
    const zero = await client.poll(session, { lastMessageId: Number(answer.json.messageId) });
    expect(types(jobMessages(zero.json))).toEqual(['JobAssigned']);
    expect(zero.json.statistics).toMatchObject({ totalAssignedJobs: 0, totalAcquiredJobs: 0 });
    emu.scaleSets.staleStatistics(setId, undefined);
    expect(emu.scaleSets.statistics(setId).totalAssignedJobs).toBe(2);
  });
});

describe('the instance simulator runs scale-set runners', () => {
  it('an instance whose SSM JIT config is a scale-set config takes the set assignment, then shuts down', async () => {
    const { emu, client, setId, drain } = await start(
      {},
      { simulator: { bootDelayMs: 1_000, runnerStartMs: 2_000, runnerExitMs: 500 } },
    );
    // An ordinary runner that would match the job by labels stays out of it.
    emu.seedInstance({
      environment: 'prod',
      pool: 'plain',
      withRunner: 'idle',
      labels: ['self-hosted', 'linux'],
    });
    const jobId = queue(emu, ['self-hosted', 'linux'], 'acme/app', 20_000);
    expect(types(await drain())).toEqual(['JobAssigned']);

    const jit = await client.generateJitConfig(setId, 'prod-scale-set-runner');
    const config = String(jit.json.encodedJITConfig);
    const seeded = emu.seedInstance({
      environment: 'prod',
      pool: 'linux',
      bootstrap: true,
      withParameter: config,
    });
    expect(emu.simulator.phase(seeded.instanceId)).toBe('starting');
    expect(emu.ssm.parameter(seeded.parameterName!)).toBeUndefined();
    await emu.advance(2_000);
    expect(emu.simulator.phase(seeded.instanceId)).toBe('busy');
    const [started] = await drain();
    expect(started).toMatchObject({ messageType: 'JobStarted', runnerName: 'prod-scale-set-runner' });
    expect(emu.github.runner('prod-scale-set-runner')).toMatchObject({
      instanceId: seeded.instanceId,
      busy: true,
    });
    expect(
      emu.github.runners().find((runner) => runner.labels.includes('linux') && !runner.busy),
    ).toBeDefined();

    await emu.advance(20_000);
    expect(await drain()).toEqual([
      expect.objectContaining({ messageType: 'JobCompleted', result: 'succeeded' }),
    ]);
    expect(emu.github.runner('prod-scale-set-runner')).toBeUndefined();
    await emu.advance(1_000);
    expect(emu.ec2.instance(seeded.instanceId)!.state).not.toBe('running');
    expect(emu.github.jobs().find((job) => job.id === jobId)).toMatchObject({ conclusion: 'success' });
  });

  it('a scale-set runner idles until a job is assigned; its instance dying fails the job', async () => {
    const { emu, client, setId, drain } = await start({}, { simulator: { runnerStartMs: 1_000 } });
    const jit = await client.generateJitConfig(setId, 'spot-runner');
    const seeded = emu.seedInstance({
      environment: 'prod',
      pool: 'linux',
      bootstrap: true,
      withParameter: String(jit.json.encodedJITConfig),
    });
    await emu.advance(1_000);
    expect(emu.simulator.phase(seeded.instanceId)).toBe('idle');
    expect(emu.scaleSets.statistics(setId)).toMatchObject({ totalIdleRunners: 1 });
    // A job for ordinary runners with labels the runner has does not reach it.
    queue(emu, ['self-hosted', 'linux', 'x64']);
    expect(emu.simulator.phase(seeded.instanceId)).toBe('idle');
    const jobId = queue(emu, ['linux'], 'acme/app', 600_000);
    expect(emu.simulator.phase(seeded.instanceId)).toBe('busy');
    emu.faults.interrupt(seeded.instanceId);
    const messages = await drain();
    expect(types(messages)).toEqual(['JobAssigned', 'JobStarted', 'JobCompleted']);
    expect(messages[2]).toMatchObject({ jobId: String(jobId), result: 'failed', runnerName: 'spot-runner' });
    expect(emu.github.killedJobs()).toEqual([expect.objectContaining({ jobId, cause: 'interrupted' })]);
  });
});
