// Every token of the protocol is masked when it first arrives and never written to the log, through a
// whole listener cycle including retries, refreshes and failures.
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  API_VERSION,
  exception,
  fakeJwt,
  mockTokenChain,
  newClient,
  PAT,
  SERVICE_ORIGIN,
  service,
} from './fixtures.js';

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

const SETS = '/rest/_apis/runtime/runnerscalesets';

it('masks every token and logs none, through a whole cycle', async () => {
  const { client, log, clock } = newClient({ retries: 1 });
  const firstAdmin = fakeJwt(Math.floor(clock.now / 1000) + 600, 'admin-first');
  const secondAdmin = fakeJwt(Math.floor(clock.now / 1000) + 7200, 'admin-second');
  const chain1 = mockTokenChain(firstAdmin, { registrationToken: 'reg-token-first' });
  service(firstAdmin)
    .post(`${SETS}/7/sessions`)
    .query(API_VERSION)
    .reply(200, {
      sessionId: 's-1',
      messageQueueUrl: `${SERVICE_ORIGIN}/message`,
      messageQueueAccessToken: 'queue-token-first',
    });
  const session = await client.createSession(7, 'host');

  // The queue token expires: 401, PATCH for a new one, retry; a 5xx echoing the token is retried.
  nock(SERVICE_ORIGIN).get('/message').reply(401, 'Bearer queue-token-first is expired');
  service(firstAdmin)
    .patch(`${SETS}/7/sessions/s-1`)
    .query(API_VERSION)
    .reply(200, {
      sessionId: 's-1',
      messageQueueUrl: `${SERVICE_ORIGIN}/message`,
      messageQueueAccessToken: 'queue-token-second',
    });
  nock(SERVICE_ORIGIN)
    .get('/message')
    .reply(503, { message: 'proxy saw authorization: Bearer queue-token-second' })
    .get('/message')
    .reply(202);
  await client.getMessage(session, 0, 3);

  // The admin token nears its expiry: the chain runs again before the next call.
  clock.now += 580_000;
  const chain2 = mockTokenChain(secondAdmin, { registrationToken: 'reg-token-second' });
  const jitConfig = Buffer.from('{"credentials":"runner-credential-secret"}').toString('base64');
  service(secondAdmin)
    .post(`${SETS}/7/generatejitconfig`)
    .query(API_VERSION)
    .reply(200, { runner: { id: 1, name: 'rs-1', runnerScaleSetId: 7 }, encodedJITConfig: jitConfig });
  await client.generateJitConfig(7, 'rs-1');

  // A failure whose body echoes the admin token.
  service(secondAdmin)
    .delete(`${SETS}/7/sessions/s-1`)
    .query(API_VERSION)
    .reply(403, exception('AccessDeniedException', `token ${secondAdmin} may not do this`));
  const failure = (await client.deleteSession(session).catch((e: unknown) => e)) as Error;
  expect(failure).toBeInstanceOf(Error);

  const secrets = [
    PAT,
    chain1.registrationToken,
    chain2.registrationToken,
    firstAdmin,
    secondAdmin,
    'queue-token-first',
    'queue-token-second',
    jitConfig,
  ];
  expect(log.secrets).toEqual(expect.arrayContaining(secrets));
  const written = [...log.lines(), failure.message].join('\n');
  expect(log.debugs.length + log.infos.length + log.warnings.length).toBeGreaterThan(5);
  for (const secret of secrets) expect(written).not.toContain(secret);
  expect(written).toContain('[REDACTED]');
});
