// Every action input and environment variable the action reads, parsed and validated once.
import * as core from '@actions/core';
import { createPrivateKey } from 'node:crypto';
import path from 'node:path';
import type { RunMode } from './types.js';

export type GitHubAuthSettings =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId?: number };

export interface Settings {
  mode: RunMode;
  /** Absolute path of the pools file. */
  configPath: string;
  /** Limit the run to this pool. */
  pool?: string;
  /** scale-up: runners to add to `pool` regardless of queued jobs. */
  count?: number;
  dryRun: boolean;
  /** scale-up with count: give the new runners a label unique to this workflow run. */
  uniqueLabel: boolean;
  auth: GitHubAuthSettings;
  apiUrl: string;
  /** Web root runners register with in token mode (GITHUB_SERVER_URL). */
  serverUrl: string;
  /** The README of the action's own release (GITHUB_ACTION_REPOSITORY at GITHUB_ACTION_REF), for the summary's links. */
  docsUrl?: string;
  /** listen: stop listening after this many minutes (the deadline). */
  listenMinutes: number;
  /** listen: shorter periods for the emulator (demo, tests, benchmark); production uses the defaults. */
  listenTimings: ListenTimings;
  /**
   * Attempts of each SSM call, unless AWS_MAX_ATTEMPTS sets them for every client: PutParameter's 3 TPS is
   * the account's, shared by every run at once (a scheduler, pre-jobs, a dispatch), so one run's pacing
   * cannot keep the others' calls from being throttled; the SDK's adaptive mode then slows down and retries.
   */
  ssmMaxAttempts?: number;
  run: { id: string; attempt: string; eventName: string; eventPath?: string; repository: string };
}

/** The listener's periods in ms (see src/listen/listener.ts for the defaults). */
export interface ListenTimings {
  reconcileEveryMs?: number;
  heartbeatEveryMs?: number;
  staleAfterMs?: number;
  conflictMaxMs?: number;
}

/** See Settings.ssmMaxAttempts: with full-jitter backoff, 8 attempts wait up to ~25 s in all. */
const SSM_MAX_ATTEMPTS = 8;

const LISTEN_TIMING_KEYS = ['reconcileEveryMs', 'heartbeatEveryMs', 'staleAfterMs', 'conflictMaxMs'] as const;

/**
 * RUNNER_SCALER_LISTEN_TIMINGS: JSON of shorter listener periods, so that the emulator can show in seconds
 * what takes minutes (a stuck statistic judged, a reconcile's second sighting).
 */
function readListenTimings(env: NodeJS.ProcessEnv): ListenTimings {
  const text = env.RUNNER_SCALER_LISTEN_TIMINGS?.trim();
  if (!text) return {};
  const expected = `JSON with some of ${LISTEN_TIMING_KEYS.join(', ')} as whole milliseconds from 10`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('RUNNER_SCALER_LISTEN_TIMINGS', text, expected);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw bad('RUNNER_SCALER_LISTEN_TIMINGS', text, expected);
  const timings: ListenTimings = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(LISTEN_TIMING_KEYS as readonly string[]).includes(key) || !Number.isInteger(value) || value < 10)
      throw bad('RUNNER_SCALER_LISTEN_TIMINGS', text, expected);
    timings[key as keyof ListenTimings] = value as number;
  }
  return timings;
}

export class InputError extends Error {
  override name = 'InputError';
}

const MODES: readonly RunMode[] = ['scale-up', 'scale-down', 'reconcile', 'drain', 'listen'];
/** The listener's default deadline: under the 360 minutes a GitHub-hosted job may run. */
export const DEFAULT_LISTEN_MINUTES = 330;
/** A self-hosted job may run 5 days. */
const MAX_LISTEN_MINUTES = 7200;
/** A GitHub id: a whole number from 1, at most 16 digits (safe as a JavaScript number). */
const POSITIVE_ID = /^[1-9]\d{0,15}$/;

/** The value as an error may show it: shortened, and never a secret input's value (whatever input it came in). */
function shown(value: string): string {
  const secrets = ['github-token', 'github-app-private-key']
    .flatMap((name) => [core.getInput(name), ...core.getInput(name).split(/\r?\n|\\n/)])
    .map((secret) => secret.trim())
    .filter((secret) => secret.length >= 8);
  const redacted = secrets.reduce((text, secret) => text.split(secret).join('***'), value);
  return redacted.length > 60 ? `${redacted.slice(0, 57)}...` : redacted;
}

function bad(input: string, value: string, expected: string): InputError {
  return new InputError(`input '${input}': got ${JSON.stringify(shown(value))}, expected ${expected}`);
}

function readBoolean(name: string): boolean {
  const value = core.getInput(name).trim().toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw bad(name, value, 'true or false');
}

/** Masks the secret inputs; runs first, so that no error about any other input can print them. */
function maskSecretInputs(): void {
  const token = core.getInput('github-token');
  const privateKey = core.getInput('github-app-private-key');
  if (token) core.setSecret(token);
  if (privateKey) {
    core.setSecret(privateKey);
    // The runner masks line by line: mask each line too, also of a key pasted with literal \n escapes.
    for (const line of privateKey.split(/\r?\n|\\n/))
      if (line.trim().length >= 8) core.setSecret(line.trim());
  }
}

/**
 * Checks that the App's key can be read, without showing any of it, so that a bad key fails before the
 * first API call. Apart from readSettings, which keeps to the text of the inputs.
 */
