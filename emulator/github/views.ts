// The shapes the GitHub service shows: the REST JSON bodies, and the views tests and the demo read
// through the service (wall-clock times, the real and the reported busy flag).
import type { Conclusion, JobRecord, RunnerRecord, RunRecord } from '../state.js';
import type { GitHubContext } from './context.js';
import { githubTime } from './http.js';

export interface RunnerView {
  id: number;
  name: string;
  scope: string;
  status: 'online' | 'offline';
  /** The real state. */
  busy: boolean;
  /** What the API reports (lags `busy` by busyLagMs after a job start). */
  apiBusy: boolean;
  labels: string[];
  ephemeral: boolean;
  runnerGroupId: number;
  instanceId?: string;
  jobId?: number;
}

export interface JobView {
  id: number;
  runId: number;
  repository: string;
  name: string;
  labels: string[];
  status: JobRecord['status'];
  conclusion: Conclusion;
  runnerName?: string;
  /** When the job was queued (wall clock as the action sees it). */
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
}

export interface RunView {
  id: number;
  repository: string;
  status: RunRecord['status'];
  conclusion: Conclusion;
  jobIds: number[];
}

const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'x64', 'arm64', 'windows', 'macos']);
const NO_SHA = '0'.repeat(40);

/** The busy flag the API reports: it lags the real one by the busy lag after a job start. */
export function apiBusy(gh: GitHubContext, runner: RunnerRecord): boolean {
  return runner.busy && gh.clock.now() >= runner.busyVisibleAt;
}

function labelId(gh: GitHubContext, label: string): number {
  const ids = gh.state.labelIds;
  const key = label.toLowerCase();
  let id = ids.get(key);
  if (id === undefined) {
    id = ids.size + 1;
    ids.set(key, id);
  }
  return id;
}

// ---------------------------------------------------------------- REST JSON

export function runnerJson(gh: GitHubContext, runner: RunnerRecord): Record<string, unknown> {
  return {
    id: runner.id,
    name: runner.name,
    os: runner.os,
    status: runner.status,
    busy: apiBusy(gh, runner),
    ephemeral: runner.ephemeral,
    runner_group_id: runner.runnerGroupId,
    labels: runner.labels.map((name) => ({
      id: labelId(gh, name),
      name,
      type: READ_ONLY_LABELS.has(name.toLowerCase()) ? 'read-only' : 'custom',
    })),
  };
}

function repositoryJson(gh: GitHubContext, fullName: string): Record<string, unknown> {
  const repo = gh.state.repos.get(fullName.toLowerCase());
  return {
    id: repo?.id ?? 0,
    name: repo?.name ?? fullName.split('/')[1],
    full_name: repo?.fullName ?? fullName,
    owner: { login: repo?.owner ?? fullName.split('/')[0] },
  };
}

export function runJson(gh: GitHubContext, run: RunRecord, base: string): Record<string, unknown> {
  const { clock } = gh;
  const url = `${base}/repos/${run.repository}/actions/runs/${run.id}`;
  return {
    id: run.id,
    name: run.name,
    display_title: run.name,
    node_id: `WFR_${run.id}`,
    head_branch: run.headBranch,
    head_sha: NO_SHA,
    path: '.github/workflows/ci.yml',
    run_number: run.runNumber,
    run_attempt: 1,
    event: run.event,
    status: run.status,
    conclusion: run.conclusion,
    workflow_id: 1,
    url,
    html_url: `https://github.com/${run.repository}/actions/runs/${run.id}`,
    jobs_url: `${url}/jobs`,
    created_at: githubTime(clock.toWall(run.createdAt)),
    updated_at: githubTime(clock.toWall(run.updatedAt)),
    run_started_at: githubTime(clock.toWall(run.startedAt ?? run.createdAt)),
    repository: repositoryJson(gh, run.repository),
  };
}

export function jobJson(gh: GitHubContext, job: JobRecord, base: string): Record<string, unknown> {
  const { clock } = gh;
  const run = gh.state.runs.get(job.runId);
  return {
    id: job.id,
    run_id: job.runId,
    run_attempt: 1,
    node_id: `CR_${job.id}`,
    head_sha: NO_SHA,
    head_branch: run?.headBranch ?? 'main',
    workflow_name: run?.name ?? 'CI',
    url: `${base}/repos/${job.repository}/actions/jobs/${job.id}`,
    html_url: `https://github.com/${job.repository}/actions/runs/${job.runId}/job/${job.id}`,
    run_url: `${base}/repos/${job.repository}/actions/runs/${job.runId}`,
    status: job.status,
    conclusion: job.conclusion,
    name: job.name,
    labels: job.labels,
    steps: [],
    created_at: githubTime(clock.toWall(job.createdAt)),
    started_at: githubTime(clock.toWall(job.startedAt ?? job.createdAt)),
    completed_at: githubTime(job.completedAt === undefined ? undefined : clock.toWall(job.completedAt)),
    runner_id: job.runnerId ?? null,
    runner_name: job.runnerName ?? null,
    runner_group_id: job.runnerId === undefined ? null : 1,
    runner_group_name: job.runnerId === undefined ? null : 'Default',
  };
}

export function installationJson(gh: GitHubContext, ownerKey: string): Record<string, unknown> {
  const owner = gh.state.owners.get(ownerKey)!;
  return {
    id: owner.installationId,
    app_id: appIdJson(gh),
    target_type: 'Organization',
    account: { login: owner.login, type: 'Organization' },
    repository_selection: 'all',
    permissions: {
      organization_self_hosted_runners: 'write',
      administration: 'write',
      actions: 'read',
      metadata: 'read',
    },
  };
}

/** The app id in JSON bodies: the configured app's, else 1. */
export function appIdJson(gh: GitHubContext): number {
  return gh.settings.appId === undefined ? 1 : Number(gh.settings.appId);
}

// ---------------------------------------------------------------- views

export function runnerView(gh: GitHubContext, runner: RunnerRecord): RunnerView {
  return {
    id: runner.id,
    name: runner.name,
    scope: runner.scope,
    status: runner.status,
    busy: runner.busy,
    apiBusy: apiBusy(gh, runner),
    labels: [...runner.labels],
    ephemeral: runner.ephemeral,
    runnerGroupId: runner.runnerGroupId,
    ...(runner.instanceId ? { instanceId: runner.instanceId } : {}),
    ...(runner.jobId !== undefined ? { jobId: runner.jobId } : {}),
  };
}

export function jobView(gh: GitHubContext, job: JobRecord): JobView {
  const { clock } = gh;
  return {
    id: job.id,
    runId: job.runId,
    repository: job.repository,
    name: job.name,
    labels: [...job.labels],
    status: job.status,
    conclusion: job.conclusion,
    createdAt: new Date(clock.toWall(job.createdAt)),
    ...(job.runnerName ? { runnerName: job.runnerName } : {}),
    ...(job.startedAt !== undefined ? { startedAt: new Date(clock.toWall(job.startedAt)) } : {}),
    ...(job.completedAt !== undefined ? { completedAt: new Date(clock.toWall(job.completedAt)) } : {}),
  };
}

export function runView(run: RunRecord): RunView {
  return {
    id: run.id,
    repository: run.repository,
    status: run.status,
    conclusion: run.conclusion,
    jobIds: [...run.jobIds],
  };
}
