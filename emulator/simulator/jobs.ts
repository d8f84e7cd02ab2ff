// The runner on an instance: online, idle, takes a matching queued job, reports its start, finishes.
import { TAG_JOB_STARTED } from '../../src/contract.js';
import { jobFitsScope, labelsMatch, type JobRecord, type RunnerRecord } from '../state.js';
import { instanceCall, later, running, selfShutdown, type Agent, type SimContext } from './context.js';

export function startRunner(sim: SimContext, agent: Agent, runner: RunnerRecord): void {
  agent.runner = runner;
  agent.phase = 'starting';
  runner.instanceId = agent.instance.id;
  later(sim, agent, sim.settings.runnerStartMs, 'runner-online', () => {
    if (!running(sim, agent)) return;
    if (sim.ctx.state.runners.get(runner.id) !== runner) return selfShutdown(sim, agent);
    runner.status = 'online';
    runner.os = 'Linux';
    becomeIdle(sim, agent);
  });
}

function scheduleIdleShutdown(sim: SimContext, agent: Agent, idleShutdownMs: number): void {
  const runner = agent.runner!;
  const since = sim.ctx.clock.now();
  later(sim, agent, idleShutdownMs, 'idle-shutdown', () => {
    if (agent.phase !== 'idle' || runner.jobId !== undefined || sim.ctx.clock.now() - since < idleShutdownMs)
      return;
    runner.status = 'offline';
    selfShutdown(sim, agent);
  });
}

export function becomeIdle(sim: SimContext, agent: Agent): void {
  const runner = agent.runner!;
  agent.phase = 'idle';
  // A scale-set runner takes jobs only through its scale set's assignment.
  const scaleSetRunner = sim.services.github.scaleSetRunners.owns(runner);
  if (!scaleSetRunner) sim.idle.set(runner.id, agent);
  if (sim.settings.idleShutdownMs !== undefined)
    scheduleIdleShutdown(sim, agent, sim.settings.idleShutdownMs);
  if (!sim.bootstrap) return;
  if (scaleSetRunner) {
    return sim.services.github.scaleSetRunners.runnerIdle(runner, (job) => {
      if (agent.phase !== 'idle' || !running(sim, agent)) return false;
      startJob(sim, agent, job);
      return true;
    });
  }
  for (const job of sim.ctx.state.queuedJobs.values()) {
    if (jobFitsScope(job, runner.scope) && labelsMatch(job.labels, runner.labels))
      return startJob(sim, agent, job);
  }
}

/** A new queued job goes to the longest-idle runner that can take it. */
export function jobQueued(sim: SimContext, job: JobRecord): void {
  if (!sim.bootstrap || job.status !== 'queued') return;
  for (const agent of sim.idle.values()) {
    const runner = agent.runner!;
    if (jobFitsScope(job, runner.scope) && labelsMatch(job.labels, runner.labels))
      return startJob(sim, agent, job);
  }
}

function startJob(sim: SimContext, agent: Agent, job: JobRecord): void {
  const runner = agent.runner!;
  const { clock } = sim.ctx;
  sim.idle.delete(runner.id);
  agent.phase = 'busy';
  sim.services.github.startJob(job, runner);
  // The job-started hook of the bootstrap: the scaler reads it right before an unregister.
  if (sim.settings.reportJobStart) {
    sim.services.ec2.setTag(
      agent.instance,
      TAG_JOB_STARTED,
      new Date(clock.toWall(clock.now())).toISOString(),
    );
    instanceCall(sim, 'ec2', 'CreateTags', 200, agent.instance.region);
  }
  later(sim, agent, job.durationMs, 'job-done', () => finishJob(sim, agent, job));
}

/** The job ends; an ephemeral runner then leaves and its instance shuts down. */
export function finishJob(sim: SimContext, agent: Agent, job: JobRecord | undefined): void {
  const runner = agent.runner;
  if (job) sim.services.github.completeJob(job, 'success');
  else if (runner) runner.busy = false;
  if (!runner) return;
  delete runner.jobId;
  if (runner.ephemeral) {
    sim.services.github.removeRunner(runner);
    selfShutdown(sim, agent);
  } else {
    becomeIdle(sim, agent);
  }
}
