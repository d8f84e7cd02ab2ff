// Scale-set runners: generatejitconfig pre-registers an offline runner in the set and returns its
// files as a base64 JSON map; the agents API (pool 0) gets runners by id or name and deletes them
// (204 even when unknown; JobStillRunningException while a job is on the runner). A JIT runner that
// never came online expires. Online idle runners wait in their set for an assigned job: the instance
// simulator brings them there, or connectRunner drives a runner without an instance.
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../../context.js';
import type { RouteSpec } from '../../router.js';
import { removeRunnerRecord, runnerNameKey, type JobRecord, type RunnerRecord } from '../../state.js';
import { addRunner } from '../runners.js';
import { completeJob, startJob } from '../runs.js';
import type { ScaleSetContext, ScaleSetRecord } from './context.js';
import {
  ActionsError,
  actionsJson,
  actionsRoute,
  badArgument,
  jsonObject,
  noContent,
  TYPE_NAMES,
} from './http.js';
import { dispatch } from './jobs.js';
import { scaleSetOf, tenantOf } from './scale-sets.js';

function agentNotFound(id: number | string): ActionsError {
  return new ActionsError(404, TYPE_NAMES.agentNotFound, `No agent found in pool 0 with identifier ${id}.`);
}

function base64Json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

/** The runner's files (`.runner`, `.credentials`, `.credentials_rsaparams`), as the runner decodes them. */
function encodeJitConfig(
  set: ScaleSetRecord,
  runnerId: number,
  name: string,
  workFolder: string,
  base: string,
) {
  const origin = new URL(base).origin;
  return base64Json({
    '.runner': base64Json({
      agentId: String(runnerId),
      agentName: name,
      poolId: '0',
      poolName: 'Default',
      serverUrl: base,
      serverUrlV2: base,
      gitHubUrl: `${origin}/${set.scope}`,
      workFolder,
      ephemeral: 'true',
      disableUpdate: String(set.disableUpdate),
      useV2Flow: 'true',
    }),
    '.credentials': base64Json({
      scheme: 'OAuth',
      data: {
        clientId: randomUUID(),
        authorizationUrl: `${base}_apis/oauth2/token`,
        requireFipsCryptography: 'True',
      },
    }),
    '.credentials_rsaparams': randomBytes(48).toString('base64'),
  });
}

/** Forgets a runner of a set and tells the instance simulator it was deleted. */
function deleteRunner(sc: ScaleSetContext, runner: RunnerRecord): void {
  const setId = sc.store.runnerSets.get(runner.id);
  const set = setId === undefined ? undefined : sc.store.sets.get(setId);
  set?.runnerIds.delete(runner.id);
  set?.idleRunners.delete(runner.id);
  sc.store.runnerSets.delete(runner.id);
  removeRunnerRecord(sc.gh.state, runner);
  sc.gh.emulator.hooks.runnerDeleted(runner);
}

function expireUnusedRunner(sc: ScaleSetContext, runner: RunnerRecord): void {
  sc.gh.emulator.scheduler.after(sc.settings.jitRunnerExpiryMs, `scale-set jit expiry ${runner.name}`, () => {
    const unused = runner.status === 'offline' && !sc.store.connectedRunners.has(runner.id);
    if (unused && sc.gh.state.runners.get(runner.id) === runner) deleteRunner(sc, runner);
  });
}

function generateJitConfig(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { set, base } = scaleSetOf(sc, request, params);
  const { name, workFolder } = jsonObject(request);
  if (typeof name !== 'string' || name.trim() === '') {
    throw badArgument(`name must be a non-empty string, got ${JSON.stringify(name ?? null)}`);
  }
  if (workFolder !== undefined && typeof workFolder !== 'string') {
    throw badArgument(`workFolder must be a string, got ${JSON.stringify(workFolder)}`);
  }
  if (sc.gh.state.runnersByName.has(runnerNameKey(set.scope, name))) {
    throw new ActionsError(409, TYPE_NAMES.agentExists, `Agent exists with name ${name} in pool 0.`);
  }
  const runner = addRunner(sc.gh, {
    scope: set.scope,
    name,
    labels: set.labels.map((label) => label.name),
    status: 'offline',
    ephemeral: true,
    runnerGroupId: set.runnerGroupId,
  });
  // The files name the runner's id, known once it is registered.
  const encodedJitConfig = encodeJitConfig(set, runner.id, name, workFolder || '_work', base);
  runner.encodedJitConfig = encodedJitConfig;
  sc.gh.state.runnersByJitConfig.set(encodedJitConfig, runner);
  sc.gh.emulator.recordSecret(encodedJitConfig);
  set.runnerIds.add(runner.id);
  sc.store.runnerSets.set(runner.id, set.id);
  expireUnusedRunner(sc, runner);
  return actionsJson(sc.settings, 200, {
    runner: { id: runner.id, name: runner.name, runnerScaleSetId: set.id },
    encodedJITConfig: encodedJitConfig,
  });
}

