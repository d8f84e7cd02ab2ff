// The DynamoDB emulator driven by the real SDK client, over HTTP.
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDynamoDbService,
  plainItem,
  serveDynamoDb,
  type DynamoDbServer,
  type DynamoDbService,
} from '../../emulator/dynamodb/index.js';
import { rejection } from './clients.js';

const REGION = 'eu-west-1';
const TABLE = 'coordination';

let offset = 0;
const clock = {
  now: () => Date.now() + offset,
  offset: () => offset,
  toWall: (time: number) => time - offset,
};
let service: DynamoDbService;
let server: DynamoDbServer;
let client: DynamoDBClient;
let failures: unknown[];

function newClient(options: { region?: string; maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: server.url,
    region: options.region ?? REGION,
    credentials: { accessKeyId: 'AKIAEMULATOR', secretAccessKey: 'dummy' },
    maxAttempts: options.maxAttempts ?? 1,
  });
}

beforeEach(async () => {
  offset = 0;
  failures = [];
  service = createDynamoDbService(
    { clock, defaultRegion: REGION, accountId: '123456789012' },
    {
      tables: [{ name: TABLE, ttlAttribute: 'ttl' }],
      timeAttributes: [
        { name: 'ttl', unit: 's' },
        { name: 'expiresAtMs', unit: 'ms' },
      ],
    },
  );
  server = await serveDynamoDb(service, { region: REGION, onError: (error) => failures.push(error) });
  client = newClient();
});

afterEach(async () => {
  client.destroy();
  await server.close();
  expect(failures).toEqual([]);
});

const key = (sk: string, pk = 'env'): Record<string, AttributeValue> => ({ pk: { S: pk }, sk: { S: sk } });

async function put(sk: string, attributes: Record<string, AttributeValue> = {}, pk = 'env'): Promise<void> {
  await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key(sk, pk), ...attributes } }));
}

async function get(sk: string): Promise<Record<string, unknown> | undefined> {
  const answer = await client.send(
    new GetItemCommand({ TableName: TABLE, Key: key(sk), ConsistentRead: true }),
  );
  return answer.Item ? plainItem(answer.Item as never) : undefined;
}

describe('tables', () => {
  it('creates, describes and refuses a second table of the same name', async () => {
    const input = {
      TableName: 'runner-scaler-ci',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' as const },
        { AttributeName: 'sk', KeyType: 'RANGE' as const },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' as const },
        { AttributeName: 'sk', AttributeType: 'S' as const },
      ],
      BillingMode: 'PAY_PER_REQUEST' as const,
    };
    const created = await client.send(new CreateTableCommand(input));
    expect(created.TableDescription).toMatchObject({
      TableName: 'runner-scaler-ci',
      TableStatus: 'CREATING',
    });
    const described = await client.send(new DescribeTableCommand({ TableName: 'runner-scaler-ci' }));
    expect(described.Table).toMatchObject({
      TableStatus: 'ACTIVE',
      TableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/runner-scaler-ci',
      KeySchema: input.KeySchema,
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
      ItemCount: 0,
    });
    expect(described.Table?.CreationDateTime).toBeInstanceOf(Date);
    const again = await rejection(client.send(new CreateTableCommand(input)));
    expect([again.name, again.message]).toEqual([
      'ResourceInUseException',
      'Table already exists: runner-scaler-ci',
    ]);
  });

  it.each([
    [
      { TableName: 'ab' },
      "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
    ],
    [
      { TableName: 'bad name' },
      "Value 'bad name' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    ],
    [
      { BillingMode: 'PROVISIONED' },
      'ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
    ],
    [
      {
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'x', AttributeType: 'N' },
        ],
      },
      'Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    ],
  ])('refuses CreateTable %j', async (change, message) => {
    const input = {
      TableName: 'valid-name',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      ...change,
    };
    const error = await rejection(client.send(new CreateTableCommand(input as never)));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toContain(message);
  });

  it('answers a missing table as DynamoDB does, per region', async () => {
    const described = await rejection(client.send(new DescribeTableCommand({ TableName: 'nope' })));
    expect([described.name, described.message]).toEqual([
      'ResourceNotFoundException',
      'Requested resource not found: Table: nope not found',
    ]);
    const other = newClient({ region: 'us-east-1' });
    const read = await rejection(other.send(new GetItemCommand({ TableName: TABLE, Key: key('lease') })));
    other.destroy();
    expect([read.name, read.message]).toEqual(['ResourceNotFoundException', 'Requested resource not found']);
    expect(read.$metadata).toMatchObject({ httpStatusCode: 400 });
  });

  it('enables and disables TTL, at most once an hour', async () => {
    service.createTable({ name: 'plain' });
    const status = async () =>
      (await client.send(new DescribeTimeToLiveCommand({ TableName: 'plain' }))).TimeToLiveDescription;
    expect(await status()).toEqual({ TimeToLiveStatus: 'DISABLED' });
    const enable = new UpdateTimeToLiveCommand({
      TableName: 'plain',
      TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
    });
    expect((await client.send(enable)).TimeToLiveSpecification).toEqual({
      Enabled: true,
      AttributeName: 'ttl',
    });
    expect(await status()).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    expect((await rejection(client.send(enable))).message).toBe('TimeToLive is already enabled');
    const disable = new UpdateTimeToLiveCommand({
      TableName: 'plain',
      TimeToLiveSpecification: { Enabled: false, AttributeName: 'ttl' },
    });
    expect((await rejection(client.send(disable))).message).toBe(
      'Time to live has been modified multiple times within a fixed interval',
    );
    offset += 3_600_000;
    await client.send(disable);
    expect(await status()).toEqual({ TimeToLiveStatus: 'DISABLED' });
  });
});

