// Jobs routed to scale sets: a queued job whose labels are all among a scale set's labels goes to
// that set instead of ordinary runners. It is offered (JobAvailable, `acquire` mode) or acquired at
// once (`direct` mode), assigned within the set's capacity (JobAssigned), handed to an idle runner
// of the set (JobStarted) and finished (JobCompleted); an assigned job no runner takes in time is
// reassigned (JobCompleted canceled, then JobAssigned again), at most 3 times.
import type { JobRecord, RunnerRecord } from '../../state.js';
import { jobFitsScope, removeRunnerRecord } from '../../state.js';
import { completeJob } from '../runs.js';
import type { ScaleSetContext, ScaleSetJob, ScaleSetRecord } from './context.js';
import { messageTime } from './http.js';
import { emit } from './messages.js';
import { assignedCount } from './statistics.js';
import { tenantBase, tenantById } from './tokens.js';

export const MAX_REASSIGNMENTS = 3;
/** The delay before the n-th reassignment is n times this (the service's delays grow). */
const REASSIGN_DELAY_MS = 5_000;

const RESULTS = { success: 'succeeded', failure: 'failed', cancelled: 'canceled' } as const;

export function setMatchesJob(set: ScaleSetRecord, job: JobRecord): boolean {
  if (!jobFitsScope(job, set.scope)) return false;
  const labels = new Set(set.labels.map((label) => label.name.toLowerCase()));
  return job.labels.every((label) => labels.has(label.toLowerCase()));
}

