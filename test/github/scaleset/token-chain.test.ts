import { generateKeyPairSync } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jwtExpiryMs } from '../../../src/github/scaleset/admin-token.js';
import { ScaleSetAuthError } from '../../../src/github/scaleset/index.js';
import {
  API,
  API_VERSION,
  fakeJwt,
  hourToken,
  mockTokenChain,
  newClient,
  PAT,
  SERVICE_ORIGIN,
  service,
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

describe('personal access token', () => {
  it('runs the chain once, then calls the service with the admin token, keeping its path prefix', async () => {
    const admin = hourToken();
    const chain = mockTokenChain(admin);
    service(admin).get(GET_SET).query(API_VERSION).twice().reply(200, SCALE_SET);
    const { client, log } = newClient();

    await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7, name: 'linux' });
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7 });

    expect(log.secrets).toEqual(expect.arrayContaining([PAT, chain.registrationToken, admin]));
    expect(log.lines().join('\n')).toContain(
      'Actions service for https://github.com/acme: https://broker.actions.test/rest/',
    );
  });

  it('sends the Go client headers: JSON content type, the JSON User-Agent', async () => {
    const admin = hourToken();
    mockTokenChain(admin);
    let userAgent = '';
    nock(SERVICE_ORIGIN, { reqheaders: { 'content-type': 'application/json', accept: 'application/json' } })
      .matchHeader('user-agent', (value: string | null) => {
        userAgent = value ?? '';
        return true;
      })
      .get(GET_SET)
      .query(API_VERSION)
      .reply(200, SCALE_SET);
    const { client } = newClient();
    await client.getScaleSet(7);
    expect(JSON.parse(userAgent)).toEqual({
      system: 'runner-scaler',
      version: '1.2.3',
      commit_sha: 'unknown',
      scale_set_id: 7,
      subsystem: 'listener',
      build_version: '1.2.3',
      build_commit_sha: 'unknown',
      kind: 'scaleset',
    });
  });

  it('uses the repository registration endpoint and config URL in repo scope', async () => {
    const admin = hourToken();
    mockTokenChain(admin, { scopePath: '/repos/acme/app', configUrl: 'https://github.com/acme/app' });
    service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    const { client } = newClient({ scope: { kind: 'repo', owner: 'acme', repo: 'app' } });
    expect(client.configUrl).toBe('https://github.com/acme/app');
    await client.getScaleSet(7);
  });

  it('talks to a GHES-style API (/api/v3) for a 127.0.0.1 server, registering the server config URL', async () => {
    const admin = hourToken();
    mockTokenChain(admin, {
      api: 'http://127.0.0.1:4010',
      apiPath: '/api/v3',
      configUrl: 'http://127.0.0.1:4010/acme',
    });
    service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    const { client } = newClient({ serverUrl: 'http://127.0.0.1:4010' });
    await client.getScaleSet(7);
  });

  it('takes the API root from apiUrl when given (GITHUB_API_URL), the config URL from the server', async () => {
    const admin = hourToken();
    mockTokenChain(admin, { api: 'http://127.0.0.1:4011', configUrl: 'https://github.com/acme' });
    service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    const { client } = newClient({ serverUrl: 'https://github.com', apiUrl: 'http://127.0.0.1:4011/' });
    expect(client.configUrl).toBe('https://github.com/acme');
    await client.getScaleSet(7);
  });
});

describe('admin token lifetime', () => {
  it('runs the chain again when fewer than 60 s are left, before the call', async () => {
    const { client, clock } = newClient();
    const first = fakeJwt(Math.floor(clock.now / 1000) + 120, 'first');
    const second = fakeJwt(Math.floor(clock.now / 1000) + 3600, 'second');
    mockTokenChain(first);
    service(first).get(GET_SET).query(API_VERSION).twice().reply(200, SCALE_SET);
    await client.getScaleSet(7);
    clock.now += 59_000; // 61 s left: still good
    await client.getScaleSet(7);

    mockTokenChain(second);
    service(second).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    clock.now += 2_000; // 59 s left: renewed first
    await client.getScaleSet(7);
  });

  it('renews a token the service refuses (401) before its expiry, and retries the call once', async () => {
    const first = hourToken('first');
    const second = hourToken('second');
    mockTokenChain(first);
    service(first).get(GET_SET).query(API_VERSION).reply(401, { message: 'token revoked' });
    mockTokenChain(second);
    service(second).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    const { client, log } = newClient();
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7 });
    expect(log.warnings.join('\n')).toMatch(/HTTP 401.*renewing the admin token/);
  });

  it('shares one chain run between concurrent calls', async () => {
    const admin = hourToken();
    mockTokenChain(admin);
    service(admin).get(GET_SET).query(API_VERSION).times(3).reply(200, SCALE_SET);
    const { client } = newClient();
    await Promise.all([client.getScaleSet(7), client.getScaleSet(7), client.getScaleSet(7)]);
  });

  it('reads exp from a JWT without verifying it', () => {
    expect(jwtExpiryMs(fakeJwt(1_900_000_000))).toBe(1_900_000_000_000);
    expect(jwtExpiryMs('not-a-jwt')).toBeUndefined();
    expect(jwtExpiryMs(`a.${Buffer.from('{"sub":1}').toString('base64url')}.c`)).toBeUndefined();
  });
});