function agentJson(sc: ScaleSetContext, runner: RunnerRecord) {
  return {
    id: runner.id,
    name: runner.name,
    runnerScaleSetId: sc.store.runnerSets.get(runner.id) ?? 0,
    status: runner.status,
    enabled: true,
  };
}

function runnerOfTenant(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { tenant } = tenantOf(sc, request, params);
  return sc.gh.state.runnersByScope.get(tenant.scope)?.get(Number(params.runner_id));
}

function listAgents(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { tenant } = tenantOf(sc, request, params);
  const name = request.query.get('agentName');
  const runners =
    name === null
      ? [...(sc.gh.state.runnersByScope.get(tenant.scope)?.values() ?? [])]
      : [sc.gh.state.runnersByName.get(runnerNameKey(tenant.scope, name))].filter(
          (runner) => runner !== undefined,
        );
  return actionsJson(sc.settings, 200, {
    count: runners.length,
    value: runners.map((runner) => agentJson(sc, runner)),
  });
}

function removeAgent(
  sc: ScaleSetContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const runner = runnerOfTenant(sc, request, params);
  if (!runner) return noContent();
  if (runner.busy || runner.jobId !== undefined) {
    throw new ActionsError(400, TYPE_NAMES.jobStillRunning, `Job is still running on runner ${runner.name}.`);
  }
  deleteRunner(sc, runner);
  return noContent();
}

/** An online idle runner of a set waits for an assigned job; `take` starts one on it (false: it cannot). */
export function runnerIdle(
  sc: ScaleSetContext,
  runner: RunnerRecord,
  take: (job: JobRecord) => boolean,
): void {
  const set = sc.store.sets.get(sc.store.runnerSets.get(runner.id) ?? -1);
  if (!set) return;
  sc.store.connectedRunners.add(runner.id);
  set.idleRunners.set(runner.id, take);
  dispatch(sc, set);
}

/** Drives a runner without an instance: online now, one job for its duration, then gone (ephemeral). */
export function connectRunner(sc: ScaleSetContext, runner: RunnerRecord): void {
  if (!sc.store.runnerSets.has(runner.id)) throw new Error(`runner ${runner.name} is not a scale-set runner`);
  runner.status = 'online';
  runner.os = 'Linux';
  runnerIdle(sc, runner, (job) => {
    if (sc.gh.state.runners.get(runner.id) !== runner || runner.status !== 'online') return false;
    startJob(sc.gh, job, runner);
    sc.gh.emulator.scheduler.after(job.durationMs, `scale-set job ${job.id}`, () =>
      completeJob(sc.gh, job, 'success'),
    );
    return true;
  });
}

export function runnerRoutes(sc: ScaleSetContext): RouteSpec[] {
  const agents = '/distributedtask/pools/{pool_id}/agents';
  return [
    actionsRoute(
      sc,
      'POST',
      '/runtime/runnerscalesets/{scale_set_id}/generatejitconfig',
      'admin',
      (request, params) => generateJitConfig(sc, request, params),
    ),
    actionsRoute(sc, 'GET', agents, 'admin', (request, params) => listAgents(sc, request, params)),
    actionsRoute(sc, 'GET', `${agents}/{runner_id}`, 'admin', (request, params) => {
      const runner = runnerOfTenant(sc, request, params);
      if (!runner) throw agentNotFound(params.runner_id!);
      return actionsJson(sc.settings, 200, agentJson(sc, runner));
    }),
    actionsRoute(sc, 'DELETE', `${agents}/{runner_id}`, 'admin', (request, params) =>
      removeAgent(sc, request, params),
    ),
  ];
}
