// The token chain to the Actions service: (App JWT -> installation token, or a PAT) -> runner registration
// token -> RemoteAuth exchange -> the service URL and an admin JWT. The chain runs again when the admin token
// has less than a minute left, before the call that needs it. Every token is masked as soon as it exists.
import type { GitHubScope } from '../../types.js';
import { createOctokit, type GitHubAuth, type GitHubLog, type GitHubOctokit } from '../client.js';
import { describeGitHubError, httpStatusOf } from '../errors.js';
import { ActionsServiceError, ScaleSetAuthError } from './errors.js';
import type { Transport } from './transport.js';

export interface AdminConnection {
  /** Base URL of the Actions service; paths are joined onto it. */
  serviceUrl: string;
  token: string;
  expiresAtMs: number;
}

export interface AdminTokens {
  /** A connection whose token has at least a minute left, running the chain first when needed. */
  get(): Promise<AdminConnection>;
  /** Forgets a token the service refused, so that the next get() runs the chain. */
  invalidate(token: string): void;
}

export interface AdminTokenOptions {
  auth: GitHubAuth;
  apiUrl: string;
  configUrl: string;
  scope: GitHubScope;
  log: GitHubLog;
  transport: Transport;
  secondMs: number;
  userAgent: string;
  now: () => number;
}

/** Run the chain again when the admin token has less than this left. */
export const ADMIN_TOKEN_MARGIN_MS = 60_000;

export function createAdminTokens(options: AdminTokenOptions): AdminTokens {
  let current: AdminConnection | undefined;
  let pending: Promise<AdminConnection> | undefined;
  let octokit: Promise<GitHubOctokit> | undefined;

  const github = (): Promise<GitHubOctokit> => {
    octokit ??= createOctokit({
      auth: options.auth,
      baseUrl: options.apiUrl,
      scope: options.scope,
      log: options.log,
      secondMs: options.secondMs,
    }).catch((error: unknown) => {
      octokit = undefined; // a failed start is retried by the next call
      throw error;
    });
    return octokit;
  };

  async function runChain(): Promise<AdminConnection> {
    const client = await github();
    if (options.auth.kind === 'app') {
      // auth-app renews the installation token after an hour: mask whichever one the next request uses.
      const installation = (await client.auth({ type: 'installation' })) as { token: string };
      options.log.setSecret(installation.token);
    }
    const registrationToken = await createRegistrationToken(client, options);
    const connection = await exchange(registrationToken, options);
    const expires = new Date(connection.expiresAtMs).toISOString();
    options.log.info(
      `Actions service for ${options.configUrl}: ${connection.serviceUrl} (admin token until ${expires})`,
    );
    return connection;
  }

  return {
    async get() {
      if (current && current.expiresAtMs - options.now() >= ADMIN_TOKEN_MARGIN_MS) return current;
      pending ??= runChain()
        .then((connection) => (current = connection))
        .finally(() => (pending = undefined));
      return pending;
    },
    invalidate(token) {
      if (current?.token === token) current = undefined;
    },
  };
}

async function createRegistrationToken(octokit: GitHubOctokit, options: AdminTokenOptions): Promise<string> {
  const { scope } = options;
  const path =
    scope.kind === 'org'
      ? `/orgs/${scope.org}/actions/runners/registration-token`
      : `/repos/${scope.owner}/${scope.repo}/actions/runners/registration-token`;
  let response: { status: number; data: unknown };
  try {
    response = await octokit.request(`POST ${path}`);
  } catch (error) {
    const status = httpStatusOf(error);
    const hint =
      status === 401 || status === 403 || status === 404
        ? scope.kind === 'org'
          ? ' (an App needs the organization permission "Self-hosted runners: read & write"; a token needs admin:org)'
          : ' (an App needs the repository permission "Administration: read & write"; a token needs repo)'
        : '';
    throw new ScaleSetAuthError(
      { method: 'POST', path, ...(status === undefined ? {} : { status }), cause: error },
      `Creating a runner registration token for ${options.configUrl} failed${hint}: ${describeGitHubError(error)}`,
    );
  }
  const token = (response.data as { token?: unknown } | undefined)?.token;
  if (response.status !== 201 || typeof token !== 'string' || token === '') {
    throw new ScaleSetAuthError(
      { method: 'POST', path, status: response.status },
      `POST ${path} answered HTTP ${response.status} without a token; expected 201 {token, expires_at}`,
    );
  }
  options.log.setSecret(token);
  return token;
}

/** RemoteAuth exchange: the registration token buys the Actions service URL and an admin JWT. */
async function exchange(registrationToken: string, options: AdminTokenOptions): Promise<AdminConnection> {
  const url = new URL(`${options.apiUrl}/actions/runner-registration`);
  const path = url.pathname;
  let body: unknown;
  try {
    ({ body } = await options.transport.send({
      method: 'POST',
      url,
      headers: {
        authorization: `RemoteAuth ${registrationToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': options.userAgent,
      },
      body: { url: options.configUrl, runner_event: 'register' },
      // A registration token just created may not have reached every replica yet.
      retryStatuses: [401, 403],
    }));
  } catch (error) {
    if (!(error instanceof ActionsServiceError)) throw error;
    throw new ScaleSetAuthError(
      error,
      `Exchanging the registration token for an Actions service token failed: ${error.message}`,
    );
  }
  const answer = (typeof body === 'object' && body !== null ? body : {}) as {
    url?: unknown;
    token?: unknown;
  };
  if (typeof answer.token === 'string' && answer.token !== '') options.log.setSecret(answer.token);
  if (
    typeof answer.url !== 'string' ||
    answer.url === '' ||
    typeof answer.token !== 'string' ||
    answer.token === ''
  ) {
    throw new ScaleSetAuthError({ method: 'POST', path }, `POST ${path} answered without {url, token}`);
  }
  const expiresAtMs = jwtExpiryMs(answer.token);
  if (expiresAtMs === undefined) {
    throw new ScaleSetAuthError(
      { method: 'POST', path },
      `POST ${path} answered a token without a JWT exp claim`,
    );
  }
  try {
    new URL(answer.url);
  } catch {
    throw new ScaleSetAuthError(
      { method: 'POST', path },
      `POST ${path} answered a service URL that is not a URL`,
    );
  }
  return { serviceUrl: answer.url, token: answer.token, expiresAtMs };
}

/** The `exp` claim of a JWT in milliseconds, read without verifying the signature (the service checks it). */
export function jwtExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
