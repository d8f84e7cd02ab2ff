// The standalone emulator's control API under /_emulator/: state, call log, queue runs, seed, advance.
import type { SeedInstanceSpec } from './api.js';
import type { Scheduler, Clock } from './clock.js';
import type { CallLogEntry, EmulatorResponse } from './context.js';
import type { Ec2Service } from './ec2/index.js';
import type { GitHubService, QueueRunSpec } from './github/index.js';
import type { SsmService } from './ssm/index.js';

export interface ControlDeps {
  ec2: Ec2Service;
  ssm: SsmService;
  github: GitHubService;
  scheduler: Scheduler;
  clock: Clock;
  calls: CallLogEntry[];
  seedInstance(spec: SeedInstanceSpec): unknown;
}

const ok = (body: unknown): EmulatorResponse => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function route(deps: ControlDeps, method: string, path: string, input: Record<string, unknown>) {
  const { ec2, ssm, github } = deps;
  if (method === 'GET' && path === '/_emulator/state') {
    return ok({
      instances: ec2.instances(),
      runners: github.runners(),
      parameters: ssm.parameters().map(({ value: _value, ...rest }) => rest),
      runs: github.runs(),
      jobs: github.jobs(),
    });
  }
  if (method === 'GET' && path === '/_emulator/calls') return ok(deps.calls);
  if (method === 'POST' && path === '/_emulator/runs')
    return ok(github.queueRun(input as unknown as QueueRunSpec));
  if (method === 'POST' && path === '/_emulator/advance') {
    await deps.scheduler.advance(Number(input.ms) || 0);
    return ok({ offsetMs: deps.clock.offset() });
  }
  if (method === 'POST' && path === '/_emulator/instances') {
    const spec = { ...input } as SeedInstanceSpec & { launchTime?: unknown };
    if (typeof spec.launchTime === 'string') spec.launchTime = new Date(spec.launchTime);
    return ok(deps.seedInstance(spec as SeedInstanceSpec));
  }
  return undefined;
}

export function createControl(deps: ControlDeps) {
  return async (method: string, path: string, json: unknown): Promise<EmulatorResponse | undefined> => {
    const input = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
    try {
      return await route(deps, method, path, input);
    } catch (error) {
      // A bad control request is the caller's mistake, not an emulator failure.
      return {
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: error instanceof Error ? error.message : String(error) }),
      };
    }
  };
}
