import { GitHub } from '@actions/github/lib/utils';
import nock from 'nock';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { createOctokit } from '../../src/github/client.js';
import { createGitHubGateway } from '../../src/github/gateway.js';
import type { GitHubScope } from '../../src/types.js';
import { createRecordingLog, type RecordingLog } from './fake-log.js';

const API = 'https://api.github.test';
const ORG: GitHubScope = { kind: 'org', org: 'acme' };
const REPO: GitHubScope = { kind: 'repo', owner: 'acme', repo: 'app' };

/** The Octokit the gateway runs on, without the retry/throttling plugins (tested in client.test.ts). */
function plainGateway(scope: GitHubScope): {
  gateway: ReturnType<typeof createGitHubGateway>;
  log: RecordingLog;
} {
  const log = createRecordingLog();
  const octokit = new GitHub({ baseUrl: API, auth: 'test-token' });
  return { gateway: createGitHubGateway({ octokit, scope, log }), log };
}

function apiRunner(id: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `runner-scaler-i-${id.toString(16).padStart(8, '0')}`,
    os: 'linux',
    status: 'online',
    busy: false,
    ephemeral: true,
    runner_group_id: 1,
    labels: [
      { id: 1, name: 'self-hosted', type: 'read-only' },
      { id: 2, name: 'linux', type: 'custom' },
    ],
    ...overrides,
  };
}

