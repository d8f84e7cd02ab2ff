import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCoordinationStore, ttlSeconds } from '../../src/aws/store.js';
import type { BreakerRecord, LaunchRecord } from '../../src/types.js';

const dynamodb = mockClient(DynamoDBClient);
const TABLE = 'runner-scaler-ci';
const REGION = 'eu-west-1';
const ENV = 'ci';
const NOW = new Date('2026-11-30T12:00:00.000Z');
const T = NOW.getTime();

type Item = Record<string, AttributeValue>;

beforeEach(() => dynamodb.reset());
afterEach(() => dynamodb.reset());

function store(log?: (message: string) => void) {
  return createCoordinationStore({ table: TABLE, region: REGION, environment: ENV, ...(log ? { log } : {}) });
}

function awsError(name: string, message: string, status = 400): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

function conditionFailed(item?: Item): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(item ? { Item: item } : {}),
  });
}

function leaseItem(holder: string, acquiredAtMs: number, expiresAtMs: number): Item {
  return {
    pk: { S: ENV },
    sk: { S: 'lease' },
    holder: { S: holder },
    acquiredAtMs: { N: String(acquiredAtMs) },
    expiresAtMs: { N: String(expiresAtMs) },
    ttl: { N: String(ttlSeconds(expiresAtMs)) },
  };
}

const launch: LaunchRecord = {
  pool: 'linux',
  clientToken: 'tok-1',
  count: 2,
  instanceIds: ['i-1', 'i-2'],
  jobIds: [11, 12],
  runId: '900/1',
  at: new Date(T - 1000),
  expiresAt: new Date(T + 600_000),
  state: 'launched',
};

function launchItem(record: LaunchRecord): Item {
  return {
    pk: { S: ENV },
    sk: { S: `launch#${record.clientToken}` },
    pool: { S: record.pool },
    clientToken: { S: record.clientToken },
    count: { N: String(record.count) },
    instanceIds: { L: record.instanceIds.map((id) => ({ S: id })) },
    jobIds: { L: record.jobIds.map((id) => ({ N: String(id) })) },
    ...(record.labels ? { labels: { L: record.labels.map((label) => ({ S: label })) } } : {}),
    runId: { S: record.runId },
    atMs: { N: String(record.at.getTime()) },
    expiresAtMs: { N: String(record.expiresAt.getTime()) },
    ttl: { N: String(ttlSeconds(record.expiresAt.getTime())) },
    state: { S: record.state },
  };
}

const breaker: BreakerRecord = {
  pool: 'linux',
  failures: 3,
  instanceIds: ['i-7', 'i-8', 'i-9'],
  lastFailureAt: new Date(T - 5000),
  openUntil: new Date(T + 900_000),
  settingsHash: 'abc123',
  reason: 'three boots timed out',
  version: 4,
};

