// The example policies as AWS evaluates them, decided by an independent IAM policy simulator
// (@cloud-copilot/iam-simulate) rather than by code of ours:
// - the real call sequences of the scaler and of an instance are allowed, in every partition;
// - every condition of the statement that allows a call carries weight: the same call without the key, or with
//   another value, is refused (so a new statement's conditions are checked without new test code);
// - named neighbours are refused: another instance, a foreign instance, DeleteTags without keys, another
//   environment's parameter, reading a JIT config back, …;
// - every statement of both policies decides some scenario here, so a new statement needs a scenario.
// The lint in iam-lint.test.ts checks the same policies against the Service Authorization Reference.
import { describe, expect, it } from 'vitest';
import {
  PARAMETER_TAG_INSTANCE_ID,
  TAG_ENVIRONMENT,
  TAG_IDLE_SINCE,
  TAG_STALE_SINCE,
  instanceTags,
  parameterTags,
} from '../../src/contract.js';
import {
  ACCOUNT,
  COORDINATION_TABLE,
  ec2Arn,
  exampleDeployment,
  instanceCheck,
  instanceChecks,
  instancePrincipal,
  launchChecks,
  list,
  METRICS_NAMESPACE,
  NEW,
  parameterArn,
  putParameterChecks,
  readPolicy,
  simulate,
  tagContext,
  type AuthorizationRequest,
  type Decision,
  type Policy,
} from './iam-policy.js';

const ENV = 'ci';
const REGION = 'eu-west-1';
const SELF = 'i-0aaaaaaaaaaaaaaaa';
const OTHER = 'i-0bbbbbbbbbbbbbbbb';
const scaler = readPolicy('examples/iam/runner-scaler-policy.json', ENV);
const instance = readPolicy('examples/iam/instance-role-policy.json', ENV);
const deployment = exampleDeployment(ENV);
const own = { [TAG_ENVIRONMENT]: ENV };
const foreign = { [TAG_ENVIRONMENT]: 'other' };
const ec2 = (resource: string) => ec2Arn(deployment, REGION, resource);
const ssm = (name: string) => parameterArn(deployment, REGION, name);
const jitName = (id: string, env = ENV) => `/runner-scaler/${env}/${id}`;
const table = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;

/** The AWS-managed `aws/ssm` key's policy: every principal of the account may use it through SSM. */
const AWS_SSM_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Allow access through SSM for all principals in the account that are authorized to use SSM',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': `ssm.${REGION}.amazonaws.com` },
      },
    },
  ],
};
const decryptParameter = (principal: string): Scenario['request'] => ({
  action: 'kms:Decrypt',
  resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  context: {
    'kms:EncryptionContextKeys': ['PARAMETER_ARN'],
    'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
    'kms:CallerAccount': ACCOUNT,
  },
  principal,
});

interface Scenario {
  name: string;
  policy: Policy;
  request: AuthorizationRequest;
  resourcePolicy?: unknown;
}

const scalerScenario = (name: string, request: AuthorizationRequest): Scenario => ({
  name,
  policy: scaler,
  request,
});
const instanceScenario = (name: string, request: AuthorizationRequest): Scenario => ({
  name,
  policy: instance,
  request,
});
const launch = (name: string, checks: AuthorizationRequest[]) =>
  checks.map((request, i) =>
    scalerScenario(`${name} #${i + 1} ${request.action} ${request.resource}`, request),
  );

