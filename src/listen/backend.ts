// The runner back end of a scale-set pool: its runners are registered through the scale set's
// generatejitconfig (so GitHub hands them the set's jobs) and removed through its agents API. The
// engine's rules stay the same: a removal's evidence is checked right before each DELETE is sent, and a
// runner that answers JobStillRunning is busy.
import { RunnerAlreadyRegistered } from '../github/errors.js';
import { ScaleSetNotFoundError } from '../github/scaleset/errors.js';
import type { ScaleSet, ScaleSetClient, ScaleSetRunner } from '../github/scaleset/types.js';
import type { Config, DeleteRunnerResult, JitConfig, PoolConfig, Runner, RunnerBackend } from '../types.js';

export interface ScaleSetBackend extends RunnerBackend {
  readonly pool: PoolConfig;
  /** The pool's scale set, created or updated to the pool's labels and group on first use. */
  scaleSet(): Promise<ScaleSet>;
  /** Forgets the scale set found so far (GitHub deleted it): the next use ensures it again. */
  forget(): void;
}

/** The scale set's labels: the pool's plus `self-hosted`, so that existing `runs-on` keep matching. */
export function scaleSetLabels(pool: PoolConfig): string[] {
  const labels = [...pool.labels];
  return labels.some((l) => l.toLowerCase() === 'self-hosted') ? labels : [...labels, 'self-hosted'];
}

/** The scale-set runner as the engine sees runners: online or offline, busy when a job is on it. */
function toRunner(runner: ScaleSetRunner): Runner {
  const online = runner.status === 'online' || runner.status === 'busy';
  return {
    id: runner.id,
    name: runner.name,
    status: online ? 'online' : 'offline',
    busy: runner.status === 'busy' || runner.hasAssignedJob,
    labels: [],
  };
}

export function createScaleSetBackend(
  client: ScaleSetClient,
  pool: PoolConfig,
  github: Config['github'],
): ScaleSetBackend {
  const name = pool.scaleSet?.name;
  if (!name) throw new Error(`pool ${pool.name} is not a scale-set pool`);
  let current: Promise<ScaleSet> | undefined;

  const scaleSet = (): Promise<ScaleSet> => {
    current ??= client
      .ensureScaleSet({
        name,
        labels: scaleSetLabels(pool),
        ...(github.runnerGroup
          ? { runnerGroup: github.runnerGroup }
          : { runnerGroupId: github.runnerGroupId }),
      })
      .then((result) => result.scaleSet)
      .catch((error: unknown) => {
        current = undefined; // a failed lookup is tried again by the next use
        throw error;
      });
    return current;
  };

  async function generate(runnerName: string, beforeReplace?: () => Promise<boolean>): Promise<JitConfig> {
    const set = await scaleSet();
    const result = await client.generateJitConfig(set.id, runnerName, {
      workFolder: '_work',
      ...(beforeReplace ? { beforeReplace } : {}),
    });
    if (result.status === 'created')
      return { runnerId: result.runner.id, encodedJitConfig: result.encodedJitConfig };
    const existing = result.runner;
    const state = existing?.status === 'busy' || existing?.hasAssignedJob ? 'busy' : 'online';
    throw new RunnerAlreadyRegistered(
      `Generating a JIT config for runner ${runnerName} in scale set ${set.name} failed: the name is taken by ` +
        `runner ${existing?.id ?? '(unknown)'}${existing ? ` (status ${existing.status ?? 'unknown'})` : ''}`,
      existing?.id ?? 0,
      state,
    );
  }

  return {
    pool,
    scaleSet,
    forget: () => (current = undefined),
    async generateJitConfig(runnerName, _labels, _runnerGroupId, beforeReplace) {
      try {
        return await generate(runnerName, beforeReplace);
      } catch (error) {
        if (!(error instanceof ScaleSetNotFoundError)) throw error;
        // GitHub deleted the set (days without a listener): create it again and register there.
        current = undefined;
        return generate(runnerName, beforeReplace);
      }
    },
    async deleteRunner(id, beforeSend): Promise<DeleteRunnerResult> {
      return client.removeRunner(id, beforeSend ? { beforeSend } : {});
    },
    async findRunner(runnerName) {
      const found = await client.findRunner(runnerName);
      return found && toRunner(found);
    },
  };
}
