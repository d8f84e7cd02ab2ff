// One HTTP exchange with the Actions service (or the GitHub API's runner-registration endpoint):
// Octokit's request does the fetch, p-retry the backoff. Transient failures (network, timeout, 429,
// 5xx but 501) are retried, POSTs too, as GitHub's Go client does; a Retry-After is waited out.
import { request as octokitRequest } from '@octokit/request';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { GitHubLog } from '../client.js';
import { RequestCancelled } from '../errors.js';
import { classifyFailure, type ActionsServiceError, type FailureDetails } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: unknown;
  /** Statuses retried on top of the transient ones (401/403 while a new registration token propagates). */
  retryStatuses?: readonly number[];
  signal?: AbortSignal;
  /**
   * Runs right before each attempt is sent (after any backoff): a removal checks its evidence there. Resolving
   * false cancels the request with a RequestCancelled error, never retried.
   */
  beforeSend?: () => Promise<boolean>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, a string when the body is not JSON, undefined when empty. */
  body: unknown;
}

export interface Transport {
  /** Resolves for statuses below 400; rejects with a typed ActionsServiceError otherwise. */
  send(request: HttpRequest): Promise<HttpResponse>;
}

export interface TransportOptions {
  log: GitHubLog;
  /** Length of one second in backoff and Retry-After waits. */
  secondMs: number;
  timeoutMs: number;
  retries: number;
}

/** Backoff: 1 s, 2 s, 4 s… (times 1-2 at random), at most 30 s, like hashicorp/go-retryablehttp's defaults. */
const MIN_BACKOFF_S = 1;
const MAX_BACKOFF_S = 30;
/** A Retry-After beyond this is cut to it: the caller's own loop retries later anyway. */
const MAX_RETRY_AFTER_S = 300;

/** What a failed attempt left behind, for the retry decision. */
interface AttemptFailure {
  error: ActionsServiceError;
  retryAfterS?: number;
}

export function createTransport(options: TransportOptions): Transport {
  const { log, secondMs } = options;

  async function send(request: HttpRequest): Promise<HttpResponse> {
    let notBefore = 0;
    let lastFailure: AttemptFailure | undefined;
    const attempt = async (): Promise<HttpResponse> => {
      try {
        const wait = notBefore - Date.now();
        if (wait > 0) await sleep(wait, undefined, request.signal ? { signal: request.signal } : {});
        if (request.beforeSend && !(await request.beforeSend())) {
          throw new RequestCancelled(`${request.method} ${request.url.pathname}: cancelled before sending`);
        }
        return await sendOnce(request, options);
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        if (error instanceof RequestCancelled) throw error;
        lastFailure = toAttemptFailure(request, error);
        notBefore =
          lastFailure.retryAfterS === undefined ? 0 : Date.now() + lastFailure.retryAfterS * secondMs;
        throw lastFailure.error;
      }
    };
    return pRetry(attempt, {
      retries: options.retries,
      factor: 2,
      minTimeout: MIN_BACKOFF_S * secondMs,
      maxTimeout: MAX_BACKOFF_S * secondMs,
      randomize: true,
      ...(request.signal ? { signal: request.signal } : {}),
      shouldRetry: ({ error, attemptNumber }) => {
        if (request.signal?.aborted || lastFailure?.error !== error) return false;
        if (!isRetryable(lastFailure, request)) return false;
        const after =
          lastFailure.retryAfterS === undefined ? '' : ` (Retry-After ${lastFailure.retryAfterS} s)`;
        log.warning(`${error.message}; retry ${attemptNumber}/${options.retries}${after}`);
        return true;
      },
    });
  }

  return { send };
}

function isRetryable(failure: AttemptFailure, request: HttpRequest): boolean {
  const { status } = failure.error;
  return failure.error.transient || (status !== undefined && (request.retryStatuses ?? []).includes(status));
}

async function sendOnce(request: HttpRequest, options: TransportOptions): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const response = await octokitRequest({
    method: request.method,
    url: untemplated(request.url),
    headers: request.headers,
    ...(request.body === undefined ? {} : { data: request.body }),
    request: { signal },
  });
  // Octokit reads a body that breaks off as an empty one: an attempt cut by its timeout has no answer.
  if (request.signal?.aborted) throw request.signal.reason;
  if (timeout.aborted) throw new Error(`no complete answer within ${options.timeoutMs} ms`);
  options.log.debug(`${request.method} ${request.url.pathname} -> ${response.status}`);
  return {
    status: response.status,
    headers: stringHeaders(response.headers),
    body: normalizeBody(response.data),
  };
}

/**
 * Octokit reads `:name` in a URL as a template variable (and drops it, having no value for it); URL()
 * already escapes braces. An escaped colon means the same to the server.
 */
export function untemplated(url: URL): string {
  return `${url.origin}${`${url.pathname}${url.search}`.replace(/:(?=[a-z])/g, '%3A')}`;
}

/** JSON bodies arrive parsed; text (a JSON body without its content type, or with a BOM) is parsed here. */
export function normalizeBody(data: unknown): unknown {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof ArrayBuffer) text = new TextDecoder().decode(data);
  else return data ?? undefined;
  text = text.replace(/^\uFEFF/, '').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function stringHeaders(headers: Record<string, unknown>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && value !== null) result[name.toLowerCase()] = String(value);
  }
  return result;
}

interface OctokitErrorShape {
  status?: number;
  response?: { status: number; headers: Record<string, unknown>; data: unknown };
}

function toAttemptFailure(request: HttpRequest, error: unknown): AttemptFailure {
  const base = { method: request.method, path: request.url.pathname };
  const response = (error as OctokitErrorShape | undefined)?.response;
  if (response === undefined) {
    // No answer: connection refused or reset, DNS, or this attempt's timeout.
    return { error: classifyFailure({ ...base, transient: true, cause: error }) };
  }
  const headers = stringHeaders(response.headers);
  const status = response.status;
  const details: FailureDetails = {
    ...base,
    status,
    ...serviceException(normalizeBody(response.data)),
    activityId: headers.activityid,
    requestId: headers['x-github-request-id'],
    transient: status === 429 || (status >= 500 && status !== 501),
  };
  const retryAfterS = details.transient ? parseRetryAfter(headers['retry-after']) : undefined;
  return { error: classifyFailure(details), ...(retryAfterS === undefined ? {} : { retryAfterS }) };
}

/** {typeName, message} from a JSON error body; a text body becomes the message. */
function serviceException(body: unknown): Pick<FailureDetails, 'typeName' | 'serviceMessage'> {
  if (typeof body === 'string') return { serviceMessage: redactCredentials(body) };
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const typeName = typeof record.typeName === 'string' ? record.typeName : undefined;
  const message = typeof record.message === 'string' ? redactCredentials(record.message) : undefined;
  return {
    ...(typeName === undefined ? {} : { typeName }),
    ...(message === undefined ? {} : { serviceMessage: message }),
  };
}

/**
 * Error texts end up in logs: cut them short, and blank out anything after an auth scheme in case a
 * server or proxy echoes the request's Authorization header.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/\b(Bearer|RemoteAuth|token|Basic)(["':=\s]+)[\w.~+/=-]{8,}/gi, '$1$2[REDACTED]')
    .slice(0, 500);
}

/** Seconds to wait from a Retry-After header (delta seconds or an HTTP date), capped. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  const seconds = /^\d+$/.test(text) ? Number(text) : (Date.parse(text) - now) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(Math.max(0, Math.ceil(seconds)), MAX_RETRY_AFTER_S);
}