describe('items', () => {
  it('round-trips every attribute type, with numbers in canonical form', async () => {
    await put('a', {
      n: { N: '1.50' },
      s: { S: 'text' },
      b: { B: Buffer.from('bytes') },
      flag: { BOOL: false },
      nothing: { NULL: true },
      l: { L: [{ S: 'x' }, { N: '2e1' }] },
      m: { M: { inner: { SS: ['p', 'q'] } } },
      ns: { NS: ['3', '1.0'] },
    });
    const answer = await client.send(new GetItemCommand({ TableName: TABLE, Key: key('a') }));
    expect(answer.Item?.n).toEqual({ N: '1.5' });
    expect(answer.Item?.l).toEqual({ L: [{ S: 'x' }, { N: '20' }] });
    expect(Buffer.from(answer.Item!.b!.B!).toString()).toBe('bytes');
    expect(answer.Item?.ns).toEqual({ NS: ['3', '1'] });
    expect(answer.Item?.nothing).toEqual({ NULL: true });
    expect(
      (await client.send(new GetItemCommand({ TableName: TABLE, Key: key('missing') }))).Item,
    ).toBeUndefined();
  });

  it.each([
    [
      'a key without its sort key',
      { Key: { pk: { S: 'env' } } },
      'The provided key element does not match the schema',
    ],
    [
      'a key with an extra attribute',
      { Key: { ...key('a'), x: { S: 'y' } } },
      'The provided key element does not match the schema',
    ],
    [
      'a key of the wrong type',
      { Key: { pk: { S: 'env' }, sk: { N: '1' } } },
      'The provided key element does not match the schema',
    ],
    [
      'an empty key string',
      { Key: { pk: { S: 'env' }, sk: { S: '' } } },
      'The AttributeValue for a key attribute cannot contain an empty string value. Key: sk',
    ],
  ])('refuses %s', async (_name, change, message) => {
    const error = await rejection(client.send(new GetItemCommand({ TableName: TABLE, ...change } as never)));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toContain(message);
  });

  it.each([
    [
      'an item without its sort key',
      { Item: { pk: { S: 'env' } } },
      'One or more parameter values were invalid: Missing the key sk in the item',
    ],
    [
      'a key attribute of the wrong type',
      { Item: { pk: { S: 'env' }, sk: { N: '1' } } },
      'Type mismatch for key sk expected: S actual: N',
    ],
    [
      'a bad number',
      { Item: { ...key('a'), n: { N: 'twelve' } } },
      'The parameter cannot be converted to a numeric value: twelve',
    ],
    [
      'ReturnValues ALL_NEW',
      { Item: key('a'), ReturnValues: 'ALL_NEW' },
      'ReturnValues can only be ALL_OLD or NONE',
    ],
    [
      'an item over 400 KB',
      { Item: { ...key('a'), big: { S: 'x'.repeat(410 * 1024) } } },
      'Item size has exceeded the maximum allowed size',
    ],
    [
      'a legacy Expected parameter',
      { Item: key('a'), Expected: { pk: { Exists: false } } },
      'The emulator does not support Expected',
    ],
  ])('PutItem refuses %s', async (_name, change, message) => {
    const error = await rejection(client.send(new PutItemCommand({ TableName: TABLE, ...change } as never)));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toContain(message);
  });

  it('writes once with attribute_not_exists, and says who is there when asked', async () => {
    const insert = (holder: string, onFailure?: 'ALL_OLD') =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { ...key('lease'), holder: { S: holder } },
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': 'sk' },
          ...(onFailure ? { ReturnValuesOnConditionCheckFailure: onFailure } : {}),
        }),
      );
    await insert('first');
    const plain = await rejection(insert('second'));
    expect([plain.name, plain.message, plain.Item]).toEqual([
      'ConditionalCheckFailedException',
      'The conditional request failed',
      undefined,
    ]);
    expect(plain.$metadata).toMatchObject({ httpStatusCode: 400 });
    const withItem = await rejection(insert('third', 'ALL_OLD'));
    expect(withItem.Item).toEqual({ ...key('lease'), holder: { S: 'first' } });
    expect(await get('lease')).toEqual({ pk: 'env', sk: 'lease', holder: 'first' });
  });

  it('returns the old item from PutItem and DeleteItem with ALL_OLD, and deletes on condition', async () => {
    await put('a', { v: { N: '1' } });
    const replaced = await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...key('a'), v: { N: '2' } }, ReturnValues: 'ALL_OLD' }),
    );
    expect(replaced.Attributes?.v).toEqual({ N: '1' });
    const refused = await rejection(
      client.send(
        new DeleteItemCommand({
          TableName: TABLE,
          Key: key('a'),
          ConditionExpression: 'v = :v',
          ExpressionAttributeValues: { ':v': { N: '1' } },
        }),
      ),
    );
    expect(refused.name).toBe('ConditionalCheckFailedException');
    const deleted = await client.send(
      new DeleteItemCommand({
        TableName: TABLE,
        Key: key('a'),
        ConditionExpression: 'v = :v',
        ExpressionAttributeValues: { ':v': { N: '2.0' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(deleted.Attributes?.v).toEqual({ N: '2' });
    expect(await get('a')).toBeUndefined();
  });

  it.each([
    ['NONE', undefined],
    ['ALL_OLD', { pk: 'env', sk: 'c', n: 1, keep: 'k' }],
    ['UPDATED_OLD', { n: 1 }],
    ['ALL_NEW', { pk: 'env', sk: 'c', n: 2, keep: 'k', added: 'x' }],
    ['UPDATED_NEW', { n: 2, added: 'x' }],
  ] as const)('UpdateItem returns %s', async (mode, expected) => {
    await put('c', { n: { N: '1' }, keep: { S: 'k' } });
    const answer = await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key('c'),
        UpdateExpression: 'SET n = n + :one, added = :x',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':x': { S: 'x' } },
        ReturnValues: mode,
      }),
    );
    expect(answer.Attributes ? plainItem(answer.Attributes as never) : undefined).toEqual(expected);
  });

  it('creates the item an update names, and keeps optimistic writes exclusive', async () => {
    const bump = (expected: number) =>
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key('breaker#linux'),
          UpdateExpression:
            'SET #version = if_not_exists(#version, :zero) + :one, failures = list_append(if_not_exists(failures, :empty), :failure)',
          ConditionExpression: expected === 0 ? 'attribute_not_exists(#version)' : '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: {
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ':empty': { L: [] },
            ':failure': { L: [{ S: `i-${expected}` }] },
            ...(expected === 0 ? {} : { ':expected': { N: String(expected) } }),
          },
        }),
      );
    await bump(0);
    await bump(1);
    const stale = await rejection(bump(1));
    expect(stale.name).toBe('ConditionalCheckFailedException');
    expect(await get('breaker#linux')).toEqual({
      pk: 'env',
      sk: 'breaker#linux',
      version: 2,
      failures: ['i-0', 'i-1'],
    });
  });

  it.each([
    [
      'a key attribute',
      { UpdateExpression: 'SET sk = :v', ExpressionAttributeValues: { ':v': { S: 'x' } } },
      'Cannot update attribute sk. This attribute is part of the key',
    ],
    [
      'an attribute the item lacks',
      { UpdateExpression: 'SET a = nope + :v', ExpressionAttributeValues: { ':v': { N: '1' } } },
      'The provided expression refers to an attribute that does not exist in the item',
    ],
    [
      'an unused name',
      {
        UpdateExpression: 'SET a = :v',
        ExpressionAttributeNames: { '#x': 'x' },
        ExpressionAttributeValues: { ':v': { N: '1' } },
      },
      'Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}',
    ],
    [
      'an unused value',
      { UpdateExpression: 'SET a = :v', ExpressionAttributeValues: { ':v': { N: '1' }, ':w': { N: '2' } } },
      'Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}',
    ],
    [
      'an undefined value',
      { UpdateExpression: 'SET a = :v' },
      'Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :v',
    ],
    [
      'a reserved word',
      { UpdateExpression: 'SET ttl = :v', ExpressionAttributeValues: { ':v': { N: '1' } } },
      'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: ttl',
    ],
    [
      'a syntax error',
      { UpdateExpression: 'SET a = = :v', ExpressionAttributeValues: { ':v': { N: '1' } } },
      'Invalid UpdateExpression: Syntax error; token: "=", near: "= ="',
    ],
    [
      'names without an expression',
      { ExpressionAttributeNames: { '#a': 'a' } },
      'ExpressionAttributeNames can only be specified when using expressions',
    ],
    [
      'values without an expression',
      { ExpressionAttributeValues: { ':a': { N: '1' } } },
      'ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null',
    ],
    [
      'an empty values map',
      { UpdateExpression: 'REMOVE a', ExpressionAttributeValues: {} },
      'ExpressionAttributeValues must not be empty',
    ],
    [
      'a bad placeholder key',
      { UpdateExpression: 'SET a = :v', ExpressionAttributeValues: { v: { N: '1' } } },
      'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"',
    ],
    [
      'a bad value',
      { UpdateExpression: 'SET a = :v', ExpressionAttributeValues: { ':v': {} } },
      'ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key :v',
    ],
  ])('UpdateItem refuses %s', async (_name, change, message) => {
    await put('u', { n: { N: '1' } });
    const error = await rejection(
      client.send(new UpdateItemCommand({ TableName: TABLE, Key: key('u'), ...change } as never)),
    );
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe(
      message.startsWith('Cannot') ? `One or more parameter values were invalid: ${message}` : message,
    );
    expect(await get('u')).toEqual({ pk: 'env', sk: 'u', n: 1 });
  });
});

