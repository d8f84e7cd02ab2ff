// The protocol's credentials: the RemoteAuth exchange of a registration token for the Actions
// service's URL and admin token (a GitHub REST route), the admin token (a JWT with `exp`) and the
// session's message queue token, and the tenants the service URLs name (one per scope).
import { randomBytes } from 'node:crypto';
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from '../../context.js';
import { NO_AUTH, type RouteSpec } from '../../router.js';
import type { ScopeKey } from '../../state.js';
import { randomToken, registrationTokenScope } from '../auth.js';
import { baseUrl, GitHubError, jsonBody } from '../http.js';
import type { ScaleSetContext, SessionRecord, Tenant } from './context.js';
import { unauthorized } from './http.js';

/** The Actions service base URL of a tenant, with its trailing slash (clients join paths onto it). */
export function tenantBase(tenant: Tenant): string {
  return `${tenant.origin}/tenant/${tenant.id}/`;
}

export function tenantFor(sc: ScaleSetContext, scope: ScopeKey, origin: string): Tenant {
  let tenant = sc.store.tenants.get(scope);
  if (!tenant) {
    tenant = { id: ++sc.store.counters.tenantId, scope, origin };
    sc.store.tenants.set(scope, tenant);
  }
  tenant.origin = origin;
  return tenant;
}

export function tenantById(sc: ScaleSetContext, id: number): Tenant | undefined {
  for (const tenant of sc.store.tenants.values()) if (tenant.id === id) return tenant;
  return undefined;
}

function bearer(request: EmulatorRequest): string {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '');
  if (!match) throw unauthorized('A bearer token is required.');
  return match[1]!;
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An admin token: a JWT whose `exp` the client reads (unverified) to know when to get a new one. */
export function issueAdminToken(sc: ScaleSetContext, tenant: Tenant): { token: string; expiresAt: number } {
  const { clock } = sc.gh;
  const issuedAt = clock.now();
  const expiresAt = issuedAt + sc.settings.adminTokenLifetimeMs;
  const seconds = (time: number) => Math.floor(clock.toWall(time) / 1000);
  const header = base64UrlJson({ alg: 'HS256', typ: 'JWT' });
  const payload = base64UrlJson({
    iss: 'runner-scaler-emulator',
    aud: tenantBase(tenant),
    sub: tenant.scope,
    nbf: seconds(issuedAt),
    iat: seconds(issuedAt),
    exp: seconds(expiresAt),
    jti: randomToken(16),
  });
  const token = `${header}.${payload}.${randomBytes(32).toString('base64url')}`;
  sc.store.adminTokens.set(token, { tenantId: tenant.id, expiresAt });
  sc.gh.emulator.recordSecret(token);
  return { token, expiresAt };
}

/** The admin token of the call: known, not expired, and issued for the tenant of the path. */
export function checkAdminToken(sc: ScaleSetContext, request: EmulatorRequest): void {
  const token = sc.store.adminTokens.get(bearer(request));
  if (!token) throw unauthorized('The admin token is not valid.');
  if (token.expiresAt <= sc.gh.clock.now()) throw unauthorized('The admin token has expired.');
  if (String(token.tenantId) !== request.pathParams.tenant_id) {
    throw unauthorized('The admin token was issued for another tenant.');
  }
}

export function issueQueueToken(sc: ScaleSetContext, session: SessionRecord): void {
  sc.store.queueTokens.delete(session.queueToken);
  session.queueToken = randomToken(64);
  session.queueTokenExpiresAt = sc.gh.clock.now() + sc.settings.queueTokenLifetimeMs;
  sc.store.queueTokens.set(session.queueToken, session);
  sc.gh.emulator.recordSecret(session.queueToken);
}

/** Whether the session is the live session of its scale set (not deleted, evicted or crashed). */
export function sessionIsCurrent(sc: ScaleSetContext, session: SessionRecord): boolean {
  const set = sc.store.sets.get(session.scaleSetId);
  return set?.session === session && !session.crashed;
}

/** The session whose queue token the call carries: 401 when the token expired or its session is gone. */
export function queueSession(sc: ScaleSetContext, request: EmulatorRequest): SessionRecord {
  const session = sc.store.queueTokens.get(bearer(request));
  if (!session || !sessionIsCurrent(sc, session)) throw unauthorized('The message queue token is not valid.');
  if (session.queueTokenExpiresAt <= sc.gh.clock.now()) {
    throw unauthorized('The message queue token has expired.');
  }
  touchSession(sc, session);
  return session;
}

/** The session's owner is alive: it made a call now. */
export function touchSession(sc: ScaleSetContext, session: SessionRecord): void {
  session.lastActivity = { at: sc.gh.clock.now(), wallAt: Date.now() };
}

/** The scope a config URL names (`https://host/ORG`, `https://host/OWNER/REPO`), or undefined. */
function configUrlScope(url: string): ScopeKey | undefined {
  let path: string;
  try {
    path = new URL(url.trim()).pathname.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
  const parts = path.split('/').filter((part) => part.length > 0);
  if (parts.length === 0 || parts.length > 2 || parts[0]!.toLowerCase() === 'enterprises') return undefined;
  return decodeURIComponent(parts.join('/')).toLowerCase();
}

/** `POST /actions/runner-registration`: `Authorization: RemoteAuth <registration token>`. */
function runnerRegistration(sc: ScaleSetContext, request: EmulatorRequest): EmulatorResponse {
  const match = /^RemoteAuth\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '');
  const scope = match ? registrationTokenScope(sc.gh, match[1]!) : undefined;
  if (!scope) throw new GitHubError(401, 'Bad credentials');
  const { url, runner_event: runnerEvent } = jsonBody(request);
  if (runnerEvent !== 'register') {
    throw new GitHubError(400, `runner_event must be "register", got ${JSON.stringify(runnerEvent ?? null)}`);
  }
  if (typeof url !== 'string' || configUrlScope(url) === undefined) {
    throw new GitHubError(
      400,
      `url must be a config URL (https://host/ORG or https://host/OWNER/REPO), got ${JSON.stringify(url ?? null)}`,
    );
  }
  if (configUrlScope(url) !== scope) throw new GitHubError(404, 'Not Found');
  const tenant = tenantFor(sc, scope, baseUrl(request));
  const { token } = issueAdminToken(sc, tenant);
  return jsonResponse(201, {
    url: tenantBase(tenant),
    token,
    token_schema: 'OAuthAccessToken',
    use_v2_flow: true,
  });
}

/** The exchange is a GitHub REST route (under `/` and `/api/v3`) with its own credentials. */
export function registrationExchangeRoutes(sc: ScaleSetContext): RouteSpec[] {
  return [
    {
      method: 'POST',
      template: '/actions/runner-registration',
      auth: NO_AUTH,
      counted: false,
      handler: (request) => runnerRegistration(sc, request),
    },
  ];
}
