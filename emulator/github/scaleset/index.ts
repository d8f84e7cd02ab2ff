// GitHub's runner scale set protocol: the RemoteAuth exchange (a GitHub REST route), the Actions
// service under `/tenant/{tenant_id}/_apis` (admin token; acquirejobs with the queue token) and the
// message queue under `/broker` (queue token). Jobs whose labels match a scale set go to the set
// instead of ordinary runners; runners.ts takes its runners online, from the instance simulator or
// from the control API.
import type { RouteGroup, RouteSpec } from '../../router.js';
import type { JobRecord, RunnerRecord } from '../../state.js';
import type { GitHubContext, JobLifecycleListener } from '../context.js';
import { acquireRoutes } from './acquire.js';
import { createScaleSetContext, type ScaleSetOptions } from './context.js';
import { createScaleSetControl, type ScaleSetControl } from './control.js';
import { renderActionsError } from './http.js';
import { claimJob, jobCompleted, jobStarted } from './jobs.js';
import { queueRoutes } from './queue.js';
import { runnerIdle, runnerRoutes } from './runners.js';
import { scaleSetRoutes } from './scale-sets.js';
import { sessionRoutes } from './sessions.js';
import { checkAdminToken, queueSession, registrationExchangeRoutes } from './tokens.js';

export type {
  AssignmentMode,
  BrokerErrorSpec,
  JobMessage,
  ScaleSetOptions,
  StaleStatistics,
  Statistics,
} from './context.js';
export type { ScaleSetControl, ScaleSetSwitches } from './control.js';
export type {
  ScaleSetJobView,
  ScaleSetMessageView,
  ScaleSetPollView,
  ScaleSetSessionView,
  ScaleSetView,
} from './views.js';

/** What the instance simulator asks of the scale sets about the runners it runs. */
export interface ScaleSetRunnerHooks {
  /** Whether the runner belongs to a scale set (it then takes jobs only through the set's assignment). */
  owns(runner: RunnerRecord): boolean;
  /**
   * The runner is online and idle. The set calls `take(job)` now or once a job is assigned to it;
   * `take` starts the job on the runner, or answers false when the runner can no longer take one.
   */
  runnerIdle(runner: RunnerRecord, take: (job: JobRecord) => boolean): void;
}

export interface ScaleSetService {
  /** Routes to mount with the GitHub REST routes (under `/` and `/api/v3`). */
  restRoutes: RouteSpec[];
  /** The Actions service and the message queue, each with its prefix, tokens and error body. */
  groups: RouteGroup[];
  /** Installed as the GitHub context's scaleSetJobs. */
  jobEvents: JobLifecycleListener;
  runnerHooks: ScaleSetRunnerHooks;
  control: ScaleSetControl;
}

export function createScaleSetService(gh: GitHubContext, options?: ScaleSetOptions): ScaleSetService {
  const sc = createScaleSetContext(gh, options);
  const renderError = renderActionsError(sc);
  const authenticators = {
    admin: (request: Parameters<typeof checkAdminToken>[1]) => checkAdminToken(sc, request),
    queue: (request: Parameters<typeof queueSession>[1]) => void queueSession(sc, request),
  };
  return {
    restRoutes: registrationExchangeRoutes(sc),
    groups: [
      {
        name: 'Actions service',
        prefix: '/tenant/{tenant_id}/_apis',
        authenticators,
        renderError,
        routes: [...scaleSetRoutes(sc), ...sessionRoutes(sc), ...acquireRoutes(sc), ...runnerRoutes(sc)],
      },
      {
        name: 'Actions message queue',
        prefix: '/broker',
        authenticators,
        renderError,
        routes: queueRoutes(sc),
      },
    ],
    jobEvents: {
      jobQueued: (job) => claimJob(sc, job),
      jobStarted: (job, runner) => jobStarted(sc, job, runner),
      jobCompleted: (job) => jobCompleted(sc, job),
    },
    runnerHooks: {
      owns: (runner) => sc.store.runnerSets.has(runner.id),
      runnerIdle: (runner, take) => runnerIdle(sc, runner, take),
    },
    control: createScaleSetControl(sc),
  };
}