describe('tryAcquireLease', () => {
  it('puts the lease on condition: none, expired, or ours', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    await expect(store().tryAcquireLease('run-1/1#n1', 60_000, NOW)).resolves.toEqual({ acquired: true });
    expect(dynamodb.commandCalls(PutItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: leaseItem('run-1/1#n1', T, T + 60_000),
      ConditionExpression: 'attribute_not_exists(#sk) OR #expiresAtMs < :now OR #holder = :holder',
      ExpressionAttributeNames: { '#sk': 'sk', '#expiresAtMs': 'expiresAtMs', '#holder': 'holder' },
      ExpressionAttributeValues: { ':now': { N: String(T) }, ':holder': { S: 'run-1/1#n1' } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('names the holder from the refused write', async () => {
    dynamodb.on(PutItemCommand).rejects(conditionFailed(leaseItem('other', T - 10_000, T + 50_000)));
    await expect(store().tryAcquireLease('me', 60_000, NOW)).resolves.toEqual({
      acquired: false,
      heldBy: { holder: 'other', acquiredAt: new Date(T - 10_000), expiresAt: new Date(T + 50_000) },
    });
    expect(dynamodb.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('reads the holder when the refusal carries no item', async () => {
    dynamodb.on(PutItemCommand).rejects(conditionFailed());
    dynamodb.on(GetItemCommand).resolves({ Item: leaseItem('other', T, T + 1000) });
    const result = await store().tryAcquireLease('me', 60_000, NOW);
    expect(result).toMatchObject({ acquired: false, heldBy: { holder: 'other' } });
    expect(dynamodb.commandCalls(GetItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ENV }, sk: { S: 'lease' } },
      ConsistentRead: true,
    });
  });

  it('asks again when the refused lease was released meanwhile', async () => {
    dynamodb.on(PutItemCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamodb.on(GetItemCommand).resolves({});
    await expect(store().tryAcquireLease('me', 60_000, NOW)).resolves.toEqual({ acquired: true });
    expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(2);
  });

  it('fails when refused twice with no holder to read', async () => {
    dynamodb.on(PutItemCommand).rejects(conditionFailed());
    dynamodb.on(GetItemCommand).resolves({});
    await expect(store().tryAcquireLease('me', 60_000, NOW)).rejects.toThrow(
      /acquire the lease.*runner-scaler-ci in eu-west-1.*refused 2 times but no holder could be read/,
    );
  });
});

describe('renewLease and releaseLease', () => {
  it('renews on condition holder = us', async () => {
    dynamodb.on(UpdateItemCommand).resolves({});
    await expect(store().renewLease('me', 30_000, NOW)).resolves.toBe(true);
    expect(dynamodb.commandCalls(UpdateItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ENV }, sk: { S: 'lease' } },
      UpdateExpression: 'SET #expiresAtMs = :expiresAtMs, #ttl = :ttl',
      ConditionExpression: '#holder = :holder',
      ExpressionAttributeNames: { '#expiresAtMs': 'expiresAtMs', '#ttl': 'ttl', '#holder': 'holder' },
      ExpressionAttributeValues: {
        ':expiresAtMs': { N: String(T + 30_000) },
        ':ttl': { N: String(ttlSeconds(T + 30_000)) },
        ':holder': { S: 'me' },
      },
    });
  });

  it('reports a lost lease as false, and says so in the log', async () => {
    const lines: string[] = [];
    dynamodb.on(UpdateItemCommand).rejects(conditionFailed());
    await expect(store((line) => lines.push(line)).renewLease('me', 30_000, NOW)).resolves.toBe(false);
    expect(lines).toEqual([`lease renewal refused: me no longer holds the lease in ${TABLE}`]);
  });

  it('releases on condition holder = us; a lost lease is no error', async () => {
    dynamodb.on(DeleteItemCommand).rejectsOnce(conditionFailed()).resolves({});
    await expect(store().releaseLease('me')).resolves.toBeUndefined();
    await expect(store().releaseLease('me')).resolves.toBeUndefined();
    expect(dynamodb.commandCalls(DeleteItemCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: ENV }, sk: { S: 'lease' } },
      ConditionExpression: '#holder = :holder',
      ExpressionAttributeNames: { '#holder': 'holder' },
      ExpressionAttributeValues: { ':holder': { S: 'me' } },
    });
  });
});

describe('read', () => {
  it('pages a strongly consistent Query until LastEvaluatedKey is absent', async () => {
    const second = {
      ...launch,
      clientToken: 'tok-2',
      labels: ['self-hosted', 'linux', 'run-77'],
      state: 'intent' as const,
      instanceIds: [],
    };
    dynamodb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [leaseItem('holder-a', T - 1000, T + 59_000)],
        LastEvaluatedKey: { pk: { S: ENV }, sk: { S: 'lease' } },
      })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { pk: { S: ENV }, sk: { S: 'launch#tok-0' } } })
      .resolvesOnce({
        Items: [launchItem(launch), launchItem(second)],
        LastEvaluatedKey: { pk: { S: ENV }, sk: { S: 'launch#tok-2' } },
      })
      .resolvesOnce({ Items: [] });
    const snapshot = await store().read(NOW);
    expect(snapshot).toEqual({
      lease: { holder: 'holder-a', acquiredAt: new Date(T - 1000), expiresAt: new Date(T + 59_000) },
      launches: [launch, second],
      breakers: [],
      shortages: [],
    });
    const inputs = dynamodb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.ExclusiveStartKey?.sk?.S)).toEqual([
      undefined,
      'lease',
      'launch#tok-0',
      'launch#tok-2',
    ]);
    for (const input of inputs) {
      expect(input).toMatchObject({
        TableName: TABLE,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': { S: ENV } },
        ConsistentRead: true,
      });
    }
  });

  const expiryCases: { name: string; item: Item; kept: boolean }[] = [
    { name: 'a lease expired a millisecond ago', item: leaseItem('x', T - 60_000, T - 1), kept: false },
    { name: 'a lease expiring this millisecond', item: leaseItem('x', T - 60_000, T), kept: true },
    {
      name: 'a launch past its expiresAtMs',
      item: launchItem({ ...launch, expiresAt: new Date(T - 1) }),
      kept: false,
    },
    {
      name: 'a launch past its ttl only',
      item: { ...launchItem(launch), ttl: { N: String(T / 1000 - 1) } },
      kept: false,
    },
    { name: 'an unexpired launch', item: launchItem(launch), kept: true },
  ];
  it.each(expiryCases)('drops expired items DynamoDB has not deleted yet: $name', async ({ item, kept }) => {
    dynamodb.on(QueryCommand).resolves({ Items: [item] });
    const snapshot = await store().read(NOW);
    expect((snapshot.lease ? 1 : 0) + snapshot.launches.length).toBe(kept ? 1 : 0);
  });

  it('reads breakers (open and closed) and ignores listener items and unknown kinds', async () => {
    const closed = {
      pk: { S: ENV },
      sk: { S: 'breaker#windows' },
      failures: { N: '0' },
      instanceIds: { L: [] },
      openUntilMs: { N: '0' },
      settingsHash: { S: 'h2' },
      version: { N: '1' },
    };
    const open = {
      pk: { S: ENV },
      sk: { S: 'breaker#linux' },
      failures: { N: '3' },
      instanceIds: { L: [{ S: 'i-7' }, { S: 'i-8' }, { S: 'i-9' }] },
      lastFailureAtMs: { N: String(T - 5000) },
      openUntilMs: { N: String(T + 900_000) },
      settingsHash: { S: 'abc123' },
      reason: { S: 'three boots timed out' },
      version: { N: '4' },
    };
    const lines: string[] = [];
    dynamodb.on(QueryCommand).resolves({
      Items: [
        open,
        closed,
        { pk: { S: ENV }, sk: { S: 'listener#set-1' }, data: { M: {} } },
        { pk: { S: ENV }, sk: { S: 'other' } },
      ],
    });
    const snapshot = await store((line) => lines.push(line)).read(NOW);
    expect(snapshot.breakers).toEqual([
      breaker,
      { pool: 'windows', failures: 0, instanceIds: [], settingsHash: 'h2', version: 1 },
    ]);
    expect(lines).toEqual([`ignoring an item of unknown kind in ${TABLE}: sk other`]);
  });

  it.each([
    {
      name: 'a lease without holder',
      item: { ...leaseItem('x', T, T + 1000), holder: undefined },
      error: /item lease .*attribute holder is null, expected a string \(S\)/,
    },
    {
      name: 'a launch with an unknown state',
      item: { ...launchItem(launch), state: { S: 'running' } },
      error: /attribute state is .*"running".*expected intent or launched or failed/,
    },
    {
      name: 'a launch with a text job id',
      item: { ...launchItem(launch), jobIds: { L: [{ S: '11' }] } },
      error: /attribute jobIds .*expected a list \(L\) of numbers/,
    },
    {
      name: 'a lease with a text expiry',
      item: { ...leaseItem('x', T, T + 1000), expiresAtMs: { S: 'soon' } },
      error: /attribute expiresAtMs .*expected a number \(N\)/,
    },
  ])('refuses a malformed item, naming it: $name', async ({ item, error }) => {
    const cleaned = Object.fromEntries(
      Object.entries(item).filter(([, value]) => value !== undefined),
    ) as Item;
    dynamodb.on(QueryCommand).resolves({ Items: [cleaned] });
    await expect(store().read(NOW)).rejects.toThrow(error);
  });

  it('stops instead of looping when the same LastEvaluatedKey comes back', async () => {
    dynamodb
      .on(QueryCommand)
      .resolves({ Items: [], LastEvaluatedKey: { pk: { S: ENV }, sk: { S: 'launch#x' } } });
    await expect(store().read(NOW)).rejects.toThrow(/same LastEvaluatedKey was returned twice/);
    expect(dynamodb.commandCalls(QueryCommand)).toHaveLength(2);
  });
});

