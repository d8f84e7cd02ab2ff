// A small evaluator of identity-based IAM policies (Allow statements; the condition operators our example
// policies use), and the authorization requests AWS makes for the calls runner-scaler sends. Enough to check
// that the example policies allow every call the action and the instances made, and refuse their neighbours.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** One permission check: an action on a resource, with the request's condition context. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A policy file of examples/iam/, its `<env>` placeholders replaced by the environment. */
export function readPolicy(file: string, environment: string): Policy {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return JSON.parse(text.replaceAll('<env>', environment)) as Policy;
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** IAM wildcards: `*` any run of characters (also `/`), `?` one character. */
function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

/** Every action a policy allows, as written (`service:Action`). */
export function grantedActions(policy: Policy): Set<string> {
  return new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)));
}

/** `${ec2:SourceInstanceARN}` and other policy variables, from the request context. */
function substitute(value: string, context: Record<string, string | string[]>): string | undefined {
  let missing = false;
  const result = value.replace(/\$\{([^}]+)\}/g, (_, key: string) => {
    const found = context[key];
    if (typeof found !== 'string') missing = true;
    return typeof found === 'string' ? found : '';
  });
  return missing ? undefined : result;
}

function conditionHolds(
  operator: string,
  key: string,
  expected: string[],
  context: Record<string, string | string[]>,
): boolean {
  const actual = context[key];
  const [qualifier, base] = operator.includes(':') ? operator.split(':') : [undefined, operator];
  const matches = (value: string) =>
    expected.some((want) => {
      const resolved = substitute(want, context);
      if (resolved === undefined) return false;
      if (base === 'StringEquals' || base === 'ArnEquals') return value === resolved;
      if (base === 'StringLike' || base === 'ArnLike') return glob(resolved, value);
      throw new Error(`condition operator ${operator} is not supported by this evaluator`);
    });
  if (qualifier === 'ForAllValues') return actual === undefined || list(actual).every(matches);
  if (qualifier === 'ForAnyValue') return actual !== undefined && list(actual).some(matches);
  if (qualifier !== undefined)
    throw new Error(`condition operator ${operator} is not supported by this evaluator`);
  // A single-valued key: missing means the condition fails.
  return typeof actual === 'string' && matches(actual);
}

/** The Allow statements that grant the request (empty: denied, IAM's default). */
export function allowingStatements(policy: Policy, request: AuthorizationRequest): Statement[] {
  const context = request.context ?? {};
  if (policy.Statement.some((s) => s.Effect === 'Deny')) throw new Error('Deny statements are not supported');
  return policy.Statement.filter(
    (statement) =>
      list(statement.Action).some((action) => glob(action, request.action, true)) &&
      list(statement.Resource).some((resource) => {
        const resolved = substitute(resource, context);
        return resolved !== undefined && glob(resolved, request.resource);
      }) &&
      Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, list(values), context)),
      ),
  );
}

export const allows = (policy: Policy, request: AuthorizationRequest) =>
  allowingStatements(policy, request).length > 0;

// ---------------------------------------------------------------- what AWS checks for each call

export interface Deployment {
  account: string;
  /** Tags of the launch templates the pools use (docs/security.md asks for the environment tag). */
  launchTemplateTags: Record<string, string>;
  /** The role in the launch template's instance profile. */
  instanceRoleArn: string;
  /** Tags of an instance at the time of the call. */
  instanceTags(id: string): Record<string, string> | undefined;
}

