// What every part of the simulator works with: one agent per instance, the services it calls, settings.
import type { ScheduledEvent } from '../clock.js';
import type { EmulatorContext } from '../context.js';
import type { Ec2Service } from '../ec2/index.js';
import type { GitHubService } from '../github/index.js';
import type { SsmService } from '../ssm/index.js';
import { tagValueToWall, type InstanceRecord, type RunnerRecord } from '../state.js';
import type { AgentPhase, NeverBootSpec, SimulatorOptions } from './types.js';

/** The bootstrap running on one instance. */
export interface Agent {
  instance: InstanceRecord;
  phase: AgentPhase;
  runner?: RunnerRecord;
  runningSince: number;
  events: Set<ScheduledEvent>;
}

export interface NeverBootRule extends NeverBootSpec {
  remaining: number;
  hits: number;
}

export interface SimulatorServices {
  ec2: Ec2Service;
  ssm: SsmService;
  github: GitHubService;
}

export interface SimContext {
  ctx: EmulatorContext;
  services: SimulatorServices;
  settings: Required<Omit<SimulatorOptions, 'idleShutdownMs' | 'bootstrap'>> & { idleShutdownMs?: number };
  /** Whether booted instances run their bootstrap; can change while running. */
  bootstrap: boolean;
  agents: Map<string, Agent>;
  /** Online idle runners that can take a job, in the order they became idle. */
  idle: Map<number, Agent>;
  neverBootRules: Set<NeverBootRule>;
}

export const SELF_SHUTDOWN = {
  code: 'Client.InstanceInitiatedShutdown',
  message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
};
export const SPOT_INTERRUPTION = {
  code: 'Server.SpotInstanceTermination',
  message: 'Server.SpotInstanceTermination: Spot instance termination',
};

export function simContext(
  ctx: EmulatorContext,
  services: SimulatorServices,
  options: SimulatorOptions,
): SimContext {
  return {
    ctx,
    services,
    settings: {
      bootDelayMs: options.bootDelayMs ?? 20_000,
      configPollMs: options.configPollMs ?? 5_000,
      configWaitMs: options.configWaitMs ?? 600_000,
      runnerStartMs: options.runnerStartMs ?? 3_000,
      runnerExitMs: options.runnerExitMs ?? 1_000,
      reportJobStart: options.reportJobStart ?? true,
      ...(options.idleShutdownMs !== undefined ? { idleShutdownMs: options.idleShutdownMs } : {}),
    },
    bootstrap: options.bootstrap ?? true,
    agents: new Map(),
    idle: new Map(),
    neverBootRules: new Set(),
  };
}

export function newAgent(sim: SimContext, instance: InstanceRecord, phase: AgentPhase): Agent {
  const agent: Agent = { instance, phase, runningSince: sim.ctx.clock.now(), events: new Set() };
  sim.agents.set(instance.id, agent);
  return agent;
}

/** Runs `run` after `delayMs` unless the agent's events are cancelled first (its instance stops). */
export function later(sim: SimContext, agent: Agent, delayMs: number, label: string, run: () => void): void {
  const event = sim.ctx.scheduler.after(delayMs, `${label} ${agent.instance.id}`, () => {
    agent.events.delete(event);
    run();
  });
  agent.events.add(event);
}

export function cancelEvents(agent: Agent): void {
  for (const event of agent.events) event.cancel();
  agent.events.clear();
}

export function tag(sim: SimContext, instance: InstanceRecord, key: string): string | undefined {
  const value = instance.tags.get(key);
  return value === undefined ? undefined : tagValueToWall(value, sim.ctx.clock.offset());
}

export function running(sim: SimContext, agent: Agent): boolean {
  return (
    agent.instance.state === 'running' && sim.ctx.state.instances.get(agent.instance.id) === agent.instance
  );
}

export function selfShutdown(sim: SimContext, agent: Agent): void {
  agent.phase = 'exited';
  if (agent.runner) sim.idle.delete(agent.runner.id);
  sim.services.ec2.shutDown(agent.instance, SELF_SHUTDOWN);
}

/** Logs a call the instance made with its own credentials (not over HTTP). */
export function instanceCall(
  sim: SimContext,
  service: 'ec2' | 'ssm',
  action: string,
  status: number,
  region: string,
  code?: string,
): void {
  sim.ctx.log({ service, action, status, caller: 'instance', region, ...(code ? { code } : {}) });
}

export function readParameter(sim: SimContext, agent: Agent, name: string) {
  const { region } = agent.instance;
  const parameter = sim.services.ssm.get(region, name);
  instanceCall(
    sim,
    'ssm',
    'GetParameter',
    parameter ? 200 : 400,
    region,
    parameter ? undefined : 'ParameterNotFound',
  );
  return parameter;
}
