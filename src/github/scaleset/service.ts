// Calls to the Actions service with the admin token: the token chain runs first when the token is about
// to expire, and once more when the service refuses the token (401) before its expiry.
import type { GitHubLog } from '../client.js';
import type { AdminTokens } from './admin-token.js';
import { joinServiceUrl } from './config-url.js';
import { ActionsServiceError } from './errors.js';
import type { HttpMethod, HttpResponse, Transport } from './transport.js';

export interface ServiceCall {
  query?: Record<string, string>;
  body?: unknown;
  /** Shown in the User-Agent's scale_set_id. */
  scaleSetId?: number;
  /** See HttpRequest.beforeSend. */
  beforeSend?: () => Promise<boolean>;
}

export interface ServiceResponse extends HttpResponse {
  method: HttpMethod;
  /** URL path of the call (without query), for messages. */
  path: string;
}

export interface ActionsService {
  readonly log: GitHubLog;
  readonly transport: Transport;
  readonly admin: AdminTokens;
  /** `path` is relative to the service URL, e.g. `_apis/runtime/runnerscalesets/7`. */
  call(method: HttpMethod, path: string, options?: ServiceCall): Promise<ServiceResponse>;
  /** The URL of a service path on the current connection (running the chain when needed). */
  url(path: string, query?: Record<string, string>): Promise<URL>;
  userAgent(scaleSetId?: number): string;
}

export interface ActionsServiceOptions {
  log: GitHubLog;
  transport: Transport;
  admin: AdminTokens;
  version: string;
}

export function createActionsService(options: ActionsServiceOptions): ActionsService {
  const { log, transport, admin } = options;

  const userAgent = (scaleSetId = 0): string =>
    JSON.stringify({
      system: 'runner-scaler',
      version: options.version,
      commit_sha: 'unknown',
      scale_set_id: scaleSetId,
      subsystem: 'listener',
      build_version: options.version,
      build_commit_sha: 'unknown',
      kind: 'scaleset',
    });

  async function callOnce(method: HttpMethod, path: string, call: ServiceCall) {
    const connection = await admin.get();
    const url = joinServiceUrl(connection.serviceUrl, path, call.query);
    const headers = {
      authorization: `Bearer ${connection.token}`,
      // The Go client sends it on every call, GET and DELETE included.
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': userAgent(call.scaleSetId),
    };
    try {
      const response = await transport.send({
        method,
        url,
        headers,
        body: call.body,
        ...(call.beforeSend ? { beforeSend: call.beforeSend } : {}),
      });
      return { ...response, method, path: url.pathname };
    } catch (error) {
      if (error instanceof ActionsServiceError && error.kind === 'http' && error.status === 401) {
        admin.invalidate(connection.token);
      }
      throw error;
    }
  }

  return {
    log,
    transport,
    admin,
    userAgent,
    async call(method, path, call = {}) {
      try {
        return await callOnce(method, path, call);
      } catch (error) {
        if (!(error instanceof ActionsServiceError) || error.kind !== 'http' || error.status !== 401)
          throw error;
        log.warning(`${error.message}; renewing the admin token and trying once more`);
        return callOnce(method, path, call);
      }
    },
    async url(path, query) {
      return joinServiceUrl((await admin.get()).serviceUrl, path, query);
    },
  };
}
