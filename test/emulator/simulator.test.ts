import {
  DescribeInstancesCommand,
  EC2Client,
  paginateDescribeInstances,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import {
  instanceTags,
  parameterName,
  poolParameterName,
  runnerName,
  TAG_JOB_STARTED,
} from '../../src/contract.js';
import { ec2Client, octokit, rejection, ssmClient } from './clients.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';

let emulator: Emulator | undefined;
let ec2: EC2Client | undefined;
let ssm: SSMClient | undefined;

async function start(options: EmulatorOptions = {}) {
  emulator = await startEmulator({ github: { orgs: ['acme'] }, ...options });
  ec2 = ec2Client(emulator);
  ssm = ssmClient(emulator);
  return { emu: emulator, ec2, ssm, gh: octokit(emulator) };
}

afterEach(async () => {
  ec2?.destroy();
  ssm?.destroy();
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

async function launch(client: EC2Client, count = 1, pool = 'linux'): Promise<string[]> {
  const answer = await client.send(
    new RunInstancesCommand({
      ImageId: 'ami-0123456789abcdef0',
      MinCount: count,
      MaxCount: count,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: Object.entries(instanceTags('prod', pool)).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    }),
  );
  return answer.Instances!.map((instance) => instance.InstanceId!);
}

describe('instance lifecycle (JIT registration)', () => {
  it('boots, reads and deletes its config, serves one job, unregisters and terminates', async () => {
    const { emu, ec2, ssm, gh } = await start({
      simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000 },
      github: { orgs: ['acme'], busyLagMs: 30_000 },
    });
    const [id] = await launch(ec2);
    const name = runnerName('prod', id!);
    const jit = await gh.request('POST /orgs/{org}/actions/runners/generate-jitconfig', {
      org: 'acme',
      name,
      runner_group_id: 1,
      labels: ['self-hosted', 'linux'],
    });
    await ssm.send(
      new PutParameterCommand({
        Name: parameterName('prod', id!),
        Value: jit.data.encoded_jit_config,
        Type: 'SecureString',
      }),
    );
    const { runId, jobIds } = emu.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['self-hosted', 'linux'], durationMs: 120_000 }],
    });
    expect(emu.ec2.instance(id!)?.state).toBe('pending');

    // Boot: the instance reads its parameter and deletes it; the runner is still starting.
    await emu.advance(20_000);
    expect(emu.ec2.instance(id!)?.state).toBe('running');
    expect(emu.ssm.parameter(parameterName('prod', id!))).toBeUndefined();
    expect(
      emu.calls
        .filter((call) => call.caller === 'instance')
        .map((call) => `${call.service} ${call.action} ${call.status}`),
    ).toEqual(['ssm GetParameter 200', 'ssm DeleteParameter 200']);
    expect(emu.github.runner(name)?.status).toBe('offline');

    // Online: it takes the queued job at once and reports the start as an instance tag.
    await emu.advance(3_000);
    const runner = emu.github.runner(name)!;
    expect(runner).toMatchObject({ status: 'online', busy: true, apiBusy: false, jobId: jobIds[0] });
    expect(emu.github.jobs({ runId })[0]).toMatchObject({ status: 'in_progress', runnerName: name });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id!] }));
    const jobStarted = described.Reservations![0]!.Instances![0]!.Tags!.find(
      (tag) => tag.Key === TAG_JOB_STARTED,
    )?.Value;
    expect(Math.abs(Date.parse(jobStarted!) - Date.now())).toBeLessThan(5_000);
    expect(emu.calls.filter((call) => call.caller === 'instance').at(-1)).toMatchObject({
      service: 'ec2',
      action: 'CreateTags',
    });

    // The API's busy flag lags, but a DELETE still sees the real state.
    const seen = await gh.request('GET /orgs/{org}/actions/runners/{runner_id}', {
      org: 'acme',
      runner_id: runner.id,
    });
    expect(seen.data.busy).toBe(false);
    const refused = await rejection(
      gh.request('DELETE /orgs/{org}/actions/runners/{runner_id}', { org: 'acme', runner_id: runner.id }),
    );
    expect(refused.status).toBe(422);
    await emu.advance(30_000);
    const later = await gh.request('GET /orgs/{org}/actions/runners/{runner_id}', {
      org: 'acme',
      runner_id: runner.id,
    });
    expect(later.data.busy).toBe(true);

    // Done: the job completes, the ephemeral runner is gone and the instance shuts down.
    await emu.advance(90_000);
    expect(emu.github.jobs({ runId })[0]).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(emu.github.runs()[0]).toMatchObject({ id: runId, status: 'completed', conclusion: 'success' });
    expect(emu.github.runner(name)).toBeUndefined();
    const gone = await rejection(
      gh.request('GET /orgs/{org}/actions/runners/{runner_id}', { org: 'acme', runner_id: runner.id }),
    );
    expect(gone.status).toBe(404);
    expect(emu.ec2.instance(id!)?.state).toBe('shutting-down');
    await emu.advance(5_000);
    expect(emu.ec2.instance(id!)?.state).toBe('terminated');
    expect(emu.ec2.instance(id!)?.stateReason?.code).toBe('Client.InstanceInitiatedShutdown');
  });

  it('polls for a missing parameter and shuts down after configWaitMs', async () => {
    const { emu, ec2 } = await start({
      simulator: { bootDelayMs: 1_000, configPollMs: 10_000, configWaitMs: 60_000 },
    });
    const [id] = await launch(ec2);
    await emu.advance(50_000);
    expect(emu.ec2.instance(id!)?.state).toBe('running');
    await emu.advance(15_000);
    expect(emu.ec2.instance(id!)?.state).toBe('shutting-down');
    const reads = emu.calls.filter((call) => call.caller === 'instance' && call.action === 'GetParameter');
    // Each poll reads the instance's parameter and the pool's registration parameter.
    expect(reads.length).toBe(2 * 7);
    expect(reads.every((call) => call.code === 'ParameterNotFound')).toBe(true);
  });

  it('does not start a runner from a JIT config the emulator never issued', async () => {
    const { emu, ec2 } = await start({ simulator: { bootDelayMs: 1_000 } });
    const [id] = await launch(ec2);
    emu.ssm.put(parameterName('prod', id!), 'forged');
    await emu.advance(1_000);
    expect(emu.ec2.instance(id!)?.state).toBe('shutting-down');
    expect(emu.github.runners()).toEqual([]);
  });

  it('shuts the instance down when its idle runner is unregistered', async () => {
    const { emu, gh } = await start({ simulator: { runnerExitMs: 2_000 } });
    const seeded = emu.seedInstance({ environment: 'prod', withRunner: 'idle', scope: 'acme' });
    await gh.request('DELETE /orgs/{org}/actions/runners/{runner_id}', {
      org: 'acme',
      runner_id: seeded.runnerId!,
    });
    expect(emu.ec2.instance(seeded.instanceId)?.state).toBe('running');
    await emu.advance(2_000);
    expect(emu.ec2.instance(seeded.instanceId)?.state).toBe('shutting-down');
  });
});

