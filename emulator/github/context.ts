// What the modules of the GitHub service share: the emulator's context and state, and the
// service's settings resolved once from its options (some can be changed while it runs).
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { EmulatorContext } from '../context.js';
import type { EmulatorState, JobRecord, RunnerRecord } from '../state.js';
import type { ScaleSetOptions } from './scaleset/context.js';

export interface GitHubAppOptions {
  id: number | string;
  /** The app's private key (PEM); its public key verifies the JWTs. Recorded as an issued secret. */
  privateKey?: string;
  /** The app's public key (PEM), when the test keeps the private key to itself. */
  publicKey?: string;
}

export interface GitHubOptions {
  orgs?: string[];
  repos?: string[];
  /** When given, only these tokens (and installation tokens the emulator issued) are accepted. */
  tokens?: string[];
  app?: GitHubAppOptions;
  /** Lifetime of installation access tokens (emulator time). Default 1 h. */
  installationTokenLifetimeMs?: number;
  /** Lifetime of registration tokens (emulator time). Default 1 h. */
  registrationTokenLifetimeMs?: number;
  /** After a job starts, the API keeps reporting `busy: false` for this long. Default 0. */
  busyLagMs?: number;
  /**
   * A DELETE of a runner whose job started within the busy lag: `conflict` (default) answers 422 from the
   * real state; `kills-job` is what GitHub does (API-FACTS): the DELETE succeeds and the job dies.
   */
  deleteDuringBusyLag?: 'conflict' | 'kills-job';
  /** Runner groups of every organization. Default: [{ id: 1, name: 'Default' }]. */
  runnerGroups?: { id: number; name: string }[];
  /** The runner scale set protocol (Actions service, sessions, message queue). */
  scaleSets?: ScaleSetOptions;
}

export interface RunnerGroup {
  id: number;
  name: string;
}

export interface GitHubSettings {
  /** The app id the JWTs must carry as `iss` (and `/app` answers); undefined without an app. */
  appId: number | string | undefined;
  /** Verifies the app JWTs' signatures; without it any well-formed JWT passes. */
  appKey: KeyObject | undefined;
  /** Personal tokens accepted besides issued installation tokens; undefined accepts any. */
  acceptedTokens: Set<string> | undefined;
  installationTokenLifetimeMs: number;
  registrationTokenLifetimeMs: number;
  runnerGroups: RunnerGroup[];
  /** Whether organizations were configured (they then come first as the default scope). */
  orgsConfigured: boolean;
  /** Changed by faults while the emulator runs. */
  busyLagMs: number;
  deleteDuringBusyLag: 'conflict' | 'kills-job';
}

/** What the job lifecycle tells the runner scale sets (no-ops until the scale sets are composed in). */
export interface JobLifecycleListener {
  /** A job was queued; true when a scale set took it (ordinary runners then never see it). */
  jobQueued(job: JobRecord): boolean;
  jobStarted(job: JobRecord, runner: RunnerRecord): void;
  jobCompleted(job: JobRecord): void;
}

export interface GitHubContext {
  emulator: EmulatorContext;
  state: EmulatorState;
  clock: Clock;
  settings: GitHubSettings;
  scaleSetJobs: JobLifecycleListener;
}

function appPublicKey(app: GitHubAppOptions | undefined): KeyObject | undefined {
  if (app?.publicKey) return createPublicKey(app.publicKey);
  if (app?.privateKey) return createPublicKey(app.privateKey);
  return undefined;
}

export function createGitHubContext(emulator: EmulatorContext, options: GitHubOptions): GitHubContext {
  const settings: GitHubSettings = {
    appId: options.app?.id,
    appKey: appPublicKey(options.app),
    acceptedTokens: options.tokens ? new Set(options.tokens) : undefined,
    installationTokenLifetimeMs: options.installationTokenLifetimeMs ?? 3_600_000,
    registrationTokenLifetimeMs: options.registrationTokenLifetimeMs ?? 3_600_000,
    runnerGroups: options.runnerGroups ?? [{ id: 1, name: 'Default' }],
    orgsConfigured: (options.orgs?.length ?? 0) > 0,
    busyLagMs: options.busyLagMs ?? 0,
    deleteDuringBusyLag: options.deleteDuringBusyLag ?? 'conflict',
  };
  if (options.app?.privateKey) emulator.recordSecret(options.app.privateKey);
  const scaleSetJobs: JobLifecycleListener = {
    jobQueued: () => false,
    jobStarted: () => undefined,
    jobCompleted: () => undefined,
  };
  return { emulator, state: emulator.state, clock: emulator.clock, settings, scaleSetJobs };
}
