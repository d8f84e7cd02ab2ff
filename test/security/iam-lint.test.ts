// Every policy in examples/iam/ (and the copies in the CloudFormation example and the docs) is linted against the
// Service Authorization Reference data: each action × resource type × condition key must be one AWS knows, so a
// condition AWS never fills in (which silently never matches) cannot slip in. New statements and new policy
// files are linted without changes here.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { lintPolicy } from './iam-lint.js';
import { PLACEHOLDERS, ROOT, readPolicy, type Policy } from './iam-policy.js';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const policyFiles = readdirSync(path.join(ROOT, 'examples/iam'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => `examples/iam/${file}`);

describe('the example policies', () => {
  it('are the two policies of the docs (a new file is linted too)', () => {
    expect(policyFiles).toEqual(
      expect.arrayContaining([
        'examples/iam/instance-role-policy.json',
        'examples/iam/runner-scaler-policy.json',
      ]),
    );
  });

  it.each(policyFiles)('%s passes the lint', async (file) => {
    expect(await lintPolicy(readPolicy(file, 'ci'))).toEqual([]);
  });

  it.each(policyFiles)(
    '%s uses only the documented placeholders and no policy variable in a Resource',
    (file) => {
      const text = read(file);
      for (const placeholder of text.match(/<[^>]*>/g) ?? [])
        expect(Object.keys(PLACEHOLDERS), `${file}: ${placeholder}`).toContain(placeholder);
      const policy = JSON.parse(text) as Policy;
      for (const statement of policy.Statement)
        for (const resource of [statement.Resource].flat()) expect(resource).not.toContain('${');
    },
  );

  it('docs/security.md explains every statement and every placeholder', () => {
    const doc = read('docs/security.md');
    for (const file of policyFiles) {
      for (const statement of readPolicy(file, 'ci').Statement)
        expect(doc, statement.Sid).toMatch(new RegExp(`\\| \`${statement.Sid}\` +\\|`));
    }
    for (const placeholder of Object.keys(PLACEHOLDERS)) expect(doc).toContain(`\`${placeholder}\``);
  });

  it("bootstrap/README.md shows the instance role's policy file", () => {
    const documented = /The instance role[^]*?```json\n([^]*?)```/.exec(read('bootstrap/README.md'))?.[1];
    expect(JSON.parse(documented ?? 'null')).toEqual(
      JSON.parse(read('examples/iam/instance-role-policy.json')),
    );
  });
});

/** CloudFormation's short-form intrinsic functions, kept as { Ref }, { 'Fn::Sub' }, … */
const cfnTags: (ScalarTag | CollectionTag)[] = [
  ...['Ref', 'Sub', 'GetAtt', 'Base64'].map((name): ScalarTag => ({
    tag: `!${name}`,
    resolve: (value: string) => ({ [name === 'Ref' ? 'Ref' : `Fn::${name}`]: value }),
  })),
  ...['Equals', 'If', 'Not', 'Join', 'Select'].map((name): CollectionTag => ({
    tag: `!${name}`,
    collection: 'seq',
    resolve: (value: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [`Fn::${name}`]: value.toJSON() }),
  })),
];

/** The template's substitutions written back as the placeholders of examples/iam/. */
function asPlaceholders(node: unknown): unknown {
  return JSON.parse(
    JSON.stringify(node, (_key, value: unknown) => {
      if (typeof value !== 'object' || value === null || !('Fn::Sub' in value)) return value;
      return String(value['Fn::Sub'])
        .replaceAll('${Environment}', '<env>')
        .replaceAll('${RolePath}', '<role-path>')
        .replaceAll('${ImageOwner}', '<ami-owner>')
        .replaceAll('${VpcId}', '<vpc-id>')
        .replaceAll('${CoordinationTable}', '<table>')
        .replaceAll('${MetricsNamespace}', '<metrics-namespace>')
        .replaceAll('${!', '${');
    }),
  );
}