describe('query', () => {
  beforeEach(async () => {
    for (let index = 0; index < 25; index++)
      await put(`launch#${String(index).padStart(2, '0')}`, { i: { N: String(index) } });
    await put('lease', { holder: { S: 'h' } });
    await put('breaker#linux');
    await put('launch#00', {}, 'other-env');
  });

  async function queryAll(input: Partial<QueryCommandInput>) {
    const pages: number[] = [];
    const items: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'env' } },
          ConsistentRead: true,
          ...input,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      pages.push(page.Items?.length ?? 0);
      items.push(...(page.Items ?? []).map((item) => item.sk!.S!));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { pages, items };
  }

  it('reads a partition in sort-key order', async () => {
    const { pages, items } = await queryAll({});
    expect(pages).toEqual([27]);
    expect(items[0]).toBe('breaker#linux');
    expect(items.slice(1, 4)).toEqual(['launch#00', 'launch#01', 'launch#02']);
    expect(items.at(-1)).toBe('lease');
  });

  it.each([
    ['begins_with(sk, :p)', { ':p': { S: 'launch#' } }, 25, 'launch#00'],
    ['sk BETWEEN :a AND :b', { ':a': { S: 'launch#10' }, ':b': { S: 'launch#12' } }, 3, 'launch#10'],
    ['sk > :a', { ':a': { S: 'launch#23' } }, 2, 'launch#24'],
    ['sk = :a', { ':a': { S: 'lease' } }, 1, 'lease'],
    [':a <= sk', { ':a': { S: 'launch#24' } }, 2, 'launch#24'],
  ])('pk = :pk AND %s', async (condition, values, count, first) => {
    const { items } = await queryAll({
      KeyConditionExpression: `pk = :pk AND ${condition}`,
      ExpressionAttributeValues: { ':pk': { S: 'env' }, ...values },
    });
    expect(items).toHaveLength(count);
    expect(items[0]).toBe(first);
  });

  it('pages by Limit; a page ending exactly at the last item still carries LastEvaluatedKey', async () => {
    expect((await queryAll({ Limit: 10 })).pages).toEqual([10, 10, 7]);
    expect((await queryAll({ Limit: 9 })).pages).toEqual([9, 9, 9, 0]);
  });

  it('pages by size (1 MB on DynamoDB) when no Limit is given', async () => {
    service.setQueryPageBytes(200);
    const { pages, items } = await queryAll({});
    expect(pages.length).toBeGreaterThan(2);
    expect(items).toHaveLength(27);
    expect(new Set(items).size).toBe(27);
  });

  it('reads backwards, and filters after the limit (Count vs ScannedCount)', async () => {
    const backwards = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        FilterExpression: 'i >= :min',
        ExpressionAttributeValues: { ':pk': { S: 'env' }, ':p': { S: 'launch#' }, ':min': { N: '22' } },
        ScanIndexForward: false,
        Limit: 5,
      }),
    );
    expect(backwards.Items?.map((item) => item.sk?.S)).toEqual(['launch#24', 'launch#23', 'launch#22']);
    expect([backwards.Count, backwards.ScannedCount]).toEqual([3, 5]);
    expect(backwards.LastEvaluatedKey).toEqual(key('launch#20'));
    const counted = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'env' } },
        Select: 'COUNT',
      }),
    );
    expect([counted.Items, counted.Count]).toEqual([undefined, 27]);
  });

  it.each([
    ['sk = :v', { ':v': { S: 'x' } }, 'Query condition missed key schema element: pk'],
    [
      'pk = :pk OR sk = :v',
      { ':pk': { S: 'env' }, ':v': { S: 'x' } },
      'Invalid operator used in KeyConditionExpression: OR',
    ],
    ['pk < :pk', { ':pk': { S: 'env' } }, 'Query key condition not supported'],
    ['pk = :pk AND qty = :v', { ':pk': { S: 'env' }, ':v': { S: 'x' } }, 'Query key condition not supported'],
    [
      'pk = :pk',
      { ':pk': { N: '1' } },
      'One or more parameter values were invalid: Condition parameter type does not match schema type',
    ],
    [
      'pk = :pk AND attribute_exists(sk)',
      { ':pk': { S: 'env' } },
      'Invalid operator used in KeyConditionExpression: attribute_exists',
    ],
    [
      'pk = :pk AND',
      { ':pk': { S: 'env' } },
      'Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "AND"',
    ],
  ])('refuses the key condition %s', async (condition, values, message) => {
    const error = await rejection(
      client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      ),
    );
    expect([error.name, error.message]).toEqual(['ValidationException', message]);
  });

  it('refuses Limit 0', async () => {
    const error = await rejection(
      client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'env' } },
          Limit: 0,
        }),
      ),
    );
    expect(error.message).toBe(
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });
});

