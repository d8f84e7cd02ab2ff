// Least privilege, measured: dist/index.js runs every mode against the emulator (JIT and token registration,
// RunInstances and CreateFleet pools, spot with on-demand fallback, dry run, removal of orphans, ghosts and
// leaked parameters, idle tags set and cleared, event-driven scale-up), the instance simulator boots the
// instances, and the AWS calls in the call log are compared with the example policies, parsed from
// examples/iam/: every permission check AWS makes for the calls the action sent, with their real parameters, is
// decided by an independent IAM policy simulator (@cloud-copilot/iam-simulate), and every granted permission is
// needed. The neighbouring requests the policies must refuse are in iam-simulation.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parameterName } from '../../src/contract.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { runAction, type ActionRun } from '../../emulator/run-action.js';
import {
  authorizationRequests,
  exampleDeployment,
  grantedActions,
  METRICS_NAMESPACE,
  readPolicy,
  simulate,
  type AwsCall,
  type Deployment,
} from './iam-policy.js';

const MIN = 60_000;
const TOKEN = 'ghs_iam_e2e_token_0123456789';
const ENV = 'ci';
const ACCOUNT = '123456789012';

const POOLS = `
environment: ${ENV}
github: { organization: acme }
coordination: { table: runner-scaler }
metrics: { namespace: ${METRICS_NAMESPACE} }
defaults:
  region: eu-west-1
  launchTemplate: runner-linux
  repositories: [acme/app]
  minLifetime: 1m
  idleTimeout: 2m
  bootTimeout: 5m
pools:
  plain: { labels: [linux, plain], max: 20 }
  fleet: { labels: [linux, fleet], instanceTypes: [m7i.large, m6i.large], subnets: [subnet-0a1b, subnet-0c2d], max: 20 }
  spot: { labels: [linux, spot], instanceTypes: [m7i.large], market: spot-with-fallback, max: 20 }
  tokens: { labels: [linux, tokens], registration: token, max: 20 }
`;

const actionPolicy = readPolicy('examples/iam/runner-scaler-policy.json', ENV);
const instancePolicy = readPolicy('examples/iam/instance-role-policy.json', ENV);

let emulator: Emulator;
/** Every AWS call of the action, with its parameters and the tags of the instances it named. */
const awsCalls: (AwsCall & { tags: Map<string, Record<string, string>> })[] = [];
const runs: { label: string; run: ActionRun }[] = [];

async function run(
  label: string,
  inputs: Record<string, string>,
  event?: { name: string; payload: unknown },
) {
  const result = await runAction({
    url: emulator.url,
    inputs: { 'github-token': TOKEN, ...inputs },
    pools: POOLS,
    ...(event ? { event } : {}),
    secrets: () => emulator.issuedSecrets(),
    requireMasks: true,
  });
  runs.push({ label, run: result });
  return result;
}

const idleRunner = (extra: { tags?: Record<string, string> } = {}) =>
  emulator.seedInstance({
    environment: ENV,
    pool: 'plain',
    launchTime: new Date(Date.now() - 30 * MIN),
    withRunner: 'idle',
    labels: ['self-hosted', 'linux', 'plain'],
    ...extra,
  });

