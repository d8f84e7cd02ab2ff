// The GitHub App side: the app, its installations (one per organization) and the exchange of an
// app JWT for an installation access token. None of these count against the rate limits.
import { jsonResponse, type EmulatorResponse } from '../context.js';
import type { RouteSpec } from '../router.js';
import { issueToken, randomToken } from './auth.js';
import type { GitHubContext } from './context.js';
import { githubTime, notFound, restRoute } from './http.js';
import { orgScope, repoScope } from './scopes.js';
import { appIdJson, installationJson } from './views.js';

const APP = { auth: 'jwt', counted: false } as const;

/** The owner key of an installation id, or undefined. */
function installationOwner(gh: GitHubContext, installationId: number): string | undefined {
  for (const [key, owner] of gh.state.owners) if (owner.installationId === installationId) return key;
  return undefined;
}

function createInstallationToken(gh: GitHubContext, installationId: number): EmulatorResponse {
  const ownerKey = installationOwner(gh, installationId);
  if (!ownerKey) throw notFound();
  const lifetimeMs = gh.settings.installationTokenLifetimeMs;
  const issued = issueToken(gh, 'installation', `ghs_${randomToken(36)}`, lifetimeMs, { installationId });
  return jsonResponse(201, {
    token: issued.token,
    expires_at: githubTime(gh.clock.toWall(issued.expiresAt)),
    permissions: installationJson(gh, ownerKey).permissions,
    repository_selection: 'all',
  });
}

export function appRoutes(gh: GitHubContext): RouteSpec[] {
  const app = () => ({ id: appIdJson(gh), slug: 'runner-scaler', name: 'runner-scaler' });
  const installations = () => [...gh.state.owners.keys()].map((key) => installationJson(gh, key));
  return [
    restRoute('GET', '/app', () => jsonResponse(200, app()), APP),
    restRoute('GET', '/app/installations', () => jsonResponse(200, installations()), APP),
    restRoute(
      'GET',
      '/orgs/{org}/installation',
      (_request, params) => jsonResponse(200, installationJson(gh, orgScope(gh, params))),
      APP,
    ),
    restRoute(
      'GET',
      '/repos/{owner}/{repo}/installation',
      (_request, params) => {
        repoScope(gh, params);
        return jsonResponse(200, installationJson(gh, params.owner!.toLowerCase()));
      },
      APP,
    ),
    restRoute(
      'POST',
      '/app/installations/{installation_id}/access_tokens',
      (_request, params) => createInstallationToken(gh, Number(params.installation_id)),
      APP,
    ),
  ];
}