describe('recordLaunch', () => {
  it.each([
    { name: 'with the pool labels', record: launch },
    {
      name: 'with labels of its own, as an intent',
      record: { ...launch, labels: ['self-hosted', 'run-9'], instanceIds: [], state: 'intent' as const },
    },
  ])('puts the whole record, overwriting: $name', async ({ record }) => {
    dynamodb.on(PutItemCommand).resolves({});
    await store().recordLaunch(record);
    const input = dynamodb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input).toEqual({ TableName: TABLE, Item: launchItem(record) });
    expect(input.ConditionExpression).toBeUndefined();
  });
});

describe('writeBreaker', () => {
  it('creates a breaker only when none exists (expected version 0), as version 1', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    await expect(store().writeBreaker({ ...breaker, version: 0 }, 0)).resolves.toBe(true);
    const input = dynamodb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(#sk)');
    expect(input.ExpressionAttributeNames).toEqual({ '#sk': 'sk' });
    expect(input.ExpressionAttributeValues).toBeUndefined();
    expect(input.Item).toEqual({
      pk: { S: ENV },
      sk: { S: 'breaker#linux' },
      failures: { N: '3' },
      instanceIds: { L: [{ S: 'i-7' }, { S: 'i-8' }, { S: 'i-9' }] },
      lastFailureAtMs: { N: String(T - 5000) },
      openUntilMs: { N: String(T + 900_000) },
      settingsHash: { S: 'abc123' },
      reason: { S: 'three boots timed out' },
      version: { N: '1' },
    });
  });

  it('updates on condition version = expected and writes expected + 1; a closed breaker has openUntilMs 0', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    const closed: BreakerRecord = {
      pool: 'linux',
      failures: 0,
      instanceIds: [],
      settingsHash: 'h',
      version: 4,
    };
    await expect(store().writeBreaker(closed, 4)).resolves.toBe(true);
    const input = dynamodb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': { N: '4' } },
    });
    expect(input.Item).toMatchObject({ openUntilMs: { N: '0' }, version: { N: '5' } });
    expect(input.Item).not.toHaveProperty('lastFailureAtMs');
    expect(input.Item).not.toHaveProperty('reason');
  });

  it('answers false when another run wrote first', async () => {
    dynamodb.on(PutItemCommand).rejects(conditionFailed());
    await expect(store().writeBreaker(breaker, 4)).resolves.toBe(false);
  });

  it.each([-1, 1.5, Number.NaN])('refuses expected version %s', async (version) => {
    await expect(store().writeBreaker(breaker, version)).rejects.toThrow(
      /expectedVersion must be an integer >= 0/,
    );
    expect(dynamodb.commandCalls(PutItemCommand)).toHaveLength(0);
  });
});

