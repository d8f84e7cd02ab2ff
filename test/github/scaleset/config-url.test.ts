import { describe, expect, it } from 'vitest';
import { joinServiceUrl, scaleSetEndpoints } from '../../../src/github/scaleset/config-url.js';

const ORG = { kind: 'org', org: 'acme' } as const;
const REPO = { kind: 'repo', owner: 'acme', repo: 'app' } as const;

describe('scaleSetEndpoints', () => {
  it.each([
    ['https://github.com', 'https://api.github.com'],
    ['https://GitHub.com/', 'https://api.github.com'],
    ['https://www.github.com', 'https://api.github.com'],
    ['https://github.localhost', 'https://api.github.localhost'],
    ['https://acme.ghe.com', 'https://api.acme.ghe.com'],
  ])('%s is hosted: API %s', (serverUrl, apiUrl) => {
    const endpoints = scaleSetEndpoints(serverUrl, ORG);
    expect(endpoints).toMatchObject({ apiUrl, hosted: true });
  });

  it.each([
    ['https://ghes.example.com', 'https://ghes.example.com/api/v3'],
    ['http://127.0.0.1:4010', 'http://127.0.0.1:4010/api/v3'],
    ['https://github.example.com:8443/', 'https://github.example.com:8443/api/v3'],
    // Not GitHub's hosted domain, only a look-alike.
    ['https://notgithub.com', 'https://notgithub.com/api/v3'],
  ])('%s is Enterprise Server: API %s', (serverUrl, apiUrl) => {
    expect(scaleSetEndpoints(serverUrl, ORG)).toMatchObject({ apiUrl, hosted: false });
  });

  it('forceGhes treats a hosted host as Enterprise Server', () => {
    expect(scaleSetEndpoints('https://github.com', ORG, true)).toMatchObject({
      apiUrl: 'https://github.com/api/v3',
      hosted: false,
    });
  });

  it('builds the config URL of an org or a repository, without trailing slash', () => {
    expect(scaleSetEndpoints('https://github.com/', ORG).configUrl).toBe('https://github.com/acme');
    expect(scaleSetEndpoints('http://127.0.0.1:4010', REPO).configUrl).toBe('http://127.0.0.1:4010/acme/app');
  });

  it.each(['github.com', 'ftp://github.com', 'https://github.com/acme', 'https://github.com?x=1', ''])(
    'rejects server URL %j, naming it',
    (serverUrl) => {
      expect(() => scaleSetEndpoints(serverUrl, ORG)).toThrow(
        /GitHub server URL: got .*expected an http\(s\) URL/,
      );
    },
  );

  it('rejects names that would change the URL and the enterprise scope', () => {
    expect(() => scaleSetEndpoints('https://github.com', { kind: 'org', org: 'a/b' })).toThrow(
      /github scope: got "a\/b"/,
    );
    expect(() =>
      scaleSetEndpoints('https://github.com', { kind: 'repo', owner: 'enterprises', repo: 'x' }),
    ).toThrow(/enterprise/);
  });
});

describe('joinServiceUrl', () => {
  it('keeps the base path prefix and query, adds api-version', () => {
    const url = joinServiceUrl('https://pipelines.test/tenant/1/?x=1', '_apis/runtime/runnerscalesets/7');
    expect(url.toString()).toBe(
      'https://pipelines.test/tenant/1/_apis/runtime/runnerscalesets/7?x=1&api-version=6.0-preview',
    );
  });

  it('works with or without the trailing slash of the base and the leading slash of the path', () => {
    for (const [base, path] of [
      ['https://broker.test/rest', '/_apis/a'],
      ['https://broker.test/rest/', '_apis/a'],
      ['https://broker.test/rest//', '//_apis/a'],
    ] as const) {
      expect(joinServiceUrl(base, path).toString()).toBe(
        'https://broker.test/rest/_apis/a?api-version=6.0-preview',
      );
    }
  });

  it('encodes query values and keeps an api-version already given', () => {
    const url = joinServiceUrl('https://broker.test/', '_apis/x?api-version=7.0', { name: 'a b&c' });
    expect(url.search).toBe('?api-version=7.0&name=a+b%26c');
  });
});