/** The calls the scaler makes (src/aws/ec2.ts, src/aws/ssm.ts), as permission checks. */
const scalerCalls: Scenario[] = [
  scalerScenario('list instances', { action: 'ec2:DescribeInstances', resource: '*' }),
  ...launch(
    'RunInstances from the template',
    launchChecks(
      { action: 'RunInstances', region: REGION, spot: false, tags: instanceTags(ENV, 'plain'), subnets: [] },
      deployment,
    ),
  ),
  ...launch(
    'CreateFleet on-demand over types and subnets',
    launchChecks(
      {
        action: 'CreateFleet',
        region: REGION,
        spot: false,
        tags: instanceTags(ENV, 'fleet'),
        subnets: ['subnet-0a1b', 'subnet-0c2d'],
      },
      deployment,
    ),
  ),
  ...launch(
    'CreateFleet spot',
    launchChecks(
      { action: 'CreateFleet', region: REGION, spot: true, tags: instanceTags(ENV, 'spot'), subnets: [] },
      deployment,
    ),
  ),
  ...[SELF, OTHER].map((id) =>
    scalerScenario(
      `terminate own ${id}`,
      instanceCheck('ec2:TerminateInstances', REGION, id, own, deployment),
    ),
  ),
  scalerScenario(
    'mark an own instance idle',
    instanceCheck('ec2:CreateTags', REGION, SELF, own, deployment, {
      'aws:TagKeys': [TAG_IDLE_SINCE],
      ...tagContext('aws:RequestTag', { [TAG_IDLE_SINCE]: '2026-11-22T10:00:00.000Z' }),
    }),
  ),
  scalerScenario(
    'clear the idle tag of an own instance',
    instanceCheck('ec2:DeleteTags', REGION, SELF, own, deployment, { 'aws:TagKeys': [TAG_IDLE_SINCE] }),
  ),
  ...launch(
    'create a JIT config tagged with its instance',
    putParameterChecks(REGION, jitName(SELF), { overwrite: false, tags: parameterTags(SELF) }, deployment),
  ),
  ...launch(
    'overwrite an existing JIT config',
    putParameterChecks(REGION, jitName(SELF), { overwrite: true, tags: {} }, deployment),
  ),
  ...launch(
    'write a pool registration',
    putParameterChecks(
      REGION,
      `/runner-scaler/${ENV}/pools/tokens`,
      { overwrite: true, tags: {} },
      deployment,
    ),
  ),
  ...[jitName(SELF), `/runner-scaler/${ENV}/pools/tokens`].map((name) =>
    scalerScenario(`delete ${name}`, { action: 'ssm:DeleteParameters', resource: ssm(name) }),
  ),
  scalerScenario('list the parameters’ names', { action: 'ssm:DescribeParameters', resource: '*' }),
  scalerScenario(
    'mark an own instance’s runner seen offline',
    instanceCheck('ec2:CreateTags', REGION, SELF, own, deployment, {
      'aws:TagKeys': [TAG_STALE_SINCE],
      ...tagContext('aws:RequestTag', { [TAG_STALE_SINCE]: '2026-11-22T10:00:00.000Z' }),
    }),
  ),
  scalerScenario('publish the run’s metrics in its namespace', {
    action: 'cloudwatch:PutMetricData',
    resource: '*',
    context: { 'cloudwatch:namespace': METRICS_NAMESPACE },
  }),
  ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'].map((action) =>
    scalerScenario(`coordination store: ${action} in the environment’s partition`, {
      action: `dynamodb:${action}`,
      resource: table(COORDINATION_TABLE),
      context: { 'dynamodb:LeadingKeys': [ENV] },
    }),
  ),
];

/** The calls an instance makes (bootstrap/runner-bootstrap.sh), and decrypting its parameter via SSM. */
const instanceCalls: Scenario[] = [
  ...instanceChecks(SELF, REGION, deployment, 'tokens').map((request) =>
    instanceScenario(
      `${request.action} ${request.resource} ${JSON.stringify(request.context ?? {})}`,
      request,
    ),
  ),
  {
    name: 'decrypt its parameter through SSM with the aws/ssm key',
    policy: instance,
    request: decryptParameter(instancePrincipal(ENV, SELF)),
    resourcePolicy: AWS_SSM_KEY_POLICY,
  },
];

const asInstance = (request: AuthorizationRequest): AuthorizationRequest => ({
  ...request,
  principal: instancePrincipal(ENV, SELF),
  context: { ...request.context, 'ec2:SourceInstanceARN': ec2(`instance/${SELF}`) },
});

