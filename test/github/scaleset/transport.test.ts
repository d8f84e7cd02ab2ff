import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ActionsServiceError,
  AgentExistsError,
  AgentNotFoundError,
  classifyFailure,
  isTransientFailure,
  JobStillRunningError,
  ScaleSetNotFoundError,
  SessionConflictError,
  SessionGoneError,
} from '../../../src/github/scaleset/index.js';
import { parseRetryAfter, redactCredentials } from '../../../src/github/scaleset/transport.js';
import {
  API_VERSION,
  exception,
  hourToken,
  mockTokenChain,
  newClient,
  service,
  withBom,
} from './fixtures.js';

const SCALE_SET = { id: 7, name: 'linux', runnerGroupId: 1, labels: [{ name: 'linux', type: 'System' }] };
const GET_SET = '/rest/_apis/runtime/runnerscalesets/7';

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

/** A client whose token chain has run, and its admin token. */
async function readyClient(overrides: Parameters<typeof newClient>[0] = {}) {
  const admin = hourToken();
  mockTokenChain(admin);
  service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
  const test = newClient(overrides);
  await test.client.getScaleSet(7);
  return { ...test, admin };
}

describe('retries', () => {
  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    const { client, admin, log } = await readyClient();
    service(admin)
      .get(GET_SET)
      .query(API_VERSION)
      .reply(503, 'busy')
      .get(GET_SET)
      .query(API_VERSION)
      .reply(429, { message: 'slow down' })
      .get(GET_SET)
      .query(API_VERSION)
      .reply(502)
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, SCALE_SET);
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7 });
    expect(log.warnings.filter((line) => /retry \d\/4/.test(line))).toHaveLength(3);
    expect(log.warnings[0]).toMatch(
      /GET \/rest\/_apis\/runtime\/runnerscalesets\/7 failed: HTTP 503: busy; retry 1\/4/,
    );
  });

  it('retries POSTs too (the Go client does)', async () => {
    const { client, admin } = await readyClient();
    service(admin)
      .post('/rest/_apis/runtime/runnerscalesets/7/sessions')
      .query(API_VERSION)
      .reply(500)
      .post('/rest/_apis/runtime/runnerscalesets/7/sessions')
      .query(API_VERSION)
      .reply(200, {
        sessionId: 's-1',
        ownerName: 'me',
        messageQueueUrl: 'https://broker.actions.test/message',
        messageQueueAccessToken: 'queue-token-1',
      });
    await expect(client.createSession(7, 'me')).resolves.toMatchObject({ sessionId: 's-1' });
  });

  it('waits out Retry-After (seconds) instead of the shorter backoff', async () => {
    const { client, admin, log } = await readyClient({ secondMs: 40 });
    service(admin)
      .get(GET_SET)
      .query(API_VERSION)
      .reply(429, { message: 'rate limited' }, { 'Retry-After': '5' })
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, SCALE_SET);
    const started = performance.now();
    await client.getScaleSet(7);
    // Backoff alone would wait 40-80 ms; Retry-After asks for 5 "seconds" of 40 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(log.warnings.join('\n')).toMatch(/HTTP 429: rate limited; retry 1\/4 \(Retry-After 5 s\)/);
  });

  it('reads Retry-After as seconds or as an HTTP date, capped at 5 minutes', () => {
    const now = Date.parse('2026-11-01T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Sun, 01 Nov 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 01 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('86400', now)).toBe(300);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('retries network errors', async () => {
    const { client, admin } = await readyClient();
    service(admin)
      .get(GET_SET)
      .query(API_VERSION)
      .replyWithError('socket hang up')
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, SCALE_SET);
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7 });
  });

  it('gives up after the configured retries with a transient error', async () => {
    const { client, admin } = await readyClient({ retries: 2 });
    service(admin)
      .get(GET_SET)
      .query(API_VERSION)
      .times(3)
      .reply(500, exception('ServiceUnavailableException', 'down'));
    const error = await client.getScaleSet(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionsServiceError);
    expect(error).toMatchObject({ status: 500, transient: true });
    expect(isTransientFailure(error)).toBe(true);
  });

  it.each([400, 403, 404, 409, 422, 501])('does not retry HTTP %i', async (status) => {
    const { client, admin } = await readyClient();
    service(admin)
      .post('/rest/_apis/runtime/runnerscalesets/7/sessions')
      .query(API_VERSION)
      .once()
      .reply(status, {
        message: 'no',
      });
    const error = await client.createSession(7, 'me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionsServiceError);
    expect(error).toMatchObject({ status, transient: false });
  });
});

