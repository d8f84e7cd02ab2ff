// Naive baselines, used only by the benchmark: what single-event autoscalers do. They run in the benchmark's
// process against the same emulator settings, with the real clients configured as the action configures
// them (the AWS SDK in adaptive retry mode; Octokit from src/github/client.ts, so GitHub writes are paced
// exactly as the action paces them and the comparison measures batching, not pacing).
import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import {
  instanceIdOfParameter,
  instanceIdOfRunner,
  instanceTags,
  parameterName,
  parameterPath,
  poolParameterName,
  runnerName,
  TAG_ENVIRONMENT,
} from '../src/contract.js';
import { createOctokit, type GitHubOctokit } from '../src/github/client.js';
import type { Emulator } from '../emulator/index.js';
import { callStats, githubPoints, milestones, totals } from './measure.js';
import type { RunMeasurement } from './report.js';
import { ENVIRONMENT, LABELS, ORG, POOL, REGION, TOKEN, type Scenario, type Seeded } from './scenarios.js';

const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
const BOOT_TIMEOUT_MS = 10 * 60_000;

interface Clients {
  ec2: EC2Client;
  ssm: SSMClient;
  github: GitHubOctokit;
  problems: string[];
}

async function clients(emulator: Emulator): Promise<Clients> {
  const problems: string[] = [];
  const aws = {
    endpoint: emulator.url,
    region: REGION,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'emulator-secret' },
    retryMode: 'adaptive' as const,
  };
  const github = await createOctokit({
    auth: { kind: 'token', token: TOKEN },
    baseUrl: emulator.url,
    scope: { kind: 'org', org: ORG },
    log: {
      info: () => undefined,
      debug: () => undefined,
      setSecret: () => undefined,
      warning: (message) => problems.push(message),
    },
  });
  return { ec2: new EC2Client(aws), ssm: new SSMClient(aws), github, problems };
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function describeOwned(ec2: EC2Client): Promise<Ec2Instance[]> {
  const instances: Ec2Instance[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${TAG_ENVIRONMENT}`, Values: [ENVIRONMENT] },
          { Name: 'instance-state-name', Values: LIVE_STATES },
        ],
        MaxResults: 1000,
        NextToken: token,
      }),
    );
    for (const r of page.Reservations ?? []) instances.push(...(r.Instances ?? []));
    token = page.NextToken || undefined;
  } while (token);
  return instances;
}

async function listParameters(ssm: SSMClient): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await ssm.send(
      new GetParametersByPathCommand({ Path: parameterPath(ENVIRONMENT), MaxResults: 10, NextToken: token }),
    );
    for (const p of page.Parameters ?? []) if (p.Name) names.push(p.Name);
    token = page.NextToken || undefined;
  } while (token);
  return names;
}

interface BaselineOutcome {
  launched: number;
  removed: number;
  failed: number;
}

/**
 * One event per run: every queued job is handled on its own, one after the other, with the calls a
 * single-event handler makes: a DescribeInstances to check the pool's max, a RunInstances of one instance,
 * then its registration (a JIT config, or a registration token) written to SSM.
 */
async function scaleUpPerEvent(c: Clients, scenario: Scenario, seeded: Seeded): Promise<BaselineOutcome> {
  const outcome: BaselineOutcome = { launched: 0, removed: 0, failed: 0 };
  const jit = scenario.key === 'burst-jit';
  const tags = Object.entries(instanceTags(ENVIRONMENT, POOL)).map(([Key, Value]) => ({ Key, Value }));
  for (const job of seeded.jobs) {
    try {
      await describeOwned(c.ec2);
      const launched = await c.ec2.send(
        new RunInstancesCommand({
          LaunchTemplate: { LaunchTemplateName: 'runner', Version: '$Default' },
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
          ClientToken: `job-${job.id}`,
        }),
      );
      const id = launched.Instances?.[0]?.InstanceId;
      if (!id) throw new Error('RunInstances returned no instance');
      outcome.launched += 1;
      if (jit) {
        const { data } = await c.github.rest.actions.generateRunnerJitconfigForOrg({
          org: ORG,
          name: runnerName(ENVIRONMENT, id),
          labels: LABELS,
          runner_group_id: 1,
          work_folder: '_work',
        });
        await c.ssm.send(
          new PutParameterCommand({
            Name: parameterName(ENVIRONMENT, id),
            Value: data.encoded_jit_config,
            Type: 'SecureString',
            Overwrite: true,
          }),
        );
      } else {
        const { data } = await c.github.rest.actions.createRegistrationTokenForOrg({ org: ORG });
        await c.ssm.send(
          new PutParameterCommand({
            Name: poolParameterName(ENVIRONMENT, POOL),
            Value: JSON.stringify({ token: data.token, url: `https://github.com/${ORG}`, labels: LABELS }),
            Type: 'SecureString',
            Overwrite: true,
          }),
        );
      }
    } catch (error) {
      outcome.failed += 1;
      c.problems.push(`job ${job.id}: ${message(error)}`);
    }
  }
  return outcome;
}

/**
 * One call per item: the same reads as the action (made one after the other), then every runner, instance
 * and parameter removed on its own: unregister, terminate one id, delete one parameter (DeleteParameter).
 * Drain removes every idle runner; a reconcile removes ghosts, orphans and leaked parameters.
 */
