import nock from 'nock';
import { createScaleSetClient } from '../../../src/github/scaleset/index.js';
import type { ScaleSetClient, ScaleSetClientOptions } from '../../../src/github/scaleset/types.js';
import { createRecordingLog, type RecordingLog } from '../fake-log.js';

export const SERVER_URL = 'https://github.com';
export const API = 'https://api.github.com';
export const CONFIG_URL = 'https://github.com/acme';
export const SERVICE_ORIGIN = 'https://broker.actions.test';
/** A service URL with a path prefix, as GitHub hands out (…/rest/, …/<tenant>/). */
export const SERVICE_URL = `${SERVICE_ORIGIN}/rest/`;
export const PAT = 'ghp_patsecret0001';
export const API_VERSION = { 'api-version': '6.0-preview' };

/** An unsigned JWT whose payload carries `exp` (seconds); the client reads it without verifying. */
export function fakeJwt(expSeconds: number, id = 'admin'): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ exp: expSeconds, sub: id })}.${Buffer.from(`sig-${id}`).toString('base64url')}`;
}

export interface TokenChainMock {
  registrationToken: string;
  adminToken: string;
}

/** One run of the chain for a PAT in org scope: registration token (201), then the RemoteAuth exchange. */
export function mockTokenChain(
  adminToken: string,
  options: {
    registrationToken?: string;
    /** API origin and path prefix (GHES: http://host + /api/v3). */
    api?: string;
    apiPath?: string;
    scopePath?: string;
    configUrl?: string;
  } = {},
): TokenChainMock {
  const registrationToken = options.registrationToken ?? `reg-${adminToken.slice(-12)}`;
  const api = options.api ?? API;
  nock(api, { reqheaders: { authorization: `token ${PAT}` } })
    .post(`${options.apiPath ?? ''}${options.scopePath ?? '/orgs/acme'}/actions/runners/registration-token`)
    .reply(201, { token: registrationToken, expires_at: new Date(Date.now() + 3_600_000).toISOString() });
  nock(api, { reqheaders: { authorization: `RemoteAuth ${registrationToken}` } })
    .post(`${options.apiPath ?? ''}/actions/runner-registration`, {
      url: options.configUrl ?? CONFIG_URL,
      runner_event: 'register',
    })
    .reply(201, { url: SERVICE_URL, token: adminToken, token_schema: 'OAuthAccessToken', use_v2_flow: true });
  return { registrationToken, adminToken };
}

export interface TestClient {
  client: ScaleSetClient;
  log: RecordingLog;
  /** Milliseconds since the epoch, as the client sees them. */
  clock: { now: number };
}

export function newClient(overrides: Partial<ScaleSetClientOptions> = {}): TestClient {
  const log = createRecordingLog();
  const clock = { now: Date.now() };
  const client = createScaleSetClient({
    auth: { kind: 'token', token: PAT },
    serverUrl: SERVER_URL,
    scope: { kind: 'org', org: 'acme' },
    log,
    secondMs: 1,
    retries: 4,
    now: () => clock.now,
    version: '1.2.3',
    ...overrides,
  });
  return { client, log, clock };
}

/** The admin token of a chain valid for an hour from now. */
export function hourToken(id = 'admin-1'): string {
  return fakeJwt(Math.floor(Date.now() / 1000) + 3600, id);
}

/** nock scope on the Actions service, expecting the admin token. */
export function service(adminToken: string): nock.Scope {
  return nock(SERVICE_ORIGIN, { reqheaders: { authorization: `Bearer ${adminToken}` } });
}

export function exception(typeName: string, message: string) {
  return { typeName: `GitHub.Actions.Runtime.WebApi.${typeName}, GitHub.Actions.Runtime.WebApi`, message };
}

export function statistics(assigned: number, running = 0) {
  return {
    totalAvailableJobs: 0,
    totalAcquiredJobs: 0,
    totalAssignedJobs: assigned,
    totalRunningJobs: running,
    totalRegisteredRunners: 0,
    totalBusyRunners: running,
    totalIdleRunners: 0,
  };
}

/** A body with a UTF-8 byte order mark in front, as the service sometimes sends. */
export function withBom(value: unknown): Buffer {
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(value))]);
}
