import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BadAnswerError,
  InvalidSessionError,
  QueueUnauthorizedError,
  ScaleSetNotFoundError,
  SessionConflictError,
  SessionGoneError,
} from '../../../src/github/scaleset/index.js';
import type { ScaleSetClient, ScaleSetSession } from '../../../src/github/scaleset/types.js';
import {
  API_VERSION,
  exception,
  hourToken,
  mockTokenChain,
  newClient,
  SERVICE_ORIGIN,
  service,
  statistics,
  withBom,
} from './fixtures.js';

const SESSIONS = '/rest/_apis/runtime/runnerscalesets/7/sessions';
const QUEUE_URL = `${SERVICE_ORIGIN}/scalesets/message?sessionId=s-1`;
const QUEUE_TOKEN = 'queue-token-0001';

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function sessionAnswer(overrides: Record<string, unknown> = {}) {
  return {
    sessionId: 's-1',
    ownerName: 'listener-host',
    runnerScaleSet: { id: 7, name: 'linux' },
    messageQueueUrl: QUEUE_URL,
    messageQueueAccessToken: QUEUE_TOKEN,
    statistics: statistics(3, 1),
    ...overrides,
  };
}

/** A client with a session on scale set 7 (queue URL QUEUE_URL, token QUEUE_TOKEN). */
async function withSession(): Promise<{
  client: ScaleSetClient;
  session: ScaleSetSession;
  admin: string;
  log: ReturnType<typeof newClient>['log'];
}> {
  const admin = hourToken();
  mockTokenChain(admin);
  service(admin)
    .post(SESSIONS, { ownerName: 'listener-host' })
    .query(API_VERSION)
    .reply(200, sessionAnswer());
  const { client, log } = newClient();
  const session = await client.createSession(7, 'listener-host');
  return { client, session, admin, log };
}

function queue(token = QUEUE_TOKEN): nock.Scope {
  return nock(SERVICE_ORIGIN, { reqheaders: { authorization: `Bearer ${token}` } });
}

describe('createSession', () => {
  it('creates a session whose object carries the initial statistics but no token', async () => {
    const { session, log } = await withSession();
    expect(session).toEqual({
      sessionId: 's-1',
      scaleSetId: 7,
      ownerName: 'listener-host',
      statistics: statistics(3, 1),
    });
    expect(JSON.stringify(session)).not.toContain(QUEUE_TOKEN);
    expect(log.secrets).toContain(QUEUE_TOKEN);
  });

  it.each([
    [
      'a conflict exception',
      409,
      exception('RunnerScaleSetSessionConflictException', 'already has an active session'),
      SessionConflictError,
    ],
    ['a bare 409', 409, { message: 'conflict' }, SessionConflictError],
    [
      'a scale set not found exception',
      404,
      exception('RunnerScaleSetNotFoundException', 'gone'),
      ScaleSetNotFoundError,
    ],
    ['a bare 404', 404, 'Not Found', ScaleSetNotFoundError],
  ])('answers %s with a typed error', async (_name, status, body, type) => {
    const admin = hourToken();
    mockTokenChain(admin);
    service(admin).post(SESSIONS).query(API_VERSION).reply(status, body);
    const { client } = newClient();
    await expect(client.createSession(7, 'listener-host')).rejects.toThrow(type);
  });

  it('deletes a session answered without a queue URL and reports it invalid', async () => {
    const admin = hourToken();
    mockTokenChain(admin);
    service(admin)
      .post(SESSIONS)
      .query(API_VERSION)
      .reply(200, sessionAnswer({ messageQueueUrl: '' }));
    service(admin).delete(`${SESSIONS}/s-1`).query(API_VERSION).reply(204);
    const { client } = newClient();
    const error = await client.createSession(7, 'listener-host').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSessionError);
    expect(error).toMatchObject({ kind: 'invalid-session', sessionDeleted: true });
    expect((error as Error).message).toMatch(/without a usable messageQueueUrl \(session deleted\)/);
  });

  it('reports a session answer without id or token invalid, with nothing to delete', async () => {
    const admin = hourToken();
    mockTokenChain(admin);
    service(admin)
      .post(SESSIONS)
      .query(API_VERSION)
      .reply(200, sessionAnswer({ sessionId: '', messageQueueAccessToken: '' }));
    const { client } = newClient();
    const error = await client.createSession(7, 'listener-host').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'invalid-session', sessionDeleted: false });
    expect((error as Error).message).toMatch(/sessionId, messageQueueAccessToken/);
  });
});