describe('examples/launch-template/cloudformation.yml', () => {
  const template = parse(read('examples/launch-template/cloudformation.yml'), { customTags: cfnTags }) as {
    Resources: Record<string, { Properties: Record<string, unknown> }>;
  };
  const inlinePolicy = (role: string) =>
    (template.Resources[role]?.Properties.Policies as { PolicyDocument: unknown }[])[0]?.PolicyDocument;

  it.each([
    ['ScalerRole', 'examples/iam/runner-scaler-policy.json'],
    ['InstanceRole', 'examples/iam/instance-role-policy.json'],
  ])('gives %s the policy of %s', (role, file) => {
    expect(asPlaceholders(inlinePolicy(role))).toEqual(JSON.parse(read(file)));
  });

  it('creates the Spot service-linked role, unless told the account has it', () => {
    expect(template.Resources.SpotServiceLinkedRole).toMatchObject({
      Type: 'AWS::IAM::ServiceLinkedRole',
      Condition: 'CreateSpotServiceLinkedRole',
      Properties: { AWSServiceName: 'spot.amazonaws.com' },
    });
  });
});

describe('the lint finds what AWS would not evaluate as written', () => {
  const statement = (extra: Record<string, unknown>) =>
    ({ Version: '2012-10-17', Statement: [{ Sid: 'Case', Effect: 'Allow', ...extra }] }) as Policy;

  it.each<[string, Policy, RegExp]>([
    [
      'a key that is neither EC2’s nor global (aws:ARN)',
      statement({
        Action: 'ec2:CreateTags',
        Resource: 'arn:*:ec2:*:*:instance/*',
        Condition: { StringEquals: { 'aws:ARN': '${ec2:SourceInstanceARN}' } },
      }),
      /aws:ARN is not a condition key of ec2:CreateTags on instance/,
    ],
    [
      'ForAllValues without a Null guard',
      statement({
        Action: 'ec2:DeleteTags',
        Resource: 'arn:*:ec2:*:*:instance/*',
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['a'] } },
      }),
      /also matches a request without aws:TagKeys/,
    ],
    [
      'a key of another action in a shared statement',
      statement({
        Action: ['ec2:CreateTags', 'ec2:DeleteTags'],
        Resource: 'arn:*:ec2:*:*:instance/*',
        Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
      /ec2:CreateAction is not a condition key of ec2:DeleteTags on instance/,
    ],
    [
      'an undocumented policy variable',
      statement({
        Action: 'ec2:TerminateInstances',
        Resource: 'arn:*:ec2:*:*:instance/*',
        Condition: { ArnLike: { 'ec2:SourceInstanceARN': 'arn:${aws:Partition}:ec2:*:*:instance/*' } },
      }),
      /\$\{aws:Partition\} is not a condition key/,
    ],
    [
      'a set operator on a single-valued key',
      statement({
        Action: 'ec2:TerminateInstances',
        Resource: 'arn:*:ec2:*:*:instance/*',
        Condition: { 'ForAnyValue:StringEquals': { 'aws:ResourceTag/team': 'a' }, Null: { x: 'false' } },
      }),
      /single-valued/,
    ],
    [
      'an operator of the wrong type',
      statement({
        Action: 'ec2:RunInstances',
        Resource: 'arn:*:ec2:*:*:instance/*',
        Condition: { StringEquals: { 'ec2:MetadataHttpPutResponseHopLimit': '1' } },
      }),
      /does not fit ec2:MetadataHttpPutResponseHopLimit \(Numeric\)/,
    ],
    [
      'a resource the action does not take',
      statement({ Action: 'ec2:TerminateInstances', Resource: 'arn:*:ec2:*:*:volume/*' }),
      /takes none of the resources/,
    ],
    [
      'an action that does not exist',
      statement({ Action: 'ec2:TerminateInstance', Resource: '*' }),
      /not an action/,
    ],
    [
      '"*" for an action with resource-level permissions',
      statement({ Action: 'ssm:GetParameter', Resource: '*' }),
      /name its resources/,
    ],
    [
      'a policy variable in a Resource',
      statement({ Action: 'ec2:CreateTags', Resource: '${ec2:SourceInstanceARN}' }),
      /keep policy variables in conditions/,
    ],
  ])('%s', async (_name, policy, problem) => {
    const problems = await lintPolicy(policy);
    expect(problems.join('\n')).toMatch(problem);
  });
});