beforeAll(async () => {
  emulator = await startEmulator({
    region: 'eu-west-1',
    accountId: ACCOUNT,
    github: { orgs: ['acme'], repos: ['acme/app'], tokens: [TOKEN] },
    simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
  emulator.onCall((request) => {
    if (request.service === 'github') return;
    const tags = new Map<string, Record<string, string>>();
    for (const [key, id] of request.form.entries()) {
      if (!/^(InstanceId|ResourceId)\.\d+$/.test(key)) continue;
      tags.set(id, { ...(emulator.ec2.instance(id)?.tags ?? {}) });
    }
    awsCalls.push({
      service: request.service,
      action: request.action,
      region: request.region,
      form: new URLSearchParams(request.form),
      json: request.json,
      tags,
    });
  });
  // Someone else's instance in the same account: never to be touched.
  emulator.seedInstance({ environment: 'other', pool: 'plain', launchTime: new Date(Date.now() - 60 * MIN) });

  // scale-up with a count, JIT registration, RunInstances.
  await run('scale-up count', { mode: 'scale-up', pool: 'plain', count: '2', 'unique-label': 'true' });
  // reconcile for queued jobs: CreateFleet on demand, spot with on-demand fallback, token registration.
  emulator.ec2.setCapacity(0, 'spot');
  for (const pool of ['fleet', 'spot', 'tokens']) {
    emulator.github.queueRun({
      repository: 'acme/app',
      jobs: [{ labels: ['linux', pool], durationMs: 2 * MIN }],
      count: 2,
    });
  }
  await run('reconcile: launch', { mode: 'reconcile' });
  await run('dry run', { mode: 'reconcile', 'dry-run': 'true' });
  // The instances boot, read and delete their parameter, tag themselves when their job starts.
  await emulator.advance(1 * MIN);

  // Dead things to remove: an orphan instance, a ghost runner, a leaked parameter, an idle runner.
  emulator.seedInstance({ environment: ENV, pool: 'plain', launchTime: new Date(Date.now() - 60 * MIN) });
  emulator.github.addRunner({
    name: `${ENV}-i-0123456789abcdef0`,
    status: 'offline',
    labels: ['self-hosted', 'linux'],
  });
  emulator.ssm.put(parameterName(ENV, 'i-0fedcba9876543210'), 'leaked', { type: 'SecureString' });
  idleRunner({ tags: { 'runner-scaler:idle-since': new Date(Date.now() - 20 * MIN).toISOString() } });
  await run('reconcile: remove', { mode: 'reconcile' });

  // An idle runner that takes a job while GitHub still says idle: its idle-since tag is cleared.
  emulator.github.setBusyLag(60_000);
  idleRunner({ tags: { 'runner-scaler:idle-since': new Date(Date.now() - 20 * MIN).toISOString() } });
  emulator.github.queueRun({
    repository: 'acme/app',
    jobs: [{ labels: ['linux', 'plain'], durationMs: 5 * MIN }],
  });
  await emulator.advance(5_000);
  await run('scale-down', { mode: 'scale-down' });
  emulator.github.setBusyLag(0);

  // Event-driven scale-up: a repository_dispatch list and a workflow_run.
  const { jobIds, runId } = emulator.github.queueRun({
    repository: 'acme/app',
    jobs: [{ labels: ['linux', 'plain'] }],
  });
  await run(
    'scale-up dispatch',
    { mode: 'scale-up' },
    {
      name: 'repository_dispatch',
      payload: {
        client_payload: {
          events: [
            {
              action: 'queued',
              workflow_job: { id: jobIds[0], run_id: runId, labels: ['linux', 'plain'], status: 'queued' },
              repository: { full_name: 'acme/app' },
            },
          ],
        },
      },
    },
  );
  const queued = emulator.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['linux', 'fleet'] }] });
  await run(
    'scale-up workflow_run',
    { mode: 'scale-up' },
    {
      name: 'workflow_run',
      payload: {
        action: 'requested',
        workflow_run: { id: queued.runId },
        repository: { full_name: 'acme/app' },
      },
    },
  );
  await emulator.advance(3 * MIN);
  idleRunner();
  await run('drain', { mode: 'drain' });
  await emulator.advance(5 * MIN);
  await run('reconcile: final', { mode: 'reconcile' });
}, 120_000);

afterAll(async () => {
  expect(emulator.errors).toEqual([]);
  await emulator.stop();
});

const actionsOf = (caller: 'action' | 'instance') =>
  new Set(
    emulator.calls
      .filter((c) => c.caller === caller && c.service !== 'github')
      .map((c) => `${c.service}:${c.action}`),
  );
const sorted = (values: Iterable<string>) => [...values].sort();

const deployment = (call: (typeof awsCalls)[number]): Deployment => ({
  ...exampleDeployment(ENV),
  instanceTags: (id) => call.tags.get(id),
});

/**
 * Permissions AWS checks inside another call rather than as calls of their own: iam:PassRole and the Spot
 * service-linked role inside a launch, ssm:AddTagsToResource inside a PutParameter with Tags.
 */
const CHECKED_INSIDE_CALLS = new Set([
  'iam:PassRole',
  'iam:CreateServiceLinkedRole',
  'ssm:AddTagsToResource',
]);

/**
 * Granted for what these short runs never reach: renewing the lease (every 20 s of a run that holds it that long)
 * and reading the lease's holder when a refused acquire names none. test/aws/store*.test.ts exercises both.
 */
