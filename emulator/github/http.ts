// GitHub REST conventions every handler shares: the error body, Link-header paging, timestamps
// and the JSON request body.
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from '../context.js';
import type { NO_AUTH, RouteHandler, RouteSpec } from '../router.js';

const DOCS = 'https://docs.github.com/rest';

/** Thrown by handlers and authenticators; answered as GitHub's `{ message, documentation_url }`. */
export class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorResponse(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): EmulatorResponse {
  return jsonResponse(status, { message, documentation_url: DOCS, status: String(status) }, headers);
}

/** The router's error rendering for GitHub REST routes. */
export function renderGitHubError(error: unknown): EmulatorResponse | undefined {
  return error instanceof GitHubError ? errorResponse(error.status, error.message, error.headers) : undefined;
}

export function notFound(): GitHubError {
  return new GitHubError(404, 'Not Found');
}

export function invalid(message: string): GitHubError {
  return new GitHubError(422, `Invalid request.\n\n${message}`);
}

export function invalidField(field: string, value: unknown): never {
  throw invalid(`${JSON.stringify(value ?? null)} is not a valid value for '${field}'.`);
}

/** GitHub's timestamp format: ISO 8601 without milliseconds; null for no time. */
export function githubTime(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function baseUrl(request: EmulatorRequest): string {
  return `http://${request.headers.host ?? '127.0.0.1'}`;
}

export function jsonBody(request: EmulatorRequest): Record<string, unknown> {
  if (request.json === undefined) return {};
  if (!request.json || typeof request.json !== 'object' || Array.isArray(request.json)) {
    throw new GitHubError(400, 'Problems parsing JSON');
  }
  return request.json as Record<string, unknown>;
}

/** One page of a list (`per_page` at most 100, default 30) and its Link header. */
export function pageOf<T>(
  request: EmulatorRequest,
  items: T[],
): { items: T[]; headers: Record<string, string> } {
  const rawPerPage = Number(request.query.get('per_page') ?? 30);
  const perPage = Number.isFinite(rawPerPage) && rawPerPage >= 1 ? Math.min(100, Math.floor(rawPerPage)) : 30;
  const rawPage = Number(request.query.get('page') ?? 1);
  const page = Number.isFinite(rawPage) && rawPage >= 1 ? Math.floor(rawPage) : 1;
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const link = (target: number, rel: string) => {
    const query = new URLSearchParams(request.query);
    query.set('per_page', String(perPage));
    query.set('page', String(target));
    return `<${baseUrl(request)}${request.path}?${query.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(Math.min(page - 1, lastPage), 'prev'));
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length > 0 ? { link: links.join(', ') } : {},
  };
}

/**
 * A GitHub REST route; by default it needs a token (installation or personal) and counts against
 * the rate limits.
 */
export function restRoute(
  method: string,
  template: string,
  handler: RouteHandler,
  extra: { auth?: 'token' | 'jwt' | typeof NO_AUTH; counted?: boolean } = {},
): RouteSpec {
  return { method, template, handler, auth: extra.auth ?? 'token', counted: extra.counted ?? true };
}
