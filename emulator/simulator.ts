// The instance side of the fleet: what the bootstrap on a real instance does (see the resource
// contract in src/contract.ts). Boot, read the JIT config parameter (or the pool's registration
// parameter), delete it, bring the runner online, take a matching queued job, report the job start
// as an instance tag, finish, unregister (ephemeral) and shut down.
import {
  parameterName,
  poolParameterName,
  runnerName,
  TAG_ENVIRONMENT,
  TAG_JOB_STARTED,
  TAG_POOL,
} from '../src/contract.js';
import type { ScheduledEvent } from './clock.js';
import type { EmulatorContext, LifecycleHooks } from './context.js';
import type { Ec2Service, InstanceView } from './ec2.js';
import type { GitHubService } from './github/index.js';
import type { SsmService } from './ssm.js';
import {
  jobFitsScope,
  labelsMatch,
  tagValueToWall,
  type InstanceRecord,
  type JobRecord,
  type RunnerRecord,
} from './state.js';

export interface SimulatorOptions {
  /** Run the instance-side bootstrap (config, registration, jobs). Instances still boot without it. Default true. */
  bootstrap?: boolean;
  /** pending -> running. Default 20 s. */
  bootDelayMs?: number;
  /** How often a booted instance looks for its parameter. Default 5 s. */
  configPollMs?: number;
  /** How long it looks before it shuts down. Default 10 min. */
  configWaitMs?: number;
  /** From reading the config to the runner being online. Default 3 s. */
  runnerStartMs?: number;
  /** From the runner exiting (its registration deleted) to the instance shutting down. Default 1 s. */
  runnerExitMs?: number;
  /** An idle runner that got no job for this long stops and its instance shuts down. Default: never. */
  idleShutdownMs?: number;
  /** The job-started hook tags the instance when a job starts. Default true; false shows what the tag prevents. */
  reportJobStart?: boolean;
}

export type AgentPhase = 'booting' | 'waiting-config' | 'starting' | 'idle' | 'busy' | 'exited' | 'inert';

export interface NeverBootSpec {
  /** How many of the next launched (matching) instances fail; default every one. */
  count?: number;
  match?: (instance: InstanceView) => boolean;
  /** `pending`: stuck in pending; `running`: boots but its bootstrap never runs. Default `running`. */
  mode?: 'pending' | 'running';
}

export interface Simulator {
  readonly hooks: LifecycleHooks;
  setBootstrap(on: boolean): void;
  neverBoot(spec?: NeverBootSpec): { remove(): void; readonly hits: number };
  /** Spot interruption: the instance terminates, its runner goes offline, a running job fails. */
  interrupt(instanceId: string): void;
  /** Takes over a seeded instance in the given phase. */
  adopt(instance: InstanceRecord, phase: AgentPhase, runner?: RunnerRecord, busyForMs?: number): void;
  phase(instanceId: string): AgentPhase | undefined;
}

interface Agent {
  instance: InstanceRecord;
  phase: AgentPhase;
  runner?: RunnerRecord;
  runningSince: number;
  events: Set<ScheduledEvent>;
}

interface NeverBootRule extends NeverBootSpec {
  remaining: number;
  hits: number;
}

const SELF_SHUTDOWN = {
  code: 'Client.InstanceInitiatedShutdown',
  message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
};
const SPOT_INTERRUPTION = {
  code: 'Server.SpotInstanceTermination',
  message: 'Server.SpotInstanceTermination: Spot instance termination',
};