/** Neighbours of the real calls that must be refused. */
const refused: Scenario[] = [
  scalerScenario('publish metrics in another namespace', {
    action: 'cloudwatch:PutMetricData',
    resource: '*',
    context: { 'cloudwatch:namespace': 'Billing' },
  }),
  scalerScenario('read metrics back', { action: 'cloudwatch:GetMetricData', resource: '*' }),
  scalerScenario('coordination store: another environment’s items', {
    action: 'dynamodb:PutItem',
    resource: table(COORDINATION_TABLE),
    context: { 'dynamodb:LeadingKeys': ['other'] },
  }),
  scalerScenario('coordination store: a call without a partition key (a whole-table scan)', {
    action: 'dynamodb:Query',
    resource: table(COORDINATION_TABLE),
  }),
  scalerScenario('coordination store: another table', {
    action: 'dynamodb:PutItem',
    resource: table('someone-elses-table'),
    context: { 'dynamodb:LeadingKeys': [ENV] },
  }),
  scalerScenario('coordination store: deleting the table', {
    action: 'dynamodb:DeleteTable',
    resource: table(COORDINATION_TABLE),
  }),
  scalerScenario(
    'terminate another environment’s instance',
    instanceCheck('ec2:TerminateInstances', REGION, SELF, foreign, deployment),
  ),
  scalerScenario(
    'terminate an untagged instance',
    instanceCheck('ec2:TerminateInstances', REGION, SELF, {}, deployment),
  ),
  scalerScenario('stop an own instance', instanceCheck('ec2:StopInstances', REGION, SELF, own, deployment)),
  scalerScenario(
    'mark another environment’s instance idle',
    instanceCheck('ec2:CreateTags', REGION, SELF, foreign, deployment, { 'aws:TagKeys': [TAG_IDLE_SINCE] }),
  ),
  scalerScenario(
    're-tag an own instance into another environment',
    instanceCheck('ec2:CreateTags', REGION, SELF, own, deployment, {
      'aws:TagKeys': [TAG_ENVIRONMENT],
      ...tagContext('aws:RequestTag', foreign),
    }),
  ),
  scalerScenario(
    'remove the environment tag',
    instanceCheck('ec2:DeleteTags', REGION, SELF, own, deployment, { 'aws:TagKeys': [TAG_ENVIRONMENT] }),
  ),
  scalerScenario(
    'DeleteTags without keys (deletes every tag)',
    instanceCheck('ec2:DeleteTags', REGION, SELF, own, deployment),
  ),
  scalerScenario('launch untagged instances', {
    action: 'ec2:RunInstances',
    resource: ec2(`instance/${NEW.instance}`),
  }),
  scalerScenario('launch instances for another environment', {
    action: 'ec2:RunInstances',
    resource: ec2(`instance/${NEW.instance}`),
    context: { ...tagContext('aws:RequestTag', foreign), 'aws:TagKeys': [TAG_ENVIRONMENT] },
  }),
  scalerScenario('launch from an untagged launch template', {
    action: 'ec2:RunInstances',
    resource: ec2('launch-template/lt-1'),
  }),
  scalerScenario('launch someone else’s AMI', {
    action: 'ec2:RunInstances',
    resource: `arn:aws:${'ec2'}:${REGION}::image/ami-0fffffffffffffff0`,
    context: { 'ec2:Owner': 'amazon' },
  }),
  scalerScenario('launch into another VPC', {
    action: 'ec2:RunInstances',
    resource: ec2('subnet/subnet-0fff'),
    context: { 'ec2:Vpc': ec2('vpc/vpc-0fffffffffffffff0') },
  }),
  scalerScenario('launch with an untagged security group', {
    action: 'ec2:RunInstances',
    resource: ec2('security-group/sg-0fff'),
  }),
  scalerScenario('launch with a key pair', { action: 'ec2:RunInstances', resource: ec2('key-pair/admin') }),
  scalerScenario('tag at launch for another environment', {
    action: 'ec2:CreateTags',
    resource: ec2(`instance/${NEW.instance}`),
    context: {
      'ec2:CreateAction': 'RunInstances',
      ...tagContext('aws:RequestTag', foreign),
      'aws:TagKeys': [TAG_ENVIRONMENT],
    },
  }),
  scalerScenario('pass another role', {
    action: 'iam:PassRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
    context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
  }),
  scalerScenario('pass the runner role from another path', {
    action: 'iam:PassRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/other/${ENV}-runner`,
    context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
  }),
  scalerScenario('write another environment’s parameter', {
    action: 'ssm:PutParameter',
    resource: ssm(jitName(SELF, 'other')),
    context: { 'ssm:Overwrite': 'true' },
  }),
  scalerScenario('delete a parameter outside the path', {
    action: 'ssm:DeleteParameters',
    resource: ssm('/prod/db-password'),
  }),
  scalerScenario('read a JIT config back', { action: 'ssm:GetParameter', resource: ssm(jitName(SELF)) }),
  scalerScenario('list another environment’s parameters', {
    action: 'ssm:GetParametersByPath',
    resource: ssm('/runner-scaler/other'),
    context: { 'ssm:Recursive': 'false' },
  }),
  scalerScenario('list the parameters recursively', {
    action: 'ssm:GetParametersByPath',
    resource: ssm(`/runner-scaler/${ENV}`),
    context: { 'ssm:Recursive': 'true' },
  }),
  scalerScenario('tag a JIT config with another key', {
    action: 'ssm:AddTagsToResource',
    resource: ssm(jitName(SELF)),
    context: { ...tagContext('aws:RequestTag', { owner: 'me' }), 'aws:TagKeys': ['owner'] },
  }),
  scalerScenario('tag the pool registration', {
    action: 'ssm:AddTagsToResource',
    resource: ssm(`/runner-scaler/${ENV}/pools/tokens`),
    context: {
      ...tagContext('aws:RequestTag', parameterTags(SELF)),
      'aws:TagKeys': [PARAMETER_TAG_INSTANCE_ID],
    },
  }),
  {
    name: 'decrypt a parameter through SSM (GetParametersByPath WithDecryption)',
    policy: scaler,
    request: decryptParameter(`arn:aws:sts::${ACCOUNT}:assumed-role/${ENV}-scaler/runner-scaler-1234-1`),
    resourcePolicy: AWS_SSM_KEY_POLICY,
  },
  instanceScenario(
    'read another instance’s JIT config',
    asInstance({
      action: 'ssm:GetParameter',
      resource: ssm(jitName(OTHER)),
      context: { [`aws:ResourceTag/${PARAMETER_TAG_INSTANCE_ID}`]: OTHER },
    }),
  ),
  instanceScenario(
    'delete another instance’s JIT config',
    asInstance({
      action: 'ssm:DeleteParameter',
      resource: ssm(jitName(OTHER)),
      context: { [`aws:ResourceTag/${PARAMETER_TAG_INSTANCE_ID}`]: OTHER },
    }),
  ),
  instanceScenario(
    'read an untagged JIT config',
    asInstance({ action: 'ssm:GetParameter', resource: ssm(jitName(OTHER)) }),
  ),
  instanceScenario(
    'read another environment’s parameter tagged with its own id',
    asInstance({
      action: 'ssm:GetParameter',
      resource: ssm(jitName(SELF, 'other')),
      context: { [`aws:ResourceTag/${PARAMETER_TAG_INSTANCE_ID}`]: SELF },
    }),
  ),
  instanceScenario(
    'delete the pool registration',
    asInstance({ action: 'ssm:DeleteParameter', resource: ssm(`/runner-scaler/${ENV}/pools/tokens`) }),
  ),
  instanceScenario(
    'write a parameter',
    asInstance({
      action: 'ssm:PutParameter',
      resource: ssm(jitName(SELF)),
      context: { 'ssm:Overwrite': 'true' },
    }),
  ),
  instanceScenario(
    'tag another instance job-started',
    asInstance(
      instanceCheck('ec2:CreateTags', REGION, OTHER, own, deployment, {
        'aws:TagKeys': ['runner-scaler:job-started'],
      }),
    ),
  ),
  instanceScenario(
    'tag itself idle-since',
    asInstance(
      instanceCheck('ec2:CreateTags', REGION, SELF, own, deployment, { 'aws:TagKeys': [TAG_IDLE_SINCE] }),
    ),
  ),
  instanceScenario(
    'delete its own tags',
    asInstance(
      instanceCheck('ec2:DeleteTags', REGION, SELF, own, deployment, {
        'aws:TagKeys': ['runner-scaler:job-started'],
      }),
    ),
  ),
  instanceScenario(
    'terminate another instance',
    asInstance(instanceCheck('ec2:TerminateInstances', REGION, OTHER, own, deployment)),
  ),
  instanceScenario(
    'terminate a foreign instance',
    asInstance(instanceCheck('ec2:TerminateInstances', REGION, OTHER, foreign, deployment)),
  ),
];

