// GitHub credentials: app JWT verification, the tokens the routes accept, and the tokens the
// emulator issues (installation and registration tokens).
import { randomBytes, verify } from 'node:crypto';
import type { EmulatorRequest } from '../context.js';
import type { IssuedToken, ScopeKey } from '../state.js';
import type { GitHubContext } from './context.js';
import { GitHubError } from './http.js';

/** The auth kinds of GitHub REST routes (besides `none`). */
export type GitHubAuthKind = 'token' | 'jwt';

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UNDECODABLE = 'A JSON web token could not be decoded';

export function randomToken(length: number, alphabet = TOKEN_ALPHABET): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

function isJwt(token: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token);
}

function base64UrlJson(segment: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function credentials(request: EmulatorRequest): { scheme: string; value: string } | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^(\w+)\s+(.+)$/.exec(header.trim());
  if (!match) throw new GitHubError(401, 'Bad credentials');
  return { scheme: match[1]!.toLowerCase(), value: match[2]! };
}

/** The signature (with the app's key) and the issuer; without a key any well-formed JWT passes. */
function checkJwtSignature(
  gh: GitHubContext,
  parts: [string, string, string],
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): void {
  const { appKey, appId } = gh.settings;
  if (!appKey) return;
  const [headerPart, payloadPart, signaturePart] = parts;
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${headerPart}.${payloadPart}`),
    appKey,
    Buffer.from(signaturePart, 'base64url'),
  );
  if (header.alg !== 'RS256' || !signed) throw new GitHubError(401, UNDECODABLE);
  if (appId !== undefined && String(payload.iss) !== String(appId)) {
    throw new GitHubError(401, "'Issuer' claim ('iss') must be an Integer");
  }
}

// JWT times are checked against the real clock: the app signs them with its own wall clock.
function checkJwtTimes(payload: Record<string, unknown>): void {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const { exp, iat } = payload;
  if (typeof iat !== 'number' || iat > nowSeconds + 60) {
    throw new GitHubError(
      401,
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    );
  }
  if (typeof exp !== 'number' || exp <= nowSeconds) {
    throw new GitHubError(
      401,
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
  }
  if (exp > nowSeconds + 660)
    throw new GitHubError(401, "'Expiration time' claim ('exp') is too far in the future");
}

/** The app's JWT: the `/app` routes and the installation token exchange. */
export function checkJwt(gh: GitHubContext, request: EmulatorRequest): void {
  const given = credentials(request);
  if (!given || given.scheme !== 'bearer' || !isJwt(given.value)) throw new GitHubError(401, UNDECODABLE);
  const parts = given.value.split('.') as [string, string, string];
  const header = base64UrlJson(parts[0]);
  const payload = base64UrlJson(parts[1]);
  if (!header || !payload) throw new GitHubError(401, UNDECODABLE);
  checkJwtSignature(gh, parts, header, payload);
  checkJwtTimes(payload);
}

/** An installation token the emulator issued (until it expires), or an accepted personal token. */
export function checkToken(gh: GitHubContext, request: EmulatorRequest): void {
  const given = credentials(request);
  if (!given) throw new GitHubError(401, 'Requires authentication');
  if (given.scheme !== 'token' && given.scheme !== 'bearer') throw new GitHubError(401, 'Bad credentials');
  if (isJwt(given.value)) throw new GitHubError(403, 'Resource not accessible by integration');
  const issued = gh.state.tokens.get(given.value);
  if (issued && issued.kind === 'installation') {
    if (issued.expiresAt <= gh.clock.now()) throw new GitHubError(401, 'Bad credentials');
    return;
  }
  const accepted = gh.settings.acceptedTokens;
  if (accepted && !accepted.has(given.value)) throw new GitHubError(401, 'Bad credentials');
}

/** The router's authenticators for GitHub REST routes. */
export function gitHubAuthenticators(
  gh: GitHubContext,
): Record<GitHubAuthKind, (request: EmulatorRequest) => void> {
  return {
    token: (request) => checkToken(gh, request),
    jwt: (request) => checkJwt(gh, request),
  };
}

/** Records a token the emulator hands out (and masks it as a secret). */
export function issueToken(
  gh: GitHubContext,
  kind: IssuedToken['kind'],
  token: string,
  lifetimeMs: number,
  extra: Partial<IssuedToken>,
): IssuedToken {
  const issued: IssuedToken = { token, kind, expiresAt: gh.clock.now() + lifetimeMs, ...extra };
  gh.state.tokens.set(token, issued);
  gh.emulator.recordSecret(token);
  return issued;
}

/** The registration token's scope when it is valid now. */
export function registrationTokenScope(gh: GitHubContext, token: string): ScopeKey | undefined {
  const issued = gh.state.tokens.get(token);
  if (!issued || issued.kind !== 'registration' || issued.expiresAt <= gh.clock.now()) return undefined;
  return issued.scope;
}

/** Every installation token issued so far stops working now; answers how many did. */
export function expireInstallationTokens(gh: GitHubContext): number {
  let expired = 0;
  for (const issued of gh.state.tokens.values()) {
    if (issued.kind !== 'installation' || issued.expiresAt <= gh.clock.now()) continue;
    issued.expiresAt = gh.clock.now();
    expired += 1;
  }
  return expired;
}
