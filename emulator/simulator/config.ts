// A booted instance looks for its configuration: its JIT config parameter, else its pool's registration
// parameter (token mode); it gives up and shuts down after configWaitMs.
import {
  parameterName,
  poolParameterName,
  runnerName,
  TAG_ENVIRONMENT,
  TAG_POOL,
} from '../../src/contract.js';
import type { ParameterRecord } from '../state.js';
import {
  instanceCall,
  later,
  readParameter,
  running,
  selfShutdown,
  tag,
  type Agent,
  type SimContext,
} from './context.js';
import { startRunner } from './jobs.js';

function startFromJitConfig(sim: SimContext, agent: Agent, jit: ParameterRecord): void {
  const { region } = agent.instance;
  sim.services.ssm.delete(region, jit.name);
  instanceCall(sim, 'ssm', 'DeleteParameter', 200, region);
  const runner = sim.ctx.state.runnersByJitConfig.get(jit.value);
  // A value the emulator never issued, or a runner deleted meanwhile: the runner cannot start.
  if (!runner || sim.ctx.state.runners.get(runner.id) !== runner) return selfShutdown(sim, agent);
  startRunner(sim, agent, runner);
}

/** `config.sh --token`: the instance registers itself with the pool's registration token. */
function registerWithToken(
  sim: SimContext,
  agent: Agent,
  registration: ParameterRecord,
  environment: string,
): void {
  let config: { token?: unknown; labels?: unknown; runnerGroupId?: unknown };
  try {
    config = JSON.parse(registration.value) as typeof config;
  } catch {
    return selfShutdown(sim, agent);
  }
  const { github } = sim.services;
  const scope = typeof config.token === 'string' ? github.registrationTokenScope(config.token) : undefined;
  if (!scope) return selfShutdown(sim, agent);
  const labels = Array.isArray(config.labels)
    ? config.labels.filter((l): l is string => typeof l === 'string')
    : [];
  const name = runnerName(environment, agent.instance.id);
  // config.sh --replace: an older registration of the same name gives way.
  for (const existing of sim.ctx.state.runnersByScope.get(scope)?.values() ?? []) {
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
    instanceId: agent.instance.id,
  });
  startRunner(sim, agent, runner);
}

export function pollConfig(sim: SimContext, agent: Agent, final = false): void {
  if (!running(sim, agent) || agent.phase !== 'waiting-config') return;
  const { instance } = agent;
  const environment = tag(sim, instance, TAG_ENVIRONMENT)!;
  const jit = readParameter(sim, agent, parameterName(environment, instance.id));
  if (jit) return startFromJitConfig(sim, agent, jit);
  const pool = tag(sim, instance, TAG_POOL);
  const registration =
    pool === undefined ? undefined : readParameter(sim, agent, poolParameterName(environment, pool));
  if (registration) return registerWithToken(sim, agent, registration, environment);
  if (final) return selfShutdown(sim, agent);
  // Poll until the deadline; one last look at the deadline itself, then give up.
  const { clock } = sim.ctx;
  const deadline = agent.runningSince + sim.settings.configWaitMs;
  if (clock.now() + sim.settings.configPollMs < deadline)
    later(sim, agent, sim.settings.configPollMs, 'poll-config', () => pollConfig(sim, agent));
  else later(sim, agent, deadline - clock.now(), 'poll-config', () => pollConfig(sim, agent, true));
}
