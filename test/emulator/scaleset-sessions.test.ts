// Sessions and the message queue of the runner scale set protocol on the emulator, with the faults
// listeners meet: conflicts after a crash, eviction, token expiry, a deleted scale set, broker 5xx
// storms and an empty messageQueueUrl.
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
  type ScaleSetClient,
  type ScaleSetSession,
} from './scaleset-client.js';

let emulator: Emulator | undefined;

async function start(
  scaleSets: ScaleSetOptions = {},
  options: EmulatorOptions = {},
): Promise<{ emu: Emulator; client: ScaleSetClient; setId: number }> {
  emulator = await startEmulator({
    simulator: false,
    ...options,
    github: { orgs: ['acme'], scaleSets: { pollTimeoutMs: 1_000, ...scaleSets } },
  });
  const client = await connect(emulator);
  const set = await client.createScaleSet('linux', ['linux', 'self-hosted']);
  return { emu: emulator, client, setId: Number(set.id) };
}

afterEach(async () => {
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

async function openSession(client: ScaleSetClient, setId: number, owner?: string): Promise<ScaleSetSession> {
  const created = await client.createSession(setId, owner);
  expect(created.status).toBe(200);
  return sessionOf(created);
}

function queueJobs(emu: Emulator, count: number, labels = ['self-hosted', 'linux']): number[] {
  return emu.github.queueRun({ repository: 'acme/app', jobs: [{ labels }], count }).jobIds;
}

describe('sessions', () => {
  it('one session per scale set: 409 for a second, DELETE frees it, a second DELETE is 400', async () => {
    const { emu, client, setId } = await start();
    const created = await client.createSession(setId, 'listener-a');
    const session = sessionOf(created);
    expect(created.json).toMatchObject({
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ownerName: 'listener-a',
      runnerScaleSet: { id: setId, name: 'linux' },
      messageQueueUrl: `${emu.url}/broker/scalesets/${setId}/messages?sessionId=${session.sessionId}`,
      messageQueueAccessToken: expect.any(String),
      statistics: { totalAssignedJobs: 0, totalRegisteredRunners: 0 },
    });
    expect(emu.issuedSecrets()).toContain(session.messageQueueAccessToken);

    const second = await client.createSession(setId, 'listener-b');
    expect(second.status).toBe(409);
    expect(second.json).toEqual({
      typeName:
        'GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException, GitHub.Actions.Runtime.WebApi',
      message: 'The actions runner scaleset linux already has an active session for owner listener-a.',
    });

    const path = `_apis/runtime/runnerscalesets/${setId}/sessions/${session.sessionId}`;
    expect((await client.call('DELETE', path)).status).toBe(204);
    const again = await client.call('DELETE', path);
    expect(again.status).toBe(400);
    expect(again.json.typeName).toContain('RunnerScaleSetSessionExpiredException');
    expect(again.json.message).toBe(`The session identifier ${session.sessionId} is not valid.`);
    expect((await client.poll(session)).status).toBe(401);
    const next = await openSession(client, setId, 'listener-b');
    expect(emu.scaleSets.sessions()).toEqual([
      expect.objectContaining({ id: next.sessionId, ownerName: 'listener-b' }),
    ]);
  });

  it('a 404 RunnerScaleSetNotFoundException for a session on an unknown scale set', async () => {
    const { client } = await start();
    const answer = await client.createSession(99);
    expect(answer.status).toBe(404);
    expect(answer.json.typeName).toContain('RunnerScaleSetNotFoundException');
  });

  it('PATCH hands out a new queue token; the old one answers 401', async () => {
    const { client, setId } = await start({ pollTimeoutMs: 200 });
    const session = await openSession(client, setId);
    const refreshed = await client.call(
      'PATCH',
      `_apis/runtime/runnerscalesets/${setId}/sessions/${session.sessionId}`,
    );
    expect(refreshed.status).toBe(200);
    const renewed = sessionOf(refreshed);
    expect(renewed.sessionId).toBe(session.sessionId);
    expect(renewed.messageQueueUrl).toBe(session.messageQueueUrl);
    expect(renewed.messageQueueAccessToken).not.toBe(session.messageQueueAccessToken);
    expect((await client.poll(session)).status).toBe(401);
    expect((await client.poll(renewed)).status).toBe(202);
  });

  it('queue tokens expire after their lifetime: 401 on get, ack and acquire until refreshed', async () => {
    const { emu, client, setId } = await start({ queueTokenLifetimeMs: 60_000 });
    const session = await openSession(client, setId);
    queueJobs(emu, 1);
    const first = await client.poll(session);
    expect(first.status).toBe(200);
    await emu.advance(60_000);
    expect((await client.poll(session)).status).toBe(401);
    expect((await client.ack(session, Number(first.json.messageId))).status).toBe(401);
    const acquire = await client.call('POST', `_apis/runtime/runnerscalesets/${setId}/acquirejobs`, {
      body: [1],
      token: session.messageQueueAccessToken,
    });
    expect(acquire.status).toBe(401);
    const renewed = sessionOf(
      await client.call('PATCH', `_apis/runtime/runnerscalesets/${setId}/sessions/${session.sessionId}`),
    );
    expect((await client.ack(renewed, Number(first.json.messageId))).status).toBe(204);
    // The fault expires them at once.
    expect(emu.scaleSets.expireQueueTokens(setId)).toBe(1);
    expect((await client.poll(renewed)).status).toBe(401);
  });

  it('a crashed session holds the scale set for the configured time, then gives way', async () => {
    const { emu, client, setId } = await start({ sessionTimeoutMs: 300_000 });
    const session = await openSession(client, setId, 'crashing');
    emu.scaleSets.crashSession(setId, 90_000);
    // The crashed owner is gone: its token no longer works, nobody can delete the session.
    expect((await client.poll(session)).status).toBe(401);
    expect((await client.createSession(setId, 'next')).status).toBe(409);
    await emu.advance(89_000);
    expect((await client.createSession(setId, 'next')).status).toBe(409);
    await emu.advance(1_000);
    expect((await client.createSession(setId, 'next')).status).toBe(200);
  });

  it('a crash before any listener: a phantom session held for the default session timeout', async () => {
    const { emu, client, setId } = await start({ sessionTimeoutMs: 120_000 });
    const phantom = emu.scaleSets.crashSession(setId);
    expect(phantom).toMatchObject({ ownerName: 'crashed-listener', crashed: true });
    const conflict = await client.createSession(setId);
    expect(conflict.status).toBe(409);
    expect(conflict.json.message).toContain('crashed-listener');
    await emu.advance(120_000);
    expect((await client.createSession(setId)).status).toBe(200);
  });

  it('a session whose owner went silent gives way after the session timeout, not while it polls', async () => {
    const { emu, client, setId } = await start({ sessionTimeoutMs: 1_500, pollTimeoutMs: 3_000 });
    const session = await openSession(client, setId, 'silent');
    const held = client.poll(session);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await emu.advance(120_000);
    // A poll in flight counts as activity; advance() alone does not silence the owner either.
    expect((await client.createSession(setId, 'usurper')).status).toBe(409);
    expect((await held).status).toBe(202);
    await emu.advance(120_000);
    expect((await client.createSession(setId, 'usurper')).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect((await client.createSession(setId, 'usurper')).status).toBe(200);
    expect((await client.poll(session)).status).toBe(401);
  });

  it('eviction: PATCH 404 (RunnerAdminException), DELETE 400, queue 401, a new session works', async () => {
    const { emu, client, setId } = await start();
    const session = await openSession(client, setId);
    expect(emu.scaleSets.evictSession(setId)).toBe(true);
    const path = `_apis/runtime/runnerscalesets/${setId}/sessions/${session.sessionId}`;
    const patch = await client.call('PATCH', path);
    expect(patch.status).toBe(404);
    expect(patch.json.typeName).toContain('RunnerAdminException');
    expect(patch.json.message).toContain("doesn't exist in redis");
    expect((await client.call('DELETE', path)).status).toBe(400);
    expect((await client.poll(session)).status).toBe(401);
    expect((await client.createSession(setId)).status).toBe(200);
  });

  it('an empty messageQueueUrl in the next session answer', async () => {
    const { emu, client, setId } = await start();
    emu.scaleSets.emptyQueueUrl();
    const broken = sessionOf(await client.createSession(setId));
    expect(broken.messageQueueUrl).toBe('');
    expect(broken.messageQueueAccessToken).not.toBe('');
    // The session is held all the same: the listener must delete it and make a new one.
    expect((await client.createSession(setId)).status).toBe(409);
    await client.call('DELETE', `_apis/runtime/runnerscalesets/${setId}/sessions/${broken.sessionId}`);
    const good = sessionOf(await client.createSession(setId));
    expect(good.messageQueueUrl).toContain('/broker/scalesets/');
  });
});

describe('message queue', () => {
  it('holds a poll until the timeout, then 202 with no body', async () => {
    const { emu, client, setId } = await start({ pollTimeoutMs: 1_000 });
    const session = await openSession(client, setId);
    const started = Date.now();
    const empty = await client.poll(session, { maxCapacity: 10 });
    expect(empty.status).toBe(202);
    expect(empty.text).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(emu.scaleSets.polls(setId)).toEqual([
      expect.objectContaining({
        sessionId: session.sessionId,
        maxCapacity: 10,
        lastMessageId: 0,
        status: 202,
      }),
    ]);
  });

  it('answers a held poll as soon as a job is assigned; ids start high; the body is a JSON string', async () => {
    const { emu, client, setId } = await start({ pollTimeoutMs: 10_000 });
    const session = await openSession(client, setId);
    const held = client.poll(session, { maxCapacity: 5 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [jobId] = queueJobs(emu, 1);
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      messageId: 100000001,
      messageType: 'RunnerScaleSetJobMessages',
      statistics: {
        totalAvailableJobs: 0,
        totalAcquiredJobs: 1,
        totalAssignedJobs: 1,
        totalRunningJobs: 0,
        totalRegisteredRunners: 0,
        totalBusyRunners: 0,
        totalIdleRunners: 0,
      },
    });
    expect(typeof answer.json.body).toBe('string');
    const [assigned] = jobMessages(answer.json);
    expect(assigned).toMatchObject({
      messageType: 'JobAssigned',
      runnerRequestId: expect.any(Number),
      repositoryName: 'app',
      ownerName: 'acme',
      jobId: String(jobId),
      jobDisplayName: 'job 1',
      eventName: 'push',
      requestLabels: ['self-hosted', 'linux'],
      runnerAssignTime: '0001-01-01T00:00:00Z',
      finishTime: '0001-01-01T00:00:00Z',
    });
    expect(Date.parse(String(assigned!.scaleSetAssignTime))).toBeGreaterThan(Date.now() - 10_000);
    expect(emu.scaleSets.polls(setId)[0]).toMatchObject({
      status: 200,
      messageId: 100000001,
      maxCapacity: 5,
    });
  });

  it('redelivers un-acked messages, skips up to lastMessageId, and forgets acked ones', async () => {
    const { emu, client, setId } = await start({ pollTimeoutMs: 300 });
    const session = await openSession(client, setId);
    queueJobs(emu, 1);
    const first = await client.poll(session);
    const again = await client.poll(session);
    expect(again.json).toEqual(first.json);
    queueJobs(emu, 1);
    const second = await client.poll(session, { lastMessageId: Number(first.json.messageId) });
    expect(Number(second.json.messageId)).toBeGreaterThan(Number(first.json.messageId));
    // Acknowledging keeps the queue URL's query; a URL without it is refused.
    const noQuery = await fetch(
      `${emu.url}/broker/scalesets/${setId}/messages/${String(first.json.messageId)}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${session.messageQueueAccessToken}` },
      },
    );
    expect(noQuery.status).toBe(400);
    expect((await client.ack(session, Number(first.json.messageId))).status).toBe(204);
    expect(emu.scaleSets.messages(setId).map((message) => message.messageId)).toEqual([
      second.json.messageId,
    ]);
    const redelivered = await client.poll(session);
    expect(redelivered.json.messageId).toBe(second.json.messageId);
    expect((await client.ack(session, Number(second.json.messageId))).status).toBe(204);
    expect((await client.poll(session)).status).toBe(202);
  });

  it('puts at most 50 job messages in a message; the statistics count the whole backlog', async () => {
    const { emu, client, setId } = await start({ pollTimeoutMs: 300 });
    const session = await openSession(client, setId);
    queueJobs(emu, 120);
    const sizes: number[] = [];
    let lastMessageId = 0;
    for (;;) {
      const answer = await client.poll(session, { lastMessageId });
      if (answer.status === 202) break;
      expect(answer.json.statistics!.totalAssignedJobs).toBe(120);
      sizes.push(jobMessages(answer.json).length);
      lastMessageId = Number(answer.json.messageId);
      await client.ack(session, lastMessageId);
    }
    expect(sizes).toEqual([50, 50, 20]);
  });

  it('never assigns more jobs than the X-ScaleSetMaxCapacity of the last poll', async () => {
    const { emu, client, setId } = await start({ pollTimeoutMs: 300 });
    const session = await openSession(client, setId);
    expect((await client.poll(session, { maxCapacity: 2 })).status).toBe(202);
    queueJobs(emu, 5);
    const first = await client.poll(session, { maxCapacity: 2 });
    expect(jobMessages(first.json).map((message) => message.messageType)).toEqual([
      'JobAssigned',
      'JobAssigned',
    ]);
    expect(first.json.statistics).toMatchObject({ totalAssignedJobs: 2, totalAcquiredJobs: 5 });
    await client.ack(session, Number(first.json.messageId));
    const more = await client.poll(session, { maxCapacity: 4, lastMessageId: Number(first.json.messageId) });
    expect(jobMessages(more.json)).toHaveLength(2);
    expect(emu.scaleSets.get(setId)).toMatchObject({ maxCapacity: 4, statistics: { totalAssignedJobs: 4 } });
    expect(emu.scaleSets.polls(setId).map((poll) => poll.maxCapacity)).toEqual([2, 2, 4]);
  });

  it('a poll held when the session is deleted answers 401', async () => {
    const { client, setId } = await start({ pollTimeoutMs: 10_000 });
    const session = await openSession(client, setId);
    const held = client.poll(session);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.call('DELETE', `_apis/runtime/runnerscalesets/${setId}/sessions/${session.sessionId}`);
    expect((await held).status).toBe(401);
  });
});

describe('service faults', () => {
  it('a scale set deleted behind the listener: 404 on get and session, its jobs go back to the queue', async () => {
    const { emu, client, setId } = await start();
    const session = await openSession(client, setId);
    const [jobId] = queueJobs(emu, 1);
    expect(emu.scaleSets.jobs(setId)).toHaveLength(1);
    emu.scaleSets.deleteScaleSet(setId);
    const get = await client.call('GET', `_apis/runtime/runnerscalesets/${setId}`);
    expect(get.status).toBe(404);
    expect(get.json.typeName).toContain('RunnerScaleSetNotFoundException');
    expect((await client.poll(session)).status).toBe(401);
    const patch = await client.call(
      'PATCH',
      `_apis/runtime/runnerscalesets/${setId}/sessions/${session.sessionId}`,
    );
    expect(patch.status).toBe(404);
    expect(patch.json.typeName).toContain('RunnerScaleSetNotFoundException');
    expect((await client.createSession(setId)).status).toBe(404);
    expect(emu.state.queuedJobs.has(jobId!)).toBe(true);
    // A new set with the same labels takes the job back.
    const recreated = await client.createScaleSet('linux', ['linux', 'self-hosted']);
    expect(Number(recreated.id)).not.toBe(setId);
    expect(emu.scaleSets.jobs(Number(recreated.id))).toEqual([
      expect.objectContaining({ jobId, state: 'assigned' }),
    ]);
    expect(emu.state.queuedJobs.has(jobId!)).toBe(false);
  });

  it('broker 5xx storms with Retry-After, on every call or only the queue', async () => {
    const { emu, client, setId } = await start({ pollTimeoutMs: 300 });
    const session = await openSession(client, setId);
    const storm = emu.scaleSets.brokerErrors({
      status: 503,
      times: 2,
      retryAfterSeconds: 3,
      routes: 'queue',
    });
    // Admin calls pass; queue calls fail twice.
    expect((await client.call('GET', `_apis/runtime/runnerscalesets/${setId}`)).status).toBe(200);
    const failed = await client.poll(session);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('3');
    expect(failed.json.typeName).toContain('VssServiceResponseException');
    expect((await client.poll(session)).status).toBe(503);
    expect(storm.remaining).toBe(0);
    expect((await client.poll(session)).status).toBe(202);

    emu.scaleSets.brokerErrors({ status: 500, times: 1 });
    expect((await client.call('GET', `_apis/runtime/runnerscalesets/${setId}`)).status).toBe(500);
    // The emulator's generic fault mechanism reaches these routes too (in GitHub's error shape).
    emu.faults.inject({
      service: 'github',
      action: /broker/,
      status: 502,
      times: 1,
      headers: { 'retry-after': '1' },
    });
    const generic = await client.poll(session);
    expect(generic.status).toBe(502);
    expect(generic.headers.get('retry-after')).toBe('1');
    expect(
      emu.calls.filter((call) => call.action === 'GET /broker/scalesets/{scale_set_id}/messages').length,
    ).toBe(4);
  });
});
