// Runner groups and scale sets on the Actions service: look up groups by name; list scale sets by
// group and name, get, create (200), PATCH and DELETE them. Names are unique per runner group.
// Deleting a set (or the service deleting it behind the listener's back) gives its not-started jobs
// back to the queue and deletes its runners that are not running a job.
import type { EmulatorRequest, EmulatorResponse } from '../../context.js';
import type { RouteSpec } from '../../router.js';
import { removeRunnerRecord } from '../../state.js';
import type { RunnerGroup } from '../context.js';
import { baseUrl } from '../http.js';
import { routeQueuedJob } from '../runs.js';
import type { Label, ScaleSetContext, ScaleSetRecord } from './context.js';
import {
  ActionsError,
  actionsJson,
  actionsRoute,
  badArgument,
  jsonObject,
  noContent,
  scaleSetNotFound,
  TYPE_NAMES,
} from './http.js';
import { claimQueuedJobs, releaseJobs } from './jobs.js';
import { endSession } from './messages.js';
import { setRunners, statistics } from './statistics.js';
import { tenantById } from './tokens.js';

/** The tenant of the path (its admin token was checked already) and the base URL the client uses. */
export function tenantOf(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const tenant = tenantById(sc, Number(params.tenant_id));
  if (!tenant) throw new ActionsError(404, TYPE_NAMES.argument, `Unknown tenant ${params.tenant_id}.`);
  return { tenant, base: `${baseUrl(request)}/tenant/${tenant.id}/` };
}

/** The scale set of the path, in the path's tenant; 404 RunnerScaleSetNotFoundException otherwise. */
export function scaleSetOf(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { tenant, base } = tenantOf(sc, request, params);
  const set = sc.store.sets.get(Number(params.scale_set_id));
  if (!set || set.tenantId !== tenant.id) throw scaleSetNotFound(params.scale_set_id!);
  return { tenant, set, base };
}

function groupsOf(sc: ScaleSetContext, scope: string): RunnerGroup[] {
  return scope.includes('/') ? [{ id: 1, name: 'Default' }] : sc.gh.settings.runnerGroups;
}

export function scaleSetJson(sc: ScaleSetContext, set: ScaleSetRecord, base: string) {
  const group = groupsOf(sc, set.scope).find((candidate) => candidate.id === set.runnerGroupId);
  return {
    id: set.id,
    name: set.name,
    runnerGroupId: set.runnerGroupId,
    runnerGroupName: group?.name ?? '',
    labels: set.labels.map((label) => ({ ...label })),
    RunnerSetting: { disableUpdate: set.disableUpdate },
    createdOn: new Date(sc.gh.clock.toWall(set.createdAt)).toISOString(),
    runnerJitConfigUrl: `${base}_apis/runtime/runnerscalesets/${set.id}/generatejitconfig`,
    statistics: statistics(sc, set),
  };
}

function listRunnerGroups(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { tenant } = tenantOf(sc, request, params);
  const name = request.query.get('groupName');
  const groups = groupsOf(sc, tenant.scope).filter(
    (group) => name === null || group.name.toLowerCase() === name.toLowerCase(),
  );
  const runners = [...(sc.gh.state.runnersByScope.get(tenant.scope)?.values() ?? [])];
  const value = groups.map((group) => ({
    id: group.id,
    name: group.name,
    size: runners.filter((runner) => runner.runnerGroupId === group.id).length,
    isDefaultGroup: group.id === 1,
  }));
  return actionsJson(sc.settings, 200, { count: value.length, value });
}

function listScaleSets(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { tenant, base } = tenantOf(sc, request, params);
  const groupId = request.query.get('runnerGroupId');
  const name = request.query.get('name');
  const value = [...sc.store.sets.values()]
    .filter((set) => set.tenantId === tenant.id)
    .filter((set) => groupId === null || String(set.runnerGroupId) === groupId)
    .filter((set) => name === null || set.name.toLowerCase() === name.toLowerCase())
    .map((set) => scaleSetJson(sc, set, base));
  return actionsJson(sc.settings, 200, { count: value.length, value });
}

/** Labels as given (empty type means System), de-duplicated; none means the set's name. */
function parseLabels(raw: unknown, name: string): Label[] {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    return [{ name, type: 'System' }];
  }
  if (!Array.isArray(raw))
    throw badArgument(`labels must be an array of {name, type}, got ${JSON.stringify(raw)}`);
  const labels: Label[] = [];
  for (const item of raw as unknown[]) {
    const { name: labelName, type } = (item ?? {}) as Record<string, unknown>;
    if (typeof labelName !== 'string' || labelName.trim() === '') {
      throw badArgument(`every label needs a non-empty name, got ${JSON.stringify(item)}`);
    }
    if (labels.some((label) => label.name.toLowerCase() === labelName.toLowerCase())) continue;
    labels.push({ name: labelName, type: typeof type === 'string' && type ? type : 'System' });
  }
  return labels;
}

/** The runner group of a body: runnerGroupId, 0 or absent meaning the default group. */
function parseGroup(sc: ScaleSetContext, scope: string, raw: unknown): number {
  const id = raw === undefined || raw === null || raw === 0 ? 1 : raw;
  if (typeof id !== 'number' || !groupsOf(sc, scope).some((group) => group.id === id)) {
    throw badArgument(`runnerGroupId ${JSON.stringify(raw)} is not a runner group of ${scope}`);
  }
  return id;
}