export function checkPrivateKey(auth: GitHubAuthSettings): void {
  if (auth.kind !== 'app') return;
  try {
    createPrivateKey(auth.privateKey);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? ` (${String(error.code)})` : '';
    throw new InputError(`input 'github-app-private-key': not a PEM private key that can be read${reason}`);
  }
}

function readAuth(): GitHubAuthSettings {
  const token = core.getInput('github-token');
  const appId = core.getInput('github-app-id').trim();
  const privateKey = core.getInput('github-app-private-key');
  const installation = core.getInput('github-app-installation-id').trim();

  if (appId || privateKey) {
    if (token)
      throw new InputError(
        "inputs 'github-token' and 'github-app-id': give one way to authenticate, not both",
      );
    if (!POSITIVE_ID.test(appId)) throw bad('github-app-id', appId, 'the numeric id of the GitHub App');
    if (!privateKey.includes('PRIVATE KEY-----')) {
      throw new InputError("input 'github-app-private-key': expected the App's PEM private key");
    }
    if (installation && !POSITIVE_ID.test(installation)) {
      throw bad('github-app-installation-id', installation, 'a numeric installation id');
    }
    return {
      kind: 'app',
      appId,
      privateKey: privateKey.replace(/\\n/g, '\n'),
      installationId: installation ? Number(installation) : undefined,
    };
  }
  if (!token) {
    throw new InputError(
      "inputs 'github-app-id'/'github-app-private-key' or 'github-token': one is required",
    );
  }
  if (installation) {
    throw bad('github-app-installation-id', installation, "nothing unless 'github-app-id' is given");
  }
  return { kind: 'token', token };
}

/** The runner sets GITHUB_ACTION_REPOSITORY and GITHUB_ACTION_REF for an action used from a repository. */
function docsUrl(env: NodeJS.ProcessEnv): { docsUrl?: string } {
  const repository = env.GITHUB_ACTION_REPOSITORY?.trim();
  const ref = env.GITHUB_ACTION_REF?.trim();
  if (!repository || !ref || !/^[\w.-]+\/[\w.-]+$/.test(repository) || !/^[\w./-]+$/.test(ref)) return {};
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  return { docsUrl: `${server}/${repository}/blob/${ref}/README.md` };
}

/** `listen-minutes`: only with mode listen; minutes (decimals allowed), above 0 and at most 5 days. */
function readListenMinutes(mode: RunMode): number {
  const text = core.getInput('listen-minutes').trim();
  if (!text) return DEFAULT_LISTEN_MINUTES;
  const expected = `a number of minutes above 0 and at most ${MAX_LISTEN_MINUTES} (5 days, the self-hosted job limit)`;
  if (!/^\d{1,5}(\.\d{1,3})?$/.test(text)) throw bad('listen-minutes', text, expected);
  const minutes = Number(text);
  if (minutes <= 0 || minutes > MAX_LISTEN_MINUTES) throw bad('listen-minutes', text, expected);
  if (mode !== 'listen') throw bad('listen-minutes', text, "nothing unless mode is 'listen'");
  return minutes;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  maskSecretInputs();
  const mode = core.getInput('mode', { required: true }).trim();
  if (!MODES.includes(mode as RunMode)) throw bad('mode', mode, MODES.join(', '));

  const pool = core.getInput('pool').trim() || undefined;
  if (pool !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(pool)) {
    throw bad('pool', pool, 'a pool name from the pools file');
  }

  const countText = core.getInput('count').trim();
  let count: number | undefined;
  if (countText) {
    if (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > 1000) {
      throw bad('count', countText, 'a whole number from 1 to 1000');
    }
    if (mode !== 'scale-up') throw bad('count', countText, "no count unless mode is 'scale-up'");
    if (!pool) throw new InputError("input 'count': needs input 'pool' to say which pool to add runners to");
    count = Number(countText);
  }
  const uniqueLabel = readBoolean('unique-label');
  if (uniqueLabel && count === undefined) {
    throw new InputError("input 'unique-label': only with mode 'scale-up' and a 'count'");
  }

  const listenMinutes = readListenMinutes(mode as RunMode);
  if (mode === 'listen' && readBoolean('dry-run')) {
    throw new InputError(
      "input 'dry-run': not with mode 'listen' (a listener holds the scale sets' sessions; a dry run would keep them from the real one)",
    );
  }

  const configInput = core.getInput('config').trim() || '.github/runner-scaler.yml';
  const workspace = env.GITHUB_WORKSPACE || process.cwd();

  const apiUrl = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(apiUrl)) throw bad('GITHUB_API_URL', apiUrl, 'an http(s) URL');

  return {
    mode: mode as RunMode,
    configPath: path.resolve(workspace, configInput),
    pool,
    count,
    dryRun: readBoolean('dry-run'),
    uniqueLabel,
    auth: readAuth(),
    apiUrl,
    serverUrl: (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, ''),
    ...docsUrl(env),
    listenMinutes,
    listenTimings: readListenTimings(env),
    ...(env.AWS_MAX_ATTEMPTS ? {} : { ssmMaxAttempts: SSM_MAX_ATTEMPTS }),
    run: {
      id: env.GITHUB_RUN_ID || 'local',
      attempt: env.GITHUB_RUN_ATTEMPT || '1',
      eventName: env.GITHUB_EVENT_NAME || '',
      eventPath: env.GITHUB_EVENT_PATH || undefined,
      repository: env.GITHUB_REPOSITORY || 'local',
    },
  };
}
