// The GitHub side of the fleet: runner registrations, JIT configs, registration tokens, queued jobs.
import type {
  DeleteRunnerResult,
  GitHubGateway,
  GitHubScope,
  JitConfig,
  QueuedJob,
  Runner,
} from '../types.js';
import type { GitHubLog, GitHubOctokit } from './client.js';
import { describeGitHubError, httpStatusOf, RequestCancelled, RunnerAlreadyRegistered } from './errors.js';

export interface GitHubGatewayOptions {
  octokit: GitHubOctokit;
  scope: GitHubScope;
  log: GitHubLog;
}

/** Runs whose jobs are listed at the same time (the throttling plugin caps all requests at 10). */
const JOB_LISTING_CONCURRENCY = 4;
const PER_PAGE = 100;
/** Runner pages read at once after the first; within the throttling plugin's cap of 10 in flight. */
const RUNNER_PAGE_CONCURRENCY = 8;

interface ApiRunner {
  id: number;
  name: string;
  status: string;
  busy: boolean;
  labels: { name: string }[];
  ephemeral?: boolean;
}

export function createGitHubGateway(options: GitHubGatewayOptions): GitHubGateway {
  const { octokit, scope, log } = options;
  const { actions } = octokit.rest;
  const scopeName =
    scope.kind === 'org' ? `organization ${scope.org}` : `repository ${scope.owner}/${scope.repo}`;

  async function listRunnerPage(
    page: number,
    name?: string,
  ): Promise<{ total: number; runners: ApiRunner[] }> {
    const filter = name === undefined ? {} : { name };
    const { data } =
      scope.kind === 'org'
        ? await actions.listSelfHostedRunnersForOrg({ org: scope.org, per_page: PER_PAGE, page, ...filter })
        : await actions.listSelfHostedRunnersForRepo({
            owner: scope.owner,
            repo: scope.repo,
            per_page: PER_PAGE,
            page,
            ...filter,
          });
    return { total: data.total_count, runners: data.runners };
  }

  /**
   * Every registered runner. The first page gives the count; the other pages are read at once (the
   * throttling plugin caps requests in flight), so the list has less time to change under the paging.
   * Pages are numbered, not cursors: a runner that leaves meanwhile can shift another one onto a page
   * already read. That is why a runner missing from this list is looked up by name before its instance
   * is terminated (see `findRunner` and the engine's removal).
   */
  async function listApiRunners(name?: string): Promise<ApiRunner[]> {
    const first = await listRunnerPage(1, name);
    const byId = new Map(first.runners.map((runner) => [runner.id, runner]));
    let pages = Math.ceil(first.total / PER_PAGE);
    const rest = await mapWithConcurrency(
      Array.from({ length: Math.max(0, pages - 1) }, (_, i) => i + 2),
      RUNNER_PAGE_CONCURRENCY,
      (page) => listRunnerPage(page, name),
    );
    let last = rest.at(-1) ?? first;
    for (const page of rest) for (const runner of page.runners) byId.set(runner.id, runner);
    // Runners registered since the first page may spill onto pages past the count it gave.
    while (last.runners.length === PER_PAGE && pages * PER_PAGE < last.total) {
      pages += 1;
      last = await listRunnerPage(pages, name);
      for (const runner of last.runners) byId.set(runner.id, runner);
    }
    return [...byId.values()];
  }

  /** The `name` filter matches exactly, but the API does not promise it: compare the names again. */
  async function runnerNamed(name: string): Promise<ApiRunner | undefined> {
    return (await listApiRunners(name)).find((runner) => runner.name === name);
  }

  async function postJitConfig(name: string, labels: string[], runnerGroupId: number): Promise<JitConfig> {
    const body = { name, labels, runner_group_id: runnerGroupId, work_folder: '_work' };
    const { data } =
      scope.kind === 'org'
        ? await actions.generateRunnerJitconfigForOrg({ org: scope.org, ...body })
        : await actions.generateRunnerJitconfigForRepo({ owner: scope.owner, repo: scope.repo, ...body });
    log.setSecret(data.encoded_jit_config);
    return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
  }

  async function deleteRunner(id: number, beforeSend?: () => Promise<boolean>): Promise<DeleteRunnerResult> {
    const request = beforeSend ? { request: { beforeSend } } : {};
    try {
      if (scope.kind === 'org') {
        await actions.deleteSelfHostedRunnerFromOrg({ org: scope.org, runner_id: id, ...request });
      } else {
        await actions.deleteSelfHostedRunnerFromRepo({
          owner: scope.owner,
          repo: scope.repo,
          runner_id: id,
          ...request,
        });
      }
      return 'deleted';
    } catch (error) {
      if (error instanceof RequestCancelled) return 'cancelled';
      switch (httpStatusOf(error)) {
        case 404:
          return 'not-found';
        case 422: // "Runner … is still running a job"
          return 'busy';
        default:
          throw failure(`Deleting runner ${id} in ${scopeName}`, error);
      }
    }
  }

  /**
   * A 409 means a runner with this name exists. Ours are named after their instance, so it is the
   * runner an earlier attempt of this request registered (the retry plugin resent the POST after a
   * timeout) and its JIT config was lost: replace it unless it has started working.
   */
  async function replaceRunnerNamed(
    name: string,
    labels: string[],
    runnerGroupId: number,
    beforeReplace?: () => Promise<boolean>,
  ): Promise<JitConfig> {
    let existing: ApiRunner | undefined;
    try {
      existing = await runnerNamed(name);
    } catch (error) {
      throw failure(`Looking up runner ${name} after a 409 from generate-jitconfig in ${scopeName}`, error);
    }
    if (existing === undefined) {
      throw new Error(
        `Generating a JIT config for runner ${name} in ${scopeName} failed: HTTP 409 (name taken), ` +
          'but no runner with that name is registered',
      );
    }
    // Only a runner that never came online is replaced: an online one may have taken a job that its
    // lagging busy flag does not show yet, and a DELETE then kills that job.
    if (existing.busy || existing.status === 'online') {
      throw new RunnerAlreadyRegistered(
        `Generating a JIT config for runner ${name} in ${scopeName} failed: a runner with that name ` +
          `(id ${existing.id}) is already registered and ${existing.busy ? 'running a job' : 'online'}`,
        existing.id,
        existing.busy ? 'busy' : 'online',
      );
    }
    log.info(
      `Runner ${name} (id ${existing.id}) is already registered but its JIT config was lost; replacing it`,
    );
    // The DELETE is checked right before it is sent, like every removal: the offline runner may be starting.
    const deleted = await deleteRunner(existing.id, beforeReplace);
    if (deleted === 'busy' || deleted === 'cancelled') {
      throw new RunnerAlreadyRegistered(
        `Generating a JIT config for runner ${name} in ${scopeName} failed: the existing runner ` +
          `(id ${existing.id}) took a job before it could be replaced`,
        existing.id,
        'busy',
      );
    }
    try {
      return await postJitConfig(name, labels, runnerGroupId);
    } catch (error) {
      throw failure(`Generating a JIT config for runner ${name} in ${scopeName} (after replacing it)`, error);
    }
  }

  async function listQueuedJobsOfRun(repository: string, runId: number): Promise<QueuedJob[]> {
    const { owner, repo } = splitRepository(repository);
    try {
      const jobs = await octokit.paginate(actions.listJobsForWorkflowRun, {
        owner,
        repo,
        run_id: runId,
        filter: 'latest',
        per_page: PER_PAGE,
      });
      return jobs
        .filter((job) => job.status === 'queued')
        .map((job) => ({
          id: job.id,
          runId: job.run_id,
          repository,
          labels: job.labels,
          name: job.name,
          ...createdAt(job.created_at),
        }));
    } catch (error) {
      throw failure(`Listing the jobs of run ${runId} in ${repository}`, error);
    }
  }

  return {
    async listRunners(): Promise<Runner[]> {
      try {
        return (await listApiRunners()).map(toRunner);
      } catch (error) {
        throw failure(`Listing the runners of ${scopeName}`, error);
      }
    },

    async findRunner(name) {
      try {
        const found = await runnerNamed(name);
        return found && toRunner(found);
      } catch (error) {
        throw failure(`Looking up runner ${name} in ${scopeName}`, error);
      }
    },

    async generateJitConfig(name, labels, runnerGroupId, beforeReplace) {
      try {
        return await postJitConfig(name, labels, runnerGroupId);
      } catch (error) {
        if (httpStatusOf(error) === 409)
          return replaceRunnerNamed(name, labels, runnerGroupId, beforeReplace);
        throw failure(`Generating a JIT config for runner ${name} in ${scopeName}`, error);
      }
    },

    async createRegistrationToken() {
      try {
        const { data } =
          scope.kind === 'org'
            ? await actions.createRegistrationTokenForOrg({ org: scope.org })
            : await actions.createRegistrationTokenForRepo({ owner: scope.owner, repo: scope.repo });
        log.setSecret(data.token);
        return { token: data.token, expiresAt: data.expires_at };
      } catch (error) {
        throw failure(`Creating a registration token for ${scopeName}`, error);
      }
    },

    deleteRunner,
    listQueuedJobsOfRun,

    async listQueuedJobs(repository) {
      const { owner, repo } = splitRepository(repository);
      // A running matrix still has queued jobs, so in-progress runs count too.
      const runIds = new Set<number>();
      for (const status of ['queued', 'in_progress'] as const) {
        try {
          const runs = await octokit.paginate(actions.listWorkflowRunsForRepo, {
            owner,
            repo,
            status,
            per_page: PER_PAGE,
          });
          for (const run of runs) runIds.add(run.id);
        } catch (error) {
          throw failure(`Listing the ${status} runs of ${repository}`, error);
        }
      }
      const jobsPerRun = await mapWithConcurrency([...runIds], JOB_LISTING_CONCURRENCY, (runId) =>
        listQueuedJobsOfRun(repository, runId),
      );
      // A run that moved from queued to in progress between the two listings is listed once already;
      // this guards against a job reported twice all the same.
      const jobs = new Map<number, QueuedJob>();
      for (const job of jobsPerRun.flat()) jobs.set(job.id, job);
      return [...jobs.values()];
    },
  };
}

/** When GitHub queued the job, when it says and the time reads as one. */
function createdAt(text: string | null | undefined): { createdAt?: Date } {
  const at = text ? new Date(text) : undefined;
  return at && !Number.isNaN(at.getTime()) ? { createdAt: at } : {};
}

function toRunner(runner: ApiRunner): Runner {
  return {
    id: runner.id,
    name: runner.name,
    status: runner.status === 'online' ? 'online' : 'offline',
    busy: runner.busy,
    labels: runner.labels.map((label) => label.name),
    ...(runner.ephemeral === undefined ? {} : { ephemeral: runner.ephemeral }),
  };
}

function splitRepository(repository: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = repository.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new Error(`Invalid repository "${repository}": expected owner/name`);
  }
  return { owner, repo };
}

function failure(operation: string, error: unknown): Error {
  return new Error(`${operation} failed: ${describeGitHubError(error)}`, { cause: error });
}

/** Maps items with at most `limit` calls in flight; rejects with the first failure. */
async function mapWithConcurrency<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}
