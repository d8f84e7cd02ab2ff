// A launched instance boots (pending -> running) and starts its bootstrap, unless told never to.
import { TAG_ENVIRONMENT } from '../../src/contract.js';
import type { InstanceRecord } from '../state.js';
import { later, newAgent, tag, type NeverBootRule, type SimContext } from './context.js';
import { pollConfig } from './config.js';

function neverBoots(sim: SimContext, instance: InstanceRecord): NeverBootRule | undefined {
  for (const rule of sim.neverBootRules) {
    if (rule.remaining <= 0) continue;
    if (rule.match && !rule.match(sim.services.ec2.view(instance))) continue;
    rule.remaining -= 1;
    rule.hits += 1;
    return rule;
  }
  return undefined;
}

export function instanceLaunched(sim: SimContext, instance: InstanceRecord): void {
  const agent = newAgent(sim, instance, 'inert');
  if (instance.state !== 'pending') return;
  const failure = neverBoots(sim, instance);
  if (failure?.mode === 'pending') return;
  agent.phase = 'booting';
  later(sim, agent, sim.settings.bootDelayMs, 'boot', () => {
    if (instance.state !== 'pending') return;
    const { clock } = sim.ctx;
    instance.state = 'running';
    instance.stateChangedAt = clock.now();
    agent.runningSince = clock.now();
    agent.phase = 'inert';
    if (failure || !sim.bootstrap) return;
    if (tag(sim, instance, TAG_ENVIRONMENT) === undefined) return;
    agent.phase = 'waiting-config';
    pollConfig(sim, agent);
  });
}
