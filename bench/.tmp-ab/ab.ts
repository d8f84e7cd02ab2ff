// throwaway A/B of two bundles on one scenario
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulator } from '../../test/emulator/index.js';
import { scenarios, ORG, REPOSITORY, TOKEN, REGION } from '../scenarios.js';

const bundles = process.argv.slice(3);
const which = process.argv[2] as 'steady';
const n = Number(process.env.N ?? 2000);
const sizes = { burst: n, drain: n, steady: n, churn: n };
for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
  for (const bundle of bundles) {
    const scenario = scenarios(sizes, [which])[0]!;
    const emulator = await startEmulator({
      region: REGION,
      github: { orgs: [ORG], repos: [REPOSITORY], tokens: [TOKEN] },
      latencyMs: { github: 60, ec2: 80, ssm: 40 },
      budgets: { github: true, ec2: true, ssm: true },
    });
    const seeded = scenario.seed(emulator);
    const ws = mkdtempSync(path.join(tmpdir(), 'ab-'));
    mkdirSync(path.join(ws, '.github'));
    writeFileSync(path.join(ws, '.github/runner-scaler.yml'), scenario.pools);
    writeFileSync(path.join(ws, 'event.json'), JSON.stringify(seeded.event?.payload ?? {}));
    for (const f of ['summary.md', 'out.txt']) writeFileSync(path.join(ws, f), '');
    emulator.clearCalls();
    const t0 = Date.now();
    const child = spawn(process.execPath, [bundle], {
      cwd: ws,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH,
        HOME: ws,
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: ws,
        GITHUB_API_URL: emulator.url,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_RUN_ID: '1',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_REPOSITORY: 'acme/infra',
        GITHUB_STEP_SUMMARY: path.join(ws, 'summary.md'),
        GITHUB_OUTPUT: path.join(ws, 'out.txt'),
        GITHUB_EVENT_NAME: seeded.event?.name ?? 'schedule',
        GITHUB_EVENT_PATH: path.join(ws, 'event.json'),
        AWS_ENDPOINT_URL: emulator.url,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
        AWS_EC2_METADATA_DISABLED: 'true',
        INPUT_MODE: scenario.mode,
        'INPUT_GITHUB-TOKEN': TOKEN,
        NODE_OPTIONS: '--import=file:///work/main/bench/probe.mjs ' + (process.env.EXTRA ?? ''),
        BENCH_PROBE_FILE: path.join(ws, 'probe.json'),
      },
    });
    const code = await new Promise((r) => child.on('close', r));
    const wall = Date.now() - t0;
    const probe = JSON.parse(readFileSync(path.join(ws, 'probe.json'), 'utf8'));
    const first = Math.min(...emulator.calls.map((c) => c.at));
    console.log(
      `${bundle.padEnd(30)} code ${code} wall ${wall} ms cold ${(first - probe.startedAtMs).toFixed(0)} ms rss ${(probe.vmHwmKb / 1024).toFixed(1)} MB calls ${emulator.calls.length} throttled ${emulator.calls.filter((c) => c.code && /Throttl|RequestLimit|rate_limit/.test(c.code)).length} delP ${emulator.calls.filter((c) => c.action === 'DeleteParameters').length} failed-outcomes ${(readFileSync(path.join(ws, 'out.txt'), 'utf8').match(/"status":"failed"/g) ?? []).length}`,
    );
    await emulator.stop();
  }
}