describe('seeded fleets', () => {
  it('boots seeded pending instances with pre-registered runners and their parameters', async () => {
    const { emu } = await start({ simulator: { bootDelayMs: 10_000, runnerStartMs: 2_000 } });
    const seeded = Array.from({ length: 3 }, () =>
      emu.seedInstance({
        environment: 'prod',
        pool: 'linux',
        state: 'pending',
        withRunner: 'offline',
        withParameter: true,
        scope: 'acme',
      }),
    );
    expect(emu.issuedSecrets()).toEqual(
      expect.arrayContaining(seeded.map((s) => emu.ssm.parameter(s.parameterName!)!.value)),
    );
    const { runId } = emu.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['self-hosted', 'linux'], durationMs: 30_000 }],
      count: 4,
    });
    await emu.advance(12_000);
    expect(emu.ssm.parameters()).toEqual([]);
    expect(emu.github.runners().map((runner) => [runner.status, runner.busy])).toEqual([
      ['online', true],
      ['online', true],
      ['online', true],
    ]);
    expect(emu.github.jobs({ runId }).map((job) => job.status)).toEqual([
      'in_progress',
      'in_progress',
      'in_progress',
      'queued',
    ]);
    await emu.advance(30_000);
    expect(emu.github.runners()).toEqual([]);
    expect(emu.ec2.instances().map((instance) => instance.state)).toEqual([
      'shutting-down',
      'shutting-down',
      'shutting-down',
    ]);
    expect(emu.github.runs()[0]?.status).toBe('in_progress');
  });

  it('stops idle runners after idleShutdownMs when configured, and keeps them waiting otherwise', async () => {
    const { emu } = await start({ simulator: { idleShutdownMs: 60_000 } });
    const seeded = emu.seedInstance({ environment: 'prod', withRunner: 'idle', scope: 'acme' });
    await emu.advance(59_000);
    expect(emu.ec2.instance(seeded.instanceId)?.state).toBe('running');
    await emu.advance(2_000);
    expect(emu.ec2.instance(seeded.instanceId)?.state).toBe('shutting-down');
    // The JIT registration stays behind, offline: what the scaler cleans up.
    expect(emu.github.runner(seeded.runnerId!)?.status).toBe('offline');
    await emu.stop();

    emulator = await startEmulator({ github: { orgs: ['acme'] } });
    const waiting = emulator.seedInstance({ environment: 'prod', withRunner: 'idle', scope: 'acme' });
    await emulator.advance(24 * 3_600_000);
    expect(emulator.ec2.instance(waiting.instanceId)?.state).toBe('running');
    expect(emulator.github.runner(waiting.runnerId!)?.status).toBe('online');
  });
});

