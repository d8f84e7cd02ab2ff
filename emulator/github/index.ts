// The emulator's GitHub service: GitHub REST for self-hosted runners (org and repo scope), JIT
// configs, registration tokens, the app installation token exchange, workflow runs and jobs, and
// /rate_limit; and the runner scale set protocol (./scaleset/). Each concern is a module of this
// folder taking the GitHubContext; this file composes them into one router and the GitHubService
// the server, the simulator and the faults use.
//
// The REST routes are mounted twice: at `/` (GITHUB_API_URL) and under `/api/v3`, since clients
// treat a 127.0.0.1 config URL as GitHub Enterprise Server. The scale set protocol adds the
// RemoteAuth exchange to the REST routes and mounts its own groups (the Actions service and the
// message queue, each with its own prefix, tokens and error body). Another API is added the same
// way: one more route group with its prefix, authenticators, error rendering and routes. A route's
// `counted` flag decides whether it charges GitHub's REST rate limits.
import type { GitHubBudget } from '../budgets.js';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from '../context.js';
import { createRouter, type RouteGroup } from '../router.js';
import {
  removeRunnerRecord,
  type Conclusion,
  type JobRecord,
  type RunnerRecord,
  type ScopeKey,
} from '../state.js';
import { appRoutes } from './apps.js';
import { expireInstallationTokens, gitHubAuthenticators, registrationTokenScope } from './auth.js';
import { createGitHubContext, type GitHubContext, type GitHubOptions } from './context.js';
import { errorResponse, renderGitHubError } from './http.js';
import { rateLimitRoutes } from './rate-limit.js';
import { registrationRoutes } from './registration.js';
import { addRunner, findRunner, runnerRoutes, runnersIn, type RunnerSpec } from './runners.js';
import { cancelRun, completeJob, queueRun, runRoutes, startJob, type QueueRunSpec } from './runs.js';
import { addOrg, addRepo, defaultScope } from './scopes.js';
import {
  createScaleSetService,
  type ScaleSetControl,
  type ScaleSetRunnerHooks,
  type ScaleSetService,
} from './scaleset/index.js';
import { jobView, runnerView, runView, type JobView, type RunnerView, type RunView } from './views.js';

export type { GitHubAppOptions, GitHubOptions } from './context.js';
export type { JobSpec, QueueRunSpec } from './runs.js';
export type { RunnerSpec } from './runners.js';
export type { JobView, RunnerView, RunView } from './views.js';
export type * from './scaleset/index.js';

export interface GitHubRoute {
  /** `METHOD /route/{template}` */
  action: string;
  params: Record<string, string>;
  /** Whether the request counts against the primary and secondary limits. */
  counted: boolean;
}

export interface GitHubService {
  route(method: string, path: string): GitHubRoute | undefined;
  handle(request: EmulatorRequest): EmulatorResponse;
  errorResponse(status: number, message: string, headers?: Record<string, string>): EmulatorResponse;
  addOrg(login: string): void;
  addRepo(fullName: string): void;
  queueRun(spec: QueueRunSpec): { runId: number; jobIds: number[] };
  cancelRun(runId: number): void;
  addRunner(spec: RunnerSpec): RunnerRecord;
  /** Removes a registration without going through the API (an ephemeral runner exiting). */
  removeRunner(runner: RunnerRecord): void;
  startJob(job: JobRecord, runner: RunnerRecord): void;
  completeJob(job: JobRecord, conclusion: Exclude<Conclusion, null>): void;
  /** The registration token's scope when it is valid now. */
  registrationTokenScope(token: string): ScopeKey | undefined;
  defaultScope(): ScopeKey;
  setBusyLag(ms: number): void;
  busyLagMs(): number;
  setDeleteDuringBusyLag(mode: 'conflict' | 'kills-job'): void;
  /** Every installation token issued so far stops working now (as when its hour is over). */
  expireInstallationTokens(): number;
  runners(scope?: string): RunnerView[];
  runner(nameOrId: string | number): RunnerView | undefined;
  runs(): RunView[];
  jobs(filter?: { status?: JobRecord['status']; runId?: number }): JobView[];
  /** The runner scale set protocol's control API (state, runners without instances, faults). */
  scaleSets: ScaleSetControl;
  /** How the instance simulator runs scale-set runners. */
  scaleSetRunners: ScaleSetRunnerHooks;
}

