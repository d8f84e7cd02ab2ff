// Runs the bundled action (dist/index.js) as the Actions runner does: a child process with INPUT_*
// variables and the GITHUB_STEP_SUMMARY / GITHUB_OUTPUT / GITHUB_EVENT_PATH files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertSecretHygiene } from './secret-scan.js';

export const ACTION = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');

export interface ActionRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
  /** `::error::` lines, decoded. */
  errors: string[];
  result?: {
    launched: number;
    removed: number;
    failed: number;
    skipped: number;
    outcomes: { action: string; target: string; status: string; code?: string; reason: string }[];
  };
}

export interface RunOptions {
  /** Base URL of the emulator (GitHub and AWS on one port). */
  url: string;
  /** The bundle to run; default dist/index.js (another build, e.g. to show a scenario failing before a fix). */
  action?: string;
  inputs: Record<string, string>;
  /** Pools file text, written to the workspace as .github/runner-scaler.yml. */
  pools: string;
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
  runId?: number;
  /** Kill the process after this many ms (crash tests). */
  killAfterMs?: number;
  /** Called with the action's process once it started (crash tests kill it at a chosen API call). */
  onSpawn?: (child: ChildProcess) => void;
  /**
   * Secrets that must appear nowhere in the run's log (stdout apart from `::add-mask::` commands), stderr, job
   * summary or outputs: pass `secrets: () => emulator.issuedSecrets()` in every end-to-end test. Checked after
   * every run; a leak makes runAction throw an Error naming the kind of secret (the github-token input, an
   * installation token, a JIT config…) and where it appeared. The `github-token` and `github-app-private-key`
   * inputs are always checked, with or without this option.
   */
  secrets?: () => Iterable<string>;
  /**
   * Also require an `::add-mask::` command for the secret inputs and for every secret from `secrets` that is
   * new since the run started (the installation token, JIT configs, registration tokens it received). Not
   * checked for a killed run. Leave it off when another run goes on at the same time or a fault loses an
   * API answer: such a run did not receive every new secret.
   */
  requireMasks?: boolean;
}

/** The secret inputs of a run, by input name. */
function secretInputs(inputs: Record<string, string>): Map<string, string> {
  const given = new Map<string, string>();
  for (const name of ['github-token', 'github-app-private-key']) {
    const value = inputs[name]?.trim();
    if (value) given.set(value, name);
  }
  return given;
}

/** Parses the GITHUB_OUTPUT file format (`name<<delimiter`, value lines, `delimiter`). */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const [, name, delimiter] = match as unknown as [string, string, string];
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
    outputs[name] = value.join('\n');
  }
  return outputs;
}

/** What the Actions runner gives a step: a workspace with the pools file, INPUT_* and GITHUB_* variables. */
export function prepareStep(options: {
  url: string;
  inputs: Record<string, string>;
  pools: string;
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
  runId?: number;
  prefix?: string;
}) {
  const workspace = mkdtempSync(path.join(tmpdir(), options.prefix ?? 'rs-e2e-'));
  const file = (name: string, content = '') => {
    const p = path.join(workspace, name);
    writeFileSync(p, content);
    return p;
  };
  mkdirSync(path.join(workspace, '.github'));
  file('.github/runner-scaler.yml', options.pools);
  const summaryFile = file('summary.md');
  const outputFile = file('output.txt');
  const inputs = Object.fromEntries(
    Object.entries(options.inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: workspace,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_API_URL: options.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: String(options.runId ?? 1000),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_REPOSITORY: 'acme/infra',
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_OUTPUT: outputFile,
    GITHUB_EVENT_NAME: options.event?.name ?? 'schedule',
    GITHUB_EVENT_PATH: file('event.json', JSON.stringify(options.event?.payload ?? {})),
    AWS_ENDPOINT_URL: options.url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'emulator-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...inputs,
    ...options.env,
  };
  return { workspace, env, summaryFile, outputFile };
}

export async function runAction(options: RunOptions): Promise<ActionRun> {
  const { workspace, env, summaryFile, outputFile } = prepareStep(options);
  const issuedBefore = new Set(options.secrets?.() ?? []);
  const child = spawn(process.execPath, [options.action ?? ACTION], {
    cwd: workspace,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = options.killAfterMs
    ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
    : undefined;
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  clearTimeout(timer);
  const outputsFile = readFileSync(outputFile, 'utf8');
  const outputs = parseOutputs(outputsFile);
  const summary = readFileSync(summaryFile, 'utf8');
  const given = secretInputs(options.inputs);
  const issued = [...(options.secrets?.() ?? [])];
  assertSecretHygiene(
    { stdout, stderr, summary, outputsFile, outputs },
    {
      secrets: issued,
      given,
      mustBeMasked:
        options.requireMasks && signal === null
          ? [...given.keys(), ...issued.filter((secret) => !issuedBefore.has(secret))]
          : [],
    },
  );
  const errors = stdout
    .split('\n')
    .filter((l) => l.startsWith('::error::'))
    .map((l) => decodeURIComponent(l.slice(9).replace(/%0A/g, '\n').replace(/%0D/g, '\r')));
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    summary,
    outputs,
    errors,
    result: outputs.result ? JSON.parse(outputs.result) : undefined,
  };
}