describe('instance lifecycle (token registration)', () => {
  it('registers itself as <env>-<instance-id> with the pool parameter and takes a job', async () => {
    const { emu, ec2, ssm, gh } = await start({ simulator: { bootDelayMs: 5_000, runnerStartMs: 1_000 } });
    const token = await gh.request('POST /orgs/{org}/actions/runners/registration-token', { org: 'acme' });
    await ssm.send(
      new PutParameterCommand({
        Name: poolParameterName('prod', 'gpu'),
        Value: JSON.stringify({ token: token.data.token, labels: ['gpu'], runnerGroupId: 1 }),
        Type: 'SecureString',
      }),
    );
    const ids = await launch(ec2, 2, 'gpu');
    emu.github.queueRun({
      repository: 'acme/ml',
      jobs: [{ labels: ['self-hosted', 'gpu'], durationMs: 60_000 }],
    });
    await emu.advance(6_000);

    const runners = emu.github.runners('acme');
    expect(runners.map((runner) => runner.name).sort()).toEqual(
      ids.map((id) => runnerName('prod', id)).sort(),
    );
    expect(runners[0]!.labels).toEqual(['self-hosted', 'Linux', 'X64', 'gpu']);
    expect(runners.filter((runner) => runner.busy)).toHaveLength(1);
    expect(emu.ssm.parameter(poolParameterName('prod', 'gpu'))).toBeDefined();
  });
});

describe('scenarios', () => {
  it('spot interruption: the instance terminates, its runner goes offline and the job fails', async () => {
    const { emu } = await start();
    const seeded = emu.seedInstance({
      environment: 'prod',
      pool: 'linux',
      withRunner: 'idle',
      scope: 'acme',
      labels: ['self-hosted', 'linux'],
    });
    const { runId } = emu.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['linux'] }] });
    expect(emu.github.runner(seeded.runnerId!)?.busy).toBe(true);

    emu.faults.interrupt(seeded.instanceId);
    expect(emu.ec2.instance(seeded.instanceId)).toMatchObject({
      state: 'shutting-down',
      stateReason: { code: 'Server.SpotInstanceTermination' },
    });
    expect(emu.github.runner(seeded.runnerId!)).toMatchObject({ status: 'offline', busy: false });
    expect(emu.github.jobs({ runId })[0]).toMatchObject({ status: 'completed', conclusion: 'failure' });
  });

  it('instances that never boot stay pending or run without a bootstrap', async () => {
    const { emu, ec2 } = await start({ simulator: { bootDelayMs: 1_000 } });
    emu.faults.neverBoot({ count: 1, mode: 'pending' });
    emu.faults.neverBoot({ count: 1 });
    const ids = await launch(ec2, 3);
    for (const id of ids) emu.ssm.put(parameterName('prod', id), 'not-read-anyway');
    await emu.advance(3_000);
    expect(ids.map((id) => emu.ec2.instance(id)?.state)).toEqual(['pending', 'running', 'shutting-down']);
    expect(emu.ssm.parameter(parameterName('prod', ids[1]!))).toBeDefined();
  });

  it('runs time faster with the speed option', async () => {
    const { emu } = await start({ speed: 100, tickMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(emu.clock.offset()).toBeGreaterThan(10_000);
  });

  it('serves a fleet of 2000 seeded instances quickly', async () => {
    const { emu, ec2, gh } = await start({ simulator: false });
    const started = performance.now();
    for (let n = 0; n < 2000; n++) {
      emu.seedInstance({
        environment: 'prod',
        pool: n % 2 ? 'linux' : 'arm',
        scope: 'acme',
        withRunner: n % 4 === 0 ? 'busy' : n % 4 === 1 ? 'offline' : 'idle',
        withParameter: n % 4 === 1,
        launchTime: new Date(Date.now() - n * 1_000),
      });
    }
    let instances = 0;
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, {})) {
      instances += (page.Reservations ?? []).reduce(
        (sum, reservation) => sum + (reservation.Instances?.length ?? 0),
        0,
      );
    }
    const runners = await gh.paginate('GET /orgs/{org}/actions/runners', { org: 'acme', per_page: 100 });
    expect(instances).toBe(2000);
    expect(runners).toHaveLength(2000);
    expect(runners.filter((runner) => runner.busy)).toHaveLength(500);
    expect(emu.ssm.parameters()).toHaveLength(500);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
