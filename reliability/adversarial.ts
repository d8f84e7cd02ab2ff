// Adversarial scenarios: each is a plain situation that breaks one of runner-scaler's promises unless the
// code defends it (concurrent triggers from different repositories, EC2 listing lag, GitHub's busy lag, a
// crash between two calls). Each runs dist/index.js (or another bundle, to show it failing before a fix)
// against a fresh emulator and reports the promises it saw broken, read from the emulator's state.
import { TAG_IDLE_SINCE } from '../src/contract.js';
import { runAction, type ActionRun, type RunOptions } from '../emulator/run-action.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import type { Violation } from './invariants.js';

export const MIN = 60_000;
const TOKEN = 'ghs_adversarial_0123456789abcdef';
export const ENV = 'adv';
export const REGION = 'eu-west-1';
export const LINUX = ['self-hosted', 'linux', 'x64'];

export interface AdversarialOptions {
  /** The bundle to run; default dist/index.js. */
  action?: string;
}

export interface AdversarialResult {
  name: string;
  promise: string;
  violations: Violation[];
  facts: Record<string, string | number>;
  ms: number;
}

export interface AdversarialScenario {
  name: string;
  /** The promise the scenario tries to break. */
  promise: string;
  run(options: AdversarialOptions): Promise<Omit<AdversarialResult, 'name' | 'promise' | 'ms'>>;
}

const ago = (ms: number) => new Date(Date.now() - ms);

export function violation(ok: boolean, invariant: string, detail: string): Violation[] {
  return ok ? [] : [{ invariant, detail }];
}

/** One emulator with the settings every scenario shares, and runs of the action against it. */
export interface Stage {
  emulator: Emulator;
  run(
    mode: string,
    pools: string,
    extra?: Partial<RunOptions> & { inputs?: Record<string, string> },
  ): Promise<ActionRun>;
  stop(): Promise<void>;
}

export async function stage(options: AdversarialOptions, emulatorOptions: EmulatorOptions = {}) {
  const emulator = await startEmulator({
    region: REGION,
    ...emulatorOptions,
    github: { orgs: ['acme'], repos: ['acme/app', 'acme/infra'], tokens: [TOKEN], ...emulatorOptions.github },
    simulator: emulatorOptions.simulator ?? { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
  let runIds = 8000;
  const result: Stage = {
    emulator,
    run: (mode, pools, extra = {}) =>
      runAction({
        url: emulator.url,
        pools,
        secrets: () => emulator.issuedSecrets(),
        runId: runIds++,
        ...extra,
        inputs: { mode, 'github-token': TOKEN, ...extra.inputs },
        ...(options.action ? { action: options.action } : {}),
      }),
    stop: () => emulator.stop(),
  };
  return result;
}

export function poolsFile(linux: string, extra = ''): string {
  return `
environment: ${ENV}
github: { organization: acme }
defaults:
  region: ${REGION}
  launchTemplate: runner
  repositories: [acme/app]
  idleTimeout: 5m
  minLifetime: 1m
  bootTimeout: 10m
pools:
  linux:
    labels: [linux, x64]
${linux}
${extra}`;
}

/** Jobs that died because the scaler took their runner or instance away (spot interruptions excepted). */
export function killedJobs(emulator: Emulator) {
  return emulator.github.killedJobs().filter((k) => k.cause !== 'interrupted');
}

// ---------------------------------------------------------------- 1: a long unregister batch

/**
 * A drain of 20 idle runners. Right after the first DELETE, GitHub hands a job to the runner that comes
 * last in the batch; the busy flag lags 60 s. The last DELETE acts on whatever check preceded it: if that
 * check is older than the job's start, the DELETE succeeds and kills the job.
 */
const longUnregisterBatch: AdversarialScenario = {
  name: 'a job handed to an idle runner during a long unregister batch',
  promise: 'never kill a running job',
  async run(options) {
    const s = await stage(options, { github: { busyLagMs: 60_000, deleteDuringBusyLag: 'kills-job' } });
    try {
      const seedIdle = (labels: string[]) =>
        s.emulator.seedInstance({
          environment: ENV,
          pool: 'linux',
          launchTime: ago(30 * MIN),
          withRunner: 'idle',
          labels,
          tags: { [TAG_IDLE_SINCE]: ago(20 * MIN).toISOString() },
        });
      for (let i = 0; i < 19; i++) seedIdle(LINUX);
      const target = seedIdle([...LINUX, 'target']);
      let jobId: number | undefined;
      s.emulator.faults.inject({
        service: 'github',
        action: 'DELETE /orgs/{org}/actions/runners/{runner_id}',
        times: 1,
        afterCall() {
          jobId = s.emulator.github.queueRun({
            repository: 'acme/app',
            jobs: [{ labels: [...LINUX, 'target'], durationMs: 2 * MIN }],
          }).jobIds[0];
        },
      });
      const run = await s.run('drain', poolsFile('    max: 30'));
      const taken = s.emulator.github.jobs().find((j) => j.id === jobId);
      const outcome = run.result?.outcomes.find((o) => o.target === target.runnerName);
      const killed = killedJobs(s.emulator);
      return {
        violations: [
          ...violation(
            taken?.runnerName === target.runnerName,
            'the job went to the last runner',
            `${taken?.runnerName}`,
          ),
          ...violation(killed.length === 0, 'no job killed', JSON.stringify(killed)),
        ],
        facts: {
          'runners drained': 20,
          'outcome for the runner that took the job':
            `${outcome?.status ?? '?'} ${outcome?.code ?? ''}`.trim(),
          'jobs killed': killed.length,
        },
      };
    } finally {
      await s.stop();
    }
  },
};

export const ADVERSARIAL: AdversarialScenario[] = [longUnregisterBatch];

export async function runAdversarial(
  scenario: AdversarialScenario,
  options: AdversarialOptions = {},
): Promise<AdversarialResult> {
  const started = Date.now();
  const result = await scenario.run(options);
  return { name: scenario.name, promise: scenario.promise, ...result, ms: Date.now() - started };
}