export interface AwsCall {
  service: 'ec2' | 'ssm' | 'dynamodb';
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

/** Tag condition keys; EC2 sets a resource's tags as both aws:ResourceTag/… and ec2:ResourceTag/…. */
export function tagContext(
  kind: 'aws:RequestTag' | 'aws:ResourceTag',
  tags: Record<string, string>,
): Record<string, string> {
  const prefixes = kind === 'aws:ResourceTag' ? ['aws:ResourceTag', 'ec2:ResourceTag'] : [kind];
  return Object.fromEntries(
    prefixes.flatMap((prefix) => Object.entries(tags).map(([key, value]) => [`${prefix}/${key}`, value])),
  );
}

/**
 * The permission checks AWS makes for one call, as the EC2 and SSM authorization references describe them:
 * a launch checks the launch template, the new instance (with its requested tags), the resources it uses,
 * tagging on create (ec2:CreateAction), iam:PassRole for the instance profile's role, and for spot the
 * service-linked role; a call on existing instances checks each instance with its tags.
 */
export function authorizationRequests(call: AwsCall, deployment: Deployment): AuthorizationRequest[] {
  const { account, region } = { account: deployment.account, region: call.region };
  const ec2 = (resource: string) => `arn:aws:ec2:${region}:${account}:${resource}`;
  const parameter = (name: string) =>
    `arn:aws:ssm:${region}:${account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  const body = (call.json ?? {}) as Record<string, unknown>;
  switch (`${call.service}:${call.action}`) {
    case 'ec2:DescribeInstances':
      return [{ action: 'ec2:DescribeInstances', resource: '*' }];
    case 'ec2:RunInstances':
    case 'ec2:CreateFleet': {
      const action = `ec2:${call.action}`;
      const tags = requestedInstanceTags(call.form);
      const requestTags = { ...tagContext('aws:RequestTag', tags), 'aws:TagKeys': Object.keys(tags) };
      const spot =
        call.form.get('TargetCapacitySpecification.DefaultTargetCapacityType') === 'spot' ||
        call.form.get('InstanceMarketOptions.MarketType') === 'spot';
      const launches = [action, ...(action === 'ec2:CreateFleet' ? ['ec2:RunInstances'] : [])];
      return [
        ...(action === 'ec2:CreateFleet' ? [{ action, resource: ec2('fleet/fleet-0123456789abcdef0') }] : []),
        ...launches.flatMap((launch) => [
          {
            action: launch,
            resource: ec2('launch-template/lt-0123456789abcdef0'),
            context: tagContext('aws:ResourceTag', deployment.launchTemplateTags),
          },
          { action: launch, resource: ec2('instance/*'), context: requestTags },
          { action: launch, resource: ec2('volume/*') },
          { action: launch, resource: ec2('network-interface/*') },
          { action: launch, resource: ec2('subnet/subnet-0123456789abcdef0') },
          { action: launch, resource: ec2('security-group/sg-0123456789abcdef0') },
          { action: launch, resource: `arn:aws:ec2:${region}::image/ami-0123456789abcdef0` },
          ...(spot ? [{ action: launch, resource: ec2('spot-instances-request/*') }] : []),
        ]),
        {
          action: 'ec2:CreateTags',
          resource: ec2('instance/*'),
          context: { ...requestTags, 'ec2:CreateAction': call.action },
        },
        {
          action: 'iam:PassRole',
          resource: deployment.instanceRoleArn,
          context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
        },
        ...(spot
          ? [
              {
                action: 'iam:CreateServiceLinkedRole',
                resource: `arn:aws:iam::${account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
                context: { 'iam:AWSServiceName': 'spot.amazonaws.com' },
              },
            ]
          : []),
      ];
    }
    case 'ec2:TerminateInstances':
      return numbered(call.form, 'InstanceId').map((id) => ({
        action: 'ec2:TerminateInstances',
        resource: ec2(`instance/${id}`),
        context: tagContext('aws:ResourceTag', deployment.instanceTags(id) ?? {}),
      }));
    case 'ec2:CreateTags':
    case 'ec2:DeleteTags': {
      const keys = numbered(call.form, 'Tag', '.Key');
      const values = numbered(call.form, 'Tag', '.Value');
      const requested = Object.fromEntries(keys.map((key, i) => [key, values[i] ?? '']));
      return numbered(call.form, 'ResourceId').map((id) => ({
        action: `ec2:${call.action}`,
        resource: ec2(`instance/${id}`),
        context: {
          ...tagContext('aws:ResourceTag', deployment.instanceTags(id) ?? {}),
          ...(call.action === 'CreateTags' ? tagContext('aws:RequestTag', requested) : {}),
          'aws:TagKeys': keys,
        },
      }));
    }
    case 'ssm:PutParameter':
      return [{ action: 'ssm:PutParameter', resource: parameter(String(body.Name)) }];
    case 'ssm:DeleteParameters':
      return (body.Names as string[]).map((name) => ({
        action: 'ssm:DeleteParameters',
        resource: parameter(name),
      }));
    case 'ssm:DescribeParameters':
      // No resource-level permissions: AWS authorizes it against "*" whatever the filters name.
      return [{ action: 'ssm:DescribeParameters', resource: '*' }];
    case 'ssm:GetParametersByPath':
      return [
        { action: 'ssm:GetParametersByPath', resource: parameter(String(body.Path).replace(/\/+$/, '')) },
      ];
    default:
      throw new Error(`no authorization model for ${call.service}:${call.action}: add it to iam-policy.ts`);
  }
}
