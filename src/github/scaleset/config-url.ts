// Where a scale set belongs and which API hands out its tokens. The rules are those of GitHub's own
// clients: the runner binary and actions/scaleset decide hosted vs Enterprise Server from the host alone.
import type { GitHubScope } from '../../types.js';

export interface ScaleSetEndpoints {
  /** https://host/org or https://host/owner/repo, sent verbatim in the runner-registration exchange. */
  configUrl: string;
  /** REST API root: https://api.github.com, https://api.acme.ghe.com or https://ghes.example/api/v3. */
  apiUrl: string;
  hosted: boolean;
}

/** Hosts served by GitHub itself: github.com, its www alias, the development host and GHE.com tenants. */
export function isHostedGitHub(host: string): boolean {
  const name = host.toLowerCase();
  return (
    name === 'github.com' ||
    name === 'www.github.com' ||
    name === 'github.localhost' ||
    name.endsWith('.ghe.com')
  );
}

/**
 * The config URL and API root for a scope on a GitHub server (GITHUB_SERVER_URL style: no path).
 * Anything else than a host and an org or owner/repo is rejected, as the service would.
 */
export function scaleSetEndpoints(
  serverUrl: string,
  scope: GitHubScope,
  forceGhes = false,
): ScaleSetEndpoints {
  let server: URL;
  try {
    server = new URL(serverUrl.trim().replace(/\/+$/, ''));
  } catch {
    throw new Error(
      `GitHub server URL: got ${JSON.stringify(serverUrl)}, expected an http(s) URL such as https://github.com`,
    );
  }
  if (
    !/^https?:$/.test(server.protocol) ||
    (server.pathname !== '/' && server.pathname !== '') ||
    server.search
  ) {
    throw new Error(
      `GitHub server URL: got ${JSON.stringify(serverUrl)}, expected an http(s) URL of a host without a path, such as https://github.com`,
    );
  }
  const parts = scope.kind === 'org' ? [scope.org] : [scope.owner, scope.repo];
  for (const part of parts) {
    if (!/^[A-Za-z0-9._-]+$/.test(part)) {
      throw new Error(
        `github scope: got ${JSON.stringify(part)}, expected an organization, owner or repository name`,
      );
    }
  }
  if (scope.kind === 'repo' && scope.owner.toLowerCase() === 'enterprises') {
    throw new Error(
      'github scope: "enterprises/…" is an enterprise; scale sets support an organization or a repository',
    );
  }
  const origin = `${server.protocol}//${server.host}`;
  const hosted = !forceGhes && isHostedGitHub(server.host);
  const apiHost = server.host.toLowerCase() === 'www.github.com' ? 'api.github.com' : `api.${server.host}`;
  return {
    configUrl: `${origin}/${parts.join('/')}`,
    apiUrl: hosted ? `${server.protocol}//${apiHost}` : `${origin}/api/v3`,
    hosted,
  };
}

/** `https://base/prefix/` + `a/b` -> `https://base/prefix/a/b`: the base's path prefix and query are kept. */
export function joinServiceUrl(baseUrl: string, path: string, query: Record<string, string> = {}): URL {
  const url = new URL(baseUrl);
  const [pathPart = '', queryPart = ''] = path.split('?', 2);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${pathPart.replace(/^\/+/, '')}`;
  for (const [key, value] of new URLSearchParams(queryPart)) url.searchParams.set(key, value);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', '6.0-preview');
  return url;
}