const LONG_RUNS_ONLY = new Set(['dynamodb:UpdateItem', 'dynamodb:GetItem']);

describe('least privilege', () => {
  it('the run set exercised every mode and every kind of removal', () => {
    for (const { label, run: result } of runs) expect(result.errors, label).toEqual([]);
    const outcomes = runs.flatMap(({ run: result }) => result.result?.outcomes ?? []);
    const kinds = new Set(outcomes.filter((o) => o.status === 'done').map((o) => o.action));
    expect(sorted(kinds)).toEqual(
      expect.arrayContaining([
        'launch',
        'register',
        'terminate',
        'unregister',
        'delete-parameter',
        'mark-idle',
        'clear-idle',
      ]),
    );
    const calls = emulator.calls.filter((c) => c.caller === 'action');
    const fleetCalls = awsCalls.filter((c) => c.action === 'CreateFleet');
    expect(
      fleetCalls.map((c) => c.form.get('TargetCapacitySpecification.DefaultTargetCapacityType')),
    ).toEqual(expect.arrayContaining(['on-demand', 'spot']));
    expect(calls.some((c) => c.action === 'POST /orgs/{org}/actions/runners/registration-token')).toBe(true);
    expect(emulator.ec2.instances({ environment: 'other' }).every((i) => i.state === 'running')).toBe(true);
    // Every run but the dry run published its metrics, in one call.
    expect(emulator.cloudwatch.putCalls()).toBe(runs.filter(({ label }) => label !== 'dry run').length);
  });

  it('the action calls exactly the AWS actions its policy grants, apart from permissions checked inside calls', () => {
    const called = actionsOf('action');
    const granted = grantedActions(actionPolicy);
    expect(sorted(called)).toEqual(
      sorted([...granted].filter((a) => !CHECKED_INSIDE_CALLS.has(a) && !LONG_RUNS_ONLY.has(a))),
    );
    expect(sorted(called)).toEqual([
      'cloudwatch:PutMetricData',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'ec2:CreateFleet',
      'ec2:CreateTags',
      'ec2:DeleteTags',
      'ec2:DescribeInstances',
      'ec2:RunInstances',
      'ec2:TerminateInstances',
      'ssm:DeleteParameters',
      'ssm:DescribeParameters',
      'ssm:PutParameter',
    ]);
  });

  it('every permission check of every call is allowed by the simulator, and every Allow statement is used', async () => {
    const used = new Set<string>();
    const refused: string[] = [];
    const checked = new Set<string>();
    for (const call of awsCalls) {
      for (const request of authorizationRequests(call, deployment(call))) {
        checked.add(request.action);
        const decision = await simulate(actionPolicy, request);
        if (decision.result !== 'Allowed') refused.push(`${call.action}: ${JSON.stringify(request)}`);
        for (const sid of decision.allowedBy) used.add(sid);
      }
    }
    expect(refused).toEqual([]);
    const allows = actionPolicy.Statement.filter((s) => s.Effect === 'Allow').map((s) => s.Sid ?? '?');
    expect(sorted(used)).toEqual(sorted(allows));
    expect(sorted(checked)).toEqual(
      sorted([...grantedActions(actionPolicy)].filter((a) => !LONG_RUNS_ONLY.has(a))),
    );
  });

  it('the instances call what the instance role grants; only the self-termination fallback was not needed', () => {
    const granted = grantedActions(instancePolicy);
    const called = actionsOf('instance');
    expect(sorted(called)).toEqual(['ec2:CreateTags', 'ssm:DeleteParameter', 'ssm:GetParameter']);
    expect(sorted([...granted].filter((a) => !called.has(a)))).toEqual(['ec2:TerminateInstances']);
  });

  it('every JIT config was written tagged with its instance', () => {
    const puts = awsCalls.filter((c) => c.action === 'PutParameter');
    const jit = puts.filter((c) => /\/i-[0-9a-f]+$/.test(String((c.json as { Name?: string }).Name)));
    expect(jit.length).toBeGreaterThan(0);
    for (const call of jit) {
      const body = call.json as {
        Name: string;
        Tags?: { Key: string; Value: string }[];
        Overwrite?: boolean;
      };
      const id = body.Name.split('/').at(-1);
      expect(body.Tags, body.Name).toEqual([{ Key: 'runner-scaler:instance-id', Value: id }]);
      expect(body.Overwrite ?? false).toBe(false);
    }
  });
});