/** One job message of each kind, and one of a type the client does not know. */
const JOB_BASE = {
  repositoryName: 'app',
  ownerName: 'acme',
  jobWorkflowRef: 'acme/app/.github/workflows/ci.yml@refs/heads/main',
  jobDisplayName: 'build',
  workflowRunId: 99,
  eventName: 'push',
  requestLabels: ['self-hosted', 'linux'],
  queueTime: '2026-11-01T10:00:00.5Z',
  scaleSetAssignTime: '2026-11-01T10:00:01Z',
  runnerAssignTime: '0001-01-01T00:00:00Z',
  finishTime: '0001-01-01T00:00:00Z',
};
const JOBS = [
  {
    ...JOB_BASE,
    messageType: 'JobAvailable',
    runnerRequestId: 11,
    jobId: 'j-11',
    acquireJobUrl: 'https://x/acquire',
  },
  { ...JOB_BASE, messageType: 'JobAssigned', runnerRequestId: 12, jobId: 'j-12' },
  {
    ...JOB_BASE,
    messageType: 'JobStarted',
    runnerRequestId: 13,
    jobId: 'j-13',
    runnerId: 5,
    runnerName: 'rs-a',
  },
  {
    ...JOB_BASE,
    messageType: 'JobCompleted',
    runnerRequestId: 14,
    jobId: 'j-14',
    runnerId: 6,
    runnerName: 'rs-b',
    result: 'succeeded',
    finishTime: '2026-11-01T10:05:00Z',
  },
  { messageType: 'JobCanceledSomeday', runnerRequestId: 15 },
];

describe('getMessage', () => {
  it('long-polls the queue URL (its query kept) with the queue token and max capacity; 202 = none', async () => {
    const { client, session } = await withSession();
    queue()
      .matchHeader('accept', 'application/json; api-version=6.0-preview')
      .matchHeader('x-scalesetmaxcapacity', '5')
      .get('/scalesets/message')
      .query({ sessionId: 's-1' })
      .reply(202);
    await expect(client.getMessage(session, 0, 5)).resolves.toBeUndefined();
  });

  it('keeps an unusual queue query byte for byte (Octokit templates and re-encoding avoided)', async () => {
    const admin = hourToken();
    mockTokenChain(admin);
    const odd = `${SERVICE_ORIGIN}/scalesets/message?sessionId=s-1&scope=queue:read&sig=a~b%2Fc`;
    service(admin)
      .post(SESSIONS)
      .query(API_VERSION)
      .reply(200, sessionAnswer({ messageQueueUrl: odd }));
    const { client } = newClient();
    const session = await client.createSession(7, 'listener-host');
    let path = '';
    queue()
      .get((uri) => {
        path = uri;
        return uri.startsWith('/scalesets/message?');
      })
      .reply(202);
    await client.getMessage(session, 12, 1);
    expect(path).toBe('/scalesets/message?sessionId=s-1&scope=queue%3Aread&sig=a~b%2Fc&lastMessageId=12');
  });

  it('adds lastMessageId only when above 0', async () => {
    const { client, session } = await withSession();
    queue().get('/scalesets/message').query({ sessionId: 's-1', lastMessageId: '100000171' }).reply(202);
    await expect(client.getMessage(session, 100000171, 2)).resolves.toBeUndefined();
  });

  it('parses the message and its JSON-string body (a second parse), skipping unknown job types', async () => {
    const { client, session } = await withSession();
    queue()
      .get('/scalesets/message')
      .query(true)
      .reply(
        200,
        withBom({
          messageId: 100000172,
          messageType: 'RunnerScaleSetJobMessages',
          statistics: statistics(4, 2),
          body: JSON.stringify(JOBS),
        }),
        { 'Content-Type': 'application/json' },
      );
    const message = await client.getMessage(session, 100000171, 5);
    expect(message).toMatchObject({
      messageId: 100000172,
      messageType: 'RunnerScaleSetJobMessages',
      statistics: statistics(4, 2),
      ignoredTypes: ['JobCanceledSomeday'],
    });
    expect(message?.jobs.map((job) => job.messageType)).toEqual([
      'JobAvailable',
      'JobAssigned',
      'JobStarted',
      'JobCompleted',
    ]);
    expect(message?.jobs[0]).toMatchObject({
      messageType: 'JobAvailable',
      runnerRequestId: 11,
      jobId: 'j-11',
      acquireJobUrl: 'https://x/acquire',
      requestLabels: ['self-hosted', 'linux'],
      workflowRunId: 99,
      queueTime: new Date('2026-11-01T10:00:00.500Z'),
      scaleSetAssignTime: new Date('2026-11-01T10:00:01Z'),
      runnerAssignTime: undefined,
    });
    expect(message?.jobs[2]).toMatchObject({ messageType: 'JobStarted', runnerId: 5, runnerName: 'rs-a' });
    expect(message?.jobs[3]).toMatchObject({
      messageType: 'JobCompleted',
      result: 'succeeded',
      runnerName: 'rs-b',
      finishTime: new Date('2026-11-01T10:05:00Z'),
    });
  });

  it('reads an empty body as no jobs, and another message type as a message without jobs', async () => {
    const { client, session } = await withSession();
    queue()
      .get('/scalesets/message')
      .query(true)
      .reply(200, {
        messageId: 1,
        messageType: 'RunnerScaleSetJobMessages',
        body: '',
        statistics: statistics(0),
      })
      .get('/scalesets/message')
      .query(true)
      .reply(200, { messageId: 2, messageType: 'SomethingNew', body: '[{"messageType":"JobAssigned"}]' });
    await expect(client.getMessage(session, 0, 1)).resolves.toMatchObject({
      messageId: 1,
      jobs: [],
      ignoredTypes: [],
    });
    await expect(client.getMessage(session, 1, 1)).resolves.toMatchObject({
      messageId: 2,
      messageType: 'SomethingNew',
      jobs: [],
    });
  });

  it('rejects a body that is not a JSON list', async () => {
    const { client, session } = await withSession();
    queue()
      .get('/scalesets/message')
      .query(true)
      .reply(200, { messageId: 3, messageType: 'RunnerScaleSetJobMessages', body: '{not json' });
    const error = await client.getMessage(session, 0, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadAnswerError);
    expect((error as Error).message).toMatch(/message 3 has a body that is not JSON/);
  });

  it('rejects a negative or fractional max capacity', async () => {
    const { client, session } = await withSession();
    await expect(client.getMessage(session, 0, -1)).rejects.toThrow(/maxCapacity: got -1/);
    await expect(client.getMessage(session, 0.5, 1)).rejects.toThrow(/lastMessageId: got 0.5/);
  });
});

