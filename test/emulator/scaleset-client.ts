// A bare HTTP driver of the runner scale set protocol for the emulator's tests: plain fetch, the
// token chain a client goes through, and answers parsed the way a client must (BOM stripped).
import type { Emulator } from '../../emulator/index.js';

/** Parsed JSON, walked without checks (a test asserts on what it finds). */
export interface Loose {
  [key: string]: Loose;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON body (BOM stripped); {} when the body is empty or not JSON. */
  json: Loose;
}

export interface CallOptions {
  body?: unknown;
  /** Bearer token; default the admin token. */
  token?: string;
  headers?: Record<string, string>;
}

export interface ScaleSetSession {
  sessionId: string;
  messageQueueUrl: string;
  messageQueueAccessToken: string;
  statistics: Record<string, number>;
  runnerScaleSet: Record<string, unknown>;
}

async function answer(response: Response): Promise<Answer> {
  // The bytes as sent: fetch's text() would drop a leading byte order mark.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await response.arrayBuffer());
  const stripped = text.replace(/^\uFEFF/, '');
  let json: Loose = {};
  try {
    if (stripped) json = JSON.parse(stripped) as Loose;
  } catch {
    json = {};
  }
  return { status: response.status, headers: response.headers, text, json };
}

export async function request(
  url: string,
  method: string,
  authorization: string | undefined,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(url, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  return answer(response);
}

/** A well-formed app JWT (the emulator without an app key checks only its shape and times). */
export function appJwt(): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: now - 60, exp: now + 540, iss: 1 })}.c2ln`;
}

export interface Registration {
  /** The Actions service base URL (ends with a slash). */
  base: string;
  adminToken: string;
  /** The admin token's `exp` claim (seconds). */
  exp: number;
  registrationToken: string;
  installationToken: string;
}

export function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** The chain: installation token -> registration token -> runner-registration (GHES paths). */
export async function register(emulator: Emulator, org = 'acme'): Promise<Registration> {
  const api = `${emulator.url}/api/v3`;
  const installation = await request(`${api}/orgs/${org}/installation`, 'GET', `Bearer ${appJwt()}`);
  const access = await request(
    `${api}/app/installations/${String(installation.json.id)}/access_tokens`,
    'POST',
    `Bearer ${appJwt()}`,
  );
  if (access.status !== 201) throw new Error(`installation token: ${access.status} ${access.text}`);
  const registration = await request(
    `${api}/orgs/${org}/actions/runners/registration-token`,
    'POST',
    `token ${String(access.json.token)}`,
  );
  if (registration.status !== 201) throw new Error(`registration token: ${registration.status}`);
  const admin = await request(
    `${api}/actions/runner-registration`,
    'POST',
    `RemoteAuth ${String(registration.json.token)}`,
    { body: { url: `${emulator.url}/${org}`, runner_event: 'register' } },
  );
  if (admin.status !== 201) throw new Error(`runner-registration: ${admin.status} ${admin.text}`);
  const adminToken = String(admin.json.token);
  return {
    base: String(admin.json.url),
    adminToken,
    exp: jwtClaims(adminToken).exp as number,
    registrationToken: String(registration.json.token),
    installationToken: String(access.json.token),
  };
}

export interface ScaleSetClient {
  registration: Registration;
  /** An Actions-service call: path relative to the base URL, `api-version` added. */
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  createScaleSet(name: string, labels?: string[], extra?: Record<string, unknown>): Promise<Loose>;
  createSession(scaleSetId: number, owner?: string): Promise<Answer>;
  /** GET the message queue (lastMessageId added when > 0). */
  poll(
    session: ScaleSetSession,
    options?: { lastMessageId?: number; maxCapacity?: number; token?: string },
  ): Promise<Answer>;
  ack(session: ScaleSetSession, messageId: number, token?: string): Promise<Answer>;
  generateJitConfig(scaleSetId: number, name: string): Promise<Answer>;
}

export async function connect(emulator: Emulator, org = 'acme'): Promise<ScaleSetClient> {
  const registration = await register(emulator, org);
  const call = (method: string, path: string, options: CallOptions = {}) => {
    const url = new URL(path, registration.base);
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', '6.0-preview');
    return request(url.toString(), method, `Bearer ${options.token ?? registration.adminToken}`, options);
  };
  return {
    registration,
    call,
    async createScaleSet(name, labels, extra = {}) {
      const created = await call('POST', '_apis/runtime/runnerscalesets', {
        body: {
          name,
          runnerGroupId: 1,
          labels: (labels ?? [name]).map((label) => ({ name: label, type: 'System' })),
          RunnerSetting: { disableUpdate: true },
          createdOn: '0001-01-01T00:00:00Z',
          ...extra,
        },
      });
      if (created.status !== 200) throw new Error(`create scale set: ${created.status} ${created.text}`);
      return created.json;
    },
    createSession: (scaleSetId, owner = 'test-listener') =>
      call('POST', `_apis/runtime/runnerscalesets/${scaleSetId}/sessions`, {
        body: { ownerName: owner, sessionId: '00000000-0000-0000-0000-000000000000' },
      }),
    poll(session, options = {}) {
      const url = new URL(session.messageQueueUrl);
      if ((options.lastMessageId ?? 0) > 0)
        url.searchParams.set('lastMessageId', String(options.lastMessageId));
      const headers: Record<string, string> = { accept: 'application/json; api-version=6.0-preview' };
      if (options.maxCapacity !== undefined) headers['x-scalesetmaxcapacity'] = String(options.maxCapacity);
      return request(url.toString(), 'GET', `Bearer ${options.token ?? session.messageQueueAccessToken}`, {
        headers,
      });
    },
    ack(session, messageId, token) {
      const url = new URL(session.messageQueueUrl);
      url.pathname = `${url.pathname}/${messageId}`;
      return request(url.toString(), 'DELETE', `Bearer ${token ?? session.messageQueueAccessToken}`);
    },
    generateJitConfig: (scaleSetId, name) =>
      call('POST', `_apis/runtime/runnerscalesets/${scaleSetId}/generatejitconfig`, {
        body: { name, workFolder: '' },
      }),
  };
}

/** The job messages of a message: its body is a JSON string. */
export function jobMessages(message: Loose): Loose[] {
  const body = message.body as unknown as string;
  return body ? (JSON.parse(body) as Loose[]) : [];
}

/** A session answer as the typed shape tests pass around. */
export function sessionOf(answer: Answer): ScaleSetSession {
  return answer.json as unknown as ScaleSetSession;
}