describe('errors', () => {
  const failWith = {
    PutItem: (error: Error) => dynamodb.on(PutItemCommand).rejects(error),
    UpdateItem: (error: Error) => dynamodb.on(UpdateItemCommand).rejects(error),
    DeleteItem: (error: Error) => dynamodb.on(DeleteItemCommand).rejects(error),
    Query: (error: Error) => dynamodb.on(QueryCommand).rejects(error),
  };
  const calls: { operation: string; reject: (error: Error) => unknown; run: () => Promise<unknown> }[] = [
    {
      operation: 'PutItem (acquire the lease)',
      reject: failWith.PutItem,
      run: () => store().tryAcquireLease('me', 1000, NOW),
    },
    {
      operation: 'UpdateItem (renew the lease)',
      reject: failWith.UpdateItem,
      run: () => store().renewLease('me', 1000, NOW),
    },
    {
      operation: 'DeleteItem (release the lease)',
      reject: failWith.DeleteItem,
      run: () => store().releaseLease('me'),
    },
    { operation: 'Query', reject: failWith.Query, run: () => store().read(NOW) },
    {
      operation: 'PutItem (record a launch)',
      reject: failWith.PutItem,
      run: () => store().recordLaunch(launch),
    },
    {
      operation: 'PutItem (write a breaker)',
      reject: failWith.PutItem,
      run: () => store().writeBreaker(breaker, 1),
    },
  ];
  const errors = [
    { code: 'ThrottlingException', status: 400 },
    { code: 'ProvisionedThroughputExceededException', status: 400 },
    { code: 'InternalServerError', status: 500 },
    { code: 'AccessDeniedException', status: 400 },
  ];
  const cases = calls.flatMap((call) => errors.map((error) => ({ ...call, ...error })));

  it.each(cases)(
    '$operation rethrows $code naming the table, the region and the operation',
    async ({ reject, run, operation, code, status }) => {
      reject(awsError(code, 'the message', status));
      const error = (await run().catch((caught: unknown) => caught)) as Error & { code?: string };
      expect(error.name).toBe(code);
      expect(error.code).toBe(code);
      expect(error.message).toBe(
        `${operation} on DynamoDB table ${TABLE} in ${REGION} failed: ${code}: the message`,
      );
      expect(error.cause).toBeInstanceOf(DynamoDBServiceException);
    },
  );

  it('explains a missing table: which table, which region, and how to create it', async () => {
    dynamodb.on(QueryCommand).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    const error = (await store()
      .read(NOW)
      .catch((caught: unknown) => caught)) as Error & { code?: string };
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.code).toBe('ResourceNotFoundException');
    expect(error.message).toContain(
      `Query on DynamoDB table ${TABLE} in ${REGION} failed: ResourceNotFoundException`,
    );
    expect(error.message).toContain(`the coordination table ${TABLE} does not exist in ${REGION}`);
    expect(error.message).toContain('examples/launch-template/cloudformation.yml');
  });
});
