// Against a real local server: an attempt that gets no answer, or an answer that stops halfway, within the
// request timeout is retried; a caller's abort ends a long poll at once.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { API, hourToken, newClient, PAT } from './fixtures.js';

const SCALE_SET = { id: 7, name: 'linux', runnerGroupId: 1, labels: [] };
let server: Server;
let serviceUrl = '';
/** What the server does with each request, in order; requests past the list get the scale set. */
let behaviours: Array<(response: ServerResponse) => void> = [];
const held: ServerResponse[] = [];
let requests = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url?.includes('/sessions')) {
      const queueUrl = serviceUrl.replace('/rest/', '/message');
      const session = {
        sessionId: 's-1',
        messageQueueUrl: queueUrl,
        messageQueueAccessToken: 'queue-token-9',
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(session));
      return;
    }
    const behaviour = behaviours[requests++];
    if (behaviour) behaviour(response);
    else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(SCALE_SET));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serviceUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/`;
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterAll(async () => {
  nock.enableNetConnect();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  for (const response of held.splice(0)) response.destroy();
  behaviours = [];
  requests = 0;
  nock.cleanAll();
});

function mockChain(): void {
  nock(API, { reqheaders: { authorization: `token ${PAT}` } })
    .post('/orgs/acme/actions/runners/registration-token')
    .reply(201, { token: 'reg-1' });
  nock(API).post('/actions/runner-registration').reply(201, { url: serviceUrl, token: hourToken() });
}

it('retries an attempt that gets no answer within the timeout', async () => {
  mockChain();
  behaviours = [(response) => void held.push(response)];
  const { client, log } = newClient({ requestTimeoutMs: 200 });
  await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7 });
  expect(requests).toBe(2);
  expect(log.warnings.join('\n')).toMatch(
    /GET \/rest\/_apis\/runtime\/runnerscalesets\/7 failed: no answer.*retry 1\/4/,
  );
});

it('retries an answer whose body stops before the timeout', async () => {
  mockChain();
  behaviours = [
    (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"id": 7, ');
      held.push(response);
    },
  ];
  const { client, log } = newClient({ requestTimeoutMs: 200 });
  await expect(client.getScaleSet(7)).resolves.toMatchObject({ id: 7, name: 'linux' });
  expect(requests).toBe(2);
  expect(log.warnings.join('\n')).toMatch(/no complete answer within 200 ms/);
});

it('ends a long poll when the caller aborts, without retrying', async () => {
  mockChain();
  behaviours = [(response) => void held.push(response)];
  const { client } = newClient({ requestTimeoutMs: 60_000 });
  const session = await client.createSession(7, 'me');
  const controller = new AbortController();
  const poll = client.getMessage(session, 0, 1, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error('listener stopping')), 100);
  await expect(poll).rejects.toThrow('listener stopping');
  expect(requests).toBe(1);
});
