// The emulator features the reliability scenarios rely on: lost answers, call hooks and observers, the
// DELETE that kills a job during the busy lag, killed-job records, token expiry, rate-limit fault headers.
import { createSign, generateKeyPairSync } from 'node:crypto';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { TAG_JOB_STARTED } from '../../src/contract.js';
import { ec2Client, octokit, rejection } from './clients.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';

let emulator: Emulator | undefined;

async function start(options: EmulatorOptions = {}) {
  emulator = await startEmulator({ github: { orgs: ['acme'], ...options.github }, ...options });
  return emulator;
}

afterEach(async () => {
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

const JIT = 'POST /orgs/{org}/actions/runners/generate-jitconfig';
const body = { org: 'acme', name: 'prod-i-0123456789abcdef0', runner_group_id: 1, labels: ['linux'] };

function busySeed(emu: Emulator) {
  const seeded = emu.seedInstance({
    environment: 'prod',
    pool: 'linux',
    withRunner: 'idle',
    scope: 'acme',
    labels: ['self-hosted', 'linux'],
  });
  const { jobIds } = emu.github.queueRun({
    repository: 'acme/app',
    jobs: [{ labels: ['linux'], durationMs: 10 * 60_000 }],
  });
  return { ...seeded, jobId: jobIds[0]! };
}

describe('faults: lost answers and hooks', () => {
  it('a lost answer: the call takes effect, the client gets the error', async () => {
    const emu = await start();
    const fault = emu.faults.inject({
      service: 'github',
      action: JIT,
      status: 502,
      lostResponse: true,
      times: 1,
    });
    const gh = octokit(emu);
    const error = await rejection(gh.request(`POST /orgs/{org}/actions/runners/generate-jitconfig`, body));
    expect(error.status).toBe(502);
    expect(fault.hits).toBe(1);
    expect(emu.github.runner(body.name)).toMatchObject({ status: 'offline' });
    const again = await rejection(gh.request(`POST /orgs/{org}/actions/runners/generate-jitconfig`, body));
    expect(again.status).toBe(409);
  });

  it('beforeCall runs before the call is handled, afterCall after; observers see every answer', async () => {
    const emu = await start();
    const seen: string[] = [];
    emu.faults.inject({
      service: 'github',
      action: JIT,
      times: 1,
      beforeCall: () => seen.push(`before: ${emu.github.runners().length} runners`),
      afterCall: () => seen.push(`after: ${emu.github.runners().length} runners`),
    });
    const stop = emu.onCall((request, answer) => seen.push(`${request.action} ${answer.status}`));
    await octokit(emu).request(`POST /orgs/{org}/actions/runners/generate-jitconfig`, body);
    stop();
    await octokit(emu).request('GET /orgs/{org}/actions/runners', { org: 'acme' });
    expect(seen).toEqual(['before: 0 runners', 'after: 1 runners', `${JIT} 201`]);
  });

  it("a fault's own rate-limit headers win over the budget's", async () => {
    const emu = await start();
    emu.faults.inject({
      service: 'github',
      status: 403,
      message: 'API rate limit exceeded for installation.',
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1999999999' },
      times: 1,
    });
    const error = await rejection(octokit(emu).request('GET /orgs/{org}/actions/runners', { org: 'acme' }));
    const headers = (error.response as { headers: Record<string, string> }).headers;
    expect(headers['x-ratelimit-remaining']).toBe('0');
    expect(headers['x-ratelimit-reset']).toBe('1999999999');
  });

  it('neverBoot counts the instances it kept from booting', async () => {
    const emu = await start({ simulator: { bootDelayMs: 1_000 } });
    const rule = emu.faults.neverBoot({ count: 2 });
    emu.seedInstance({ environment: 'prod', state: 'pending' });
    expect(rule.hits).toBe(1);
  });
});

describe('the busy lag', () => {
  it('by default a DELETE during the lag answers 422 from the real state', async () => {
    const emu = await start({ github: { orgs: ['acme'], busyLagMs: 60_000 } });
    const seeded = busySeed(emu);
    expect(emu.github.runner(seeded.runnerId!)).toMatchObject({ busy: true, apiBusy: false });
    const error = await rejection(
      octokit(emu).request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
        org: 'acme',
        runner_id: seeded.runnerId!,
      }),
    );
    expect(error.status).toBe(422);
    expect(emu.github.killedJobs()).toEqual([]);
  });

  it('kills-job: a DELETE during the lag succeeds and kills the job, as on GitHub; after the lag 422', async () => {
    const emu = await start({
      github: { orgs: ['acme'], busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' },
    });
    const lagging = busySeed(emu);
    await octokit(emu).request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
      org: 'acme',
      runner_id: lagging.runnerId!,
    });
    expect(emu.github.runner(lagging.runnerId!)).toBeUndefined();
    expect(emu.github.jobs().find((j) => j.id === lagging.jobId)).toMatchObject({ conclusion: 'failure' });
    expect(emu.github.killedJobs()).toEqual([
      expect.objectContaining({
        jobId: lagging.jobId,
        cause: 'runner-deleted',
        runnerName: lagging.runnerName,
      }),
    ]);
    await emu.advance(2_000);
    expect(emu.ec2.instance(lagging.instanceId)?.state).not.toBe('running');

    const visible = busySeed(emu);
    await emu.advance(61_000);
    const error = await rejection(
      octokit(emu).request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
        org: 'acme',
        runner_id: visible.runnerId!,
      }),
    );
    expect(error.status).toBe(422);
  });

  it('the job-started tag is written unless reportJobStart is off', async () => {
    const emu = await start({ simulator: { reportJobStart: false } });
    const seeded = busySeed(emu);
    expect(emu.github.runner(seeded.runnerId!)?.busy).toBe(true);
    expect(emu.ec2.instance(seeded.instanceId)?.tags[TAG_JOB_STARTED]).toBeUndefined();
  });
});

describe('killed jobs', () => {
  it('records the cause: a TerminateInstances of a busy instance, a spot interruption', async () => {
    const emu = await start();
    const terminated = busySeed(emu);
    const interrupted = busySeed(emu);
    const ec2 = ec2Client(emu);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [terminated.instanceId] }));
    ec2.destroy();
    emu.faults.interrupt(interrupted.instanceId);
    expect(emu.github.killedJobs().map((k) => [k.jobId, k.cause])).toEqual([
      [terminated.jobId, 'terminated'],
      [interrupted.jobId, 'interrupted'],
    ]);
  });
});

describe('installation tokens', () => {
  it('expireInstallationTokens makes every issued token fail with 401', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const emu = await start({ github: { orgs: ['acme'], app: { id: 7, privateKey } } });
    const now = Math.floor(Date.now() / 1000);
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: now - 30, exp: now + 300, iss: 7 })}`;
    const jwt = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(privateKey, 'base64url')}`;
    const app = octokit(emu, jwt);
    const { data: installation } = await app.request('GET /orgs/{org}/installation', { org: 'acme' });
    const { data } = await app.request('POST /app/installations/{installation_id}/access_tokens', {
      installation_id: installation.id,
    });
    const gh = octokit(emu, data.token);
    await expect(gh.request('GET /orgs/{org}/actions/runners', { org: 'acme' })).resolves.toBeDefined();
    expect(emu.github.expireInstallationTokens()).toBe(1);
    const error = await rejection(gh.request('GET /orgs/{org}/actions/runners', { org: 'acme' }));
    expect(error.status).toBe(401);
  });
});