/** The job message of a job in its current state (`extra` adds the type's own fields). */
export function jobMessage(
  sc: ScaleSetContext,
  entry: ScaleSetJob,
  messageType: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> & { messageType: string } {
  const { job } = entry;
  const run = sc.gh.state.runs.get(job.runId);
  const [owner, repository] = job.repository.split('/');
  return {
    messageType,
    runnerRequestId: entry.runnerRequestId,
    repositoryName: repository,
    ownerName: owner,
    jobId: String(job.id),
    jobWorkflowRef: `${job.repository}/.github/workflows/ci.yml@refs/heads/${run?.headBranch ?? 'main'}`,
    jobDisplayName: job.name,
    workflowRunId: job.runId,
    eventName: run?.event ?? 'push',
    requestLabels: [...job.labels],
    queueTime: messageTime(sc, entry.queueTime),
    scaleSetAssignTime: messageTime(sc, entry.scaleSetAssignTime),
    runnerAssignTime: messageTime(sc, entry.runnerAssignTime),
    finishTime: messageTime(sc, job.completedAt),
    ...extra,
  };
}

export function acquireJobUrl(sc: ScaleSetContext, set: ScaleSetRecord): string {
  const tenant = tenantById(sc, set.tenantId)!;
  return `${tenantBase(tenant)}_apis/runtime/runnerscalesets/${set.id}/acquirejobs`;
}

/** Offers a job to its set: JobAvailable (`acquire` mode), or acquired and assigned at once. */
function offer(sc: ScaleSetContext, set: ScaleSetRecord, entry: ScaleSetJob): void {
  entry.runnerRequestId = ++sc.store.counters.runnerRequestId;
  if (sc.settings.assignment === 'acquire') {
    entry.state = 'available';
    emit(sc, set, jobMessage(sc, entry, 'JobAvailable', { acquireJobUrl: acquireJobUrl(sc, set) }));
    return;
  }
  entry.state = 'acquired';
  assignWaiting(sc, set);
}

/** Routes a queued job to the first scale set it matches; false when none does. */
export function claimJob(sc: ScaleSetContext, job: JobRecord): boolean {
  if (job.status !== 'queued') return false;
  for (const set of sc.store.sets.values()) {
    if (!setMatchesJob(set, job)) continue;
    const entry: ScaleSetJob = {
      job,
      scaleSetId: set.id,
      state: 'acquired',
      runnerRequestId: 0,
      queueTime: job.createdAt,
      reassignments: 0,
    };
    set.jobs.set(job.id, entry);
    sc.store.jobs.set(job.id, entry);
    offer(sc, set, entry);
    return true;
  }
  return false;
}

/** A new or relabelled scale set takes the queued jobs ordinary runners have not taken yet. */
export function claimQueuedJobs(sc: ScaleSetContext, set: ScaleSetRecord): void {
  const { state } = sc.gh;
  for (const job of [...state.queuedJobs.values()]) {
    if (!setMatchesJob(set, job)) continue;
    state.queuedJobs.delete(job.id);
    claimJob(sc, job);
  }
}

function armReassignment(sc: ScaleSetContext, set: ScaleSetRecord, entry: ScaleSetJob): void {
  const after = sc.settings.reassignAfterMs;
  if (after === undefined) return;
  entry.timer = sc.gh.emulator.scheduler.after(after, `scale-set reassign ${entry.job.id}`, () => {
    if (entry.state === 'assigned' && set.jobs.get(entry.job.id) === entry) reassign(sc, entry);
  });
}

/** Assigns acquired jobs while the set's capacity allows, then hands assigned jobs to idle runners. */
export function assignWaiting(sc: ScaleSetContext, set: ScaleSetRecord): void {
  let assigned = assignedCount(set);
  for (const entry of set.jobs.values()) {
    if (entry.state !== 'acquired') continue;
    if (set.maxCapacity !== undefined && assigned >= set.maxCapacity) break;
    entry.state = 'assigned';
    entry.scaleSetAssignTime = sc.gh.clock.now();
    assigned += 1;
    emit(sc, set, jobMessage(sc, entry, 'JobAssigned'));
    armReassignment(sc, set, entry);
  }
  dispatch(sc, set);
}

/** Hands assigned jobs, oldest first, to the set's idle runners. */
export function dispatch(sc: ScaleSetContext, set: ScaleSetRecord): void {
  for (const entry of set.jobs.values()) {
    if (entry.state !== 'assigned') continue;
    if (!handToIdleRunner(sc, set, entry)) return;
  }
}

function handToIdleRunner(sc: ScaleSetContext, set: ScaleSetRecord, entry: ScaleSetJob): boolean {
  for (const [runnerId, take] of set.idleRunners) {
    set.idleRunners.delete(runnerId);
    const runner = sc.gh.state.runners.get(runnerId);
    if (!runner || runner.status !== 'online' || runner.busy) continue;
    if (take(entry.job)) return true;
  }
  return false;
}

/** The runner started the job (runs.ts startJob): JobStarted. */
export function jobStarted(sc: ScaleSetContext, job: JobRecord, runner: RunnerRecord): void {
  const entry = sc.store.jobs.get(job.id);
  const set = entry ? sc.store.sets.get(entry.scaleSetId) : undefined;
  if (!entry || !set) return;
  entry.timer?.cancel();
  entry.state = 'running';
  entry.runnerAssignTime = sc.gh.clock.now();
  entry.runnerId = runner.id;
  entry.runnerName = runner.name;
  emit(sc, set, jobMessage(sc, entry, 'JobStarted', { runnerId: runner.id, runnerName: runner.name }));
}

function forget(sc: ScaleSetContext, set: ScaleSetRecord | undefined, entry: ScaleSetJob): void {
  entry.timer?.cancel();
  set?.jobs.delete(entry.job.id);
  sc.store.jobs.delete(entry.job.id);
}

/** The job ended (runs.ts completeJob): JobCompleted, and the ephemeral runner leaves the service. */
export function jobCompleted(sc: ScaleSetContext, job: JobRecord): void {
  const entry = sc.store.jobs.get(job.id);
  if (!entry) return;
  const set = sc.store.sets.get(entry.scaleSetId);
  forget(sc, set, entry);
  if (!set) return;
  const result = entry.state === 'running' ? RESULTS[job.conclusion ?? 'cancelled'] : 'canceled';
  emit(
    sc,
    set,
    jobMessage(sc, entry, 'JobCompleted', {
      result,
      runnerId: entry.runnerId ?? 0,
      runnerName: entry.runnerName ?? '',
    }),
  );
  const runner = entry.runnerId === undefined ? undefined : sc.gh.state.runners.get(entry.runnerId);
  if (runner) {
    removeRunnerRecord(sc.gh.state, runner);
    set.runnerIds.delete(runner.id);
    set.idleRunners.delete(runner.id);
    sc.store.runnerSets.delete(runner.id);
  }
  assignWaiting(sc, set);
}

/** No runner took the job: JobCompleted canceled, then offered again later (or cancelled for good). */
export function reassign(sc: ScaleSetContext, entry: ScaleSetJob): void {
  const set = sc.store.sets.get(entry.scaleSetId);
  if (!set || entry.state === 'running') return;
  entry.timer?.cancel();
  const finishTime = messageTime(sc, sc.gh.clock.now());
  emit(
    sc,
    set,
    jobMessage(sc, entry, 'JobCompleted', { result: 'canceled', runnerId: 0, runnerName: '', finishTime }),
  );
  if (entry.reassignments >= MAX_REASSIGNMENTS) {
    forget(sc, set, entry);
    completeJob(sc.gh, entry.job, 'cancelled');
    assignWaiting(sc, set);
    return;
  }
  entry.reassignments += 1;
  entry.state = 'requeued';
  delete entry.scaleSetAssignTime;
  entry.timer = sc.gh.emulator.scheduler.after(
    REASSIGN_DELAY_MS * entry.reassignments,
    `scale-set requeue ${entry.job.id}`,
    () => {
      if (set.jobs.get(entry.job.id) === entry && sc.store.sets.get(set.id) === set) offer(sc, set, entry);
    },
  );
  assignWaiting(sc, set);
}

/** `acquirejobs`: the available jobs among `ids` become the set's; answers the ids acquired. */
export function acquire(sc: ScaleSetContext, set: ScaleSetRecord, ids: number[]): number[] {
  const wanted = new Set(ids);
  const acquired: number[] = [];
  for (const entry of set.jobs.values()) {
    if (entry.state !== 'available' || !wanted.has(entry.runnerRequestId)) continue;
    entry.state = 'acquired';
    acquired.push(entry.runnerRequestId);
  }
  assignWaiting(sc, set);
  return acquired;
}

/** A deleted set gives back the jobs none of its runners started (they wait for assignment again). */
export function releaseJobs(
  sc: ScaleSetContext,
  set: ScaleSetRecord,
  requeue: (job: JobRecord) => void,
): void {
  for (const entry of [...set.jobs.values()]) {
    forget(sc, set, entry);
    if (entry.state !== 'running') requeue(entry.job);
  }
}