async function removalPerRunner(c: Clients, scenario: Scenario): Promise<BaselineOutcome> {
  const outcome: BaselineOutcome = { launched: 0, removed: 0, failed: 0 };
  const runners = await c.github.paginate(c.github.rest.actions.listSelfHostedRunnersForOrg, {
    org: ORG,
    per_page: 100,
  });
  const instances = await describeOwned(c.ec2);
  const parameters = new Set(await listParameters(c.ssm));
  const listed = new Map(instances.map((i) => [i.InstanceId ?? '', i]));
  const runnerOf = new Map<string, (typeof runners)[number]>();
  for (const r of runners) {
    const id = instanceIdOfRunner(ENVIRONMENT, r.name);
    if (id) runnerOf.set(id, r);
  }

  const attempt = async (what: string, call: () => Promise<unknown>): Promise<boolean> => {
    try {
      await call();
      return true;
    } catch (error) {
      outcome.failed += 1;
      c.problems.push(`${what}: ${message(error)}`);
      return false;
    }
  };
  const unregister = (id: number) =>
    attempt(`unregister ${id}`, () =>
      c.github.rest.actions.deleteSelfHostedRunnerFromOrg({ org: ORG, runner_id: id }),
    );
  const terminate = (id: string) =>
    attempt(`terminate ${id}`, () => c.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
  const deleteParameter = (name: string) =>
    attempt(`delete ${name}`, () => c.ssm.send(new DeleteParameterCommand({ Name: name })));
  const removeInstance = async (id: string) => {
    if (!(await terminate(id))) return;
    outcome.removed += 1;
    const name = parameterName(ENVIRONMENT, id);
    if (parameters.has(name)) await deleteParameter(name);
  };

  if (scenario.key === 'drain') {
    for (const [id, runner] of runnerOf) {
      if (!listed.has(id) || runner.status !== 'online' || runner.busy) continue;
      if (await unregister(runner.id)) await removeInstance(id);
    }
    return outcome;
  }
  for (const [id, runner] of runnerOf) {
    if (listed.has(id) || runner.status === 'online' || runner.busy) continue;
    if (await unregister(runner.id)) outcome.removed += 1;
  }
  const now = Date.now();
  for (const [id, instance] of listed) {
    const age = now - (instance.LaunchTime?.getTime() ?? now);
    if (runnerOf.has(id) || age < BOOT_TIMEOUT_MS || instance.State?.Name !== 'running') continue;
    await removeInstance(id);
  }
  for (const name of parameters) {
    const id = instanceIdOfParameter(ENVIRONMENT, name);
    if (id && !listed.has(id)) await deleteParameter(name);
  }
  return outcome;
}

export const BASELINE_DESCRIPTIONS: Record<NonNullable<Scenario['baseline']>, string> = {
  'scale-up-per-event':
    'one event per run, in process: for each queued job in turn, the calls a single-event handler makes ' +
    '(DescribeInstances to check max, RunInstances of 1 instance, then its JIT config or a registration ' +
    'token, written to SSM), one job after the other, with the same clients and write pacing as the ' +
    'action. It leaves out the runner and parameter reads that a real run per event also makes, and ' +
    'the process start of every run, so it is faster than one action run per event would be.',
  'removal-per-runner':
    'one call per runner, in process: the same reads, then for each runner in turn: unregister, ' +
    'TerminateInstances of one id, DeleteParameter of its parameter; ghosts and leaked parameters one ' +
    'call each.',
};

/** Runs the scenario's baseline against a freshly seeded emulator and measures it from the call log. */
export async function measureBaseline(
  emulator: Emulator,
  scenario: Scenario,
  seeded: Seeded,
): Promise<RunMeasurement> {
  const kind = scenario.baseline;
  if (!kind) throw new Error(`${scenario.name} has no baseline`);
  const c = await clients(emulator);
  emulator.clearCalls();
  globalThis.gc?.();
  const startedAt = Date.now();
  let outcome: BaselineOutcome = { launched: 0, removed: 0, failed: 0 };
  try {
    outcome =
      kind === 'scale-up-per-event'
        ? await scaleUpPerEvent(c, scenario, seeded)
        : await removalPerRunner(c, scenario);
  } catch (error) {
    c.problems.push(`stopped: ${message(error)}`);
  } finally {
    c.ec2.destroy();
    c.ssm.destroy();
  }
  const wallMs = Date.now() - startedAt;
  const calls = emulator.calls.filter((call) => call.caller === 'action');
  return {
    kind: 'baseline',
    description: BASELINE_DESCRIPTIONS[kind],
    checks: [],
    wallMs,
    coldStartMs: null,
    peakRssMb: null,
    exitCode: null,
    ...milestones(calls, scenario.milestones, startedAt),
    githubRequests: calls.filter((call) => call.service === 'github').length,
    githubPoints: githubPoints(calls),
    totals: totals(calls),
    calls: callStats(calls, [], startedAt),
    result: { ...outcome, skipped: 0 },
    problems: [...c.problems, ...emulator.errors.map((e) => `emulator: ${e.message}`)],
  };
}
