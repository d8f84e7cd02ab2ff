// The instance side of removals: an instance that stops takes its runner (and a running job) with it; a
// deleted registration makes the runner process exit and the instance shut down.
import type { InstanceRecord, KilledJob, RunnerRecord } from '../state.js';
import {
  cancelEvents,
  later,
  running,
  SELF_SHUTDOWN,
  SPOT_INTERRUPTION,
  type SimContext,
} from './context.js';

function killCause(instance: InstanceRecord): KilledJob['cause'] {
  const reason = instance.stateReason?.code;
  if (reason === SPOT_INTERRUPTION.code) return 'interrupted';
  if (reason === SELF_SHUTDOWN.code) return 'self-shutdown';
  return 'terminated';
}

export function instanceStopping(sim: SimContext, instance: InstanceRecord): void {
  const agent = sim.agents.get(instance.id);
  if (!agent) return;
  cancelEvents(agent);
  agent.phase = 'exited';
  const runner = agent.runner;
  const { state, clock } = sim.ctx;
  if (!runner || state.runners.get(runner.id) !== runner) return;
  sim.idle.delete(runner.id);
  if (runner.jobId !== undefined) {
    const job = state.jobs.get(runner.jobId);
    if (job && job.status !== 'completed') {
      sim.services.github.completeJob(job, 'failure');
      state.killedJobs.push({
        jobId: job.id,
        runnerName: runner.name,
        cause: killCause(instance),
        at: clock.now(),
      });
    }
  }
  runner.busy = false;
  delete runner.jobId;
  runner.status = 'offline';
}

export function runnerDeleted(sim: SimContext, runner: RunnerRecord): void {
  sim.idle.delete(runner.id);
  const agent = runner.instanceId ? sim.agents.get(runner.instanceId) : undefined;
  if (!agent || agent.runner !== runner) return;
  // A busy runner is only deleted when the emulator accepts a DELETE during the busy lag: its job was
  // killed, and the runner process exits like an idle one.
  if (agent.phase === 'busy') cancelEvents(agent);
  if (agent.phase === 'idle' || agent.phase === 'starting' || agent.phase === 'busy') {
    agent.phase = 'exited';
    later(sim, agent, sim.settings.runnerExitMs, 'runner-exit', () => {
      if (running(sim, agent)) sim.services.ec2.shutDown(agent.instance, SELF_SHUTDOWN);
    });
  }
}
