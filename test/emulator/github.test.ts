import { generateKeyPairSync } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { GitHub } from '@actions/github/lib/utils';
import { afterEach, describe, expect, it } from 'vitest';
import { octokit, rejection } from './clients.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';

let emulator: Emulator | undefined;

async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  emulator = await startEmulator({
    simulator: false,
    ...options,
    github: { orgs: ['acme'], repos: ['acme/app'], ...options.github },
  });
  return emulator;
}

afterEach(async () => {
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

async function api(
  target: Emulator,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json' };
  if (options.token !== null) headers.authorization = `token ${options.token ?? 'ghp_test'}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

describe('runners', () => {
  it('lists runners 100 per page with Link headers, total_count and a name filter', async () => {
    const gh = await start();
    for (let n = 1; n <= 250; n++)
      gh.github.addRunner({ scope: 'acme', name: `prod-runner-${n}`, labels: ['self-hosted', 'linux'] });
    gh.github.addRunner({ scope: 'acme/app', name: 'repo-runner' });

    const first = await api(gh, 'GET', '/orgs/acme/actions/runners?per_page=100');
    expect(first.status).toBe(200);
    expect(first.body.total_count).toBe(250);
    expect(first.body.runners).toHaveLength(100);
    const link = first.headers.get('link')!;
    expect(link).toContain(`<${gh.url}/orgs/acme/actions/runners?per_page=100&page=2>; rel="next"`);
    expect(link).toContain(`<${gh.url}/orgs/acme/actions/runners?per_page=100&page=3>; rel="last"`);
    const runner = (first.body.runners as Record<string, unknown>[])[0]!;
    expect(runner).toMatchObject({
      name: 'prod-runner-1',
      status: 'online',
      busy: false,
      ephemeral: true,
      runner_group_id: 1,
    });
    expect(runner.labels).toEqual([
      { id: expect.any(Number), name: 'self-hosted', type: 'read-only' },
      { id: expect.any(Number), name: 'linux', type: 'read-only' },
    ]);
    const last = await api(gh, 'GET', '/orgs/acme/actions/runners?per_page=100&page=3');
    expect(last.body.runners).toHaveLength(50);
    expect(last.headers.get('link')).not.toContain('rel="next"');

    const all = await octokit(gh).paginate('GET /orgs/{org}/actions/runners', { org: 'acme', per_page: 100 });
    expect(all).toHaveLength(250);
    expect(gh.calls.filter((call) => call.action === 'GET /orgs/{org}/actions/runners')).toHaveLength(5);

    const named = await api(gh, 'GET', '/orgs/acme/actions/runners?name=prod-runner-42');
    expect(named.body.total_count).toBe(1);
    const repo = await octokit(gh).request('GET /repos/{owner}/{repo}/actions/runners', {
      owner: 'acme',
      repo: 'app',
    });
    expect(repo.data.runners.map((r) => r.name)).toEqual(['repo-runner']);
    expect((await api(gh, 'GET', '/orgs/other/actions/runners')).status).toBe(404);
  });

  it('pre-registers an offline runner with generate-jitconfig; 409 on a duplicate name, 422 on bad labels', async () => {
    const gh = await start();
    const client = octokit(gh);
    const created = await client.request('POST /orgs/{org}/actions/runners/generate-jitconfig', {
      org: 'acme',
      name: 'prod-i-0123456789abcdef0',
      runner_group_id: 1,
      labels: ['self-hosted', 'linux', 'gpu'],
      work_folder: '_work',
    });
    expect(created.status).toBe(201);
    expect(created.data.runner).toMatchObject({
      name: 'prod-i-0123456789abcdef0',
      status: 'offline',
      busy: false,
    });
    expect(created.data.encoded_jit_config).toEqual(expect.any(String));
    expect(gh.issuedSecrets()).toContain(created.data.encoded_jit_config);
    expect(gh.github.runners('acme').map((r) => [r.name, r.status])).toEqual([
      ['prod-i-0123456789abcdef0', 'offline'],
    ]);

    const duplicate = await rejection(
      client.request('POST /orgs/{org}/actions/runners/generate-jitconfig', {
        org: 'acme',
        name: 'prod-i-0123456789abcdef0',
        runner_group_id: 1,
        labels: ['linux'],
      }),
    );
    expect(duplicate.status).toBe(409);

    const noLabels = await api(gh, 'POST', '/orgs/acme/actions/runners/generate-jitconfig', {
      body: { name: 'x', runner_group_id: 1, labels: [] },
    });
    expect(noLabels.status).toBe(422);
    const tooMany = await api(gh, 'POST', '/repos/acme/app/actions/runners/generate-jitconfig', {
      body: { name: 'x', runner_group_id: 1, labels: Array.from({ length: 101 }, (_, n) => `l${n}`) },
    });
    expect(tooMany.status).toBe(422);
    expect(gh.github.runners()).toHaveLength(1);
  });

  it('deletes idle runners (204), refuses busy ones (422) and answers 404 for unknown ids', async () => {
    const gh = await start();
    const idle = gh.github.addRunner({ scope: 'acme', name: 'idle-one' });
    const busy = gh.github.addRunner({ scope: 'acme', name: 'busy-one', busy: true });

    expect((await api(gh, 'DELETE', `/orgs/acme/actions/runners/${idle.id}`)).status).toBe(204);
    const refused = await api(gh, 'DELETE', `/orgs/acme/actions/runners/${busy.id}`);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toBe('Runner "busy-one" is still running a job');
    expect((await api(gh, 'DELETE', `/orgs/acme/actions/runners/${idle.id}`)).status).toBe(404);
    expect(gh.github.runners().map((r) => r.name)).toEqual(['busy-one']);
    expect(gh.calls.map((call) => `${call.action} ${call.status}`)).toEqual([
      'DELETE /orgs/{org}/actions/runners/{runner_id} 204',
      'DELETE /orgs/{org}/actions/runners/{runner_id} 422',
      'DELETE /orgs/{org}/actions/runners/{runner_id} 404',
    ]);
  });

  it('issues registration tokens valid for an hour', async () => {
    const gh = await start();
    const answer = await api(gh, 'POST', '/repos/acme/app/actions/runners/registration-token');
    expect(answer.status).toBe(201);
    expect(answer.body.token).toMatch(/^[A-Z0-9]{29}$/);
    const expiresIn = Date.parse(answer.body.expires_at as string) - Date.now();
    expect(expiresIn).toBeGreaterThan(3_500_000);
    expect(gh.issuedSecrets()).toContain(answer.body.token);
  });
});

describe('workflow runs and jobs', () => {
  it('lists queued runs and their jobs with labels', async () => {
    const gh = await start();
    const { runId, jobIds } = gh.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['self-hosted', 'linux'] }, { labels: ['self-hosted', 'gpu'], name: 'train' }],
      count: 2,
    });
    expect(jobIds).toHaveLength(4);
    gh.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['ubuntu-latest'] }] });

    const client = octokit(gh);
    const runs = await client.request('GET /repos/{owner}/{repo}/actions/runs', {
      owner: 'acme',
      repo: 'app',
      status: 'queued',
      per_page: 1,
    });
    expect(runs.data.total_count).toBe(2);
    expect(runs.data.workflow_runs).toHaveLength(1);
    expect(runs.headers.link).toContain('rel="next"');

    const jobs = await client.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs', {
      owner: 'acme',
      repo: 'app',
      run_id: runId,
      filter: 'latest',
    });
    expect(jobs.data.total_count).toBe(4);
    expect(
      jobs.data.jobs.map((job) => [job.id, job.run_id, job.status, job.labels, job.runner_name]),
    ).toEqual(
      jobIds.map((id, index) => [
        id,
        runId,
        'queued',
        index % 2 ? ['self-hosted', 'gpu'] : ['self-hosted', 'linux'],
        null,
      ]),
    );
    const none = await client.request('GET /repos/{owner}/{repo}/actions/runs', {
      owner: 'acme',
      repo: 'app',
      status: 'in_progress',
    });
    expect(none.data.workflow_runs).toEqual([]);
  });
});

describe('authentication', () => {
  it('requires an authorization header and enforces a configured token list', async () => {
    const gh = await start({ github: { tokens: ['ghp_allowed'] } });
    const anonymous = await api(gh, 'GET', '/orgs/acme/actions/runners', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.message).toBe('Requires authentication');
    expect((await api(gh, 'GET', '/orgs/acme/actions/runners', { token: 'ghp_other' })).status).toBe(401);
    expect((await api(gh, 'GET', '/orgs/acme/actions/runners', { token: 'ghp_allowed' })).status).toBe(200);
  });

  it('exchanges a verified app JWT for installation tokens, as @octokit/auth-app does, and expires them', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const gh = await start({
      github: { app: { id: 42, privateKey: pem }, tokens: [], installationTokenLifetimeMs: 600_000 },
    });

    const app = new GitHub({
      baseUrl: gh.url,
      authStrategy: createAppAuth,
      auth: { appId: 42, privateKey: pem },
    });
    const installation = await app.request('GET /orgs/{org}/installation', { org: 'acme' });
    const client = new GitHub({
      baseUrl: gh.url,
      authStrategy: createAppAuth,
      auth: { appId: 42, privateKey: pem, installationId: installation.data.id },
    });
    const runners = await client.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    expect(runners.status).toBe(200);
    const tokenCall = gh.calls.find(
      (call) => call.action === 'POST /app/installations/{installation_id}/access_tokens',
    );
    expect(tokenCall?.status).toBe(201);
    const token = gh.issuedSecrets().find((secret) => secret.startsWith('ghs_'))!;
    expect(gh.issuedSecrets()).toContain(pem);

    await gh.advance(601_000);
    const expired = await api(gh, 'GET', '/orgs/acme/actions/runners', { token });
    expect(expired.status).toBe(401);
    expect(expired.body.message).toBe('Bad credentials');

    const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const impostor = new GitHub({
      baseUrl: gh.url,
      authStrategy: createAppAuth,
      auth: { appId: 42, privateKey: otherKey.export({ type: 'pkcs1', format: 'pem' }).toString() },
    });
    const refused = await rejection(impostor.request('GET /orgs/{org}/installation', { org: 'acme' }));
    expect(refused.status).toBe(401);
  });
});

describe('rate limits', () => {
  it('sends x-ratelimit headers and answers the secondary limit with 403 and retry-after', async () => {
    const gh = await start({ budgets: { github: { pointsPerMinute: 20, primary: false } } });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let n = 0; n < 5; n++) {
      const answer = await api(gh, 'POST', '/orgs/acme/actions/runners/registration-token');
      statuses.push(answer.status);
      if (answer.status === 403) limited = answer;
      expect(answer.headers.get('x-ratelimit-limit')).toBe('5000');
      expect(answer.headers.get('x-ratelimit-remaining')).toEqual(expect.any(String));
      expect(answer.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
      expect(answer.headers.get('x-ratelimit-used')).toEqual(expect.any(String));
    }
    // Writes cost 5 points: four fit in 20.
    expect(statuses).toEqual([201, 201, 201, 201, 403]);
    expect(limited!.body.message).toMatch(/^You have exceeded a secondary rate limit/);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(gh.calls.at(-1)).toMatchObject({ status: 403, code: 'secondary_rate_limit' });
  });

  it('answers an exhausted primary limit with remaining 0 and reports it on /rate_limit', async () => {
    const gh = await start({ budgets: { github: { primaryPerHour: 3, secondary: false } } });
    const answers = [];
    for (let n = 0; n < 4; n++) answers.push(await api(gh, 'GET', '/orgs/acme/actions/runners'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 403]);
    expect(answers.map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(answers[3]!.body.message).toMatch(/^API rate limit exceeded/);
    const limits = await api(gh, 'GET', '/rate_limit');
    expect(limits.status).toBe(200);
    expect(limits.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('answers injected GitHub faults with their status and headers', async () => {
    const gh = await start();
    gh.faults.inject({ service: 'github', action: 'GET /orgs/{org}/actions/runners', status: 502, times: 1 });
    expect((await api(gh, 'GET', '/orgs/acme/actions/runners')).status).toBe(502);
    expect((await api(gh, 'GET', '/orgs/acme/actions/runners')).status).toBe(200);
  });
});