describe('time to live', () => {
  const inSeconds = (ms: number) => ({ N: String(Math.ceil(ms / 1000)) });

  it('keeps expired items readable until a sweep deletes them (never, by default)', async () => {
    await put('old', { ttl: inSeconds(Date.now() - 60_000) });
    await put('new', { ttl: inSeconds(Date.now() + 60_000) });
    offset += 72 * 3_600_000;
    expect(await get('old')).toBeDefined();
    expect(service.sweepExpired()).toBe(2);
    expect(service.items(TABLE)).toEqual([]);
  });

  it('deletes expired items once the configured delay passed', async () => {
    service.setTtlDeletionDelay(3_600_000);
    await put('expired', { ttl: inSeconds(Date.now() - 1_800_000) });
    expect(await get('expired')).toBeDefined();
    // The TTL attribute is whole seconds (rounded up): a second more than the half hour left.
    offset += 1_801_000;
    expect(await get('expired')).toBeUndefined();
  });

  it('ages time attributes when emulated time jumps, so a stored expiry passes', async () => {
    const expiresAtMs = Date.now() + 60_000;
    await put('lease', {
      expiresAtMs: { N: String(expiresAtMs) },
      ttl: { N: String(expiresAtMs / 1000) },
      other: { N: '5' },
    });
    const takeOver = () =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { ...key('lease'), holder: { S: 'next' } },
          ConditionExpression: '#e < :now',
          ExpressionAttributeNames: { '#e': 'expiresAtMs' },
          ExpressionAttributeValues: { ':now': { N: String(Date.now()) } },
        }),
      );
    expect((await rejection(takeOver())).name).toBe('ConditionalCheckFailedException');
    offset += 120_000;
    expect(await get('lease')).toEqual({
      pk: 'env',
      sk: 'lease',
      expiresAtMs: expiresAtMs - 120_000,
      ttl: expiresAtMs / 1000 - 120,
      other: 5,
    });
    await takeOver();
    expect((await get('lease'))?.holder).toBe('next');
  });
});

