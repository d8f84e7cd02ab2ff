// The listen benchmark at tiny sizes: `npm run bench -- --only listen` writes its JSON and markdown reports,
// with launches = demand, one launch call for the burst, and the scheduler beside the listener. No timing is
// asserted (the figures are the benchmark's to report).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListenBenchReport } from '../../bench/listen.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let dir: string;
let report: ListenBenchReport;
let markdown: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rs-bench-listen-'));
  const out = path.join(dir, 'report.json');
  await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/run.ts',
      ...['--only', 'listen', '--trickle-every', '2', '--trickle-for', '6', '--listen-burst', '5'],
      ...['--idle', '5', '--boot', '2', '--latency', 'github=5,ec2=5,ssm=5', '--out', out],
    ],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  report = JSON.parse(readFileSync(path.join(dir, 'report-listen.json'), 'utf8')) as ListenBenchReport;
  markdown = readFileSync(path.join(dir, 'report-listen.md'), 'utf8');
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --only listen at tiny sizes', () => {
  it('serves the trickle with one launch per job, the same arrivals with the scheduler in one', () => {
    expect(report.trickle.listener).toMatchObject({ jobs: 3, launched: 3, launchCalls: 3 });
    expect(report.trickle.scheduler).toMatchObject({ jobs: 3, launched: 3, launchCalls: 1 });
    expect(report.trickle.listener.queueToLaunchMs.p95).toBeGreaterThanOrEqual(0);
    expect(report.trickle.listener.queueToOnlineMs.max).toBeGreaterThan(0);
  });

  it('serves the burst with a single launch call', () => {
    expect(report.burst.listener).toMatchObject({ jobs: 5, launched: 5, launchCalls: 1 });
    expect(report.burst.firstLaunchAfterQueueMs).toBeGreaterThanOrEqual(0);
  });

  it("measures the listener's cost: per idle hour (extrapolated from the idle window) and per job", () => {
    expect(report.cost.idleMs).toBe(5_000);
    expect(typeof report.cost.githubPointsPerIdleHour).toBe('number');
    // Each job costs at least its runner's JIT config from the Actions service.
    expect(report.cost.perJob['GitHub Actions service']).toBeGreaterThanOrEqual(1);
  });

  it('writes the markdown report', () => {
    expect(markdown).toMatch(/\| trickle, listener +\| +3 \| +3 \| +3 \|/);
    expect(markdown).toMatch(/\| trickle, 5-minute scheduler +\| +3 \| +3 \| +1 \|/);
    expect(markdown).toContain("The listener's cost");
  });
});
