// The examples that are not workflows: the repository_dispatch bodies, the CloudFormation template and
// the GitHub App manifest agree with what the action and the bootstrap expect.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseConfig } from '../../src/config.js';
import { parseDemandEvent } from '../../src/github/events.js';
import { METRIC_NAMES } from '../../src/report/metrics.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('examples/repository-dispatch', () => {
  it.each([
    ['workflow-job-queued.json', [29679449267]],
    ['workflow-jobs-queued-batch.json', [29679449267, 29679449268]],
  ])('%s is a dispatch request whose payload the action reads as queued jobs', (file, jobIds) => {
    const text = read(`examples/repository-dispatch/${file}`);
    const body = JSON.parse(text) as { event_type: string; client_payload: Record<string, unknown> };
    // GitHub's limits for POST /repos/{owner}/{repo}/dispatches.
    expect(body.event_type.length).toBeLessThanOrEqual(100);
    expect(Object.keys(body.client_payload).length).toBeLessThanOrEqual(10);
    expect(JSON.stringify(body.client_payload).length).toBeLessThanOrEqual(65_535);
    // The event the dispatched workflow sees: action = event_type, plus client_payload.
    const demand = parseDemandEvent('repository_dispatch', {
      action: body.event_type,
      client_payload: body.client_payload,
    });
    expect(demand.kind).toBe('jobs');
    expect(demand.kind === 'jobs' && demand.jobs.map((j) => j.id)).toEqual(jobIds);
  });

  it('uses the event type the dispatch workflow listens to', () => {
    const workflow = parse(read('examples/workflows/scale-up-on-dispatch.yml')) as {
      on: { repository_dispatch: { types: string[] } };
    };
    const body = JSON.parse(read('examples/repository-dispatch/workflow-job-queued.json')) as {
      event_type: string;
    };
    expect(workflow.on.repository_dispatch.types).toEqual([body.event_type]);
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

interface Template {
  Parameters: Record<string, { Default?: string; AllowedPattern?: string }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: unknown }>;
}

/** Every value of `key` in the tree. */
function collect(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => collect(n, key));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([k, v]) => [...(k === key ? [v] : []), ...collect(v, key)]);
}

/** `${Name}` references in Fn::Sub strings (not the `${!…}` escapes). */
function subReferences(template: Template): string[] {
  return collect(template, 'Fn::Sub').flatMap((s) =>
    [...String(s).matchAll(/\$\{([^!}][^}]*)\}/g)].map((m) => (m[1] as string).split('.')[0] as string),
  );
}

describe('examples/launch-template/cloudformation.yml', () => {
  const template = parse(read('examples/launch-template/cloudformation.yml'), {
    customTags: cfnTags,
  }) as Template;
  const resources = template.Resources;
  const data = resources.LaunchTemplate?.Properties.LaunchTemplateData as Record<string, unknown>;

  it('refers only to its parameters, resources and pseudo parameters', () => {
    const known = new Set([...Object.keys(template.Parameters), ...Object.keys(resources)]);
    const pseudo = (name: string) => name.startsWith('AWS::');
    for (const name of [...collect(template, 'Ref'), ...subReferences(template)] as string[]) {
      expect(known.has(name) || pseudo(name), name).toBe(true);
    }
    for (const target of collect(template, 'Fn::GetAtt') as string[]) {
      expect(Object.keys(resources), target).toContain(target.split('.')[0]);
    }
    for (const resource of Object.values(resources)) {
      if (resource.Condition) expect(Object.keys(template.Conditions ?? {})).toContain(resource.Condition);
    }
  });

  it('launches instances the bootstrap can run on', () => {
    // bootstrap/README.md, "The launch template".
    expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(data.MetadataOptions).toMatchObject({
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 1,
      InstanceMetadataTags: 'enabled',
    });
    const userData = (data.UserData as { 'Fn::Base64': { 'Fn::Sub': string } })['Fn::Base64']['Fn::Sub'];
    expect(userData).toMatch(/^#!\/bin\/bash\n/);
    expect(userData).toContain('systemctl start --no-block runner-scaler.service');
    expect(data.IamInstanceProfile).toEqual({ Arn: { 'Fn::GetAtt': 'InstanceProfile.Arn' } });
  });

  it('names the launch template and the environment as the example pools file does', () => {
    const pools = parseConfig(read('examples/runner-scaler.yml'), 'examples/runner-scaler.yml');
    const linux = pools.pools.find((p) => p.name === 'linux-x64');
    expect(template.Parameters.LaunchTemplateName?.Default).toBe(linux?.launchTemplate.name);
    // The environment pattern is the pools file's.
    const schema = JSON.parse(read('schema/runner-scaler.schema.json')) as {
      properties: { environment: { pattern: string } };
    };
    expect(template.Parameters.Environment?.AllowedPattern).toBe(schema.properties.environment.pattern);
    expect(template.Parameters.Environment?.Default).toBe('runner-scaler');
  });

  it("gives the instance role the bootstrap's documented policy", () => {
    const documented = /The instance role[^]*?```json\n([^]*?)```/.exec(read('bootstrap/README.md'))?.[1];
    expect(documented).toBeDefined();
    const expected = JSON.parse(documented as string) as { Statement: unknown[] };
    const role = resources.InstanceRole?.Properties as {
      Policies: { PolicyDocument: { Statement: unknown[] } }[];
    };
    // Resolve the template's substitutions the way the README writes them.
    const resolved = JSON.parse(
      JSON.stringify(role.Policies[0]?.PolicyDocument.Statement, (_key, value: unknown) => {
        if (typeof value !== 'object' || value === null) return value;
        if ('Fn::Sub' in value) {
          return String(value['Fn::Sub'])
            .replace(/\$\{AWS::Partition\}/g, 'aws')
            .replace(/\$\{Environment\}/g, '<env>')
            .replace(/\$\{!/g, '${');
        }
        if ('Ref' in value && value.Ref === 'Environment') return '<env>';
        return value;
      }),
    ) as unknown[];
    expect(resolved).toEqual(expected.Statement);
    const fromIam = JSON.parse(read('examples/iam/instance-role-policy.json')) as { Statement: unknown[] };
    expect(resolved).toEqual(fromIam.Statement);
  });

  it("meets the scaler policy's conditions: a tagged launch template, a passable role name", () => {
    const policy = JSON.parse(read('examples/iam/runner-scaler-policy.json')) as {
      Statement: {
        Sid: string;
        Resource: string | string[];
        Condition?: Record<string, Record<string, string>>;
      }[];
    };
    const statement = (sid: string) => policy.Statement.find((s) => s.Sid === sid);
    const templateCondition = statement('LaunchFromOwnTemplates')?.Condition?.StringEquals;
    expect(templateCondition).toEqual({ 'aws:ResourceTag/runner-scaler:environment': '<env>' });
    expect(resources.LaunchTemplate?.Properties.TagSpecifications).toEqual([
      {
        ResourceType: 'launch-template',
        Tags: [{ Key: 'runner-scaler:environment', Value: { Ref: 'Environment' } }],
      },
    ]);
    expect(statement('PassTheRunnerRole')?.Resource).toBe('arn:*:iam::*:role<role-path><env>-runner');
    expect(resources.InstanceRole?.Properties.RoleName).toEqual({ 'Fn::Sub': '${Environment}-runner' });
    expect(resources.InstanceRole?.Properties.Path).toEqual({ Ref: 'RolePath' });
    expect(resources.RunnerSecurityGroup?.Properties.Tags).toEqual([
      { Key: 'runner-scaler:environment', Value: { Ref: 'Environment' } },
    ]);
  });

  it('lets only GitHub OIDC tokens for the given subjects assume the scaler role', () => {
    const trust = (resources.ScalerRole?.Properties.AssumeRolePolicyDocument as { Statement: unknown[] })
      .Statement;
    expect(trust).toEqual([
      {
        Effect: 'Allow',
        Principal: {
          Federated: {
            'Fn::Sub':
              'arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com',
          },
        },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': { Ref: 'GitHubSubjects' },
          },
        },
      },
    ]);
  });
});