const decide = (scenario: Scenario): Promise<Decision> =>
  simulate(
    scenario.policy,
    scenario.request,
    scenario.resourcePolicy ? { resourcePolicy: scenario.resourcePolicy } : {},
  );

/** The condition keys a statement tests, including those its values refer to as policy variables. */
function keysOf(policy: Policy, sids: string[]): { key: string; optional: boolean }[] {
  const keys = new Map<string, boolean>();
  for (const statement of policy.Statement.filter((s) => sids.includes(s.Sid ?? ''))) {
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      for (const [key, values] of Object.entries(entries)) {
        keys.set(key, operator.endsWith('IfExists'));
        for (const value of list(values))
          for (const match of String(value).matchAll(/\$\{([^}]+)\}/g)) keys.set(match[1] as string, false);
      }
    }
  }
  return [...keys].map(([key, optional]) => ({ key, optional }));
}

/** Another value of the same shape: another instance, another environment, one tag key too many. */
function otherValue(value: string | string[]): string | string[] {
  if (Array.isArray(value)) return [...value, 'runner-scaler:other'];
  if (value === 'false') return 'true';
  if (value === 'true') return 'false';
  return `${value}0`;
}

function contextKey(context: Record<string, unknown>, key: string): string | undefined {
  return Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
}

const allowed = [...scalerCalls, ...instanceCalls];

