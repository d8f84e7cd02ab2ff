// The scale set's runners: JIT configs, lookups and removal. A runner that may be running a job is
// never deleted: only one of this scale set that is offline and never had a job makes room for its name.
import {
  ActionsServiceError,
  AgentExistsError,
  AgentNotFoundError,
  BadAnswerError,
  JobStillRunningError,
} from './errors.js';
import { SCALE_SETS_PATH } from './scale-sets.js';
import type { ActionsService } from './service.js';
import { RequestCancelled } from '../errors.js';
import type {
  GenerateJitConfigOptions,
  GenerateJitConfigResult,
  RemoveRunnerOptions,
  RemoveRunnerResult,
  ScaleSetClient,
  ScaleSetRunner,
} from './types.js';
import { jitConfigSchema, parseAnswer, runnerListSchema, runnerSchema, toRunner } from './wire.js';

/** The agents API of the scale set service: the pool id is literally 0. */
const AGENTS_PATH = '_apis/distributedtask/pools/0/agents';

type RunnerOps = Pick<ScaleSetClient, 'generateJitConfig' | 'getRunner' | 'findRunner' | 'removeRunner'>;

export function createRunnerOps(service: ActionsService): RunnerOps {
  return {
    generateJitConfig: (scaleSetId, name, options) => generateJitConfig(service, scaleSetId, name, options),
    getRunner: (id) => getRunner(service, id),
    findRunner: (name) => findRunner(service, name),
    removeRunner: (id, options) => removeRunner(service, id, options),
  };
}

async function getRunner(service: ActionsService, id: number): Promise<ScaleSetRunner | undefined> {
  try {
    const response = await service.call('GET', `${AGENTS_PATH}/${id}`);
    return toRunner(parseAnswer(runnerSchema, response.body, response));
  } catch (error) {
    if (isRunnerGone(error)) return undefined;
    throw error;
  }
}

async function findRunner(service: ActionsService, name: string): Promise<ScaleSetRunner | undefined> {
  const response = await service.call('GET', AGENTS_PATH, { query: { agentName: name } });
  const runners = parseAnswer(runnerListSchema, response.body, response).value ?? [];
  if (runners.length > 1) {
    throw new BadAnswerError(response, `${runners.length} runners named ${JSON.stringify(name)}`);
  }
  return runners[0] ? toRunner(runners[0]) : undefined;
}

async function removeRunner(
  service: ActionsService,
  id: number,
  options: RemoveRunnerOptions = {},
): Promise<RemoveRunnerResult> {
  try {
    await service.call('DELETE', `${AGENTS_PATH}/${id}`, {
      ...(options.beforeSend ? { beforeSend: options.beforeSend } : {}),
    });
    return 'deleted';
  } catch (error) {
    if (error instanceof RequestCancelled) return 'cancelled';
    if (error instanceof JobStillRunningError) return 'busy';
    if (isRunnerGone(error)) return 'not-found';
    throw error;
  }
}

async function generate(
  service: ActionsService,
  scaleSetId: number,
  name: string,
  workFolder: string,
): Promise<GenerateJitConfigResult> {
  const response = await service.call('POST', `${SCALE_SETS_PATH}/${scaleSetId}/generatejitconfig`, {
    body: { name, workFolder },
    scaleSetId,
  });
  // The JIT config holds the runner's credentials: masked before anything can print it.
  const config = (response.body as { encodedJITConfig?: unknown } | undefined)?.encodedJITConfig;
  if (typeof config === 'string' && config !== '') service.log.setSecret(config);
  const answer = parseAnswer(jitConfigSchema, response.body, response);
  return { status: 'created', runner: toRunner(answer.runner), encodedJitConfig: answer.encodedJITConfig };
}

async function generateJitConfig(
  service: ActionsService,
  scaleSetId: number,
  name: string,
  options: GenerateJitConfigOptions = {},
): Promise<GenerateJitConfigResult> {
  const { log } = service;
  if (name.trim() === '') throw new Error('runner name: got "", expected a name');
  const workFolder = options.workFolder ?? '';
  try {
    return await generate(service, scaleSetId, name, workFolder);
  } catch (error) {
    if (!(error instanceof AgentExistsError)) throw error;
  }
  // The name is taken: often by this very call, when a first attempt created the runner and its answer
  // was lost. Make room only for a runner of this scale set that is offline and never had a job.
  const existing = await findRunner(service, name);
  if (existing) {
    if (!isUnused(existing, scaleSetId)) {
      log.warning(
        `Runner name ${name} is taken by runner ${existing.id} ${describeRunner(existing)}; keeping it`,
      );
      return { status: 'exists', runner: existing };
    }
    const removal = await removeRunner(service, existing.id, {
      ...(options.beforeReplace ? { beforeSend: options.beforeReplace } : {}),
    });
    if (removal === 'busy' || removal === 'cancelled') return { status: 'exists', runner: existing };
    log.info(
      `Removed unused runner ${existing.id} (${name}) of scale set ${scaleSetId} to register it again`,
    );
  }
  try {
    return await generate(service, scaleSetId, name, workFolder);
  } catch (error) {
    if (error instanceof AgentExistsError) return { status: 'exists', runner: existing };
    throw error;
  }
}

/** Offline, of this scale set, no job assigned and none completed. A status the answer lacks counts as in use. */
function isUnused(runner: ScaleSetRunner, scaleSetId: number): boolean {
  return (
    runner.scaleSetId === scaleSetId &&
    runner.status === 'offline' &&
    !runner.hasAssignedJob &&
    !runner.hasCompletedJob
  );
}

function describeRunner(runner: ScaleSetRunner): string {
  const facts = [
    `scale set ${runner.scaleSetId}`,
    `status ${runner.status ?? 'unknown'}`,
    runner.hasAssignedJob ? 'job assigned' : '',
    runner.hasCompletedJob ? 'ran a job' : '',
  ].filter(Boolean);
  return `(${facts.join(', ')})`;
}

function isRunnerGone(error: unknown): boolean {
  return (
    error instanceof AgentNotFoundError ||
    (error instanceof ActionsServiceError && error.kind === 'http' && error.status === 404)
  );
}