describe('bodies', () => {
  it('parses a JSON body that starts with a byte order mark', async () => {
    const { client, admin } = await readyClient();
    service(admin)
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, withBom({ ...SCALE_SET, name: 'bom-json' }), {
        'Content-Type': 'application/json; charset=utf-8',
      })
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, withBom({ ...SCALE_SET, name: 'bom-untyped' }))
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, withBom({ ...SCALE_SET, name: 'bom-binary' }), {
        'Content-Type': 'application/octet-stream',
      });
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ name: 'bom-json' });
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ name: 'bom-untyped' });
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ name: 'bom-binary' });
  });

  it('classifies an error body with a byte order mark and names the request ids', async () => {
    const { client, admin } = await readyClient();
    service(admin)
      .post('/rest/_apis/runtime/runnerscalesets/7/sessions')
      .query(API_VERSION)
      .reply(
        409,
        withBom(
          exception('RunnerScaleSetSessionConflictException', 'already has an active session for owner x'),
        ),
        { 'Content-Type': 'application/json', ActivityId: 'act-1', 'X-GitHub-Request-Id': 'req-1' },
      );
    const error = await client.createSession(7, 'me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionConflictError);
    expect((error as Error).message).toBe(
      'POST /rest/_apis/runtime/runnerscalesets/7/sessions failed: HTTP 409 RunnerScaleSetSessionConflictException: ' +
        'already has an active session for owner x [activity id act-1, request id req-1]',
    );
  });

  it('keeps a text/plain error body as the message, its credentials blanked', async () => {
    const { client, admin, log } = await readyClient({ retries: 0 });
    service(admin)
      .get(GET_SET)
      .query(API_VERSION)
      .reply(500, `upstream failed for Authorization: Bearer ${admin}`, { 'Content-Type': 'text/plain' });
    const error = await client.getScaleSet(7).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /HTTP 500: upstream failed for Authorization: Bearer \[REDACTED\]$/,
    );
    expect((error as Error).message).not.toContain(admin);
    expect(log.lines().join('\n')).not.toContain(admin);
  });

  it('blanks credentials after any auth scheme', () => {
    expect(redactCredentials('"authorization":"RemoteAuth AAAABBBBCCCC"')).toBe(
      '"authorization":"RemoteAuth [REDACTED]"',
    );
    expect(redactCredentials('{"token": "ghs_0123456789"}')).toBe('{"token": "[REDACTED]"}');
    expect(redactCredentials('runner token expired')).toBe('runner token expired');
  });
});

describe('error classification by typeName substring', () => {
  it.each([
    ['AgentExistsException', AgentExistsError, 'agent-exists'],
    ['AgentNotFoundException', AgentNotFoundError, 'agent-not-found'],
    ['JobStillRunningException', JobStillRunningError, 'job-still-running'],
    ['RunnerScaleSetSessionConflictException', SessionConflictError, 'session-conflict'],
    ['RunnerScaleSetNotFoundException', ScaleSetNotFoundError, 'scale-set-not-found'],
    ['RunnerScaleSetSessionExpiredException', SessionGoneError, 'session-gone'],
    ['RunnerAdminException', ActionsServiceError, 'http'],
  ])('%s -> %o', (name, type, kind) => {
    const error = classifyFailure({
      method: 'GET',
      path: '/x',
      status: 400,
      typeName: `GitHub.Actions.Runtime.WebApi.${name}, GitHub.Actions.Runtime.WebApi`,
    });
    expect(error).toBeInstanceOf(type);
    expect(error.kind).toBe(kind);
    expect(error.message).toBe(`GET /x failed: HTTP 400 ${name}`);
  });
});