/** GitHub REST: every route of this folder's modules, with GitHub's tokens and error body. */
function restGroup(
  gh: GitHubContext,
  budget: Pick<GitHubBudget, 'snapshot'> | undefined,
  scaleSets: ScaleSetService,
  prefix: string,
): RouteGroup {
  return {
    name: prefix ? `GitHub REST (${prefix})` : 'GitHub REST',
    prefix,
    authenticators: gitHubAuthenticators(gh),
    renderError: renderGitHubError,
    routes: [
      ...rateLimitRoutes(budget),
      ...appRoutes(gh),
      ...runnerRoutes(gh),
      ...registrationRoutes(gh),
      ...runRoutes(gh),
      ...scaleSets.restRoutes,
    ],
  };
}

/** What tests, the demo and the reliability report read: views of the world, in wall-clock time. */
function views(gh: GitHubContext): Pick<GitHubService, 'runners' | 'runner' | 'runs' | 'jobs'> {
  return {
    runners: (scope) => runnersIn(gh, scope).map((runner) => runnerView(gh, runner)),
    runner(nameOrId) {
      const runner = findRunner(gh, nameOrId);
      return runner ? runnerView(gh, runner) : undefined;
    },
    runs: () => [...gh.state.runs.values()].map(runView),
    jobs(filter) {
      const out: JobView[] = [];
      for (const job of gh.state.jobs.values()) {
        if (filter?.status && job.status !== filter.status) continue;
        if (filter?.runId !== undefined && job.runId !== filter.runId) continue;
        out.push(jobView(gh, job));
      }
      return out;
    },
  };
}

export function createGitHubService(
  ctx: EmulatorContext,
  options: GitHubOptions = {},
  budget?: Pick<GitHubBudget, 'snapshot'>,
): GitHubService {
  const gh = createGitHubContext(ctx, options);
  for (const org of options.orgs ?? []) addOrg(gh, org);
  for (const repo of options.repos ?? []) addRepo(gh, repo);
  const scaleSets = createScaleSetService(gh, options.scaleSets);
  gh.scaleSetJobs = scaleSets.jobEvents;
  const router = createRouter();
  router.mount(restGroup(gh, budget, scaleSets, ''));
  router.mount(restGroup(gh, budget, scaleSets, '/api/v3'));
  for (const group of scaleSets.groups) router.mount(group);
  const { settings } = gh;
  return {
    route(method, path) {
      const found = router.match(method, path);
      return found ? { action: found.action, params: found.params, counted: found.counted } : undefined;
    },
    handle(request) {
      const found = router.match(request.method, request.path);
      return found ? router.dispatch(found, request) : errorResponse(404, 'Not Found');
    },
    errorResponse,
    addOrg: (login) => addOrg(gh, login),
    addRepo: (fullName) => addRepo(gh, fullName),
    queueRun: (spec) => queueRun(gh, spec),
    cancelRun: (runId) => cancelRun(gh, runId),
    addRunner: (spec) => addRunner(gh, spec),
    removeRunner: (runner) => removeRunnerRecord(gh.state, runner),
    startJob: (job, runner) => startJob(gh, job, runner),
    completeJob: (job, conclusion) => completeJob(gh, job, conclusion),
    registrationTokenScope: (token) => registrationTokenScope(gh, token),
    defaultScope: () => defaultScope(gh),
    setBusyLag(ms) {
      settings.busyLagMs = ms;
    },
    busyLagMs: () => settings.busyLagMs,
    setDeleteDuringBusyLag(mode) {
      settings.deleteDuringBusyLag = mode;
    },
    expireInstallationTokens: () => expireInstallationTokens(gh),
    ...views(gh),
    scaleSets: scaleSets.control,
    scaleSetRunners: scaleSets.runnerHooks,
  };
}
