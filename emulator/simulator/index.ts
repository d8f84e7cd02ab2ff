// The instance side of the fleet: what the bootstrap on a real instance does (see the resource
// contract in src/contract.ts). Boot, read the JIT config parameter (or the pool's registration
// parameter), delete it, bring the runner online, take a matching queued job, report the job start
// as an instance tag, finish, unregister (ephemeral) and shut down.
import type { EmulatorContext } from '../context.js';
import type { InstanceRecord, RunnerRecord } from '../state.js';
import { instanceLaunched } from './boot.js';
import {
  later,
  newAgent,
  simContext,
  SPOT_INTERRUPTION,
  type NeverBootRule,
  type SimContext,
  type SimulatorServices,
} from './context.js';
import { pollConfig } from './config.js';
import { becomeIdle, finishJob, jobQueued } from './jobs.js';
import { instanceStopping, runnerDeleted } from './stopping.js';
import type { AgentPhase, NeverBootSpec, Simulator, SimulatorOptions } from './types.js';

export type * from './types.js';

function adopt(
  sim: SimContext,
  instance: InstanceRecord,
  phase: AgentPhase,
  runner?: RunnerRecord,
  busyForMs?: number,
) {
  const agent = newAgent(sim, instance, phase);
  if (runner) {
    agent.runner = runner;
    runner.instanceId = instance.id;
  }
  if (phase === 'idle' && runner) becomeIdle(sim, agent);
  if (phase === 'busy' && runner && busyForMs !== undefined) {
    const job = runner.jobId === undefined ? undefined : sim.ctx.state.jobs.get(runner.jobId);
    later(sim, agent, busyForMs, 'job-done', () => finishJob(sim, agent, job));
  }
  if (phase === 'waiting-config') pollConfig(sim, agent);
}

function neverBoot(sim: SimContext, spec: NeverBootSpec) {
  const rule: NeverBootRule = { ...spec, remaining: spec.count ?? Number.POSITIVE_INFINITY, hits: 0 };
  sim.neverBootRules.add(rule);
  return {
    remove: () => sim.neverBootRules.delete(rule),
    get hits() {
      return rule.hits;
    },
  };
}

export function createSimulator(
  ctx: EmulatorContext,
  services: SimulatorServices,
  options: SimulatorOptions = {},
): Simulator {
  const sim = simContext(ctx, services, options);
  return {
    hooks: {
      instanceLaunched: (instance) => instanceLaunched(sim, instance),
      instanceStopping: (instance) => instanceStopping(sim, instance),
      runnerDeleted: (runner) => runnerDeleted(sim, runner),
      jobQueued: (job) => jobQueued(sim, job),
    },
    setBootstrap(on) {
      sim.bootstrap = on;
    },
    neverBoot: (spec = {}) => neverBoot(sim, spec),
    interrupt(instanceId) {
      const instance = ctx.state.instances.get(instanceId);
      if (!instance) throw new Error(`no instance ${instanceId}`);
      services.ec2.shutDown(instance, SPOT_INTERRUPTION);
    },
    adopt: (instance, phase, runner, busyForMs) => adopt(sim, instance, phase, runner, busyForMs),
    phase: (instanceId) => sim.agents.get(instanceId)?.phase,
  };
}
