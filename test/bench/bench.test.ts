// The benchmark at tiny sizes: `npm run bench`'s command line runs every scenario and its baseline, and
// writes a JSON report that parses and a markdown report. No timing is asserted (the numbers are the
// benchmark's to report); the call counts the issue sets as targets are.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport, type BenchmarkReport } from '../../bench/report.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let dir: string;
let report: BenchmarkReport;
let markdown: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rs-bench-test-'));
  const out = path.join(dir, 'report.json');
  await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/run.ts',
      // The listen scenario runs in real time: test/listen/bench.test.ts runs it apart.
      ...['--only', 'burst-jit,burst-token,drain,steady,churn,concurrent'],
      ...['--burst', '3', '--drain', '4', '--steady', '10', '--churn', '20', '--concurrent', '15'],
      ...['--latency', 'github=5,ec2=5,ssm=5', '--out', out],
    ],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  report = parseReport(readFileSync(out, 'utf8'));
  markdown = readFileSync(path.join(dir, 'report.md'), 'utf8');
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = (name: string) => {
  const found = report.scenarios.find((s) => s.name === name);
  if (!found) throw new Error(`no scenario ${name} in the report`);
  return found;
};

describe('npm run bench at tiny sizes', () => {
  it('reports every scenario, with a baseline where there is one', () => {
    expect(report.scenarios.map((s) => s.name)).toEqual([
      'burst-3-jit',
      'burst-3-token',
      'drain-4',
      'steady-10',
      'churn-20',
      'concurrent-15',
    ]);
    for (const s of report.scenarios) {
      expect(s.baseline === null, s.name).toBe(
        s.name.startsWith('steady') || s.name.startsWith('concurrent'),
      );
      expect(s.action.problems, s.name).toEqual([]);
      expect(s.baseline?.problems ?? [], s.name).toEqual([]);
      expect(s.action.exitCode, s.name).toBe(0);
      expect(s.action.peakRssMb, s.name).toBeGreaterThan(0);
      expect(s.action.coldStartMs, s.name).not.toBeNull();
      expect(s.minimum.minimumMs).toBe(Math.max(s.minimum.budgetBoundMs, s.minimum.latencyFloorMs));
      expect(s.targets.map((t) => t.name)).toEqual(
        expect.arrayContaining(['run succeeded', 'batched calls', 'wall time', 'peak RSS']),
      );
    }
    expect(report.settings).toMatchObject({ latencyMs: { github: 5, ec2: 5, ssm: 5 }, baselines: true });
  });

  it('counts the calls, and the batched ones equal the minimum', () => {
    for (const s of report.scenarios) {
      const total = s.action.calls.reduce((n, c) => n + c.calls, 0);
      expect(total, s.name).toBe(
        s.action.totals.github + s.action.totals.ec2 + s.action.totals.ssm + s.action.totals.dynamodb,
      );
      for (const c of s.action.calls.filter((call) => call.batched)) {
        expect(c.calls, `${s.name} ${c.operation}`).toBe(c.minimum);
      }
      for (const c of s.action.calls) {
        if (c.calls === 0) expect([c.firstMs, c.lastMs], `${s.name} ${c.operation}`).toEqual([null, null]);
        else expect(c.lastMs, `${s.name} ${c.operation}`).toBeGreaterThanOrEqual(c.firstMs ?? Infinity);
      }
    }
    const drain = scenario('drain-4');
    const deletes = (run: BenchmarkReport['scenarios'][number]['action']) =>
      run.calls.find((c) => c.operation === 'DELETE /orgs/{org}/actions/runners/{runner_id}')?.calls;
    expect(deletes(drain.action)).toBe(4);
    expect(drain.action.result.removed).toBe(4);
    // The baseline terminates one id per call.
    expect(drain.baseline?.calls.find((c) => c.operation === 'TerminateInstances')?.calls).toBe(4);
    expect(drain.action.githubPoints).toBe(4 * 5 + drain.action.githubRequests - 4);
    expect(scenario('steady-10').action.githubRequests).toBeLessThan(30);
    // Triggers from three repositories at once launch what they need, once.
    const concurrent = scenario('concurrent-15');
    expect(concurrent.targets.filter((t) => t.name === 'launches equal demand')).toEqual([
      expect.objectContaining({ value: '15', met: true }),
    ]);
    expect(concurrent.action.result.launched).toBe(15);
  });

  it('records the burst milestones for the action and the baseline', () => {
    for (const name of ['burst-3-jit', 'burst-3-token']) {
      const s = scenario(name);
      expect(s.action.result.launched, name).toBe(3);
      expect(s.baseline?.result.launched, name).toBe(3);
      for (const run of [s.action, s.baseline]) {
        expect(run?.launchedMs, name).not.toBeNull();
        expect(run?.configInPlaceMs, name).toBeGreaterThanOrEqual(run?.launchedMs ?? Infinity);
      }
      expect(s.ratios.launchedSpeedup, name).not.toBeNull();
    }
  });

  it('writes the markdown table with every scenario', () => {
    expect(markdown).toMatch(/^\| scenario +\| wall time +\|/m);
    for (const s of report.scenarios) expect(markdown).toMatch(new RegExp(`^\\| ${s.name} +\\|`, 'm'));
  });

  it('refuses a report that lacks a field', () => {
    const broken = JSON.parse(JSON.stringify(report)) as { scenarios: { action: Record<string, unknown> }[] };
    delete broken.scenarios[0]?.action.githubPoints;
    expect(() => parseReport(JSON.stringify(broken))).toThrow(/scenarios\.0\.action\.githubPoints/);
  });
});

describe('npm run bench options', () => {
  it('--help prints every option and runs nothing', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--help'], {
      cwd: ROOT,
    });
    for (const option of ['--only', '--latency', '--compare', '--repeat', '--action', '--out', '--help']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('burst-jit');
  });

  it('--compare runs another bundle beside the measured one and reports both', async () => {
    const out = path.join(dir, 'compare.json');
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/run.ts',
        ...['--only', 'drain', '--drain', '3', '--no-baselines', '--latency', 'github=5,ec2=5,ssm=5'],
        ...['--compare', 'dist/index.js', '--repeat', '2', '--out', out],
      ],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    const compared = parseReport(readFileSync(out, 'utf8'));
    const entry = compared.comparison?.scenarios[0];
    expect(compared.comparison?.repeat).toBe(2);
    expect(entry?.name).toBe('drain-3');
    expect(entry?.beforeMs).toHaveLength(2);
    expect(entry?.afterMs).toHaveLength(2);
    expect(entry?.before.result.removed).toBe(3);
    expect(compared.scenarios[0]?.action.result.removed).toBe(3);
    const side = readFileSync(path.join(dir, 'compare.md'), 'utf8').split('Side by side:')[1] ?? '';
    expect(side).toMatch(/^\| drain-3 +\| +[\d.]+ s, [\d.]+ s +\| +[\d.]+ s, [\d.]+ s +\|/m);
  }, 120_000);
});