describe('examples/launch-template/cloudformation.yml: dashboard and alarms', () => {
  const template = parse(read('examples/launch-template/cloudformation.yml'), {
    customTags: cfnTags,
  }) as Template;
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const published = new Set<string>(Object.values(METRIC_NAMES));

  it('has a dashboard whose body is JSON once CloudFormation substituted it, on metrics the action publishes', () => {
    const [[, dashboard] = []] = ofType('AWS::CloudWatch::Dashboard');
    const body = (dashboard?.Properties.DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
    const filled = body
      .replaceAll('${MaxQueueWaitSeconds}', '900')
      .replace(/\$\{([A-Za-z:.]+)\}/g, (_all, name: string) => `sample-${name}`);
    const parsed = JSON.parse(filled) as { widgets: { type: string }[] };
    expect(parsed.widgets.map((w) => w.type)).toContain('alarm');
    const names = [...filled.matchAll(/MetricName=\\"(\w+)\\"|"sample-MetricsNamespace", "(\w+)"/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(published, name).toContain(name);
  });

  it('alarms on queue wait, boot failures, and a scheduler that stops or keeps failing, on published metrics', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.map((a) => a.MetricName).sort()).toEqual([
      'BootFailures',
      'FailedRuns',
      'OldestQueuedJobWait',
      'Runs',
    ]);
    for (const alarm of alarms) {
      expect(published).toContain(alarm.MetricName);
      expect(alarm.Namespace).toEqual({ Ref: 'MetricsNamespace' });
      const dimensions = (alarm.Dimensions as { Name: string }[]).map((d) => d.Name);
      // The action publishes these per environment (and per mode for Runs and FailedRuns): no pool to name.
      expect(dimensions).toEqual(
        ['Runs', 'FailedRuns'].includes(alarm.MetricName as string)
          ? ['Environment', 'Mode']
          : ['Environment'],
      );
    }
    const notRunning = alarms.find((a) => a.MetricName === 'Runs');
    expect(notRunning).toMatchObject({
      TreatMissingData: 'breaching',
      ComparisonOperator: 'LessThanThreshold',
    });
  });
});

describe('examples/github-app/manifest.json', () => {
  it('asks for the runner permissions and nothing else', () => {
    const manifest = JSON.parse(read('examples/github-app/manifest.json')) as {
      default_permissions: Record<string, string>;
      default_events: string[];
      public: boolean;
    };
    expect(manifest.default_permissions).toEqual({
      organization_self_hosted_runners: 'write',
      administration: 'write',
      actions: 'read',
      metadata: 'read',
    });
    expect(manifest.default_events).toEqual([]);
    expect(manifest.public).toBe(false);
  });
});