describe('the calls the scaler and the instances make', () => {
  it.each(allowed.map((s) => [s.name, s] as const))('allowed: %s', async (_name, scenario) => {
    const decision = await decide(scenario);
    expect(decision.result).toBe('Allowed');
  });

  it.each(['aws-cn', 'aws-us-gov'])('are allowed in the %s partition too', async (partition) => {
    const moved = (text: string) => text.replaceAll('arn:aws:', `arn:${partition}:`);
    for (const scenario of allowed) {
      const request = JSON.parse(moved(JSON.stringify(scenario.request))) as AuthorizationRequest;
      const resourcePolicy = scenario.resourcePolicy
        ? (JSON.parse(moved(JSON.stringify(scenario.resourcePolicy))) as unknown)
        : undefined;
      const decision = await decide({ ...scenario, request, ...(resourcePolicy ? { resourcePolicy } : {}) });
      expect(decision.result, scenario.name).toBe('Allowed');
    }
  });

  it('every condition of the allowing statement carries weight: without the key, or with another value, refused', async () => {
    const unrefused: string[] = [];
    let mutations = 0;
    for (const scenario of allowed) {
      const { allowedBy } = await decide(scenario);
      const context = scenario.request.context ?? {};
      for (const { key, optional } of keysOf(scenario.policy, allowedBy)) {
        const present = contextKey(context, key);
        if (present === undefined) {
          unrefused.push(`${scenario.name}: ${key} is tested but missing from the modelled request`);
          continue;
        }
        const variants: [string, Record<string, string | string[]>][] = [
          ...(optional
            ? []
            : [
                [
                  `without ${key}`,
                  Object.fromEntries(Object.entries(context).filter(([k]) => k !== present)),
                ] as [string, Record<string, string | string[]>],
              ]),
          [
            `with another ${key}`,
            { ...context, [present]: otherValue(context[present] as string | string[]) },
          ],
        ];
        for (const [variant, mutated] of variants) {
          mutations++;
          const decision = await decide({ ...scenario, request: { ...scenario.request, context: mutated } });
          if (decision.result === 'Allowed')
            unrefused.push(`${scenario.name} ${variant}: allowed by ${decision.allowedBy.join(', ')}`);
        }
      }
    }
    expect(unrefused).toEqual([]);
    expect(mutations).toBeGreaterThan(40);
  });
});

describe('what the policies refuse', () => {
  it.each(refused.map((s) => [s.name, s] as const))('refused: %s', async (_name, scenario) => {
    const decision = await decide(scenario);
    expect(decision.result).not.toBe('Allowed');
  });

  it('the scaler cannot decrypt a parameter even where the key policy lets every principal of the account', async () => {
    const decision = await decide(refused.find((s) => s.name.startsWith('decrypt a parameter'))!);
    expect(decision).toMatchObject({ result: 'ExplicitlyDenied', deniedBy: ['NeverDecryptParameters'] });
  });
});

describe('every statement is exercised', () => {
  it.each([
    ['examples/iam/runner-scaler-policy.json', scaler],
    ['examples/iam/instance-role-policy.json', instance],
  ] as const)('%s: each Allow allows a real call, each Deny refuses a scenario', async (file, policy) => {
    const allowing = new Set<string>();
    const denying = new Set<string>();
    for (const scenario of allowed.filter((s) => s.policy === policy))
      for (const sid of (await decide(scenario)).allowedBy) allowing.add(sid);
    for (const scenario of refused.filter((s) => s.policy === policy))
      for (const sid of (await decide(scenario)).deniedBy) denying.add(sid);
    const missing = policy.Statement.filter((s) =>
      s.Effect === 'Allow' ? !allowing.has(s.Sid ?? '') : !denying.has(s.Sid ?? ''),
    ).map((s) => `${s.Sid} (${s.Effect}): add a scenario to test/security/iam-simulation.test.ts`);
    expect(missing, file).toEqual([]);
  });
});