function runnerPages(path: string, ids: number[][]): nock.Scope {
  const scope = nock(API);
  const last = ids.length;
  ids.forEach((page, index) => {
    const pageNumber = index + 1;
    const query = { per_page: '100', page: String(pageNumber) };
    const links: string[] = [];
    if (pageNumber < last) links.push(`<${API}${path}?per_page=100&page=${pageNumber + 1}>; rel="next"`);
    links.push(`<${API}${path}?per_page=100&page=${last}>; rel="last"`);
    scope
      .get(path)
      .query(query)
      .reply(
        200,
        { total_count: ids.flat().length, runners: page.map((id) => apiRunner(id)) },
        { Link: links.join(', ') },
      );
  });
  return scope;
}

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('listRunners', () => {
  it.each([
    ['org', ORG, '/orgs/acme/actions/runners'],
    ['repo', REPO, '/repos/acme/app/actions/runners'],
  ] as const)('reads every page (%s scope)', async (_kind, scope, path) => {
    const pages = [
      Array.from({ length: 100 }, (_, i) => i + 1),
      Array.from({ length: 100 }, (_, i) => i + 101),
      [201, 202],
    ];
    runnerPages(path, pages);
    const runners = await plainGateway(scope).gateway.listRunners();
    expect(runners.map((runner) => runner.id)).toEqual(pages.flat());
    expect(runners[0]).toEqual({
      id: 1,
      name: 'runner-scaler-i-00000001',
      status: 'online',
      busy: false,
      labels: ['self-hosted', 'linux'],
      ephemeral: true,
    });
  });

  it('maps status and busy', async () => {
    nock(API)
      .get('/orgs/acme/actions/runners')
      .query({ per_page: '100', page: '1' })
      .reply(200, {
        total_count: 2,
        runners: [apiRunner(1, { status: 'offline', busy: false }), apiRunner(2, { busy: true, labels: [] })],
      });
    const runners = await plainGateway(ORG).gateway.listRunners();
    expect(runners.map(({ id, status, busy, labels }) => ({ id, status, busy, labels }))).toEqual([
      { id: 1, status: 'offline', busy: false, labels: ['self-hosted', 'linux'] },
      { id: 2, status: 'online', busy: true, labels: [] },
    ]);
  });

  it('reads the pages after the first at once', async () => {
    const path = '/orgs/acme/actions/runners';
    // Page 2 answers only once page 3 has been asked for: a one-page-at-a-time reader never finishes.
    let askedForPage3!: () => void;
    const page3Asked = new Promise<void>((resolve) => (askedForPage3 = resolve));
    nock(API)
      .get(path)
      .query({ per_page: '100', page: '1' })
      .reply(200, { total_count: 250, runners: Array.from({ length: 100 }, (_, i) => apiRunner(i + 1)) })
      .get(path)
      .query({ per_page: '100', page: '2' })
      .reply(async () => {
        await page3Asked;
        return [
          200,
          { total_count: 250, runners: Array.from({ length: 100 }, (_, i) => apiRunner(i + 101)) },
        ];
      })
      .get(path)
      .query({ per_page: '100', page: '3' })
      .reply(() => {
        askedForPage3();
        return [200, { total_count: 250, runners: Array.from({ length: 50 }, (_, i) => apiRunner(i + 201)) }];
      });
    const runners = await plainGateway(ORG).gateway.listRunners();
    expect(runners.map((runner) => runner.id)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it('a runner shifted onto the next page by one that left is listed once', async () => {
    const path = '/orgs/acme/actions/runners';
    nock(API)
      .get(path)
      .query({ per_page: '100', page: '1' })
      .reply(200, { total_count: 150, runners: Array.from({ length: 100 }, (_, i) => apiRunner(i + 1)) })
      // Runner 7 left after page 1 was read: page 2 now starts at runner 100.
      .get(path)
      .query({ per_page: '100', page: '2' })
      .reply(200, { total_count: 149, runners: Array.from({ length: 51 }, (_, i) => apiRunner(i + 100)) });
    const runners = await plainGateway(ORG).gateway.listRunners();
    expect(runners.map((runner) => runner.id)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  });

  it("reads on past the first page's count when runners registered meanwhile fill the last page", async () => {
    const path = '/orgs/acme/actions/runners';
    nock(API)
      .get(path)
      .query({ per_page: '100', page: '1' })
      .reply(200, { total_count: 200, runners: Array.from({ length: 100 }, (_, i) => apiRunner(i + 1)) })
      .get(path)
      .query({ per_page: '100', page: '2' })
      .reply(200, { total_count: 230, runners: Array.from({ length: 100 }, (_, i) => apiRunner(i + 101)) })
      .get(path)
      .query({ per_page: '100', page: '3' })
      .reply(200, { total_count: 230, runners: Array.from({ length: 30 }, (_, i) => apiRunner(i + 201)) });
    const runners = await plainGateway(ORG).gateway.listRunners();
    expect(runners).toHaveLength(230);
  });

  it('throws when a page fails (the read is incomplete)', async () => {
    const path = '/orgs/acme/actions/runners';
    nock(API)
      .get(path)
      .query({ per_page: '100', page: '1' })
      .reply(
        200,
        { total_count: 150, runners: [apiRunner(1)] },
        { Link: `<${API}${path}?per_page=100&page=2>; rel="next"` },
      )
      .get(path)
      .query({ per_page: '100', page: '2' })
      .reply(502, { message: 'Server Error' });
    await expect(plainGateway(ORG).gateway.listRunners()).rejects.toThrow(
      /Listing the runners of organization acme failed: HTTP 502/,
    );
  });
});

describe('generateJitConfig', () => {
  const name = 'runner-scaler-i-0123456789abcdef0';
  const labels = ['self-hosted', 'linux', 'x64'];
  const expectedBody = { name, labels, runner_group_id: 3, work_folder: '_work' };

  it('returns the runner id and the config, masked at once (org scope)', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(201, { runner: apiRunner(42, { name, status: 'offline' }), encoded_jit_config: 'JIT-SECRET-1' });
    const { gateway, log } = plainGateway(ORG);
    await expect(gateway.generateJitConfig(name, labels, 3)).resolves.toEqual({
      runnerId: 42,
      encodedJitConfig: 'JIT-SECRET-1',
    });
    expect(log.secrets).toEqual(['JIT-SECRET-1']);
    expect(log.lines().join('\n')).not.toContain('JIT-SECRET-1');
  });

  it('uses the repository endpoint in repo scope', async () => {
    nock(API)
      .post('/repos/acme/app/actions/runners/generate-jitconfig', expectedBody)
      .reply(201, { runner: apiRunner(43, { name }), encoded_jit_config: 'JIT-SECRET-2' });
    const { gateway, log } = plainGateway(REPO);
    await expect(gateway.generateJitConfig(name, labels, 3)).resolves.toEqual({
      runnerId: 43,
      encodedJitConfig: 'JIT-SECRET-2',
    });
    expect(log.secrets).toEqual(['JIT-SECRET-2']);
  });

  it('on 409 looks the runner up by name, deletes the unused one and generates again', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(409, { message: 'Already exists - A runner with the name already exists.' })
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 1, runners: [apiRunner(42, { name, status: 'offline' })] })
      .delete('/orgs/acme/actions/runners/42')
      .reply(204)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(201, { runner: apiRunner(44, { name }), encoded_jit_config: 'JIT-SECRET-3' });
    const { gateway, log } = plainGateway(ORG);
    await expect(gateway.generateJitConfig(name, labels, 3)).resolves.toEqual({
      runnerId: 44,
      encodedJitConfig: 'JIT-SECRET-3',
    });
    expect(log.secrets).toEqual(['JIT-SECRET-3']);
    expect(log.infos.join('\n')).toContain(`${name} (id 42)`);
  });

  it('on 409 with a busy runner of that name throws and deletes nothing', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(409, { message: 'Already exists' })
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 1, runners: [apiRunner(42, { name, busy: true })] });
    await expect(plainGateway(ORG).gateway.generateJitConfig(name, labels, 3)).rejects.toThrow(
      /runner-scaler-i-0123456789abcdef0.*\(id 42\) is already registered and running a job/,
    );
  });

  it('on 409 with an online runner of that name throws and deletes nothing (its busy flag may lag)', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(409, { message: 'Already exists' })
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 1, runners: [apiRunner(42, { name, status: 'online', busy: false })] });
    await expect(plainGateway(ORG).gateway.generateJitConfig(name, labels, 3)).rejects.toThrow(
      /\(id 42\) is already registered and online/,
    );
  });

  it('on 409 when the runner took a job before the delete throws', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(409, { message: 'Already exists' })
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 1, runners: [apiRunner(42, { name, status: 'offline' })] })
      .delete('/orgs/acme/actions/runners/42')
      .reply(422, { message: 'Runner is still running a job' });
    await expect(plainGateway(ORG).gateway.generateJitConfig(name, labels, 3)).rejects.toThrow(
      /took a job before it could be replaced/,
    );
  });

  it('rethrows other errors with context', async () => {
    nock(API)
      .post('/orgs/acme/actions/runners/generate-jitconfig', expectedBody)
      .reply(403, { message: 'Resource not accessible by integration' });
    await expect(plainGateway(ORG).gateway.generateJitConfig(name, labels, 3)).rejects.toThrow(
      `Generating a JIT config for runner ${name} in organization acme failed: HTTP 403: Resource not accessible by integration`,
    );
  });
});

