// Organizations and repositories: the scopes runners register in, and the path parameters that
// name them (`{org}`, `{owner}/{repo}`).
import type { ScopeKey } from '../state.js';
import type { GitHubContext } from './context.js';
import { notFound } from './http.js';

/** The path prefixes of the routes that exist at both scopes (runners, registration). */
export const SCOPE_PREFIXES = ['/orgs/{org}', '/repos/{owner}/{repo}'] as const;

export function addOrg(gh: GitHubContext, login: string): void {
  const { state } = gh;
  const key = login.toLowerCase();
  if (state.owners.has(key)) return;
  state.owners.set(key, { login, installationId: ++state.counters.installationId });
}

export function addRepo(gh: GitHubContext, fullName: string): void {
  const { state } = gh;
  const [owner, name, extra] = fullName.split('/');
  if (!owner || !name || extra !== undefined)
    throw new Error(`repository must be owner/name, got ${fullName}`);
  addOrg(gh, owner);
  const key = fullName.toLowerCase();
  if (!state.repos.has(key)) state.repos.set(key, { owner, name, fullName, id: ++state.counters.repoId });
}

/** The first configured organization, else the first repository, else the first organization. */
export function defaultScope(gh: GitHubContext): ScopeKey {
  const org = gh.state.owners.keys().next();
  const repo = gh.state.repos.keys().next();
  if (!org.done && gh.settings.orgsConfigured) return org.value;
  if (!repo.done) return repo.value;
  if (!org.done) return org.value;
  throw new Error('no GitHub organization or repository: add one first (github.addOrg / github.addRepo)');
}

/** The scope key of `org` or `owner/repo` (default: the default scope), added when unknown. */
export function normalizeScope(gh: GitHubContext, scope: string | undefined): ScopeKey {
  const key = (scope ?? defaultScope(gh)).toLowerCase();
  if (key.includes('/')) {
    if (!gh.state.repos.has(key)) addRepo(gh, scope!);
  } else if (!gh.state.owners.has(key)) addOrg(gh, scope!);
  return key;
}

export function orgScope(gh: GitHubContext, params: Record<string, string>): ScopeKey {
  const key = params.org!.toLowerCase();
  if (!gh.state.owners.has(key)) throw notFound();
  return key;
}

export function repoScope(gh: GitHubContext, params: Record<string, string>): ScopeKey {
  const key = `${params.owner}/${params.repo}`.toLowerCase();
  if (!gh.state.repos.has(key)) throw notFound();
  return key;
}

/** The scope named by `{org}` or `{owner}/{repo}`; 404 when it is unknown. */
export function scopeOf(gh: GitHubContext, params: Record<string, string>): ScopeKey {
  return params.org !== undefined ? orgScope(gh, params) : repoScope(gh, params);
}