describe('faults', () => {
  const read = (target = client) => target.send(new GetItemCommand({ TableName: TABLE, Key: key('a') }));

  it.each([
    [
      'throttle',
      () => service.faults.throttle({ times: 1 }),
      'ThrottlingException',
      400,
      'Rate of requests exceeds the allowed throughput.',
    ],
    [
      'throttle (provisioned throughput)',
      () => service.faults.throttle({ times: 1, code: 'ProvisionedThroughputExceededException' }),
      'ProvisionedThroughputExceededException',
      400,
      'The level of configured provisioned throughput for the table was exceeded.',
    ],
    [
      'serverError',
      () => service.faults.serverError({ times: 1 }),
      'InternalServerError',
      500,
      'Internal server error',
    ],
    [
      'unavailableFor',
      () => service.faults.unavailableFor(60_000),
      'ServiceUnavailable',
      503,
      'DynamoDB is currently unavailable.',
    ],
  ])('%s answers %s', async (_name, inject, code, status, message) => {
    inject();
    const error = await rejection(read());
    expect(error.name).toBe(code);
    expect(error.message).toContain(message);
    expect(error.$metadata).toMatchObject({ httpStatusCode: status });
  });

  it('lets the SDK retry through throttling and 5xx', async () => {
    const retrying = newClient({ maxAttempts: 3 });
    service.faults.throttle({ times: 1 });
    service.faults.serverError({ times: 1 });
    const answer = await read(retrying);
    retrying.destroy();
    expect(answer.$metadata.attempts).toBe(3);
    expect(service.counts()).toMatchObject({
      'GetItem:ThrottlingException': 1,
      'GetItem:InternalServerError': 1,
      GetItem: 1,
    });
  });

  it('is unavailable for a period of emulated time', async () => {
    service.faults.unavailableFor(60_000);
    expect((await rejection(read())).name).toBe('ServiceUnavailable');
    offset += 59_000;
    expect((await rejection(read())).name).toBe('ServiceUnavailable');
    offset += 1000;
    await read();
  });

  it('applies a write whose answer is lost, and throttles only the operation named', async () => {
    service.faults.serverError({ action: 'PutItem', times: 1, lostResponse: true });
    service.faults.throttle({ action: /^Query$/ });
    expect((await rejection(put('written'))).name).toBe('InternalServerError');
    expect(await get('written')).toEqual({ pk: 'env', sk: 'written' });
    const error = await rejection(
      client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'env' } },
        }),
      ),
    );
    expect(error.name).toBe('ThrottlingException');
  });
});