export function createSimulator(
  ctx: EmulatorContext,
  services: { ec2: Ec2Service; ssm: SsmService; github: GitHubService },
  options: SimulatorOptions = {},
): Simulator {
  const { state, clock, scheduler } = ctx;
  const { ec2, ssm, github } = services;
  const bootDelayMs = options.bootDelayMs ?? 20_000;
  const configPollMs = options.configPollMs ?? 5_000;
  const configWaitMs = options.configWaitMs ?? 600_000;
  const runnerStartMs = options.runnerStartMs ?? 3_000;
  const runnerExitMs = options.runnerExitMs ?? 1_000;
  const idleShutdownMs = options.idleShutdownMs;
  const reportJobStart = options.reportJobStart ?? true;
  let bootstrap = options.bootstrap ?? true;
  const agents = new Map<string, Agent>();
  /** Online idle runners that can take a job, in the order they became idle. */
  const idle = new Map<number, Agent>();
  const neverBootRules = new Set<NeverBootRule>();

  function later(agent: Agent, delayMs: number, label: string, run: () => void): void {
    const event = scheduler.after(delayMs, `${label} ${agent.instance.id}`, () => {
      agent.events.delete(event);
      run();
    });
    agent.events.add(event);
  }

  function tag(instance: InstanceRecord, key: string): string | undefined {
    const value = instance.tags.get(key);
    return value === undefined ? undefined : tagValueToWall(value, clock.offset());
  }

  function running(agent: Agent): boolean {
    return agent.instance.state === 'running' && state.instances.get(agent.instance.id) === agent.instance;
  }

  function selfShutdown(agent: Agent): void {
    agent.phase = 'exited';
    if (agent.runner) idle.delete(agent.runner.id);
    ec2.shutDown(agent.instance, SELF_SHUTDOWN);
  }

  function instanceCall(
    service: 'ec2' | 'ssm',
    action: string,
    status: number,
    region: string,
    code?: string,
  ): void {
    ctx.log({ service, action, status, caller: 'instance', region, ...(code ? { code } : {}) });
  }

  function readParameter(agent: Agent, name: string) {
    const parameter = ssm.get(agent.instance.region, name);
    instanceCall(
      'ssm',
      'GetParameter',
      parameter ? 200 : 400,
      agent.instance.region,
      parameter ? undefined : 'ParameterNotFound',
    );
    return parameter;
  }

  function neverBoots(instance: InstanceRecord): NeverBootRule | undefined {
    for (const rule of neverBootRules) {
      if (rule.remaining <= 0) continue;
      if (rule.match && !rule.match(ec2.view(instance))) continue;
      rule.remaining -= 1;
      rule.hits += 1;
      return rule;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- lifecycle

  function launched(instance: InstanceRecord): void {
    const agent: Agent = { instance, phase: 'inert', runningSince: clock.now(), events: new Set() };
    agents.set(instance.id, agent);
    if (instance.state !== 'pending') return;
    const failure = neverBoots(instance);
    if (failure?.mode === 'pending') return;
    agent.phase = 'booting';
    later(agent, bootDelayMs, 'boot', () => {
      if (instance.state !== 'pending') return;
      instance.state = 'running';
      instance.stateChangedAt = clock.now();
      agent.runningSince = clock.now();
      agent.phase = 'inert';
      if (failure || !bootstrap) return;
      if (tag(instance, TAG_ENVIRONMENT) === undefined) return;
      agent.phase = 'waiting-config';
      pollConfig(agent);
    });
  }

  function pollConfig(agent: Agent, final = false): void {
    if (!running(agent) || agent.phase !== 'waiting-config') return;
    const { instance } = agent;
    const environment = tag(instance, TAG_ENVIRONMENT)!;
    const jit = readParameter(agent, parameterName(environment, instance.id));
    if (jit) {
      ssm.delete(instance.region, jit.name);
      instanceCall('ssm', 'DeleteParameter', 200, instance.region);
      const runner = state.runnersByJitConfig.get(jit.value);
      // A value the emulator never issued, or a runner deleted meanwhile: the runner cannot start.
      if (!runner || state.runners.get(runner.id) !== runner) return selfShutdown(agent);
      return startRunner(agent, runner);
    }
    const pool = tag(instance, TAG_POOL);
    const registration =
      pool === undefined ? undefined : readParameter(agent, poolParameterName(environment, pool));
    if (registration) {
      let config: { token?: unknown; labels?: unknown; runnerGroupId?: unknown };
      try {
        config = JSON.parse(registration.value) as typeof config;
      } catch {
        return selfShutdown(agent);
      }
      const scope =
        typeof config.token === 'string' ? github.registrationTokenScope(config.token) : undefined;
      if (!scope) return selfShutdown(agent);
      const labels = Array.isArray(config.labels)
        ? config.labels.filter((l): l is string => typeof l === 'string')
        : [];
      const name = runnerName(environment, instance.id);
      // config.sh --replace: an older registration of the same name gives way.
      for (const existing of state.runnersByScope.get(scope)?.values() ?? []) {
        if (existing.name.toLowerCase() === name.toLowerCase()) github.removeRunner(existing);
      }
      const runner = github.addRunner({
        scope,
        name,
        labels: [
          'self-hosted',
          'Linux',
          'X64',
          ...labels.filter((l) => !['self-hosted', 'linux', 'x64'].includes(l.toLowerCase())),
        ],
        status: 'offline',
        ephemeral: true,
        runnerGroupId: typeof config.runnerGroupId === 'number' ? config.runnerGroupId : 1,
        instanceId: instance.id,
      });
      return startRunner(agent, runner);
    }
    if (final) return selfShutdown(agent);
    // Poll until the deadline; one last look at the deadline itself, then give up.
    const deadline = agent.runningSince + configWaitMs;
    if (clock.now() + configPollMs < deadline)
      later(agent, configPollMs, 'poll-config', () => pollConfig(agent));
    else later(agent, deadline - clock.now(), 'poll-config', () => pollConfig(agent, true));
  }

  function startRunner(agent: Agent, runner: RunnerRecord): void {
    agent.runner = runner;
    agent.phase = 'starting';
    runner.instanceId = agent.instance.id;
    later(agent, runnerStartMs, 'runner-online', () => {
      if (!running(agent)) return;
      if (state.runners.get(runner.id) !== runner) return selfShutdown(agent);
      runner.status = 'online';
      runner.os = 'Linux';
      becomeIdle(agent);
    });
  }

  function becomeIdle(agent: Agent): void {
    const runner = agent.runner!;
    agent.phase = 'idle';
    // A scale-set runner takes jobs only through its scale set's assignment.
    const scaleSetRunner = github.scaleSetRunners.owns(runner);
    if (!scaleSetRunner) idle.set(runner.id, agent);
    if (idleShutdownMs !== undefined) {
      const since = clock.now();
      later(agent, idleShutdownMs, 'idle-shutdown', () => {
        if (agent.phase !== 'idle' || runner.jobId !== undefined || clock.now() - since < idleShutdownMs)
          return;
        runner.status = 'offline';
        selfShutdown(agent);
      });
    }
    if (!bootstrap) return;
    if (scaleSetRunner) {
      return github.scaleSetRunners.runnerIdle(runner, (job) => {
        if (agent.phase !== 'idle' || !running(agent)) return false;
        startJob(agent, job);
        return true;
      });
    }
    for (const job of state.queuedJobs.values()) {
      if (jobFitsScope(job, runner.scope) && labelsMatch(job.labels, runner.labels))
        return startJob(agent, job);
    }
  }

  function jobQueued(job: JobRecord): void {
    if (!bootstrap || job.status !== 'queued') return;
    for (const agent of idle.values()) {
      const runner = agent.runner!;
      if (jobFitsScope(job, runner.scope) && labelsMatch(job.labels, runner.labels))
        return startJob(agent, job);
    }
  }

  function startJob(agent: Agent, job: JobRecord): void {
    const runner = agent.runner!;
    idle.delete(runner.id);
    agent.phase = 'busy';
    github.startJob(job, runner);
    // The job-started hook of the bootstrap: the scaler reads it right before an unregister.
    if (reportJobStart) {
      ec2.setTag(agent.instance, TAG_JOB_STARTED, new Date(clock.toWall(clock.now())).toISOString());
      instanceCall('ec2', 'CreateTags', 200, agent.instance.region);
    }
    later(agent, job.durationMs, 'job-done', () => finishJob(agent, job));
  }

  function finishJob(agent: Agent, job: JobRecord | undefined): void {
    const runner = agent.runner;
    if (job) github.completeJob(job, 'success');
    else if (runner) runner.busy = false;
    if (!runner) return;
    delete runner.jobId;
    if (runner.ephemeral) {
      github.removeRunner(runner);
      selfShutdown(agent);
    } else {
      becomeIdle(agent);
    }
  }

  function stopping(instance: InstanceRecord): void {
    const agent = agents.get(instance.id);
    if (!agent) return;
    for (const event of agent.events) event.cancel();
    agent.events.clear();
    agent.phase = 'exited';
    const runner = agent.runner;
    if (!runner || state.runners.get(runner.id) !== runner) return;
    idle.delete(runner.id);
    if (runner.jobId !== undefined) {
      const job = state.jobs.get(runner.jobId);
      if (job && job.status !== 'completed') {
        github.completeJob(job, 'failure');
        const reason = instance.stateReason?.code;
        const cause =
          reason === SPOT_INTERRUPTION.code
            ? 'interrupted'
            : reason === SELF_SHUTDOWN.code
              ? 'self-shutdown'
              : 'terminated';
        state.killedJobs.push({ jobId: job.id, runnerName: runner.name, cause, at: clock.now() });
      }
    }
    runner.busy = false;
    delete runner.jobId;
    runner.status = 'offline';
  }

  function runnerDeleted(runner: RunnerRecord): void {
    idle.delete(runner.id);
    const agent = runner.instanceId ? agents.get(runner.instanceId) : undefined;
    if (!agent || agent.runner !== runner) return;
    // A busy runner is only deleted when the emulator accepts a DELETE during the busy lag: its job was
    // killed, and the runner process exits like an idle one.
    if (agent.phase === 'busy') {
      for (const event of agent.events) event.cancel();
      agent.events.clear();
    }
    if (agent.phase === 'idle' || agent.phase === 'starting' || agent.phase === 'busy') {
      agent.phase = 'exited';
      later(agent, runnerExitMs, 'runner-exit', () => {
        if (running(agent)) ec2.shutDown(agent.instance, SELF_SHUTDOWN);
      });
    }
  }

  return {
    hooks: { instanceLaunched: launched, instanceStopping: stopping, runnerDeleted, jobQueued },
    setBootstrap(on) {
      bootstrap = on;
    },
    neverBoot(spec = {}) {
      const rule: NeverBootRule = { ...spec, remaining: spec.count ?? Number.POSITIVE_INFINITY, hits: 0 };
      neverBootRules.add(rule);
      return {
        remove: () => neverBootRules.delete(rule),
        get hits() {
          return rule.hits;
        },
      };
    },
    interrupt(instanceId) {
      const instance = state.instances.get(instanceId);
      if (!instance) throw new Error(`no instance ${instanceId}`);
      ec2.shutDown(instance, SPOT_INTERRUPTION);
    },
    adopt(instance, phase, runner, busyForMs) {
      const agent: Agent = { instance, phase, runningSince: clock.now(), events: new Set() };
      agents.set(instance.id, agent);
      if (runner) {
        agent.runner = runner;
        runner.instanceId = instance.id;
      }
      if (phase === 'idle' && runner) becomeIdle(agent);
      if (phase === 'busy' && runner && busyForMs !== undefined) {
        const job = runner.jobId === undefined ? undefined : state.jobs.get(runner.jobId);
        later(agent, busyForMs, 'job-done', () => finishJob(agent, job));
      }
      if (phase === 'waiting-config') pollConfig(agent);
    },
    phase: (instanceId) => agents.get(instanceId)?.phase,
  };
}
