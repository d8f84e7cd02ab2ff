import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOctokit, type GitHubAuth } from '../../src/github/client.js';
import type { GitHubScope } from '../../src/types.js';
import { createRecordingLog, type RecordingLog } from './fake-log.js';

const API = 'https://api.github.test';
const ORG: GitHubScope = { kind: 'org', org: 'acme' };
const REPO: GitHubScope = { kind: 'repo', owner: 'acme', repo: 'app' };
const RUNNERS = '/orgs/acme/actions/runners';

// GitHub hands out PKCS#1 keys ("BEGIN RSA PRIVATE KEY").
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function appAuth(installationId?: number): GitHubAuth {
  return {
    kind: 'app',
    appId: '1234',
    privateKey,
    ...(installationId === undefined ? {} : { installationId }),
  };
}

/** The issuer of an app JWT whose signature matches the generated key; undefined for anything else. */
function jwtIssuer(authorization: string | null): unknown {
  const match = /^bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const [, header = '', claims = '', signature = ''] = match;
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${header}.${claims}`),
    createPublicKey(publicKey),
    Buffer.from(signature, 'base64url'),
  );
  return signed
    ? (JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: unknown }).iss
    : undefined;
}

const signedByTheApp = (authorization: string | null) => jwtIssuer(authorization) === '1234';

function runnersReply() {
  return { total_count: 0, runners: [] };
}

async function octokitWith(auth: GitHubAuth, log: RecordingLog, scope: GitHubScope = ORG, secondMs?: number) {
  return createOctokit({ auth, baseUrl: API, scope, log, ...(secondMs === undefined ? {} : { secondMs }) });
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('token auth', () => {
  it('masks the token and sends it to the given base URL', async () => {
    nock(API, { reqheaders: { authorization: 'token ghp_secret' } })
      .get(RUNNERS)
      .reply(200, runnersReply());
    const log = createRecordingLog();
    const octokit = await octokitWith({ kind: 'token', token: 'ghp_secret' }, log);
    expect(log.secrets).toEqual(['ghp_secret']);
    const response = await octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    expect(response.status).toBe(200);
  });
});

describe('app auth', () => {
  it('looks up the org installation with the app JWT, exchanges it for a masked installation token', async () => {
    nock(API)
      .matchHeader('authorization', signedByTheApp)
      .get('/orgs/acme/installation')
      .reply(200, { id: 777, account: { login: 'acme' } })
      .post('/app/installations/777/access_tokens')
      .reply(201, { token: 'ghs_installation', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    // Both requests use the cached installation token: no second exchange.
    nock(API, { reqheaders: { authorization: 'token ghs_installation' } })
      .get(RUNNERS)
      .twice()
      .reply(200, runnersReply());

    const log = createRecordingLog();
    const octokit = await octokitWith(appAuth(), log, ORG, 1);

    expect(log.secrets).toContain(privateKey);
    const keyLines = privateKey.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(10);
    for (const line of keyLines) expect(log.secrets).toContain(line);
    expect(log.secrets).toContain('ghs_installation');
    expect(log.lines().join('\n')).not.toContain('ghs_installation');

    await octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    await octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
  });

  it('looks up the repository installation in repo scope', async () => {
    nock(API)
      .matchHeader('authorization', signedByTheApp)
      .get('/repos/acme/app/installation')
      .reply(200, { id: 778 })
      .post('/app/installations/778/access_tokens')
      .reply(201, { token: 'ghs_repo', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    const log = createRecordingLog();
    await octokitWith(appAuth(), log, REPO, 1);
    expect(log.secrets).toContain('ghs_repo');
  });

  it('skips the lookup when the installation id is given', async () => {
    nock(API)
      .post('/app/installations/99/access_tokens')
      .reply(201, { token: 'ghs_given', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    const log = createRecordingLog();
    await octokitWith(appAuth(99), log, ORG, 1);
    expect(log.secrets).toContain('ghs_given');
  });

  it('explains a missing installation without leaking the key', async () => {
    nock(API).get('/orgs/acme/installation').reply(404, { message: 'Not Found' });
    const log = createRecordingLog();
    const error = await octokitWith(appAuth(), log, ORG, 1).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /Looking up the installation of GitHub App 1234 on organization acme failed \(is the app installed there\?\): HTTP 404/,
    );
    expect(error?.message).not.toContain('PRIVATE KEY');
    expect(log.secrets).toContain(privateKey);
  });
});

describe('rate limits and retries', () => {
  it('retries a secondary rate limit after retry-after and succeeds', async () => {
    nock(API)
      .get(RUNNERS)
      .reply(
        403,
        { message: 'You have exceeded a secondary rate limit. Please wait a few minutes.' },
        {
          'retry-after': '1',
        },
      )
      .get(RUNNERS)
      .reply(200, runnersReply());
    const log = createRecordingLog();
    const octokit = await octokitWith({ kind: 'token', token: 't' }, log);
    const started = Date.now();
    const response = await octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(log.warnings).toEqual([
      'GitHub secondary rate limit hit by GET /orgs/{org}/actions/runners; retry 1/3 in 1 s',
    ]);
  });

  it('gives up on a secondary rate limit after 3 retries', async () => {
    nock(API)
      .get(RUNNERS)
      .times(4)
      .reply(403, { message: 'You have exceeded a secondary rate limit.' }, { 'retry-after': '1' });
    const log = createRecordingLog();
    const octokit = await octokitWith({ kind: 'token', token: 't' }, log, ORG, 1);
    await expect(octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' })).rejects.toMatchObject({
      status: 403,
    });
    expect(log.warnings).toHaveLength(4);
    expect(log.warnings[3]).toMatch(/giving up after 3 retries/);
  });

  it('retries a primary rate limit that resets soon', async () => {
    const reset = Math.floor(Date.now() / 1000) + 2;
    nock(API)
      .get(RUNNERS)
      .reply(
        403,
        { message: 'API rate limit exceeded' },
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
        },
      )
      .get(RUNNERS)
      .reply(200, runnersReply());
    const log = createRecordingLog();
    const octokit = await octokitWith({ kind: 'token', token: 't' }, log, ORG, 1);
    await expect(octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' })).resolves.toMatchObject({
      status: 200,
    });
    expect(log.warnings[0]).toMatch(
      /^GitHub primary rate limit hit by GET \/orgs\/\{org\}\/actions\/runners; retry 1\/3/,
    );
  });

  it('fails a request whose primary rate limit resets later than a minute', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    nock(API)
      .get(RUNNERS)
      .reply(
        403,
        { message: 'API rate limit exceeded' },
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(reset),
        },
      );
    const log = createRecordingLog();
    const octokit = await octokitWith({ kind: 'token', token: 't' }, log, ORG, 1);
    await expect(octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' })).rejects.toMatchObject({
      status: 403,
    });
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/not waiting/);
  });

  it('retries server errors', async () => {
    nock(API).get(RUNNERS).reply(502, { message: 'Bad Gateway' }).get(RUNNERS).reply(200, runnersReply());
    const octokit = await octokitWith({ kind: 'token', token: 't' }, createRecordingLog(), ORG, 1);
    await expect(octokit.request('GET /orgs/{org}/actions/runners', { org: 'acme' })).resolves.toMatchObject({
      status: 200,
    });
  });

  it.each([409, 422])('does not retry %i (the gateway translates it)', async (status) => {
    nock(API).delete(`${RUNNERS}/1`).reply(status, { message: 'no' });
    const octokit = await octokitWith({ kind: 'token', token: 't' }, createRecordingLog(), ORG, 1);
    await expect(
      octokit.request('DELETE /orgs/{org}/actions/runners/{runner_id}', { org: 'acme', runner_id: 1 }),
    ).rejects.toMatchObject({ status });
  });
});

describe('createOctokit: a request checked right before it is sent', () => {
  const token: GitHubAuth = { kind: 'token', token: 'ghs_sendcheck_0123456789' };

  it('runs beforeSend after the wait in the write queue, once per request, in send order', async () => {
    const log = createRecordingLog();
    const octokit = await octokitWith(token, log);
    const api = nock(API);
    const sentAt: number[] = [];
    for (const id of [1, 2, 3])
      api.delete(`${RUNNERS}/${id}`).reply(204, () => (sentAt.push(Date.now()), ''));
    const checkedAt: number[] = [];
    const start = Date.now();
    await Promise.all(
      [1, 2, 3].map((id) =>
        octokit.request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
          org: 'acme',
          runner_id: id,
          request: { beforeSend: async () => (checkedAt.push(Date.now()), true) },
        }),
      ),
    );
    expect(checkedAt).toHaveLength(3);
    // Writes are spaced by the throttling plugin; each check happens when its write's turn comes, not at the call.
    expect(checkedAt[2]! - start).toBeGreaterThanOrEqual(2 * 300);
    for (let i = 0; i < 3; i++) expect(sentAt[i]! - checkedAt[i]!).toBeLessThan(300);
  });

  it('a beforeSend answering false cancels the request: nothing is sent, and it is not retried', async () => {
    const log = createRecordingLog();
    const octokit = await octokitWith(token, log);
    let checks = 0;
    const error = await octokit
      .request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
        org: 'acme',
        runner_id: 9,
        request: { beforeSend: async () => (checks++, false) },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('RequestCancelled');
    expect(checks).toBe(1);
  });
});