describe('acknowledge and acquire', () => {
  it('deletes a message under the queue path, its query kept', async () => {
    const { client, session } = await withSession();
    queue()
      .matchHeader('content-type', 'application/json')
      .delete('/scalesets/message/100000172')
      .query({ sessionId: 's-1' })
      .reply(204);
    await client.deleteMessage(session, 100000172);
  });

  it('acquires jobs on the service URL with the queue token (not the admin token)', async () => {
    const { client, session } = await withSession();
    queue()
      .post('/rest/_apis/runtime/runnerscalesets/7/acquirejobs', [11, 12])
      .query(API_VERSION)
      .reply(200, { count: 1, value: [11] });
    await expect(client.acquireJobs(session, [11, 12])).resolves.toEqual([11]);
    await expect(client.acquireJobs(session, [])).resolves.toEqual([]);
  });
});

describe('queue token expiry', () => {
  const REFRESHED_URL = `${SERVICE_ORIGIN}/scalesets/message2?sessionId=s-1`;
  const NEW_TOKEN = 'queue-token-0002';

  function refreshAnswer(admin: string) {
    service(admin)
      .patch(`${SESSIONS}/s-1`)
      .query(API_VERSION)
      .reply(200, sessionAnswer({ messageQueueUrl: REFRESHED_URL, messageQueueAccessToken: NEW_TOKEN }));
  }

  it.each([
    [
      'getMessage',
      () => queue().get('/scalesets/message').query(true).reply(401),
      () => queue(NEW_TOKEN).get('/scalesets/message2').query({ sessionId: 's-1' }).reply(202),
      (client: ScaleSetClient, session: ScaleSetSession) => client.getMessage(session, 0, 1),
    ],
    [
      'deleteMessage',
      () => queue().delete('/scalesets/message/5').query(true).reply(401),
      () => queue(NEW_TOKEN).delete('/scalesets/message2/5').query({ sessionId: 's-1' }).reply(204),
      (client: ScaleSetClient, session: ScaleSetSession) => client.deleteMessage(session, 5),
    ],
    [
      'acquireJobs',
      () => queue().post('/rest/_apis/runtime/runnerscalesets/7/acquirejobs').query(API_VERSION).reply(401),
      () =>
        queue(NEW_TOKEN)
          .post('/rest/_apis/runtime/runnerscalesets/7/acquirejobs')
          .query(API_VERSION)
          .reply(200, { count: 1, value: [11] }),
      (client: ScaleSetClient, session: ScaleSetSession) => client.acquireJobs(session, [11]),
    ],
  ])(
    '%s: 401 -> PATCH the session -> retry once with the new URL and token',
    async (_name, expired, renewed, run) => {
      const { client, session, admin, log } = await withSession();
      expired();
      refreshAnswer(admin);
      renewed();
      await run(client, session);
      expect(log.secrets).toContain(NEW_TOKEN);
    },
  );

  it('gives up with QueueUnauthorizedError when the new token is refused too', async () => {
    const { client, session, admin } = await withSession();
    queue().get('/scalesets/message').query(true).reply(401);
    refreshAnswer(admin);
    queue(NEW_TOKEN).get('/scalesets/message2').query(true).reply(401);
    const error = await client.getMessage(session, 0, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueUnauthorizedError);
    expect((error as Error).message).toMatch(/HTTP 401.*again after refreshing the session/);
  });

  it('refreshes once for concurrent calls that met the same expired token', async () => {
    const { client, session, admin } = await withSession();
    queue().get('/scalesets/message').query(true).reply(401);
    queue().post('/rest/_apis/runtime/runnerscalesets/7/acquirejobs').query(API_VERSION).reply(401);
    refreshAnswer(admin); // exactly one PATCH is mocked
    queue(NEW_TOKEN).get('/scalesets/message2').query(true).reply(202);
    queue(NEW_TOKEN)
      .post('/rest/_apis/runtime/runnerscalesets/7/acquirejobs')
      .query(API_VERSION)
      .reply(200, { count: 1, value: [11] });
    await Promise.all([client.getMessage(session, 0, 1), client.acquireJobs(session, [11])]);
  });

  it('reports an evicted session (PATCH 404) with SessionGoneError', async () => {
    const { client, session, admin } = await withSession();
    queue().get('/scalesets/message').query(true).reply(401);
    service(admin)
      .patch(`${SESSIONS}/s-1`)
      .query(API_VERSION)
      .reply(404, exception('RunnerAdminException', "session ID s-1 doesn't exist in redis"));
    const error = await client.getMessage(session, 0, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionGoneError);
    expect((error as Error).message).toMatch(/doesn't exist in redis \(session s-1 was evicted\)/);
  });

  it('reports a scale set deleted behind the session with ScaleSetNotFoundError', async () => {
    const { client, session, admin } = await withSession();
    service(admin)
      .patch(`${SESSIONS}/s-1`)
      .query(API_VERSION)
      .reply(404, exception('RunnerScaleSetNotFoundException', 'scale set 7 not found'));
    await expect(client.refreshSession(session)).rejects.toThrow(ScaleSetNotFoundError);
  });

  it('deletes a refreshed session answered without a queue URL', async () => {
    const { client, session, admin } = await withSession();
    service(admin)
      .patch(`${SESSIONS}/s-1`)
      .query(API_VERSION)
      .reply(200, sessionAnswer({ messageQueueUrl: '' }));
    service(admin).delete(`${SESSIONS}/s-1`).query(API_VERSION).reply(204);
    await expect(client.refreshSession(session)).rejects.toMatchObject({
      kind: 'invalid-session',
      sessionDeleted: true,
    });
  });
});

describe('deleteSession', () => {
  it('deletes the session; the client then refuses to use it', async () => {
    const { client, session, admin } = await withSession();
    service(admin).delete(`${SESSIONS}/s-1`).query(API_VERSION).reply(204);
    await expect(client.deleteSession(session)).resolves.toBe('deleted');
    await expect(client.getMessage(session, 0, 1)).rejects.toThrow(/not created by this client, or deleted/);
  });

  it.each([
    [
      '400 session expired',
      400,
      exception('RunnerScaleSetSessionExpiredException', 'session identifier s-1 is not valid'),
    ],
    ['404', 404, 'Not Found'],
    ['404 scale set gone', 404, exception('RunnerScaleSetNotFoundException', 'gone')],
  ])('answers "gone" to %s', async (_name, status, body) => {
    const { client, session, admin } = await withSession();
    service(admin).delete(`${SESSIONS}/s-1`).query(API_VERSION).reply(status, body);
    await expect(client.deleteSession(session)).resolves.toBe('gone');
  });

  it('throws other failures and keeps the session usable', async () => {
    const { client, session, admin } = await withSession();
    service(admin).delete(`${SESSIONS}/s-1`).query(API_VERSION).reply(403, { message: 'forbidden' });
    await expect(client.deleteSession(session)).rejects.toMatchObject({ status: 403 });
    queue().get('/scalesets/message').query(true).reply(202);
    await expect(client.getMessage(session, 0, 1)).resolves.toBeUndefined();
  });
});
