// End-to-end: the bundled action publishes each run's metrics in one PutMetricData call to the emulator's CloudWatch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { runAction } from '../../emulator/run-action.js';

const TOKEN = 'ghs_e2e_metrics_token_0123456789';
const MIN = 60_000;
const POOLS = `
environment: ci
github: { organization: acme }
coordination: { table: runner-scaler }
metrics: { namespace: RunnerScaler }
defaults: { region: eu-west-1, launchTemplate: runner, repositories: [acme/app] }
pools:
  linux: { labels: [linux, x64], max: 20 }
  arm: { labels: [linux, arm64], max: 5 }
`;

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

const run = (mode: string, inputs: Record<string, string> = {}) =>
  runAction({
    url: emulator.url,
    inputs: { mode, 'github-token': TOKEN, ...inputs },
    pools: POOLS,
    secrets: () => emulator.issuedSecrets(),
  });

const seed = (withRunner: 'idle' | 'busy') =>
  emulator.seedInstance({
    environment: 'ci',
    pool: 'linux',
    launchTime: new Date(Date.now() - 30 * MIN),
    withRunner,
    // Without x64: the pool serves the queued jobs, these runners cannot take them.
    labels: ['self-hosted', 'linux'],
    ...(withRunner === 'busy' ? { busyForMs: 30 * MIN } : {}),
  });

/** The value of the one data point with this name and these dimensions exactly. */
const point = (name: string, dimensions: Record<string, string>) => {
  const points = emulator.cloudwatch
    .metrics({ namespace: 'RunnerScaler', name, dimensions })
    .filter((p) => Object.keys(p.dimensions).length === Object.keys(dimensions).length);
  expect(points, `${name} ${JSON.stringify(dimensions)}`).toHaveLength(1);
  return points[0]?.value;
};

describe('metrics', () => {
  it('a reconcile run publishes every pool’s gauges and counters, and its heartbeat, in one call', async () => {
    emulator.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['self-hosted', 'linux', 'x64'] }],
      count: 3,
    });
    await emulator.advance(2 * MIN);
    seed('idle');
    seed('idle');
    seed('busy');
    const result = await run('reconcile');
    expect(result.exitCode).toBe(0);
    expect(emulator.cloudwatch.putCalls()).toBe(1);
    const linux = { Environment: 'ci', Pool: 'linux' };
    expect(point('IdleRunners', linux)).toBe(2);
    expect(point('BusyRunners', linux)).toBe(1);
    expect(point('BootingInstances', linux)).toBe(0);
    expect(point('DeadInstances', linux)).toBe(0);
    expect(point('QueuedJobs', linux)).toBe(3);
    expect(point('OldestQueuedJobWait', linux)).toBeGreaterThanOrEqual(119);
    expect(point('OldestQueuedJobWait', linux)).toBeLessThan(180);
    expect(point('LaunchedInstances', linux)).toBe(1);
    expect(point('RemovedInstances', linux)).toBe(0);
    expect(point('FailedItems', linux)).toBe(0);
    expect(point('QueuedJobs', { Environment: 'ci', Pool: 'arm' })).toBe(0);
    expect(point('OldestQueuedJobWait', { Environment: 'ci', Pool: 'arm' })).toBe(0);
    expect(point('QueuedJobs', { Environment: 'ci' })).toBe(3);
    expect(point('Runs', { Environment: 'ci', Mode: 'reconcile' })).toBe(1);
    expect(point('FailedRuns', { Environment: 'ci', Mode: 'reconcile' })).toBe(0);
    const units = new Set(emulator.cloudwatch.metrics().map((p) => `${p.name}:${p.unit}`));
    expect(units).toContain('OldestQueuedJobWait:Seconds');
    expect(units).toContain('IdleRunners:Count');
  });

  it('a pre-job run publishes no queue gauges (it did not read the queue); a dry run publishes nothing', async () => {
    await run('reconcile', { 'dry-run': 'true' });
    expect(emulator.cloudwatch.putCalls()).toBe(0);
    const result = await run('scale-up', { pool: 'linux', count: '2' });
    expect(result.exitCode).toBe(0);
    expect(emulator.cloudwatch.metrics({ name: 'QueuedJobs' })).toEqual([]);
    expect(point('LaunchedInstances', { Environment: 'ci', Pool: 'linux' })).toBe(2);
    expect(point('Runs', { Environment: 'ci', Mode: 'scale-up' })).toBe(1);
  });

  it('a refused PutMetricData is a warning in the summary, not a failed run', async () => {
    emulator.faults.inject({
      service: 'cloudwatch',
      action: 'PutMetricData',
      code: 'AccessDenied',
      status: 403,
    });
    const result = await run('reconcile');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /::warning::metrics not published: PutMetricData \(\d+ metrics\) in eu-west-1 failed/,
    );
    expect(result.summary).toMatch(/^## 🟡 Warnings · runner-scaler: reconcile/);
    expect(result.summary).toMatch(/> \*\*metrics not published: [^\n]*AccessDenied/);
  });
});
