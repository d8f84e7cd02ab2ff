// Self-hosted runners at organization and repository scope: registering one (the emulator's API),
// and the REST routes that list, get and DELETE them, and list an organization's runner groups.
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from '../context.js';
import type { RouteSpec } from '../router.js';
import { addRunnerRecord, removeRunnerRecord, runnerNameKey, type RunnerRecord } from '../state.js';
import type { GitHubContext } from './context.js';
import { GitHubError, notFound, pageOf, restRoute } from './http.js';
import { completeJob } from './runs.js';
import { normalizeScope, orgScope, SCOPE_PREFIXES, scopeOf } from './scopes.js';
import { apiBusy, runnerJson } from './views.js';

export interface RunnerSpec {
  /** `org` or `owner/repo`; default: the first organization or repository added. */
  scope?: string;
  name: string;
  labels?: string[];
  status?: 'online' | 'offline';
  busy?: boolean;
  ephemeral?: boolean;
  runnerGroupId?: number;
  instanceId?: string;
  encodedJitConfig?: string;
}

export function addRunner(gh: GitHubContext, spec: RunnerSpec): RunnerRecord {
  const { state, clock } = gh;
  const scope = normalizeScope(gh, spec.scope);
  if (state.runnersByName.has(runnerNameKey(scope, spec.name))) {
    throw new Error(`a runner named ${spec.name} already exists in ${scope}`);
  }
  const runner: RunnerRecord = {
    id: ++state.counters.runnerId,
    name: spec.name,
    scope,
    labels: spec.labels ?? ['self-hosted'],
    status: spec.status ?? 'online',
    busy: spec.busy ?? false,
    busyVisibleAt: clock.now(),
    ephemeral: spec.ephemeral ?? true,
    runnerGroupId: spec.runnerGroupId ?? 1,
    os: spec.status === 'offline' && !spec.instanceId ? 'unknown' : 'Linux',
    createdAt: clock.now(),
    ...(spec.instanceId ? { instanceId: spec.instanceId } : {}),
    ...(spec.encodedJitConfig ? { encodedJitConfig: spec.encodedJitConfig } : {}),
  };
  addRunnerRecord(state, runner);
  return runner;
}

/** The runners of a scope (lower-case key), or of every scope. */
export function runnersIn(gh: GitHubContext, scope?: string): RunnerRecord[] {
  return scope
    ? [...(gh.state.runnersByScope.get(scope.toLowerCase())?.values() ?? [])]
    : [...gh.state.runners.values()];
}

/** A runner by id, or by name in any scope (the first registered). */
export function findRunner(gh: GitHubContext, nameOrId: string | number): RunnerRecord | undefined {
  if (typeof nameOrId === 'number') return gh.state.runners.get(nameOrId);
  for (const runner of gh.state.runners.values()) if (runner.name === nameOrId) return runner;
  return undefined;
}

function runnerInScope(gh: GitHubContext, params: Record<string, string>): RunnerRecord {
  const scope = scopeOf(gh, params);
  const runner = gh.state.runnersByScope.get(scope)?.get(Number(params.runner_id));
  if (!runner) throw notFound();
  return runner;
}

function listRunners(
  gh: GitHubContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const scope = scopeOf(gh, params);
  const name = request.query.get('name');
  let runners = runnersIn(gh, scope);
  if (name !== null) {
    const runner = gh.state.runnersByName.get(runnerNameKey(scope, name));
    runners = runner ? [runner] : [];
  }
  const page = pageOf(request, runners);
  return jsonResponse(
    200,
    { total_count: runners.length, runners: page.items.map((runner) => runnerJson(gh, runner)) },
    page.headers,
  );
}

/** GitHub still thinks the runner idle: the DELETE goes through and the job dies with its runner. */
function killJobOfDeletedRunner(gh: GitHubContext, runner: RunnerRecord): void {
  const job = runner.jobId === undefined ? undefined : gh.state.jobs.get(runner.jobId);
  if (job && job.status !== 'completed') {
    completeJob(gh, job, 'failure');
    gh.state.killedJobs.push({
      jobId: job.id,
      runnerName: runner.name,
      cause: 'runner-deleted',
      at: gh.clock.now(),
    });
  }
  runner.busy = false;
  delete runner.jobId;
}

/** `DELETE /orgs/{org}/actions/runners/{runner_id}` and its repository twin. */
function deleteRunner(gh: GitHubContext, params: Record<string, string>): EmulatorResponse {
  const runner = runnerInScope(gh, params);
  if (runner.busy && gh.settings.deleteDuringBusyLag === 'kills-job' && !apiBusy(gh, runner)) {
    killJobOfDeletedRunner(gh, runner);
  }
  // The real state decides, not the lagging flag the API shows.
  if (runner.busy) throw new GitHubError(422, `Runner "${runner.name}" is still running a job`);
  removeRunnerRecord(gh.state, runner);
  gh.emulator.hooks.runnerDeleted(runner);
  return { status: 204, headers: {}, body: '' };
}

function listRunnerGroups(gh: GitHubContext, params: Record<string, string>): EmulatorResponse {
  orgScope(gh, params);
  const groups = gh.settings.runnerGroups;
  return jsonResponse(200, {
    total_count: groups.length,
    runner_groups: groups.map((group) => ({
      id: group.id,
      name: group.name,
      visibility: 'all',
      default: group.id === 1,
    })),
  });
}

export function runnerRoutes(gh: GitHubContext): RouteSpec[] {
  const routes = [
    restRoute('GET', '/orgs/{org}/actions/runner-groups', (_request, params) => listRunnerGroups(gh, params)),
  ];
  for (const prefix of SCOPE_PREFIXES) {
    const runners = `${prefix}/actions/runners`;
    routes.push(
      restRoute('GET', runners, (request, params) => listRunners(gh, request, params)),
      restRoute('GET', `${runners}/{runner_id}`, (_request, params) =>
        jsonResponse(200, runnerJson(gh, runnerInScope(gh, params))),
      ),
      restRoute('DELETE', `${runners}/{runner_id}`, (_request, params) => deleteRunner(gh, params)),
    );
  }
  return routes;
}
