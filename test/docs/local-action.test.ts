// `npm run local-action`: .env.example names the action's inputs and the emulator of `npm run emulator`,
// and @github/local-action runs src/main.ts with it against the emulator.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startEmulator, type Emulator } from '../../emulator/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const variables = new Map(
  example
    .split('\n')
    .filter((line) => /^[A-Z]/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
);
const scripts = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

describe('.env.example', () => {
  it('sets every action input and nothing else as INPUT_*', () => {
    const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
      inputs: Record<string, unknown>;
    };
    const inputs = [...variables.keys()].filter((k) => k.startsWith('INPUT_'));
    expect(inputs.sort()).toEqual(
      Object.keys(action.inputs)
        .map((n) => `INPUT_${n.toUpperCase()}`)
        .sort(),
    );
  });

  it('points at the emulator that npm run emulator starts, with a pools file it serves', () => {
    const port = /--port (\d+)/.exec(scripts.emulator ?? '')?.[1];
    expect(variables.get('AWS_ENDPOINT_URL')).toBe(`http://127.0.0.1:${port}`);
    expect(variables.get('GITHUB_API_URL')).toBe(`http://127.0.0.1:${port}`);
    const pools = parse(readFileSync(path.join(ROOT, variables.get('INPUT_CONFIG') ?? ''), 'utf8')) as {
      github: { organization: string };
      coordination: { table: string };
      defaults: { region: string; repositories: string[] };
    };
    expect(scripts.emulator).toContain(`--org ${pools.github.organization}`);
    for (const repo of pools.defaults.repositories) expect(scripts.emulator).toContain(`--repo ${repo}`);
    expect(scripts.emulator).toContain(`--region ${pools.defaults.region}`);
    expect(scripts.emulator).toContain(`--table ${pools.coordination.table}`);
    expect(variables.get('AWS_REGION')).toBe(pools.defaults.region);
  });
});

describe('npm run local-action', () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startEmulator({
      region: 'eu-west-1',
      github: { orgs: ['acme'], repos: ['acme/app', 'acme/api'] },
      dynamodb: { tables: [{ name: 'runner-scaler-acme-ci', ttlAttribute: 'ttl' }] },
    });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('runs src/main.ts with @github/local-action against the emulator', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rs-local-action-'));
    const envFile = path.join(dir, '.env');
    writeFileSync(
      envFile,
      example
        .replaceAll(/http:\/\/127\.0\.0\.1:\d+/g, emulator.url)
        .replace(/^GITHUB_STEP_SUMMARY=.*$/m, `GITHUB_STEP_SUMMARY=${path.join(dir, 'summary.md')}`),
    );
    const bin = path.join(ROOT, 'node_modules/@github/local-action/bin/local-action.js');
    const child = spawn(process.execPath, [bin, 'run', '.', 'src/main.ts', envFile], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(exitCode, output).toBe(0);
    // The example pools file keeps one linux-x64 runner warm.
    expect(output).toContain('::set-output name=launched::1');
    expect(output).not.toContain('::error::');
    expect(emulator.ec2.instances({ environment: 'acme-ci' })).toHaveLength(1);
    expect(readFileSync(path.join(dir, 'summary.md'), 'utf8')).toContain('runner-scaler: reconcile');
    expect(output).not.toContain(variables.get('INPUT_GITHUB-TOKEN'));
  }, 120_000);
});
