// Workflow runs and their jobs: queueing (the emulator's API for tests and the demo), a runner
// starting and completing a job, cancelling a run, and the REST routes that list them.
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from '../context.js';
import type { RouteSpec } from '../router.js';
import type { Conclusion, JobRecord, RunnerRecord, RunRecord } from '../state.js';
import type { GitHubContext } from './context.js';
import { baseUrl, notFound, pageOf, restRoute } from './http.js';
import { addRepo, repoScope } from './scopes.js';
import { jobJson, runJson } from './views.js';

export interface JobSpec {
  labels: string[];
  /** How long the job runs once a runner took it (emulator time). Default 60 s. */
  durationMs?: number;
  name?: string;
}

export interface QueueRunSpec {
  /** `owner/name`; added when unknown. */
  repository: string;
  jobs: JobSpec[];
  /** Repeats `jobs` this many times in the one run (a matrix). Default 1. */
  count?: number;
  name?: string;
  event?: string;
}

// ---------------------------------------------------------------- lifecycle

function queueJobs(gh: GitHubContext, run: RunRecord, spec: QueueRunSpec): JobRecord[] {
  const { state } = gh;
  const created: JobRecord[] = [];
  const copies = spec.count ?? 1;
  for (let copy = 0; copy < copies; copy++) {
    spec.jobs.forEach((template, index) => {
      const job: JobRecord = {
        id: ++state.counters.jobId,
        runId: run.id,
        repository: run.repository,
        name: template.name ?? (copies > 1 ? `build (${copy + 1})` : `job ${index + 1}`),
        labels: [...template.labels],
        status: 'queued',
        conclusion: null,
        durationMs: template.durationMs ?? 60_000,
        createdAt: run.createdAt,
      };
      state.jobs.set(job.id, job);
      run.jobIds.push(job.id);
      created.push(job);
    });
  }
  return created;
}

/**
 * A queued job goes to the runner scale set its labels match, else it waits for an ordinary runner
 * (the queue the instance simulator's idle runners take from).
 */
export function routeQueuedJob(gh: GitHubContext, job: JobRecord): void {
  if (gh.scaleSetJobs.jobQueued(job)) return;
  gh.state.queuedJobs.set(job.id, job);
  gh.emulator.hooks.jobQueued(job);
}

export function queueRun(gh: GitHubContext, spec: QueueRunSpec): { runId: number; jobIds: number[] } {
  const { state } = gh;
  addRepo(gh, spec.repository);
  const now = gh.clock.now();
  const run: RunRecord = {
    id: ++state.counters.runId,
    repository: state.repos.get(spec.repository.toLowerCase())!.fullName,
    name: spec.name ?? 'CI',
    event: spec.event ?? 'push',
    headBranch: 'main',
    status: 'queued',
    conclusion: null,
    createdAt: now,
    updatedAt: now,
    jobIds: [],
    runNumber: state.counters.runId - 1000,
  };
  state.runs.set(run.id, run);
  const created = queueJobs(gh, run, spec);
  for (const job of created) routeQueuedJob(gh, job);
  return { runId: run.id, jobIds: created.map((job) => job.id) };
}

function finishRunIfDone(gh: GitHubContext, run: RunRecord): void {
  const jobs = run.jobIds.map((id) => gh.state.jobs.get(id)).filter((job) => job !== undefined);
  if (!jobs.every((job) => job.status === 'completed')) return;
  run.status = 'completed';
  run.conclusion = jobs.some((job) => job.conclusion === 'failure')
    ? 'failure'
    : jobs.some((job) => job.conclusion === 'cancelled')
      ? 'cancelled'
      : 'success';
  run.updatedAt = gh.clock.now();
}

