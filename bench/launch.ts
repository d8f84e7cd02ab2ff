// Starts a bundled action as the Actions runner does (INPUT_* variables, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
// GITHUB_EVENT_PATH; see emulator/run-action.ts), from a copy of its folder: a full benchmark takes half an
// hour and dist/ may be rebuilt meanwhile, and `--action` compares another bundle.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseOutputs, prepareStep } from '../emulator/run-action.js';

export interface ActionSnapshot {
  /** The copied entry point. */
  entry: string;
  remove(): void;
}

/** Copies the entry's folder (the bundle, its chunks and its package.json) to a temporary folder. */
export function snapshotAction(entry: string): ActionSnapshot {
  const dir = mkdtempSync(path.join(tmpdir(), 'rs-bench-action-'));
  cpSync(path.dirname(path.resolve(entry)), dir, { recursive: true });
  return {
    entry: path.join(dir, path.basename(entry)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface LaunchOptions {
  entry: string;
  url: string;
  inputs: Record<string, string>;
  pools: string;
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
}

export interface LaunchResult {
  exitCode: number | null;
  /** `::error::` lines, decoded. */
  errors: string[];
  result?: {
    launched: number;
    removed: number;
    failed: number;
    outcomes: { action: string; target: string; status: string; code?: string }[];
  };
}

export async function launchAction(options: LaunchOptions): Promise<LaunchResult> {
  const { workspace, env, outputFile } = prepareStep({ ...options, prefix: 'rs-bench-run-' });
  const child = spawn(process.execPath, [options.entry], {
    cwd: workspace,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const outputs = parseOutputs(readFileSync(outputFile, 'utf8'));
  rmSync(workspace, { recursive: true, force: true });
  return {
    exitCode,
    errors: stdout
      .split('\n')
      .filter((l) => l.startsWith('::error::'))
      .map((l) => decodeURIComponent(l.slice(9).replace(/%0A/g, '\n').replace(/%0D/g, '\r'))),
    result: outputs.result ? (JSON.parse(outputs.result) as LaunchResult['result']) : undefined,
  };
}