function checkNameFree(sc: ScaleSetContext, tenantId: number, groupId: number, name: string, self?: number) {
  for (const set of sc.store.sets.values()) {
    if (set.tenantId !== tenantId || set.runnerGroupId !== groupId || set.id === self) continue;
    if (set.name.toLowerCase() === name.toLowerCase()) {
      throw new ActionsError(
        409,
        TYPE_NAMES.scaleSetExists,
        `A runner scale set named ${name} already exists in runner group ${groupId}.`,
      );
    }
  }
}

function disableUpdateOf(raw: unknown): boolean | undefined {
  const setting = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  return typeof setting.disableUpdate === 'boolean' ? setting.disableUpdate : undefined;
}

function createScaleSet(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { tenant, base } = tenantOf(sc, request, params);
  const body = jsonObject(request);
  if (typeof body.name !== 'string' || body.name.trim() === '') {
    throw badArgument(`name must be a non-empty string, got ${JSON.stringify(body.name ?? null)}`);
  }
  const runnerGroupId = parseGroup(sc, tenant.scope, body.runnerGroupId);
  checkNameFree(sc, tenant.id, runnerGroupId, body.name);
  const set: ScaleSetRecord = {
    id: ++sc.store.counters.scaleSetId,
    tenantId: tenant.id,
    scope: tenant.scope,
    name: body.name,
    runnerGroupId,
    labels: parseLabels(body.labels, body.name),
    disableUpdate: disableUpdateOf(body.RunnerSetting) ?? false,
    createdAt: sc.gh.clock.now(),
    messages: [],
    jobs: new Map(),
    runnerIds: new Set(),
    idleRunners: new Map(),
  };
  sc.store.sets.set(set.id, set);
  claimQueuedJobs(sc, set);
  return actionsJson(sc.settings, 200, scaleSetJson(sc, set, base));
}

/** PATCH: only the fields given change (Go clients also send an empty RunnerSetting and a zero createdOn). */
function updateScaleSet(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { set, base } = scaleSetOf(sc, request, params);
  const body = jsonObject(request);
  const name = typeof body.name === 'string' && body.name.trim() !== '' ? body.name : set.name;
  const groupId = body.runnerGroupId ? parseGroup(sc, set.scope, body.runnerGroupId) : set.runnerGroupId;
  checkNameFree(sc, set.tenantId, groupId, name, set.id);
  set.name = name;
  set.runnerGroupId = groupId;
  if (Array.isArray(body.labels) && body.labels.length > 0) set.labels = parseLabels(body.labels, name);
  set.disableUpdate = disableUpdateOf(body.RunnerSetting) ?? set.disableUpdate;
  claimQueuedJobs(sc, set);
  return actionsJson(sc.settings, 200, scaleSetJson(sc, set, base));
}

/**
 * Removes a set. Through the API it is refused while a runner of the set runs a job (the status
 * and type name of that refusal are not documented); `behindTheBack` is the service's own cleanup.
 */
export function removeScaleSet(sc: ScaleSetContext, set: ScaleSetRecord, behindTheBack: boolean): void {
  const runners = setRunners(sc, set);
  if (!behindTheBack && runners.some((runner) => runner.busy)) {
    throw new ActionsError(
      400,
      TYPE_NAMES.jobStillRunning,
      `Runner scale set ${set.id} has runners running jobs.`,
    );
  }
  sc.store.sets.delete(set.id);
  if (set.session) endSession(sc, set, set.session);
  releaseJobs(sc, set, (job) => routeQueuedJob(sc.gh, job));
  for (const runner of runners) {
    sc.store.runnerSets.delete(runner.id);
    if (runner.busy) continue;
    removeRunnerRecord(sc.gh.state, runner);
    sc.gh.emulator.hooks.runnerDeleted(runner);
  }
}

function deleteScaleSet(
  sc: ScaleSetContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const { set } = scaleSetOf(sc, request, params);
  removeScaleSet(sc, set, false);
  return noContent();
}

export function scaleSetRoutes(sc: ScaleSetContext): RouteSpec[] {
  const sets = '/runtime/runnerscalesets';
  const one = `${sets}/{scale_set_id}`;
  return [
    actionsRoute(sc, 'GET', '/runtime/runnergroups', 'admin', (request, params) =>
      listRunnerGroups(sc, request, params),
    ),
    actionsRoute(sc, 'GET', sets, 'admin', (request, params) => listScaleSets(sc, request, params)),
    actionsRoute(sc, 'POST', sets, 'admin', (request, params) => createScaleSet(sc, request, params)),
    actionsRoute(sc, 'GET', one, 'admin', (request, params) => {
      const { set, base } = scaleSetOf(sc, request, params);
      return actionsJson(sc.settings, 200, scaleSetJson(sc, set, base));
    }),
    actionsRoute(sc, 'PATCH', one, 'admin', (request, params) => updateScaleSet(sc, request, params)),
    actionsRoute(sc, 'DELETE', one, 'admin', (request, params) => deleteScaleSet(sc, request, params)),
  ];
}