describe('createRegistrationToken', () => {
  it('returns the token, masked', async () => {
    nock(API)
      .post('/repos/acme/app/actions/runners/registration-token')
      .reply(201, { token: 'REG-TOKEN', expires_at: '2026-11-20T10:00:00Z' });
    const { gateway, log } = plainGateway(REPO);
    await expect(gateway.createRegistrationToken()).resolves.toEqual({
      token: 'REG-TOKEN',
      expiresAt: '2026-11-20T10:00:00Z',
    });
    expect(log.secrets).toEqual(['REG-TOKEN']);
  });
});

describe('deleteRunner', () => {
  it.each([
    [204, 'deleted'],
    [404, 'not-found'],
    [422, 'busy'],
  ] as const)('answer %i → %s', async (status, result) => {
    nock(API)
      .delete('/orgs/acme/actions/runners/42')
      .reply(status, status === 204 ? undefined : { message: 'Runner "x" is still running a job' });
    await expect(plainGateway(ORG).gateway.deleteRunner(42)).resolves.toBe(result);
  });

  it('repo scope uses the repository endpoint', async () => {
    nock(API).delete('/repos/acme/app/actions/runners/7').reply(204);
    await expect(plainGateway(REPO).gateway.deleteRunner(7)).resolves.toBe('deleted');
  });

  it('rethrows anything else with the runner id and status', async () => {
    nock(API).delete('/orgs/acme/actions/runners/42').reply(500, { message: 'Internal Server Error' });
    await expect(plainGateway(ORG).gateway.deleteRunner(42)).rejects.toThrow(
      'Deleting runner 42 in organization acme failed: HTTP 500: Internal Server Error',
    );
  });
});

