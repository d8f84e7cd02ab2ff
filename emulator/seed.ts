// Seeding a fleet as earlier runs left it: an instance, its runner registration, its JIT parameter.
import { randomBytes } from 'node:crypto';
import { instanceTags, parameterName, runnerName } from '../src/contract.js';
import type { SeededInstance, SeedInstanceSpec } from './api.js';
import type { EmulatorContext } from './context.js';
import type { Ec2Service } from './ec2/index.js';
import type { GitHubService } from './github/index.js';
import type { AgentPhase, Simulator } from './simulator/index.js';
import type { SsmService } from './ssm/index.js';
import { tagValueFromWall, type InstanceRecord, type RunnerRecord } from './state.js';

export interface SeedDeps {
  ctx: EmulatorContext;
  ec2: Ec2Service;
  ssm: SsmService;
  github: GitHubService;
  simulator: Simulator;
}

function seedRunner(
  deps: SeedDeps,
  spec: SeedInstanceSpec,
  instance: InstanceRecord,
  name: string,
): RunnerRecord {
  const withRunner = spec.withRunner!;
  const encodedJitConfig = withRunner === 'offline' ? randomBytes(48).toString('base64') : undefined;
  if (encodedJitConfig) deps.ctx.recordSecret(encodedJitConfig);
  return deps.github.addRunner({
    name,
    labels: spec.labels ?? ['self-hosted', spec.pool ?? 'default'],
    status: withRunner === 'offline' ? 'offline' : 'online',
    busy: withRunner === 'busy',
    ...(spec.scope ? { scope: spec.scope } : {}),
    ...(withRunner !== 'offline' ? { instanceId: instance.id } : {}),
    ...(encodedJitConfig ? { encodedJitConfig } : {}),
  });
}

function seedParameter(
  deps: SeedDeps,
  spec: SeedInstanceSpec,
  instance: InstanceRecord,
  runner?: RunnerRecord,
) {
  const value =
    typeof spec.withParameter === 'string'
      ? spec.withParameter
      : (runner?.encodedJitConfig ?? randomBytes(48).toString('base64'));
  if (typeof spec.withParameter !== 'string' && !runner?.encodedJitConfig) deps.ctx.recordSecret(value);
  const name = parameterName(spec.environment ?? 'runner-scaler', instance.id);
  deps.ssm.put(instance.region, name, value, 'SecureString');
  return name;
}

/** The bootstrap phase a seeded running instance is in. */
function phaseOf(spec: SeedInstanceSpec): AgentPhase {
  if (spec.withRunner === 'idle') return 'idle';
  if (spec.withRunner === 'busy') return 'busy';
  return spec.bootstrap ? 'waiting-config' : 'inert';
}

export function seedInstance(deps: SeedDeps, spec: SeedInstanceSpec = {}): SeededInstance {
  const environment = spec.environment ?? 'runner-scaler';
  const pool = spec.pool ?? 'default';
  const state = spec.state ?? 'running';
  const withRunner = spec.withRunner ?? false;
  if (state === 'pending' && (withRunner === 'idle' || withRunner === 'busy')) {
    throw new Error('a pending instance cannot have an online runner yet');
  }
  const { clock } = deps.ctx;
  const tags = new Map(
    Object.entries({ ...instanceTags(environment, pool), ...spec.tags }).map(([key, value]) => [
      key,
      tagValueFromWall(value, clock.offset()),
    ]),
  );
  const [instance] = deps.ec2.launch({
    region: spec.region ?? deps.ctx.defaultRegion,
    count: 1,
    instanceType: spec.instanceType ?? 't3.micro',
    market: spec.market ?? 'on-demand',
    tags,
    state,
    launchTime: spec.launchTime ? clock.fromWall(spec.launchTime.getTime()) : clock.now(),
  });
  const seeded: SeededInstance = { instanceId: instance!.id };
  const name = runnerName(environment, instance!.id);
  const runner = withRunner ? seedRunner(deps, { ...spec, pool }, instance!, name) : undefined;
  if (runner) Object.assign(seeded, { runnerId: runner.id, runnerName: name });
  if (spec.withParameter)
    seeded.parameterName = seedParameter(deps, { ...spec, environment }, instance!, runner);
  if (state === 'running') {
    const linked = withRunner === 'idle' || withRunner === 'busy' ? runner : undefined;
    deps.simulator.adopt(instance!, phaseOf(spec), linked, spec.busyForMs);
  }
  return seeded;
}