describe('wire protocol', () => {
  async function raw(target: string, body: string) {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0' },
      body,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  it('answers errors with their namespaced __type, JSON 1.0', async () => {
    expect(await raw('DynamoDB_20120810.Scan', '{}')).toEqual({
      status: 400,
      type: 'application/x-amz-json-1.0',
      body: { __type: 'com.amazon.coral.service#UnknownOperationException', message: '' },
    });
    expect((await raw('DynamoDB_20120810.GetItem', '{not json')).body.__type).toBe(
      'com.amazon.coral.service#SerializationException',
    );
    const refused = await raw(
      'DynamoDB_20120810.GetItem',
      JSON.stringify({ TableName: TABLE, Key: { pk: { S: 'x' } } }),
    );
    expect(refused.body).toEqual({
      __type: 'com.amazon.coral.validate#ValidationException',
      message: 'The provided key element does not match the schema',
    });
    await put('lease', { holder: { S: 'a' } });
    const failed = await raw(
      'DynamoDB_20120810.PutItem',
      JSON.stringify({
        TableName: TABLE,
        Item: key('lease'),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    expect(failed.body).toEqual({
      __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
      message: 'The conditional request failed',
      Item: { ...key('lease'), holder: { S: 'a' } },
    });
  });

  it('counts capacity as on-demand billing does, failed conditional writes included', async () => {
    await put('a');
    await rejection(
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: key('a'),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    await client.send(new GetItemCommand({ TableName: TABLE, Key: key('a'), ConsistentRead: true }));
    await client.send(new GetItemCommand({ TableName: TABLE, Key: key('a') }));
    expect(service.capacity(TABLE)).toEqual({ writeUnits: 2, readUnits: 1.5 });
  });
});