describe('queued jobs', () => {
  function job(id: number, runId: number, status: string, labels = ['self-hosted', 'linux']) {
    return { id, run_id: runId, status, labels, name: `job ${id}`, steps: [] };
  }

  function runs(ids: number[]) {
    return { total_count: ids.length, workflow_runs: ids.map((id) => ({ id, status: 'queued' })) };
  }

  it('lists the queued jobs of one run, every page, latest attempt', async () => {
    const path = '/repos/acme/app/actions/runs/9/jobs';
    nock(API)
      .get(path)
      .query({ filter: 'latest', per_page: '100' })
      .reply(
        200,
        { total_count: 3, jobs: [job(1, 9, 'completed'), job(2, 9, 'queued', ['gpu'])] },
        { Link: `<${API}${path}?filter=latest&per_page=100&page=2>; rel="next"` },
      )
      .get(path)
      .query({ filter: 'latest', per_page: '100', page: '2' })
      .reply(200, { total_count: 3, jobs: [job(3, 9, 'queued')] });
    const jobs = await plainGateway(ORG).gateway.listQueuedJobsOfRun('acme/app', 9);
    expect(jobs).toEqual([
      { id: 2, runId: 9, repository: 'acme/app', labels: ['gpu'], name: 'job 2' },
      { id: 3, runId: 9, repository: 'acme/app', labels: ['self-hosted', 'linux'], name: 'job 3' },
    ]);
  });

  it('reads queued and in-progress runs, lists each run once and dedupes jobs', async () => {
    nock(API)
      .get('/repos/acme/app/actions/runs')
      .query({ status: 'queued', per_page: '100' })
      .reply(200, runs([1, 2]))
      .get('/repos/acme/app/actions/runs')
      .query({ status: 'in_progress', per_page: '100' })
      // Run 2 moved from queued to in progress between the two listings.
      .reply(200, runs([2, 3]))
      .get('/repos/acme/app/actions/runs/1/jobs')
      .query({ filter: 'latest', per_page: '100' })
      .reply(200, { total_count: 1, jobs: [job(11, 1, 'queued')] })
      .get('/repos/acme/app/actions/runs/2/jobs')
      .query({ filter: 'latest', per_page: '100' })
      .reply(200, { total_count: 2, jobs: [job(21, 2, 'queued'), job(22, 2, 'in_progress')] })
      .get('/repos/acme/app/actions/runs/3/jobs')
      .query({ filter: 'latest', per_page: '100' })
      .reply(200, {
        total_count: 3,
        jobs: [job(31, 3, 'completed'), job(32, 3, 'queued'), job(33, 3, 'queued')],
      });
    const jobs = await plainGateway(ORG).gateway.listQueuedJobs('acme/app');
    expect(jobs.map((j) => [j.id, j.runId]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [11, 1],
      [21, 2],
      [32, 3],
      [33, 3],
    ]);
  });

  it('throws when the jobs of one run cannot be read', async () => {
    nock(API)
      .get('/repos/acme/app/actions/runs')
      .query({ status: 'queued', per_page: '100' })
      .reply(200, runs([1]))
      .get('/repos/acme/app/actions/runs')
      .query({ status: 'in_progress', per_page: '100' })
      .reply(200, runs([]))
      .get('/repos/acme/app/actions/runs/1/jobs')
      .query({ filter: 'latest', per_page: '100' })
      .reply(404, { message: 'Not Found' });
    await expect(plainGateway(ORG).gateway.listQueuedJobs('acme/app')).rejects.toThrow(
      'Listing the jobs of run 1 in acme/app failed: HTTP 404',
    );
  });

  it('rejects a repository that is not owner/name', async () => {
    await expect(plainGateway(ORG).gateway.listQueuedJobs('acme')).rejects.toThrow(
      'Invalid repository "acme"',
    );
  });
});

describe('findRunner', () => {
  const name = 'runner-scaler-i-0123456789abcdef0';

  it('looks the runner up by its exact name', async () => {
    nock(API)
      .get('/repos/acme/app/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 1, runners: [apiRunner(42, { name, busy: true })] });
    await expect(plainGateway(REPO).gateway.findRunner(name)).resolves.toMatchObject({
      id: 42,
      name,
      busy: true,
    });
  });

  it('is undefined when no runner has that name', async () => {
    nock(API)
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 0, runners: [] });
    await expect(plainGateway(ORG).gateway.findRunner(name)).resolves.toBeUndefined();
  });

  it('throws with context when the lookup fails', async () => {
    nock(API)
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(503, { message: 'Service Unavailable' });
    await expect(plainGateway(ORG).gateway.findRunner(name)).rejects.toThrow(
      `Looking up runner ${name} in organization acme failed: HTTP 503`,
    );
  });
});

describe('with the plugins of createOctokit', () => {
  it('a generate-jitconfig POST resent by the retry plugin gets 409: the runner is replaced', async () => {
    const name = 'runner-scaler-i-0123456789abcdef0';
    const body = { name, labels: ['linux'], runner_group_id: 1, work_folder: '_work' };
    nock(API)
      // The first attempt registered the runner, but its answer was lost.
      .post('/orgs/acme/actions/runners/generate-jitconfig', body)
      .reply(502, { message: 'Bad Gateway' })
      .post('/orgs/acme/actions/runners/generate-jitconfig', body)
      .reply(409, { message: 'Already exists' })
      .get('/orgs/acme/actions/runners')
      .query({ name, per_page: '100', page: '1' })
      .reply(200, { total_count: 1, runners: [apiRunner(42, { name, status: 'offline' })] })
      .delete('/orgs/acme/actions/runners/42')
      .reply(204)
      .post('/orgs/acme/actions/runners/generate-jitconfig', body)
      .reply(201, { runner: apiRunner(45, { name }), encoded_jit_config: 'JIT-SECRET-4' });
    const log = createRecordingLog();
    const octokit = await createOctokit({
      auth: { kind: 'token', token: 'ghp_test' },
      baseUrl: API,
      scope: ORG,
      log,
      secondMs: 1,
    });
    const gateway = createGitHubGateway({ octokit, scope: ORG, log });
    await expect(gateway.generateJitConfig(name, ['linux'], 1)).resolves.toEqual({
      runnerId: 45,
      encodedJitConfig: 'JIT-SECRET-4',
    });
    expect(log.secrets).toEqual(['ghp_test', 'JIT-SECRET-4']);
  });
});
