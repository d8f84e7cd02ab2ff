// GitHub REST: self-hosted runners (org and repo scope), JIT configs, registration tokens, the app
// installation token exchange, workflow runs and jobs, and /rate_limit.
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { GitHubBudget } from './budgets.js';
import {
  jsonResponse,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
} from './context.js';
import {
  addRunnerRecord,
  removeRunnerRecord,
  runnerNameKey,
  type Conclusion,
  type IssuedToken,
  type JobRecord,
  type RunnerRecord,
  type RunRecord,
  type ScopeKey,
} from './state.js';

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
}

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
}

class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const DOCS = 'https://docs.github.com/rest';
const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'x64', 'arm64', 'windows', 'macos']);
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomToken(length: number, alphabet = TOKEN_ALPHABET): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

function githubTime(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isJwt(token: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token);
}

function base64UrlJson(segment: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

type Handler = (request: EmulatorRequest, params: Record<string, string>) => EmulatorResponse;

interface RouteDefinition {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  auth: 'token' | 'jwt' | 'none';
  counted: boolean;
  handler: Handler;
}

export function createGitHubService(
  ctx: EmulatorContext,
  options: GitHubOptions = {},
  budget?: Pick<GitHubBudget, 'snapshot'>,
): GitHubService {
  const { state, clock } = ctx;
  const installationTokenLifetimeMs = options.installationTokenLifetimeMs ?? 3_600_000;
  const registrationTokenLifetimeMs = options.registrationTokenLifetimeMs ?? 3_600_000;
  const runnerGroups = options.runnerGroups ?? [{ id: 1, name: 'Default' }];
  const acceptedTokens = options.tokens ? new Set(options.tokens) : undefined;
  let busyLagMs = options.busyLagMs ?? 0;
  let deleteDuringBusyLag = options.deleteDuringBusyLag ?? 'conflict';
  const labelIds = new Map<string, number>();
  let appKey: KeyObject | undefined;
  if (options.app?.publicKey) appKey = createPublicKey(options.app.publicKey);
  else if (options.app?.privateKey) appKey = createPublicKey(options.app.privateKey);
  if (options.app?.privateKey) ctx.recordSecret(options.app.privateKey);
  const installationsById = new Map<number, string>();

  // ---------------------------------------------------------------- world

  function addOrg(login: string): void {
    const key = login.toLowerCase();
    if (state.owners.has(key)) return;
    const installationId = ++state.counters.installationId;
    state.owners.set(key, { login, installationId });
    installationsById.set(installationId, key);
  }

  function addRepo(fullName: string): void {
    const [owner, name, extra] = fullName.split('/');
    if (!owner || !name || extra !== undefined)
      throw new Error(`repository must be owner/name, got ${fullName}`);
    addOrg(owner);
    const key = fullName.toLowerCase();
    if (!state.repos.has(key)) state.repos.set(key, { owner, name, fullName, id: ++state.counters.repoId });
  }

  for (const org of options.orgs ?? []) addOrg(org);
  for (const repo of options.repos ?? []) addRepo(repo);

  function defaultScope(): ScopeKey {
    const org = state.owners.keys().next();
    const repo = state.repos.keys().next();
    if (!org.done && (options.orgs?.length ?? 0) > 0) return org.value;
    if (!repo.done) return repo.value;
    if (!org.done) return org.value;
    throw new Error('no GitHub organization or repository: add one first (github.addOrg / github.addRepo)');
  }

  function normalizeScope(scope: string | undefined): ScopeKey {
    const key = (scope ?? defaultScope()).toLowerCase();
    if (key.includes('/')) {
      if (!state.repos.has(key)) addRepo(scope!);
    } else if (!state.owners.has(key)) addOrg(scope!);
    return key;
  }

  function apiBusy(runner: RunnerRecord): boolean {
    return runner.busy && clock.now() >= runner.busyVisibleAt;
  }

  function labelId(label: string): number {
    const key = label.toLowerCase();
    let id = labelIds.get(key);
    if (id === undefined) {
      id = labelIds.size + 1;
      labelIds.set(key, id);
    }
    return id;
  }

  function addRunner(spec: RunnerSpec): RunnerRecord {
    const scope = normalizeScope(spec.scope);
    if (state.runnersByName.has(runnerNameKey(scope, spec.name))) {
      throw new Error(`a runner named ${spec.name} already exists in ${scope}`);
    }
    const busy = spec.busy ?? false;
    const runner: RunnerRecord = {
      id: ++state.counters.runnerId,
      name: spec.name,
      scope,
      labels: spec.labels ?? ['self-hosted'],
      status: spec.status ?? 'online',
      busy,
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

  function queueRun(spec: QueueRunSpec): { runId: number; jobIds: number[] } {
    addRepo(spec.repository);
    const repository = state.repos.get(spec.repository.toLowerCase())!.fullName;
    const now = clock.now();
    const run: RunRecord = {
      id: ++state.counters.runId,
      repository,
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
    const created: JobRecord[] = [];
    const copies = spec.count ?? 1;
    for (let copy = 0; copy < copies; copy++) {
      spec.jobs.forEach((template, index) => {
        const job: JobRecord = {
          id: ++state.counters.jobId,
          runId: run.id,
          repository,
          name: template.name ?? (copies > 1 ? `build (${copy + 1})` : `job ${index + 1}`),
          labels: [...template.labels],
          status: 'queued',
          conclusion: null,
          durationMs: template.durationMs ?? 60_000,
          createdAt: now,
        };
        state.jobs.set(job.id, job);
        state.queuedJobs.set(job.id, job);
        run.jobIds.push(job.id);
        created.push(job);
      });
    }
    for (const job of created) ctx.hooks.jobQueued(job);
    return { runId: run.id, jobIds: created.map((job) => job.id) };
  }

  function finishRunIfDone(run: RunRecord): void {
    const jobs = run.jobIds.map((id) => state.jobs.get(id)).filter((job) => job !== undefined);
    if (!jobs.every((job) => job.status === 'completed')) return;
    run.status = 'completed';
    run.conclusion = jobs.some((job) => job.conclusion === 'failure')
      ? 'failure'
      : jobs.some((job) => job.conclusion === 'cancelled')
        ? 'cancelled'
        : 'success';
    run.updatedAt = clock.now();
  }

  function startJob(job: JobRecord, runner: RunnerRecord): void {
    const now = clock.now();
    state.queuedJobs.delete(job.id);
    job.status = 'in_progress';
    job.startedAt = now;
    job.runnerId = runner.id;
    job.runnerName = runner.name;
    runner.busy = true;
    runner.busyVisibleAt = now + busyLagMs;
    runner.jobId = job.id;
    const run = state.runs.get(job.runId);
    if (run) {
      if (run.status === 'queued') {
        run.status = 'in_progress';
        run.startedAt = now;
      }
      run.updatedAt = now;
    }
  }

  function completeJob(job: JobRecord, conclusion: Exclude<Conclusion, null>): void {
    if (job.status === 'completed') return;
    state.queuedJobs.delete(job.id);
    job.status = 'completed';
    job.conclusion = conclusion;
    job.completedAt = clock.now();
    if (job.runnerId !== undefined) {
      const runner = state.runners.get(job.runnerId);
      if (runner && runner.jobId === job.id) {
        runner.busy = false;
        delete runner.jobId;
      }
    }
    const run = state.runs.get(job.runId);
    if (run) finishRunIfDone(run);
  }

  function cancelRun(runId: number): void {
    const run = state.runs.get(runId);
    if (!run) return;
    for (const id of run.jobIds) {
      const job = state.jobs.get(id);
      if (job && job.status === 'queued') completeJob(job, 'cancelled');
    }
  }

  function issueToken(
    kind: IssuedToken['kind'],
    token: string,
    lifetimeMs: number,
    extra: Partial<IssuedToken>,
  ): IssuedToken {
    const issued: IssuedToken = { token, kind, expiresAt: clock.now() + lifetimeMs, ...extra };
    state.tokens.set(token, issued);
    ctx.recordSecret(token);
    return issued;
  }

  // ---------------------------------------------------------------- JSON shapes

  function runnerJson(runner: RunnerRecord): Record<string, unknown> {
    return {
      id: runner.id,
      name: runner.name,
      os: runner.os,
      status: runner.status,
      busy: apiBusy(runner),
      ephemeral: runner.ephemeral,
      runner_group_id: runner.runnerGroupId,
      labels: runner.labels.map((name) => ({
        id: labelId(name),
        name,
        type: READ_ONLY_LABELS.has(name.toLowerCase()) ? 'read-only' : 'custom',
      })),
    };
  }

  function repositoryJson(fullName: string): Record<string, unknown> {
    const repo = state.repos.get(fullName.toLowerCase());
    return {
      id: repo?.id ?? 0,
      name: repo?.name ?? fullName.split('/')[1],
      full_name: repo?.fullName ?? fullName,
      owner: { login: repo?.owner ?? fullName.split('/')[0] },
    };
  }

  function runJson(run: RunRecord, base: string): Record<string, unknown> {
    const url = `${base}/repos/${run.repository}/actions/runs/${run.id}`;
    return {
      id: run.id,
      name: run.name,
      display_title: run.name,
      node_id: `WFR_${run.id}`,
      head_branch: run.headBranch,
      head_sha: '0'.repeat(40),
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
      repository: repositoryJson(run.repository),
    };
  }

  function jobJson(job: JobRecord, base: string): Record<string, unknown> {
    const run = state.runs.get(job.runId);
    return {
      id: job.id,
      run_id: job.runId,
      run_attempt: 1,
      node_id: `CR_${job.id}`,
      head_sha: '0'.repeat(40),
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

  // ---------------------------------------------------------------- helpers

  function baseUrl(request: EmulatorRequest): string {
    return `http://${request.headers.host ?? '127.0.0.1'}`;
  }

  function notFound(): GitHubError {
    return new GitHubError(404, 'Not Found');
  }

  function invalid(message: string): GitHubError {
    return new GitHubError(422, `Invalid request.\n\n${message}`);
  }

  function pageOf<T>(request: EmulatorRequest, items: T[]): { items: T[]; headers: Record<string, string> } {
    const rawPerPage = Number(request.query.get('per_page') ?? 30);
    const perPage =
      Number.isFinite(rawPerPage) && rawPerPage >= 1 ? Math.min(100, Math.floor(rawPerPage)) : 30;
    const rawPage = Number(request.query.get('page') ?? 1);
    const page = Number.isFinite(rawPage) && rawPage >= 1 ? Math.floor(rawPage) : 1;
    const lastPage = Math.max(1, Math.ceil(items.length / perPage));
    const link = (target: number, rel: string) => {
      const query = new URLSearchParams(request.query);
      query.set('per_page', String(perPage));
      query.set('page', String(target));
      return `<${baseUrl(request)}${request.path}?${query.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(Math.min(page - 1, lastPage), 'prev'));
    if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return {
      items: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length > 0 ? { link: links.join(', ') } : {},
    };
  }

  function orgScope(params: Record<string, string>): ScopeKey {
    const key = params.org!.toLowerCase();
    if (!state.owners.has(key)) throw notFound();
    return key;
  }

  function repoScope(params: Record<string, string>): ScopeKey {
    const key = `${params.owner}/${params.repo}`.toLowerCase();
    if (!state.repos.has(key)) throw notFound();
    return key;
  }

  function scopeOf(params: Record<string, string>): ScopeKey {
    return params.org !== undefined ? orgScope(params) : repoScope(params);
  }

  function body(request: EmulatorRequest): Record<string, unknown> {
    if (request.json === undefined) return {};
    if (!request.json || typeof request.json !== 'object' || Array.isArray(request.json)) {
      throw new GitHubError(400, 'Problems parsing JSON');
    }
    return request.json as Record<string, unknown>;
  }

  function runnerInScope(params: Record<string, string>): RunnerRecord {
    const scope = scopeOf(params);
    const runner = state.runnersByScope.get(scope)?.get(Number(params.runner_id));
    if (!runner) throw notFound();
    return runner;
  }

  // ---------------------------------------------------------------- auth

  function credentials(request: EmulatorRequest): { scheme: string; value: string } | undefined {
    const header = request.headers.authorization;
    if (!header) return undefined;
    const match = /^(\w+)\s+(.+)$/.exec(header.trim());
    if (!match) throw new GitHubError(401, 'Bad credentials');
    return { scheme: match[1]!.toLowerCase(), value: match[2]! };
  }

  function checkJwt(request: EmulatorRequest): void {
    const given = credentials(request);
    if (!given) throw new GitHubError(401, 'A JSON web token could not be decoded');
    if (given.scheme !== 'bearer' || !isJwt(given.value)) {
      throw new GitHubError(401, 'A JSON web token could not be decoded');
    }
    const [headerPart, payloadPart, signaturePart] = given.value.split('.') as [string, string, string];
    const header = base64UrlJson(headerPart);
    const payload = base64UrlJson(payloadPart);
    if (!header || !payload) throw new GitHubError(401, 'A JSON web token could not be decoded');
    if (appKey) {
      const signed = verify(
        'RSA-SHA256',
        Buffer.from(`${headerPart}.${payloadPart}`),
        appKey,
        Buffer.from(signaturePart, 'base64url'),
      );
      if (header.alg !== 'RS256' || !signed)
        throw new GitHubError(401, 'A JSON web token could not be decoded');
      if (options.app && String(payload.iss) !== String(options.app.id)) {
        throw new GitHubError(401, "'Issuer' claim ('iss') must be an Integer");
      }
    }
    // JWT times are checked against the real clock: the app signs them with its own wall clock.
    const nowSeconds = Math.floor(Date.now() / 1000);
    const exp = payload.exp;
    const iat = payload.iat;
    if (typeof iat !== 'number' || iat > nowSeconds + 60) {
      throw new GitHubError(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    if (typeof exp !== 'number' || exp <= nowSeconds) {
      throw new GitHubError(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (exp > nowSeconds + 660)
      throw new GitHubError(401, "'Expiration time' claim ('exp') is too far in the future");
  }

  function checkToken(request: EmulatorRequest): void {
    const given = credentials(request);
    if (!given) throw new GitHubError(401, 'Requires authentication');
    if (given.scheme !== 'token' && given.scheme !== 'bearer') throw new GitHubError(401, 'Bad credentials');
    if (isJwt(given.value)) throw new GitHubError(403, 'Resource not accessible by integration');
    const issued = state.tokens.get(given.value);
    if (issued && issued.kind === 'installation') {
      if (issued.expiresAt <= clock.now()) throw new GitHubError(401, 'Bad credentials');
      return;
    }
    if (acceptedTokens && !acceptedTokens.has(given.value)) throw new GitHubError(401, 'Bad credentials');
  }

  // ---------------------------------------------------------------- handlers

  const listRunners: Handler = (request, params) => {
    const scope = scopeOf(params);
    const name = request.query.get('name');
    let runners = [...(state.runnersByScope.get(scope)?.values() ?? [])];
    if (name !== null) {
      const runner = state.runnersByName.get(runnerNameKey(scope, name));
      runners = runner ? [runner] : [];
    }
    const page = pageOf(request, runners);
    return jsonResponse(
      200,
      { total_count: runners.length, runners: page.items.map(runnerJson) },
      page.headers,
    );
  };

  const getRunner: Handler = (_request, params) => jsonResponse(200, runnerJson(runnerInScope(params)));

  const deleteRunner: Handler = (_request, params) => {
    const runner = runnerInScope(params);
    if (runner.busy && deleteDuringBusyLag === 'kills-job' && !apiBusy(runner)) {
      // GitHub still thinks the runner idle: the DELETE goes through and the job dies with its runner.
      const job = runner.jobId === undefined ? undefined : state.jobs.get(runner.jobId);
      if (job && job.status !== 'completed') {
        completeJob(job, 'failure');
        state.killedJobs.push({
          jobId: job.id,
          runnerName: runner.name,
          cause: 'runner-deleted',
          at: clock.now(),
        });
      }
      runner.busy = false;
      delete runner.jobId;
    }
    // The real state decides, not the lagging flag the API shows.
    if (runner.busy) throw new GitHubError(422, `Runner "${runner.name}" is still running a job`);
    removeRunnerRecord(state, runner);
    ctx.hooks.runnerDeleted(runner);
    return { status: 204, headers: {}, body: '' };
  };

  const generateJitConfig: Handler = (request, params) => {
    const scope = scopeOf(params);
    const input = body(request);
    const { name, runner_group_id: groupId, labels, work_folder: workFolder } = input;
    if (typeof name !== 'string' || name.length === 0) invalidField('name', name);
    if (typeof groupId !== 'number' || !Number.isInteger(groupId)) invalidField('runner_group_id', groupId);
    if (!Array.isArray(labels)) invalidField('labels', labels);
    if (workFolder !== undefined && typeof workFolder !== 'string') invalidField('work_folder', workFolder);
    const labelList = labels as unknown[];
    if (labelList.length < 1) throw invalid(`For 'properties/labels', [] has fewer items than 1.`);
    if (labelList.length > 100) throw invalid(`For 'properties/labels', the array has more items than 100.`);
    for (const label of labelList) {
      if (typeof label !== 'string' || label.length === 0 || label.length > 256) {
        throw invalid(`For 'items', ${JSON.stringify(label)} is not a valid label.`);
      }
    }
    const groups = scope.includes('/') ? [{ id: 1 }] : runnerGroups;
    if (!groups.some((group) => group.id === groupId)) throw notFound();
    if (state.runnersByName.has(runnerNameKey(scope, name as string))) {
      throw new GitHubError(409, `Already exists - A runner with the name ${name as string} already exists.`);
    }
    const encodedJitConfig = Buffer.from(
      JSON.stringify({
        '.runner': Buffer.from(
          JSON.stringify({ agentName: name, poolId: groupId, workFolder: workFolder ?? '_work' }),
        ).toString('base64'),
        '.credentials': randomBytes(24).toString('base64'),
        '.credentials_rsaparams': randomBytes(48).toString('base64'),
      }),
    ).toString('base64');
    const runner = addRunner({
      scope,
      name: name as string,
      labels: labelList as string[],
      status: 'offline',
      ephemeral: true,
      runnerGroupId: groupId as number,
      encodedJitConfig,
    });
    ctx.recordSecret(encodedJitConfig);
    return jsonResponse(201, { runner: runnerJson(runner), encoded_jit_config: encodedJitConfig });
  };

  function invalidField(field: string, value: unknown): never {
    throw invalid(`${JSON.stringify(value ?? null)} is not a valid value for '${field}'.`);
  }

  const registrationToken: Handler = (_request, params) => {
    const scope = scopeOf(params);
    const issued = issueToken(
      'registration',
      randomToken(29, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'),
      registrationTokenLifetimeMs,
      {
        scope,
      },
    );
    return jsonResponse(201, { token: issued.token, expires_at: githubTime(clock.toWall(issued.expiresAt)) });
  };

  const runnerGroupsHandler: Handler = (_request, params) => {
    orgScope(params);
    return jsonResponse(200, {
      total_count: runnerGroups.length,
      runner_groups: runnerGroups.map((group) => ({
        id: group.id,
        name: group.name,
        visibility: 'all',
        default: group.id === 1,
      })),
    });
  };

  function installationJson(ownerKey: string): Record<string, unknown> {
    const owner = state.owners.get(ownerKey)!;
    return {
      id: owner.installationId,
      app_id: options.app ? Number(options.app.id) : 1,
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

  const orgInstallation: Handler = (_request, params) =>
    jsonResponse(200, installationJson(orgScope(params)));

  const repoInstallation: Handler = (_request, params) => {
    repoScope(params);
    return jsonResponse(200, installationJson(params.owner!.toLowerCase()));
  };

  const listInstallations: Handler = () =>
    jsonResponse(
      200,
      [...state.owners.keys()].map((key) => installationJson(key)),
    );

  const getApp: Handler = () =>
    jsonResponse(200, {
      id: options.app ? Number(options.app.id) : 1,
      slug: 'runner-scaler',
      name: 'runner-scaler',
    });

  const createInstallationToken: Handler = (_request, params) => {
    const installationId = Number(params.installation_id);
    const ownerKey = installationsById.get(installationId);
    if (!ownerKey) throw notFound();
    const issued = issueToken('installation', `ghs_${randomToken(36)}`, installationTokenLifetimeMs, {
      installationId,
    });
    return jsonResponse(201, {
      token: issued.token,
      expires_at: githubTime(clock.toWall(issued.expiresAt)),
      permissions: installationJson(ownerKey).permissions,
      repository_selection: 'all',
    });
  };

  const listRuns: Handler = (request, params) => {
    const scope = repoScope(params);
    const status = request.query.get('status');
    const runs: RunRecord[] = [];
    for (const run of state.runs.values()) {
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
      { total_count: capped.length, workflow_runs: page.items.map((run) => runJson(run, base)) },
      page.headers,
    );
  };

  function runInRepo(params: Record<string, string>): RunRecord {
    const scope = repoScope(params);
    const run = state.runs.get(Number(params.run_id));
    if (!run || run.repository.toLowerCase() !== scope) throw notFound();
    return run;
  }

  const getRun: Handler = (request, params) =>
    jsonResponse(200, runJson(runInRepo(params), baseUrl(request)));

  const listJobs: Handler = (request, params) => {
    const run = runInRepo(params);
    const jobs = run.jobIds.map((id) => state.jobs.get(id)).filter((job) => job !== undefined);
    const page = pageOf(request, jobs);
    const base = baseUrl(request);
    return jsonResponse(
      200,
      { total_count: jobs.length, jobs: page.items.map((job) => jobJson(job, base)) },
      page.headers,
    );
  };

  const getJob: Handler = (request, params) => {
    const scope = repoScope(params);
    const job = state.jobs.get(Number(params.job_id));
    if (!job || job.repository.toLowerCase() !== scope) throw notFound();
    return jsonResponse(200, jobJson(job, baseUrl(request)));
  };

  const rateLimit: Handler = () => {
    const core = budget?.snapshot() ?? {
      limit: 5000,
      used: 0,
      remaining: 5000,
      reset: Math.ceil(Date.now() / 1000) + 3600,
    };
    return jsonResponse(200, {
      resources: { core: { ...core, resource: 'core' } },
      rate: { ...core, resource: 'core' },
    });
  };

  // ---------------------------------------------------------------- routing

  const definitions: [string, string, Handler, Partial<Pick<RouteDefinition, 'auth' | 'counted'>>?][] = [
    ['GET', '/rate_limit', rateLimit, { auth: 'none', counted: false }],
    ['GET', '/app', getApp, { auth: 'jwt', counted: false }],
    ['GET', '/app/installations', listInstallations, { auth: 'jwt', counted: false }],
    ['GET', '/orgs/{org}/installation', orgInstallation, { auth: 'jwt', counted: false }],
    ['GET', '/repos/{owner}/{repo}/installation', repoInstallation, { auth: 'jwt', counted: false }],
    [
      'POST',
      '/app/installations/{installation_id}/access_tokens',
      createInstallationToken,
      { auth: 'jwt', counted: false },
    ],
    ['GET', '/orgs/{org}/actions/runner-groups', runnerGroupsHandler],
  ];
  for (const prefix of ['/orgs/{org}', '/repos/{owner}/{repo}']) {
    definitions.push(
      ['GET', `${prefix}/actions/runners`, listRunners],
      ['POST', `${prefix}/actions/runners/generate-jitconfig`, generateJitConfig],
      ['POST', `${prefix}/actions/runners/registration-token`, registrationToken],
      ['GET', `${prefix}/actions/runners/{runner_id}`, getRunner],
      ['DELETE', `${prefix}/actions/runners/{runner_id}`, deleteRunner],
    );
  }
  definitions.push(
    ['GET', '/repos/{owner}/{repo}/actions/runs', listRuns],
    ['GET', '/repos/{owner}/{repo}/actions/runs/{run_id}', getRun],
    ['GET', '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs', listJobs],
    ['GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', getJob],
  );
  const routes: RouteDefinition[] = definitions.map(([method, template, handler, extra]) => {
    const names: string[] = [];
    const source = template.replace(/\{(\w+)\}/g, (_match, name: string) => {
      names.push(name);
      return name.endsWith('_id') ? '(\\d+)' : '([^/]+)';
    });
    return {
      method,
      template,
      pattern: new RegExp(`^${source}/?$`),
      names,
      auth: extra?.auth ?? 'token',
      counted: extra?.counted ?? true,
      handler,
    };
  });

  function find(
    method: string,
    path: string,
  ): { route: RouteDefinition; params: Record<string, string> } | undefined {
    for (const route of routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(match[index + 1]!);
      });
      return { route, params };
    }
    return undefined;
  }

  function errorResponse(
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ): EmulatorResponse {
    return { ...jsonResponse(status, { message, documentation_url: DOCS, status: String(status) }, headers) };
  }

  // ---------------------------------------------------------------- views

  function runnerView(runner: RunnerRecord): RunnerView {
    return {
      id: runner.id,
      name: runner.name,
      scope: runner.scope,
      status: runner.status,
      busy: runner.busy,
      apiBusy: apiBusy(runner),
      labels: [...runner.labels],
      ephemeral: runner.ephemeral,
      runnerGroupId: runner.runnerGroupId,
      ...(runner.instanceId ? { instanceId: runner.instanceId } : {}),
      ...(runner.jobId !== undefined ? { jobId: runner.jobId } : {}),
    };
  }

  function jobView(job: JobRecord): JobView {
    return {
      id: job.id,
      runId: job.runId,
      repository: job.repository,
      name: job.name,
      labels: [...job.labels],
      status: job.status,
      conclusion: job.conclusion,
      ...(job.runnerName ? { runnerName: job.runnerName } : {}),
      ...(job.startedAt !== undefined ? { startedAt: new Date(clock.toWall(job.startedAt)) } : {}),
      ...(job.completedAt !== undefined ? { completedAt: new Date(clock.toWall(job.completedAt)) } : {}),
    };
  }

  return {
    route(method, path) {
      const found = find(method, path);
      if (!found) return undefined;
      return {
        action: `${method} ${found.route.template}`,
        params: found.params,
        counted: found.route.counted,
      };
    },
    handle(request) {
      try {
        const found = find(request.method, request.path);
        if (!found) throw notFound();
        if (found.route.auth === 'jwt') checkJwt(request);
        else if (found.route.auth === 'token') checkToken(request);
        return found.route.handler(request, found.params);
      } catch (error) {
        if (error instanceof GitHubError)
          return { ...errorResponse(error.status, error.message, error.headers) };
        throw error;
      }
    },
    errorResponse,
    addOrg,
    addRepo,
    queueRun,
    cancelRun,
    addRunner,
    removeRunner: (runner) => removeRunnerRecord(state, runner),
    startJob,
    completeJob,
    registrationTokenScope(token) {
      const issued = state.tokens.get(token);
      if (!issued || issued.kind !== 'registration' || issued.expiresAt <= clock.now()) return undefined;
      return issued.scope;
    },
    defaultScope,
    setBusyLag(ms) {
      busyLagMs = ms;
    },
    busyLagMs: () => busyLagMs,
    setDeleteDuringBusyLag(mode) {
      deleteDuringBusyLag = mode;
    },
    expireInstallationTokens() {
      let expired = 0;
      for (const issued of state.tokens.values()) {
        if (issued.kind !== 'installation' || issued.expiresAt <= clock.now()) continue;
        issued.expiresAt = clock.now();
        expired += 1;
      }
      return expired;
    },
    runners(scope) {
      const runners = scope
        ? [...(state.runnersByScope.get(scope.toLowerCase())?.values() ?? [])]
        : [...state.runners.values()];
      return runners.map(runnerView);
    },
    runner(nameOrId) {
      if (typeof nameOrId === 'number') {
        const runner = state.runners.get(nameOrId);
        return runner ? runnerView(runner) : undefined;
      }
      for (const runner of state.runners.values()) if (runner.name === nameOrId) return runnerView(runner);
      return undefined;
    },
    runs: () =>
      [...state.runs.values()].map((run) => ({
        id: run.id,
        repository: run.repository,
        status: run.status,
        conclusion: run.conclusion,
        jobIds: [...run.jobIds],
      })),
    jobs(filter) {
      const out: JobView[] = [];
      for (const job of state.jobs.values()) {
        if (filter?.status && job.status !== filter.status) continue;
        if (filter?.runId !== undefined && job.runId !== filter.runId) continue;
        out.push(jobView(job));
      }
      return out;
    },
  };
}
