// End-to-end: dist/index.js run as the Actions runner runs it, against the emulator of EC2, SSM and GitHub.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type SeedInstanceSpec } from '../../emulator/index.js';
import { runAction } from '../../emulator/run-action.js';

const TOKEN = 'ghs_e2e_token_0123456789';
const MIN = 60_000;
const MUTATING = new Set([
  'RunInstances',
  'CreateFleet',
  'TerminateInstances',
  'CreateTags',
  'DeleteTags',
  'PutParameter',
  'DeleteParameter',
  'DeleteParameters',
]);

function pools(extra = '', registration = 'jit') {
  return `
environment: ci
github: { organization: acme }
coordination: { table: runner-scaler }
defaults:
  region: eu-west-1
  launchTemplate: runner
  repositories: [acme/app]
  registration: ${registration}
pools:
  linux:
    labels: [linux, x64]
    max: 300
    idleTimeout: 5m
    minLifetime: 1m
    bootTimeout: 10m
${extra}`;
}

let emulator: Emulator;

beforeEach(async () => {
  emulator = await startEmulator({
    region: 'eu-west-1',
    github: { orgs: ['acme'], repos: ['acme/app'], tokens: [TOKEN] },
    simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
});

afterEach(async () => {
  expect(emulator.errors).toEqual([]);
  await emulator.stop();
});

const run = (mode: string, options: { inputs?: Record<string, string>; pools?: string } = {}) =>
  runAction({
    url: emulator.url,
    inputs: { mode, 'github-token': TOKEN, ...options.inputs },
    pools: options.pools ?? pools(),
    secrets: () => emulator.issuedSecrets(),
    requireMasks: true,
  });

const alive = () => emulator.ec2.instances().filter((i) => ['pending', 'running'].includes(i.state));
const actionCalls = (name: string) =>
  emulator.calls.filter((c) => c.caller === 'action' && c.action === name);
const ago = (ms: number) => new Date(Date.now() - ms);

/** An instance of pool linux launched `ageMs` ago, with its runner in the given state. */
const seed = (
  withRunner: SeedInstanceSpec['withRunner'],
  ageMs: number,
  extra: Partial<SeedInstanceSpec> = {},
) =>
  emulator.seedInstance({
    environment: 'ci',
    pool: 'linux',
    launchTime: ago(ageMs),
    withRunner,
    labels: ['self-hosted', 'linux', 'x64'],
    ...extra,
  });

describe('end to end', () => {
  it('a 250-job matrix burst is served by one reconcile run with one launch call', async () => {
    emulator.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['self-hosted', 'linux'], durationMs: 5 * MIN }],
      count: 250,
    });
    const result = await run('reconcile', { pools: pools('', 'token') });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.launched).toBe('250');
    expect(alive()).toHaveLength(250);
    expect(actionCalls('RunInstances').length + actionCalls('CreateFleet').length).toBe(1);
    expect(emulator.ssm.parameter('/runner-scaler/ci/pools/linux')).toBeDefined();
    // pool | min | queued | booting | idle | busy | dead | total, each before → after.
    expect(result.summary).toContain('| linux | 0 | 250 → 0 | 0 → 250 | 0 | 0 | 0 | 0 → 250 |');

    // The instances boot, register, take every job, finish and leave.
    await emulator.advance(1 * MIN);
    expect(emulator.github.jobs({ status: 'in_progress' })).toHaveLength(250);
    await emulator.advance(6 * MIN);
    expect(emulator.github.jobs({ status: 'completed' })).toHaveLength(250);
    expect(alive()).toHaveLength(0);

    // A second run finds nothing to launch or remove.
    const second = await run('reconcile', { pools: pools('', 'token') });
    expect(second.result).toMatchObject({ launched: 0, removed: 0, failed: 0 });
  });

  it('JIT: boot, jobs, ephemeral exit; the next run cleans up an instance that never booted', async () => {
    emulator.simulator.neverBoot({ count: 1 });
    emulator.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['self-hosted', 'linux', 'x64'], durationMs: 2 * MIN }],
      count: 4,
    });
    const first = await run('reconcile');
    expect(first.errors).toEqual([]);
    expect(first.result).toMatchObject({ launched: 4, failed: 0 });
    expect(emulator.ssm.parameters().filter((p) => p.name.startsWith('/runner-scaler/ci/i-'))).toHaveLength(
      4,
    );
    expect(emulator.github.runners().filter((r) => r.name.startsWith('ci-i-'))).toHaveLength(4);

    await emulator.advance(1 * MIN);
    // Three booted, read and deleted their parameter, and took a job; one never booted.
    expect(emulator.github.jobs({ status: 'in_progress' })).toHaveLength(3);
    expect(emulator.ssm.parameters()).toHaveLength(1);
    await emulator.advance(3 * MIN);
    expect(emulator.github.jobs({ status: 'completed' })).toHaveLength(3);
    expect(alive()).toHaveLength(1);

    // Within bootTimeout the dead instance counts as booting: it serves the last queued job, nothing launched.
    const second = await run('reconcile');
    expect(second.result).toMatchObject({ launched: 0, removed: 0 });

    await emulator.advance(10 * MIN);
    const third = await run('reconcile');
    expect(third.errors).toEqual([]);
    // Its runner is seen offline past bootTimeout for the first time: tagged, replaced, not yet removed.
    expect(third.result).toMatchObject({ launched: 1, removed: 0, failed: 0 });
    await emulator.advance(3 * MIN);
    expect(emulator.github.jobs({ status: 'completed' })).toHaveLength(4);
    // Seen offline again idleTimeout later: removed (runner unregistered, instance terminated, parameter deleted).
    await emulator.advance(3 * MIN);
    const fourth = await run('reconcile');
    expect(fourth.result).toMatchObject({ launched: 0, removed: 1, failed: 0 });
    expect(fourth.summary).toMatch(/stale: runner offline .*seen offline twice/);
    await emulator.advance(1 * MIN);
    expect(alive()).toHaveLength(0);
    expect(emulator.ssm.parameters()).toHaveLength(0);
    expect(emulator.github.runners()).toHaveLength(0);
  });

  it('idle runners are removed only after the second sighting, idleTimeout apart', async () => {
    const seeded = Array.from({ length: 3 }, () => seed('idle', 30 * MIN));
    const first = await run('scale-down');
    expect(first.result).toMatchObject({ removed: 0, failed: 0 });
    for (const s of seeded)
      expect(emulator.ec2.instance(s.instanceId)?.tags['runner-scaler:idle-since']).toBeDefined();

    await emulator.advance(2 * MIN);
    const early = await run('scale-down');
    expect(early.result).toMatchObject({ removed: 0 });

    await emulator.advance(4 * MIN);
    const second = await run('scale-down');
    expect(second.result).toMatchObject({ removed: 3, failed: 0 });
    expect(emulator.github.runners()).toHaveLength(0);
    for (const s of seeded)
      expect(['shutting-down', 'terminated']).toContain(emulator.ec2.instance(s.instanceId)?.state);
    // Unregister came before terminate for every runner.
    const order = emulator.calls.filter((c) => c.caller === 'action').map((c) => c.action);
    expect(order.lastIndexOf('DELETE /orgs/{org}/actions/runners/{runner_id}')).toBeLessThan(
      order.indexOf('TerminateInstances'),
    );
  });

  it('drain removes every idle runner regardless of min and leaves busy ones', async () => {
    const idle = Array.from({ length: 4 }, () => seed('idle', 30 * MIN));
    const busy = Array.from({ length: 2 }, () => seed('busy', 30 * MIN, { busyForMs: 30 * MIN }));
    const result = await run('drain', { pools: pools().replace('max: 300', 'max: 300\n    min: 10') });
    expect(result.errors).toEqual([]);
    expect(result.result).toMatchObject({ removed: 4, launched: 0, failed: 0 });
    for (const s of idle) expect(emulator.github.runner(s.runnerName ?? '')).toBeUndefined();
    for (const s of busy) {
      expect(emulator.github.runner(s.runnerName ?? '')).toBeDefined();
      expect(emulator.ec2.instance(s.instanceId)?.state).toBe('running');
    }
  });

  it('a failed read removes nothing and fails the step, naming the read', async () => {
    const orphan = seed(false, 60 * MIN);
    emulator.faults.inject({
      service: 'ssm',
      action: 'DescribeParameters',
      code: 'AccessDeniedException',
      status: 400,
    });
    const result = await run('reconcile', { inputs: {} });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      /A read failed, so what depends on it was kept:\n\s+parameters: .*AccessDeniedException/,
    );
    expect(result.summary).toMatch(/nothing removed: a read failed or was partial/);
    expect(emulator.ec2.instance(orphan.instanceId)?.state).toBe('running');
    expect(actionCalls('TerminateInstances')).toEqual([]);
  });

  it('dry-run observes and plans but makes no write', async () => {
    seed(false, 60 * MIN);
    emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['linux'] }], count: 3 });
    const result = await run('reconcile', { inputs: { 'dry-run': 'true' } });
    expect(result.exitCode).toBe(0);
    expect(result.summary).toMatch(/dry run: nothing changed/);
    expect(result.summary).toMatch(/\| launch \| 3 in linux \|/);
    expect(result.summary).toMatch(/\| terminate \| i-[0-9a-f]+ \| orphan/);
    const writes = emulator.calls.filter(
      (c) => c.caller === 'action' && (MUTATING.has(c.action) || /^(POST|DELETE|PUT|PATCH) /.test(c.action)),
    );
    expect(writes).toEqual([]);
  });

  it('a runner whose job started while GitHub still says idle is never unregistered', async () => {
    emulator.github.setBusyLag(60_000);
    const seeded = seed('idle', 30 * MIN, {
      tags: { 'runner-scaler:idle-since': ago(20 * MIN).toISOString() },
    });
    emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['linux'], durationMs: 5 * MIN }] });
    await emulator.advance(5_000);
    const job = emulator.github.jobs({ status: 'in_progress' })[0];
    expect(job?.runnerName).toBe(seeded.runnerName);
    // The API still reports the runner idle; the instance's job-started tag is what keeps it.
    const result = await run('scale-down');
    expect(emulator.github.runner(seeded.runnerName ?? '')?.apiBusy).toBe(false);
    expect(result.result).toMatchObject({ removed: 0, failed: 0 });
    // Counted as busy: its idle-since tag is cleared instead, and no DELETE was sent.
    expect(result.result?.outcomes).toEqual([
      expect.objectContaining({ action: 'clear-idle', status: 'done' }),
    ]);
    expect(actionCalls('DELETE /orgs/{org}/actions/runners/{runner_id}')).toEqual([]);
    expect(emulator.github.runner(seeded.runnerName ?? '')).toBeDefined();
    await emulator.advance(6 * MIN);
    expect(emulator.github.jobs({ status: 'completed' })[0]?.conclusion).toBe('success');
  });

  it('an instance whose runner the paged listing missed is kept: its runner is looked up by name first', async () => {
    const seeded = Array.from({ length: 101 }, () =>
      seed('busy', 30 * MIN, { tags: { 'runner-scaler:job-started': ago(10 * MIN).toISOString() } }),
    );
    const first = seeded[0]!;
    const last = seeded[100]!;
    // Right after page 1 is answered the first runner leaves (its job is over): the 101st runner moves onto
    // page 1, which was already read, so the listing misses it while it runs its job.
    emulator.faults.inject({
      service: 'github',
      action: 'GET /orgs/{org}/actions/runners',
      times: 1,
      afterCall: () => expect(emulator.github.removeRunner(first.runnerId!)).toBe(true),
    });
    const result = await run('reconcile');
    expect(result.exitCode).toBe(0);
    expect(emulator.ec2.instance(last.instanceId)?.state).toBe('running');
    expect(emulator.github.runner(last.runnerName!)).toBeDefined();
    expect(result.result?.outcomes).toContainEqual(
      expect.objectContaining({
        target: last.instanceId,
        status: 'skipped',
        code: 'changed',
        detail: expect.stringContaining('is registered after all'),
      }),
    );
    expect(actionCalls('TerminateInstances')).toEqual([]);
  });

  it("never touches another environment's instances, runners or parameters", async () => {
    const foreign = [
      seed(false, 60 * MIN, { environment: 'other' }),
      seed('idle', 60 * MIN, {
        environment: 'other',
        tags: { 'runner-scaler:idle-since': ago(60 * MIN).toISOString() },
      }),
      seed('offline', 60 * MIN, { environment: 'other', withParameter: true }),
    ];
    emulator.ssm.put('/runner-scaler/other/i-0123456789abcdef0', 'x', {
      type: 'SecureString',
      region: 'eu-west-1',
    });
    emulator.github.addRunner({ name: 'other-i-0fedcba9876543210', status: 'offline' });
    const before = {
      runners: emulator.github.runners().length,
      parameters: emulator.ssm.parameters().length,
    };
    for (const mode of ['reconcile', 'drain']) {
      const result = await run(mode);
      expect(result.exitCode).toBe(0);
      expect(result.result).toMatchObject({ removed: 0, launched: 0 });
    }
    for (const f of foreign) expect(emulator.ec2.instance(f.instanceId)?.state).toBe('running');
    expect(emulator.github.runners()).toHaveLength(before.runners);
    expect(emulator.ssm.parameters()).toHaveLength(before.parameters);
  });
});
