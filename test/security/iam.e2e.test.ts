// Least privilege, measured: dist/index.js runs every mode against the emulator (JIT and token registration,
// RunInstances and CreateFleet pools, spot with on-demand fallback, dry run, removal of orphans, ghosts and
// leaked parameters, idle tags set and cleared, event-driven scale-up), the instance simulator boots the
// instances, and the AWS actions in the call log are compared with the example policies, parsed from
// examples/iam/. Every permission AWS checks for the calls made is granted, and every granted permission
// is needed. A small evaluator also runs each call (with its real parameters) through the policy.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parameterName, poolParameterName } from '../../src/contract.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { runAction, type ActionRun } from '../../emulator/run-action.js';
import {
  allows,
  allowingStatements,
  authorizationRequests,
  grantedActions,
  readPolicy,
  tagContext,
  type AuthorizationRequest,
  type AwsCall,
  type Deployment,
} from './iam-policy.js';

const MIN = 60_000;
const TOKEN = 'ghs_iam_e2e_token_0123456789';
const ENV = 'ci';
const ACCOUNT = '123456789012';
const ENV_TAG = 'runner-scaler:environment';

const POOLS = `
environment: ${ENV}
github: { organization: acme }
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
  account: ACCOUNT,
  launchTemplateTags: { [ENV_TAG]: ENV },
  instanceRoleArn: `arn:aws:iam::${ACCOUNT}:role/${ENV}-runner`,
  instanceTags: (id) => call.tags.get(id),
});

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
  });

  it('the action calls exactly the AWS actions its policy grants, apart from permissions AWS checks inside a launch', () => {
    const called = actionsOf('action');
    const granted = grantedActions(actionPolicy);
    // Not API calls of their own: AWS checks them when RunInstances/CreateFleet launch with an instance
    // profile (iam:PassRole) and spot instances the first time (the Spot service-linked role).
    const checkedInsideLaunch = new Set(['iam:PassRole', 'iam:CreateServiceLinkedRole']);
    expect(sorted(called)).toEqual(sorted([...granted].filter((a) => !checkedInsideLaunch.has(a))));
    expect(sorted(called)).toEqual([
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

  it('every permission check of every call is allowed, and every statement of the policy is used', () => {
    const used = new Set<string>();
    const refused: string[] = [];
    for (const call of awsCalls) {
      for (const request of authorizationRequests(call, deployment(call))) {
        const statements = allowingStatements(actionPolicy, request);
        if (statements.length === 0) refused.push(`${call.action}: ${JSON.stringify(request)}`);
        for (const statement of statements) used.add(statement.Sid ?? '?');
      }
    }
    expect(refused).toEqual([]);
    expect(sorted(used)).toEqual(sorted(actionPolicy.Statement.map((s) => s.Sid ?? '?')));
    const checked = new Set(
      awsCalls.flatMap((call) => authorizationRequests(call, deployment(call)).map((r) => r.action)),
    );
    expect(sorted(checked)).toEqual(sorted(grantedActions(actionPolicy)));
  });

  it('the instances call exactly what the instance role grants', () => {
    expect(sorted(actionsOf('instance'))).toEqual(sorted(grantedActions(instancePolicy)));
    expect(sorted(actionsOf('instance'))).toEqual([
      'ec2:CreateTags',
      'ssm:DeleteParameter',
      'ssm:GetParameter',
    ]);
  });
});

describe('the policies refuse what is not ours', () => {
  const ec2 = (resource: string) => `arn:aws:ec2:eu-west-1:${ACCOUNT}:${resource}`;
  const ssm = (name: string) => `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter${name}`;
  const own = tagContext('aws:ResourceTag', { [ENV_TAG]: ENV });
  const foreign = tagContext('aws:ResourceTag', { [ENV_TAG]: 'other' });

  it.each<[string, AuthorizationRequest, boolean]>([
    [
      'terminate an own instance',
      { action: 'ec2:TerminateInstances', resource: ec2('instance/i-1'), context: own },
      true,
    ],
    [
      'terminate another environment’s instance',
      { action: 'ec2:TerminateInstances', resource: ec2('instance/i-1'), context: foreign },
      false,
    ],
    [
      'terminate an untagged instance',
      { action: 'ec2:TerminateInstances', resource: ec2('instance/i-1') },
      false,
    ],
    [
      'stop an own instance',
      { action: 'ec2:StopInstances', resource: ec2('instance/i-1'), context: own },
      false,
    ],
    [
      'mark an own instance idle',
      {
        action: 'ec2:CreateTags',
        resource: ec2('instance/i-1'),
        context: { ...own, 'aws:TagKeys': ['runner-scaler:idle-since'] },
      },
      true,
    ],
    [
      'mark another environment’s instance idle',
      {
        action: 'ec2:CreateTags',
        resource: ec2('instance/i-1'),
        context: { ...foreign, 'aws:TagKeys': ['runner-scaler:idle-since'] },
      },
      false,
    ],
    [
      're-tag an own instance into another environment',
      {
        action: 'ec2:CreateTags',
        resource: ec2('instance/i-1'),
        context: { ...own, 'aws:TagKeys': [ENV_TAG] },
      },
      false,
    ],
    [
      'remove the environment tag',
      {
        action: 'ec2:DeleteTags',
        resource: ec2('instance/i-1'),
        context: { ...own, 'aws:TagKeys': [ENV_TAG] },
      },
      false,
    ],
    [
      'launch untagged instances',
      { action: 'ec2:RunInstances', resource: ec2('instance/*'), context: {} },
      false,
    ],
    [
      'launch instances for another environment',
      {
        action: 'ec2:RunInstances',
        resource: ec2('instance/*'),
        context: { [`aws:RequestTag/${ENV_TAG}`]: 'other' },
      },
      false,
    ],
    [
      'launch from an untagged launch template',
      { action: 'ec2:RunInstances', resource: ec2('launch-template/lt-1') },
      false,
    ],
    [
      'tag at launch for another environment',
      {
        action: 'ec2:CreateTags',
        resource: ec2('instance/*'),
        context: { 'ec2:CreateAction': 'RunInstances', [`aws:RequestTag/${ENV_TAG}`]: 'other' },
      },
      false,
    ],
    [
      'pass another role',
      {
        action: 'iam:PassRole',
        resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
        context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
      },
      false,
    ],
    [
      'pass the runner role to another service',
      {
        action: 'iam:PassRole',
        resource: `arn:aws:iam::${ACCOUNT}:role/${ENV}-runner`,
        context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
      },
      false,
    ],
    [
      'write another environment’s parameter',
      { action: 'ssm:PutParameter', resource: ssm('/runner-scaler/other/i-1') },
      false,
    ],
    [
      'delete a parameter outside the path',
      { action: 'ssm:DeleteParameters', resource: ssm('/prod/db-password') },
      false,
    ],
    [
      'read a JIT config back',
      { action: 'ssm:GetParameter', resource: ssm(`/runner-scaler/${ENV}/i-1`) },
      false,
    ],
    [
      'list another environment’s parameters',
      { action: 'ssm:GetParametersByPath', resource: ssm('/runner-scaler/other') },
      false,
    ],
  ])('action role: %s → %s', (_name, request, allowed) => {
    expect(allows(actionPolicy, request)).toBe(allowed);
  });

  const self = `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-0aaaaaaaaaaaaaaaa`;
  const instanceContext = { 'ec2:SourceInstanceARN': self };
  it.each<[string, AuthorizationRequest, boolean]>([
    [
      'read its JIT config',
      { action: 'ssm:GetParameter', resource: ssm(parameterName(ENV, 'i-0aaaaaaaaaaaaaaaa')) },
      true,
    ],
    [
      'delete its JIT config',
      { action: 'ssm:DeleteParameter', resource: ssm(parameterName(ENV, 'i-0aaaaaaaaaaaaaaaa')) },
      true,
    ],
    [
      'read the pool registration',
      { action: 'ssm:GetParameter', resource: ssm(poolParameterName(ENV, 'tokens')) },
      true,
    ],
    [
      'delete the pool registration',
      { action: 'ssm:DeleteParameter', resource: ssm(poolParameterName(ENV, 'tokens')) },
      false,
    ],
    [
      'read another environment’s JIT config',
      { action: 'ssm:GetParameter', resource: ssm(parameterName('other', 'i-0aaaaaaaaaaaaaaaa')) },
      false,
    ],
    [
      'write a parameter',
      { action: 'ssm:PutParameter', resource: ssm(parameterName(ENV, 'i-0aaaaaaaaaaaaaaaa')) },
      false,
    ],
    [
      'tag itself job-started',
      {
        action: 'ec2:CreateTags',
        resource: self,
        context: { ...instanceContext, ...own, 'aws:TagKeys': ['runner-scaler:job-started'] },
      },
      true,
    ],
    [
      'tag another instance job-started',
      {
        action: 'ec2:CreateTags',
        resource: ec2('instance/i-0bbbbbbbbbbbbbbbb'),
        context: { ...instanceContext, ...own, 'aws:TagKeys': ['runner-scaler:job-started'] },
      },
      false,
    ],
    [
      'tag itself idle-since',
      {
        action: 'ec2:CreateTags',
        resource: self,
        context: { ...instanceContext, ...own, 'aws:TagKeys': ['runner-scaler:idle-since'] },
      },
      false,
    ],
    [
      'terminate itself',
      { action: 'ec2:TerminateInstances', resource: self, context: { ...instanceContext, ...own } },
      false,
    ],
  ])('instance role: %s → %s', (_name, request, allowed) => {
    // aws:ARN is the resource's ARN in EC2's request context.
    const withArn = { ...request, context: { ...request.context, 'aws:ARN': request.resource } };
    expect(allows(instancePolicy, withArn)).toBe(allowed);
  });
});

describe('the documented policies', () => {
  const read = (file: string) => readFileSync(path.resolve(import.meta.dirname, '../..', file), 'utf8');

  it("bootstrap/README.md shows the instance role's policy file", () => {
    const documented = /The instance role[^]*?```json\n([^]*?)```/.exec(read('bootstrap/README.md'))?.[1];
    expect(JSON.parse(documented ?? 'null')).toEqual(
      JSON.parse(read('examples/iam/instance-role-policy.json')),
    );
  });

  it('docs/security.md explains every statement of both policies', () => {
    const doc = read('docs/security.md');
    for (const policy of [actionPolicy, instancePolicy]) {
      for (const statement of policy.Statement)
        expect(doc).toMatch(new RegExp(`\\| \`${statement.Sid}\` +\\|`));
    }
  });

  it('the policies are valid JSON with <env> as their only placeholder', () => {
    for (const file of ['examples/iam/runner-scaler-policy.json', 'examples/iam/instance-role-policy.json']) {
      const text = read(file);
      const policy = JSON.parse(text) as { Version: string };
      expect(policy.Version).toBe('2012-10-17');
      expect(text.match(/<[^>]*>/g)?.every((p) => p === '<env>')).toBe(true);
      // ${…} only for IAM's own policy variables.
      expect(text.match(/\$\{[^}]*\}/g) ?? []).toEqual(
        file.includes('instance') ? ['${ec2:SourceInstanceARN}'] : [],
      );
    }
  });
});
