import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { GitHub } from '@actions/github/lib/utils';
import { throttling } from '@octokit/plugin-throttling';
import { afterEach, describe, expect, it } from 'vitest';
import { ec2Client, rejection, ssmClient } from './clients.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';

let emulator: Emulator | undefined;

async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  emulator = await startEmulator({
    simulator: false,
    ...options,
    github: { orgs: ['acme'], ...options.github },
  });
  return emulator;
}

afterEach(async () => {
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

const token = { authorization: 'token ghp_test' };

describe('routing and robustness', () => {
  it('answers malformed and unknown requests in each service’s error shape', async () => {
    const emu = await start();
    const ec2 = await fetch(emu.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeVolcanoes&Version=2016-11-15',
    });
    expect(ec2.status).toBe(400);
    expect(await ec2.text()).toContain('<Code>InvalidAction</Code>');

    const ssm = await fetch(emu.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.GetParameter' },
      body: '{not json',
    });
    expect(ssm.status).toBe(400);
    expect(((await ssm.json()) as { __type: string }).__type).toBe('SerializationException');

    const github = await fetch(`${emu.url}/orgs/acme/actions/runners/generate-jitconfig`, {
      method: 'POST',
      headers: { ...token, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(github.status).toBe(400);
    const unknown = await fetch(`${emu.url}/nowhere`, { headers: token });
    expect(unknown.status).toBe(404);
    expect(emu.calls.map((call) => `${call.service} ${call.action} ${call.status}`)).toEqual([
      'ec2 DescribeVolcanoes 400',
      'ssm GetParameter 400',
      'github POST /orgs/{org}/actions/runners/generate-jitconfig 400',
      'github GET /nowhere 404',
    ]);
  });

  it('adds the configured latency and logs it per call', async () => {
    const emu = await start({ latencyMs: { ssm: 120 } });
    const ssm = ssmClient(emu);
    const ec2 = ec2Client(emu);
    await ssm.send(new GetParametersByPathCommand({ Path: '/runner-scaler' }));
    await ec2.send(new DescribeInstancesCommand({}));
    ssm.destroy();
    ec2.destroy();
    const [ssmCall, ec2Call] = emu.calls;
    expect(ssmCall!.latencyMs).toBeGreaterThanOrEqual(115);
    expect(ec2Call!.latencyMs).toBeLessThan(ssmCall!.latencyMs);
  });

  it('delays single calls with a delayMs fault and matches faults on the request', async () => {
    const emu = await start();
    emu.github.addRunner({ scope: 'acme', name: 'keep' });
    const victim = emu.github.addRunner({ scope: 'acme', name: 'victim' });
    emu.faults.inject({
      service: 'github',
      action: 'DELETE /orgs/{org}/actions/runners/{runner_id}',
      match: (request) => request.pathParams.runner_id === String(victim.id),
      status: 500,
    });
    const slow = emu.faults.inject({ service: 'github', action: /^GET /, delayMs: 150, times: 1 });
    const started = performance.now();
    expect((await fetch(`${emu.url}/orgs/acme/actions/runners`, { headers: token })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(slow.hits).toBe(1);
    expect(
      (await fetch(`${emu.url}/orgs/acme/actions/runners/${victim.id}`, { method: 'DELETE', headers: token }))
        .status,
    ).toBe(500);
    expect(emu.github.runners().map((runner) => runner.name)).toEqual(['keep', 'victim']);
  });

  it('stops promptly with a request in flight and clears its timers', async () => {
    const emu = await start({ latencyMs: { github: 10_000 } });
    emu.seedInstance({ state: 'shutting-down' });
    const inFlight = fetch(`${emu.url}/orgs/acme/actions/runners`, { headers: token }).then(
      (response) => response.status,
      () => 'aborted',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await emu.stop();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await inFlight).toBe('aborted');
    await emu.stop();
  });

  it('serves a control API for the standalone emulator', async () => {
    const emu = await start();
    const queued = await fetch(`${emu.url}/_emulator/runs`, {
      method: 'POST',
      body: JSON.stringify({ repository: 'acme/app', jobs: [{ labels: ['self-hosted'] }] }),
    });
    expect(await queued.json()).toMatchObject({ jobIds: [expect.any(Number)] });
    const bad = await fetch(`${emu.url}/_emulator/instances`, {
      method: 'POST',
      body: JSON.stringify({ state: 'pending', withRunner: 'idle' }),
    });
    expect(bad.status).toBe(400);
    await fetch(`${emu.url}/_emulator/advance`, { method: 'POST', body: JSON.stringify({ ms: 60_000 }) });
    expect(emu.clock.offset()).toBeGreaterThanOrEqual(60_000);
    const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { jobs: unknown[] };
    expect(state.jobs).toHaveLength(1);
    expect(emu.calls).toEqual([]);
  });
});

describe('client libraries recognise the limits', () => {
  it('@octokit/plugin-throttling sees the secondary and the primary limit', async () => {
    const emu = await start({ budgets: { github: { pointsPerMinute: 3, primaryPerHour: 5 } } });
    const secondary: number[] = [];
    const primary: number[] = [];
    const Throttled = GitHub.plugin(throttling);
    const client = new Throttled({
      baseUrl: emu.url,
      auth: 'token ghp_test',
      throttle: {
        onSecondaryRateLimit: (retryAfter: number) => {
          secondary.push(retryAfter);
          return false;
        },
        onRateLimit: (retryAfter: number) => {
          primary.push(retryAfter);
          return false;
        },
      },
    });
    const list = () => client.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    for (let n = 0; n < 3; n++) await list();
    const limited = await rejection(list());
    expect(limited.status).toBe(403);
    expect(secondary).toHaveLength(1);
    expect(secondary[0]).toBeGreaterThan(50);
    expect(primary).toEqual([]);
    await emu.stop();

    emulator = await startEmulator({
      simulator: false,
      github: { orgs: ['acme'] },
      budgets: { github: { primaryPerHour: 2 } },
    });
    const second = new Throttled({
      baseUrl: emulator.url,
      auth: 'token ghp_test',
      throttle: {
        onSecondaryRateLimit: () => false,
        onRateLimit: (retryAfter: number) => (primary.push(retryAfter), false),
      },
    });
    await second.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    await second.request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    await rejection(second.request('GET /orgs/{org}/actions/runners', { org: 'acme' }));
    expect(primary).toHaveLength(1);
    expect(primary[0]).toBeGreaterThan(3000);
  });
});
