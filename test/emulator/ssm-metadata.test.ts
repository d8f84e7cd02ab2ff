// SSM metadata: DescribeParameters (filters, paging, no values) and parameter tags, through the real SSMClient.
import {
  AddTagsToResourceCommand,
  DescribeParametersCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  RemoveTagsFromResourceCommand,
  type DescribeParametersCommandInput,
  type ParameterMetadata,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSsmGateway } from '../../src/aws/ssm.js';
import { parameterName, parameterPath, poolParameterName } from '../../src/contract.js';
import { rejection, ssmClient } from './clients.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';

let emulator: Emulator;
let ssm: SSMClient;

beforeEach(async () => {
  emulator = await startEmulator({ simulator: false });
  ssm = ssmClient(emulator);
});

afterEach(async () => {
  ssm.destroy();
  await emulator.stop();
  expect(emulator.errors).toEqual([]);
});

const instanceId = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

async function describeAll(
  input: DescribeParametersCommandInput,
): Promise<{ pageSizes: number[]; parameters: ParameterMetadata[] }> {
  const pageSizes: number[] = [];
  const parameters: ParameterMetadata[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(new DescribeParametersCommand({ ...input, NextToken: nextToken }));
    pageSizes.push(page.Parameters?.length ?? 0);
    parameters.push(...(page.Parameters ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return { pageSizes, parameters };
}

const path = (value: string, option?: string) => ({
  ParameterFilters: [{ Key: 'Path', ...(option ? { Option: option } : {}), Values: [value] }],
});

describe('DescribeParameters', () => {
  beforeEach(() => {
    for (let n = 1; n <= 23; n++) emulator.ssm.put(parameterName('prod', instanceId(n)), `secret-${n}`);
    emulator.ssm.put(poolParameterName('prod', 'linux'), '{"token":"t"}');
    emulator.ssm.put(parameterName('staging', instanceId(99)), 'other env');
  });

  it('lists one level of a path by default, 10 a page without MaxResults, metadata only', async () => {
    const { pageSizes, parameters } = await describeAll(path('/runner-scaler/prod'));
    expect(pageSizes).toEqual([10, 10, 3]);
    expect(parameters.map((p) => p.Name)).toEqual(
      Array.from({ length: 23 }, (_, n) => parameterName('prod', instanceId(n + 1))),
    );
    const [first] = parameters;
    expect(first).toMatchObject({
      Name: parameterName('prod', instanceId(1)),
      ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${parameterName('prod', instanceId(1))}`,
      Type: 'SecureString',
      KeyId: 'alias/aws/ssm',
      LastModifiedUser: 'arn:aws:iam::123456789012:user/emulator',
      Version: 1,
      Tier: 'Standard',
      Policies: [],
      DataType: 'text',
    });
    expect(first!.LastModifiedDate).toBeInstanceOf(Date);
    expect(JSON.stringify(parameters)).not.toContain('secret-');
  });

  it('pages 50 at most, and refuses MaxResults outside 1..50', async () => {
    const { pageSizes } = await describeAll({ ...path('/runner-scaler/prod', 'OneLevel'), MaxResults: 50 });
    expect(pageSizes).toEqual([23]);
    for (const bad of [0, 51]) {
      const error = await rejection(ssm.send(new DescribeParametersCommand({ MaxResults: bad })));
      expect(error.name).toBe('ValidationException');
    }
    const token = await rejection(ssm.send(new DescribeParametersCommand({ NextToken: 'not-a-token' })));
    expect(token.name).toBe('InvalidNextToken');
  });

  it('filters Recursive paths and names that begin with a prefix', async () => {
    const recursive = await describeAll({ ...path('/runner-scaler/prod', 'Recursive'), MaxResults: 50 });
    expect(recursive.parameters.map((p) => p.Name)).toContain(poolParameterName('prod', 'linux'));
    expect(recursive.parameters).toHaveLength(24);

    const begins = await describeAll({
      ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/runner-scaler/staging/'] }],
    });
    expect(begins.parameters.map((p) => p.Name)).toEqual([parameterName('staging', instanceId(99))]);
    const both = await describeAll({
      ParameterFilters: [
        { Key: 'Path', Values: ['/runner-scaler/prod'] },
        { Key: 'Name', Option: 'BeginsWith', Values: [parameterName('prod', instanceId(2))] },
      ],
    });
    expect(both.parameters.map((p) => p.Name)).toEqual([parameterName('prod', instanceId(2))]);
  });

  it('answers bad filters with InvalidFilterKey, InvalidFilterOption and InvalidFilterValue', async () => {
    const cases: [DescribeParametersCommandInput['ParameterFilters'], string][] = [
      [[{ Key: 'Label', Values: ['x'] }], 'InvalidFilterKey'],
      [[{ Key: 'Path', Option: 'BeginsWith', Values: ['/runner-scaler'] }], 'InvalidFilterOption'],
      [[{ Key: 'Type', Option: 'Contains', Values: ['String'] }], 'InvalidFilterOption'],
      [[{ Key: 'Path', Values: ['runner-scaler'] }], 'InvalidFilterValue'],
    ];
    for (const [filters, code] of cases) {
      const error = await rejection(ssm.send(new DescribeParametersCommand({ ParameterFilters: filters })));
      expect(error.name, JSON.stringify(filters)).toBe(code);
    }
  });

  it('can page the whole region and filter each page afterwards, as users see SSM do', async () => {
    // Names sort as /runner-scaler/prod/… (24) before /runner-scaler/staging/… (1).
    emulator.ssm.setDescribeFiltersEachPage(true);
    const { pageSizes, parameters } = await describeAll({
      ...path('/runner-scaler/staging'),
      MaxResults: 10,
    });
    expect(pageSizes).toEqual([0, 0, 1]);
    expect(parameters.map((p) => p.Name)).toEqual([parameterName('staging', instanceId(99))]);
  });
});

describe('the action’s listing against the emulator', () => {
  it('finds every parameter of its path, 50 a page, also when SSM filters each page of the region', async () => {
    for (let n = 1; n <= 120; n++) emulator.ssm.put(parameterName('prod', instanceId(n)), 'v');
    // Other parameters around the path: an application's, and another environment's.
    for (let n = 1; n <= 60; n++) emulator.ssm.put(`/app/config-${n}`, 'v', { type: 'String' });
    for (let n = 1; n <= 30; n++) emulator.ssm.put(parameterName('staging', instanceId(n)), 'v');
    emulator.ssm.put(poolParameterName('prod', 'linux'), '{"token":"t"}');
    vi.stubEnv('AWS_ENDPOINT_URL', emulator.url);
    vi.stubEnv('AWS_ACCESS_KEY_ID', emulator.env.AWS_ACCESS_KEY_ID!);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', emulator.env.AWS_SECRET_ACCESS_KEY!);
    try {
      const expected = Array.from({ length: 120 }, (_, n) => parameterName('prod', instanceId(n + 1))).sort();
      const gateway = createSsmGateway({ region: emulator.region });
      const listed = await gateway.listParameters(parameterPath('prod'));
      expect(listed.map((p) => p.name)).toEqual(expected);
      expect(listed.every((p) => p.lastModified instanceof Date)).toBe(true);
      const pages = emulator.calls.filter((call) => call.action === 'DescribeParameters');
      expect(pages).toHaveLength(3);

      emulator.clearCalls();
      emulator.ssm.setDescribeFiltersEachPage(true);
      const scanned = await gateway.listParameters(parameterPath('prod'));
      expect(scanned.map((p) => p.name)).toEqual(expected);
      // 211 parameters in the region, 50 a page, whatever the filter keeps.
      expect(emulator.calls.filter((call) => call.action === 'DescribeParameters')).toHaveLength(5);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('parameter tags', () => {
  const name = parameterName('prod', instanceId(1));
  const tagsOf = async (resourceId = name) =>
    (await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: resourceId })))
      .TagList;

  it('PutParameter stores its Tags; an overwrite keeps them; Tags with Overwrite are refused', async () => {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: 'v1',
        Type: 'SecureString',
        Tags: [{ Key: 'instance', Value: instanceId(1) }],
      }),
    );
    expect(await tagsOf()).toEqual([{ Key: 'instance', Value: instanceId(1) }]);
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'v2', Type: 'SecureString', Overwrite: true }),
    );
    expect(await tagsOf()).toEqual([{ Key: 'instance', Value: instanceId(1) }]);
    expect(emulator.ssm.parameter(name)).toMatchObject({ version: 2, tags: { instance: instanceId(1) } });

    const both = await rejection(
      ssm.send(
        new PutParameterCommand({
          Name: parameterName('prod', instanceId(2)),
          Value: 'v',
          Type: 'SecureString',
          Overwrite: true,
          Tags: [{ Key: 'a', Value: 'b' }],
        }),
      ),
    );
    expect(both.name).toBe('ValidationException');
    expect(both.message).toBe(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
    expect(emulator.ssm.parameter(parameterName('prod', instanceId(2)))).toBeUndefined();
  });

  it('adds, overwrites and removes tags, up to 50 a parameter', async () => {
    emulator.ssm.put(name, 'v');
    const add = (tags: { Key: string; Value: string }[]) =>
      ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: tags }));
    await add([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ]);
    await add([{ Key: 'a', Value: '3' }]);
    expect(await tagsOf()).toEqual([
      { Key: 'a', Value: '3' },
      { Key: 'b', Value: '2' },
    ]);
    await ssm.send(
      new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: name, TagKeys: ['a'] }),
    );
    expect(await tagsOf()).toEqual([{ Key: 'b', Value: '2' }]);

    await add(Array.from({ length: 49 }, (_, n) => ({ Key: `k${n}`, Value: 'v' })));
    const tooMany = await rejection(add([{ Key: 'one-more', Value: 'v' }]));
    expect(tooMany.name).toBe('TooManyTagsError');
    expect(await tagsOf()).toHaveLength(50);
    const reserved = await rejection(add([{ Key: 'aws:x', Value: 'v' }]));
    expect(reserved.name).toBe('ValidationException');
  });

  it('names an unknown parameter or another resource type', async () => {
    const unknown = await rejection(tagsOf('/runner-scaler/prod/nothing'));
    expect(unknown.name).toBe('InvalidResourceId');
    const document = await rejection(
      ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Document', ResourceId: 'x' })),
    );
    expect(document.name).toBe('InvalidResourceType');
  });
});