export function startJob(gh: GitHubContext, job: JobRecord, runner: RunnerRecord): void {
  const now = gh.clock.now();
  gh.state.queuedJobs.delete(job.id);
  job.status = 'in_progress';
  job.startedAt = now;
  job.runnerId = runner.id;
  job.runnerName = runner.name;
  runner.busy = true;
  runner.busyVisibleAt = now + gh.settings.busyLagMs;
  runner.jobId = job.id;
  const run = gh.state.runs.get(job.runId);
  if (run) {
    if (run.status === 'queued') {
      run.status = 'in_progress';
      run.startedAt = now;
    }
    run.updatedAt = now;
  }
  gh.scaleSetJobs.jobStarted(job, runner);
}

export function completeJob(gh: GitHubContext, job: JobRecord, conclusion: Exclude<Conclusion, null>): void {
  if (job.status === 'completed') return;
  const { state } = gh;
  state.queuedJobs.delete(job.id);
  job.status = 'completed';
  job.conclusion = conclusion;
  job.completedAt = gh.clock.now();
  if (job.runnerId !== undefined) {
    const runner = state.runners.get(job.runnerId);
    if (runner && runner.jobId === job.id) {
      runner.busy = false;
      delete runner.jobId;
    }
  }
  const run = state.runs.get(job.runId);
  if (run) finishRunIfDone(gh, run);
  gh.scaleSetJobs.jobCompleted(job);
}

/** Cancels the run's queued jobs; jobs already running go on. */
export function cancelRun(gh: GitHubContext, runId: number): void {
  const run = gh.state.runs.get(runId);
  if (!run) return;
  for (const id of run.jobIds) {
    const job = gh.state.jobs.get(id);
    if (job && job.status === 'queued') completeJob(gh, job, 'cancelled');
  }
}

// ---------------------------------------------------------------- REST

function listRuns(gh: GitHubContext, request: EmulatorRequest, params: Record<string, string>) {
  const scope = repoScope(gh, params);
  const status = request.query.get('status');
  const runs: RunRecord[] = [];
  for (const run of gh.state.runs.values()) {
    if (run.repository.toLowerCase() !== scope) continue;
    if (status && run.status !== status && run.conclusion !== status) continue;
    runs.push(run);
  }
  runs.reverse();
  // GitHub returns at most 1000 results for a filtered list.
  const capped = runs.slice(0, 1000);
  const page = pageOf(request, capped);
  const base = baseUrl(request);
  return jsonResponse(
    200,
    { total_count: capped.length, workflow_runs: page.items.map((run) => runJson(gh, run, base)) },
    page.headers,
  );
}

function runInRepo(gh: GitHubContext, params: Record<string, string>): RunRecord {
  const scope = repoScope(gh, params);
  const run = gh.state.runs.get(Number(params.run_id));
  if (!run || run.repository.toLowerCase() !== scope) throw notFound();
  return run;
}

function listJobs(
  gh: GitHubContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const run = runInRepo(gh, params);
  const jobs = run.jobIds.map((id) => gh.state.jobs.get(id)).filter((job) => job !== undefined);
  const page = pageOf(request, jobs);
  const base = baseUrl(request);
  return jsonResponse(
    200,
    { total_count: jobs.length, jobs: page.items.map((job) => jobJson(gh, job, base)) },
    page.headers,
  );
}

function getJob(
  gh: GitHubContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const scope = repoScope(gh, params);
  const job = gh.state.jobs.get(Number(params.job_id));
  if (!job || job.repository.toLowerCase() !== scope) throw notFound();
  return jsonResponse(200, jobJson(gh, job, baseUrl(request)));
}

export function runRoutes(gh: GitHubContext): RouteSpec[] {
  const runs = '/repos/{owner}/{repo}/actions/runs';
  return [
    restRoute('GET', runs, (request, params) => listRuns(gh, request, params)),
    restRoute('GET', `${runs}/{run_id}`, (request, params) =>
      jsonResponse(200, runJson(gh, runInRepo(gh, params), baseUrl(request))),
    ),
    restRoute('GET', `${runs}/{run_id}/jobs`, (request, params) => listJobs(gh, request, params)),
    restRoute('GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', (request, params) =>
      getJob(gh, request, params),
    ),
  ];
}
