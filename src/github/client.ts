// Builds the Octokit client: @actions/github's Octokit (REST methods, pagination, proxy-aware fetch)
// plus the throttling and retry plugins, authenticated with a token or as a GitHub App installation.
import { GitHub } from '@actions/github/lib/utils';
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck/light.js';
import type { GitHubScope } from '../types.js';
import { describeGitHubError as describe, httpStatusOf, RequestCancelled } from './errors.js';

export type GitHubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId?: number };

export interface GitHubLog {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  /** Masks a value in every later log line (core.setSecret). */
  setSecret(secret: string): void;
}

/** The client the gateway needs: REST endpoint methods and pagination. */
export type GitHubOctokit = InstanceType<typeof GitHub>;

export interface CreateOctokitOptions {
  auth: GitHubAuth;
  /** API root, e.g. https://api.github.com or https://ghes.example/api/v3. */
  baseUrl: string;
  scope: GitHubScope;
  log: GitHubLog;
  /** Length of one second in the plugins' waits (retry backoff, retry-after). Tests shorten it. */
  secondMs?: number;
}

/**
 * Spacing of writes (POST/DELETE…). GitHub's secondary limit is 900 points a minute and a write costs 5:
 * 180 writes a minute. 340 ms keeps just under it (176/min); a secondary-limit 403 still retries.
 */
export const WRITE_INTERVAL_MS = 340;

/** Rate-limit retries per request; both limit handlers give up after this many. */
const MAX_LIMIT_RETRIES = 3;
/** A primary rate limit resetting later than this fails the request instead of stalling the run. */
const MAX_PRIMARY_LIMIT_WAIT_S = 60;

/**
 * Runs a request's `request.beforeSend` callback right before it goes out: after its wait in the throttling
 * plugin's write queue (registered first, this hook is inside the throttling plugin's). A removal checks its
 * evidence there, so the evidence is as fresh as the send, however long the queue was; resolving false cancels
 * the request with a RequestCancelled error (not retried: it has no HTTP status).
 */
function beforeSendHook(octokit: { hook: { wrap: (name: 'request', hook: RequestWrap) => void } }) {
  octokit.hook.wrap('request', async (request, options) => {
    const beforeSend = (options.request as { beforeSend?: () => Promise<boolean> } | undefined)?.beforeSend;
    if (beforeSend && !(await beforeSend())) {
      throw new RequestCancelled(
        `${String(options.method)} ${String(options.url)}: cancelled before sending`,
      );
    }
    return request(options);
  });
  return {};
}

type RequestWrap = (
  request: (options: Record<string, unknown>) => Promise<unknown>,
  options: Record<string, unknown>,
) => Promise<unknown>;

const ScalerOctokit = GitHub.plugin(beforeSendHook as never, throttling, retry);

interface RequestOptions {
  method: string;
  url: string;
}

export async function createOctokit(options: CreateOctokitOptions): Promise<GitHubOctokit> {
  const { auth, log } = options;
  if (auth.kind === 'token') {
    log.setSecret(auth.token);
    return newOctokit(options, { auth: auth.token });
  }

  maskPrivateKey(auth.privateKey, log);
  const appAuth = { appId: auth.appId, privateKey: auth.privateKey };
  const installationId = auth.installationId ?? (await findInstallationId(options, appAuth));
  const octokit = newOctokit(options, {
    authStrategy: createAppAuth,
    auth: { ...appAuth, installationId },
  });
  // auth-app caches this token and reuses it for every request: mask it before any request runs.
  const installation = (await octokit.auth({ type: 'installation' }).catch((error: unknown) => {
    throw new Error(
      `Creating an installation token for GitHub App ${auth.appId} (installation ${installationId}) failed: ${describe(error)}`,
      { cause: error },
    );
  })) as { token: string };
  log.setSecret(installation.token);
  log.info(`Authenticated as GitHub App ${auth.appId}, installation ${installationId}`);
  return octokit;
}

function newOctokit(
  options: CreateOctokitOptions,
  auth: { auth: string } | { authStrategy: typeof createAppAuth; auth: Record<string, unknown> },
): GitHubOctokit {
  const { log } = options;
  const secondMs = options.secondMs ?? 1000;
  const onLimit =
    (kind: 'primary' | 'secondary') =>
    (retryAfter: number, request: RequestOptions, _octokit: unknown, retryCount: number): boolean => {
      const name = `${request.method} ${request.url}`;
      if (retryCount >= MAX_LIMIT_RETRIES) {
        log.warning(`GitHub ${kind} rate limit hit by ${name}; giving up after ${retryCount} retries`);
        return false;
      }
      if (kind === 'primary' && retryAfter > MAX_PRIMARY_LIMIT_WAIT_S) {
        log.warning(`GitHub primary rate limit hit by ${name}; it resets in ${retryAfter} s, not waiting`);
        return false;
      }
      log.warning(
        `GitHub ${kind} rate limit hit by ${name}; retry ${retryCount + 1}/${MAX_LIMIT_RETRIES} in ${retryAfter} s`,
      );
      return true;
    };

  // No `request` option: it would replace @actions/github's proxy-aware fetch (defaults merge shallowly).
  return new ScalerOctokit({
    ...auth,
    baseUrl: options.baseUrl,
    userAgent: 'runner-scaler',
    log: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.debug(message),
      warn: (message: string) => log.warning(message),
      error: (message: string) => log.warning(message),
    },
    throttle: {
      write: new Bottleneck.Group({
        id: 'runner-scaler-write',
        maxConcurrent: 1,
        minTime: WRITE_INTERVAL_MS,
      }),
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      retryAfterBaseValue: secondMs,
    },
    retry: {
      retryAfterBaseValue: secondMs,
      // 403/429 belong to the throttling plugin; 409 and 422 are answers the gateway translates.
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
    },
  });
}

/** Looks up the app's installation for the scope with the app JWT. */
async function findInstallationId(
  options: CreateOctokitOptions,
  appAuth: { appId: string; privateKey: string },
): Promise<number> {
  const { scope } = options;
  const appOctokit = newOctokit(options, { authStrategy: createAppAuth, auth: appAuth });
  const target =
    scope.kind === 'org' ? `organization ${scope.org}` : `repository ${scope.owner}/${scope.repo}`;
  try {
    const response =
      scope.kind === 'org'
        ? await appOctokit.request('GET /orgs/{org}/installation', { org: scope.org })
        : await appOctokit.request('GET /repos/{owner}/{repo}/installation', {
            owner: scope.owner,
            repo: scope.repo,
          });
    options.log.debug(`GitHub App ${appAuth.appId} has installation ${response.data.id} on ${target}`);
    return response.data.id;
  } catch (error) {
    const hint = httpStatusOf(error) === 404 ? ' (is the app installed there?)' : '';
    throw new Error(
      `Looking up the installation of GitHub App ${appAuth.appId} on ${target} failed${hint}: ${describe(error)}`,
      { cause: error },
    );
  }
}

/** The runner masks multi-line secrets line by line, so register each line of the key as well. */
function maskPrivateKey(privateKey: string, log: GitHubLog): void {
  log.setSecret(privateKey);
  for (const line of privateKey.split(/\r?\n/)) {
    const trimmed = line.trim();
    // The armor lines (-----BEGIN … KEY-----) are public text.
    if (trimmed !== '' && !trimmed.startsWith('-----')) log.setSecret(trimmed);
  }
}