describe('chain failures', () => {
  it('retries the RemoteAuth exchange on 401/403 while the registration token propagates', async () => {
    const admin = hourToken();
    nock(API).post('/orgs/acme/actions/runners/registration-token').reply(201, { token: 'reg-1' });
    nock(API, { reqheaders: { authorization: 'RemoteAuth reg-1' } })
      .post('/actions/runner-registration')
      .reply(401, { message: 'Bad credentials' })
      .post('/actions/runner-registration')
      .reply(403, 'forbidden')
      .post('/actions/runner-registration')
      .reply(200, { url: 'https://broker.actions.test/rest', token: admin });
    service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    const { client } = newClient();
    await client.getScaleSet(7);
  });

  it('names the missing permission when the registration token is refused, without retrying', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/registration-token')
      .reply(403, { message: 'Resource not accessible' });
    const { client } = newClient();
    const error = await client.getScaleSet(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScaleSetAuthError);
    expect((error as Error).message).toMatch(
      /Self-hosted runners: read & write.*HTTP 403: Resource not accessible/,
    );
  });

  it('rejects a registration answer that is not 201 with a token', async () => {
    nock(API).post('/orgs/acme/actions/runners/registration-token').reply(200, { token: 'reg-1' });
    const { client } = newClient();
    await expect(client.getScaleSet(7)).rejects.toThrow(/answered HTTP 200 without a token; expected 201/);
  });

  it.each([
    ['no token', { url: 'https://broker.actions.test/' }, /without \{url, token\}/],
    ['no url', { token: 'x.y.z' }, /without \{url, token\}/],
    [
      'a token without exp',
      { url: 'https://broker.actions.test/', token: fakeJwt(0).replace(/\.[^.]+\./, '.e30.') },
      /exp/,
    ],
  ])('rejects a RemoteAuth answer with %s', async (_name, answer, message) => {
    nock(API).post('/orgs/acme/actions/runners/registration-token').reply(201, { token: 'reg-1' });
    nock(API).post('/actions/runner-registration').reply(201, answer);
    const { client } = newClient();
    const error = await client.getScaleSet(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScaleSetAuthError);
    expect((error as Error).message).toMatch(message);
  });

  it('runs the chain again on the next call after a failed one', async () => {
    nock(API).post('/orgs/acme/actions/runners/registration-token').reply(404, { message: 'Not Found' });
    const admin = hourToken();
    const { client } = newClient();
    await expect(client.getScaleSet(7)).rejects.toThrow(ScaleSetAuthError);
    mockTokenChain(admin);
    service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);
    await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7 });
  });
});

describe('GitHub App', () => {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });

  it('JWT -> installation token (201) -> registration token (201) -> admin token, all masked', async () => {
    const admin = hourToken();
    nock(API)
      .matchHeader('authorization', (value) => /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i.test(value ?? ''))
      .get('/orgs/acme/installation')
      .reply(200, { id: 777 })
      .post('/app/installations/777/access_tokens')
      .reply(201, { token: 'ghs_installation1', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    nock(API, { reqheaders: { authorization: 'token ghs_installation1' } })
      .post('/orgs/acme/actions/runners/registration-token')
      .reply(201, { token: 'reg-app-1' });
    nock(API, { reqheaders: { authorization: 'RemoteAuth reg-app-1' } })
      .post('/actions/runner-registration', { url: 'https://github.com/acme', runner_event: 'register' })
      .reply(201, { url: 'https://broker.actions.test/rest/', token: admin });
    service(admin).get(GET_SET).query(API_VERSION).reply(200, SCALE_SET);

    const { client, log } = newClient({ auth: { kind: 'app', appId: '1234', privateKey } });
    await client.getScaleSet(7);

    expect(log.secrets).toEqual(
      expect.arrayContaining([privateKey, 'ghs_installation1', 'reg-app-1', admin]),
    );
    const lines = log.lines().join('\n');
    for (const secret of ['ghs_installation1', 'reg-app-1', admin]) expect(lines).not.toContain(secret);
  });
});
