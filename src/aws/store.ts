// The coordination store: one DynamoDB table per deployment, one partition (`pk` = environment) per
// environment. Conditional writes make the lease and the breaker safe across concurrent runs; TTL only
// keeps the table small, so every reader also drops expired items itself.
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createSdkLogger } from './sdk-logger.js';
import { describeError } from './ec2.js';
import type {
  BreakerRecord,
  CoordinationStore,
  LaunchRecord,
  LaunchRecordState,
  LeaseResult,
  LeaseState,
  ShortageRecord,
  StoreSnapshot,
} from '../types.js';

export interface CoordinationStoreOptions {
  table: string;
  region: string;
  /** The partition key of every item: one environment's items never mix with another's. */
  environment: string;
  log?: (message: string) => void;
}

type Item = Record<string, AttributeValue>;

export const LEASE_SORT_KEY = 'lease';
export const LAUNCH_PREFIX = 'launch#';
export const BREAKER_PREFIX = 'breaker#';
export const LISTENER_PREFIX = 'listener#';
export const SHORTAGE_PREFIX = 'shortage#';

/**
 * Number attributes holding points in time, and their unit. The emulator ages them when its clock
 * jumps, as it ages every other stored timestamp.
 */
export const STORE_TIME_ATTRIBUTES: readonly { name: string; unit: 'ms' | 's' }[] = [
  { name: 'ttl', unit: 's' },
  { name: 'acquiredAtMs', unit: 'ms' },
  { name: 'expiresAtMs', unit: 'ms' },
  { name: 'atMs', unit: 'ms' },
  { name: 'lastFailureAtMs', unit: 'ms' },
  { name: 'openUntilMs', unit: 'ms' },
  { name: 'sinceMs', unit: 'ms' },
  { name: 'lastAtMs', unit: 'ms' },
];

const CONDITIONAL_CHECK_FAILED = 'ConditionalCheckFailedException';
const LEASE_ACQUIRE_ATTEMPTS = 2;

/** The TTL attribute (epoch seconds) for an expiry in ms: never before the expiry itself. */
export function ttlSeconds(expiresAtMs: number): number {
  return Math.ceil(expiresAtMs / 1000);
}

/** What every store operation needs: the client, where the items live, and error handling. */
interface StoreContext {
  client: DynamoDBClient;
  table: string;
  region: string;
  environment: string;
  log: (message: string) => void;
  key(sk: string): Item;
  /** Sends a command; any error is rethrown with the table, the region and the operation. */
  send<T>(operation: string, call: () => Promise<T>): Promise<T>;
  /** A conditional write: applied, or refused (with the current item when DynamoDB returned it). */
  conditional(
    operation: string,
    call: () => Promise<unknown>,
  ): Promise<{ applied: true } | { applied: false; current?: Item }>;
}

export function createCoordinationStore(options: CoordinationStoreOptions): CoordinationStore {
  const { table, region, environment } = options;
  const ctx: StoreContext = {
    // Endpoint (AWS_ENDPOINT_URL[_DYNAMODB]) and max attempts come from the SDK's own env handling; adaptive
    // mode slows the client down when DynamoDB throttles, instead of failing fast.
    client: new DynamoDBClient({ region, retryMode: 'adaptive', logger: createSdkLogger(options.log) }),
    table,
    region,
    environment,
    log: options.log ?? (() => {}),
    key: (sk) => ({ pk: { S: environment }, sk: { S: sk } }),
    async send(operation, call) {
      try {
        return await call();
      } catch (error) {
        throw storeError(operation, table, region, error);
      }
    },
    async conditional(operation, call) {
      try {
        await call();
        return { applied: true };
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw storeError(operation, table, region, error);
        const current = (error as { Item?: Item }).Item;
        return { applied: false, ...(current ? { current } : {}) };
      }
    },
  };
  return {
    tryAcquireLease: (holder, ttlMs, now) => tryAcquireLease(ctx, holder, ttlMs, now),
    renewLease: (holder, ttlMs, now) => renewLease(ctx, holder, ttlMs, now),
    releaseLease: (holder) => releaseLease(ctx, holder),
    read: (now) => read(ctx, now),
    recordLaunch: (record) => recordLaunch(ctx, record),
    writeBreaker: (record, expectedVersion) => writeBreaker(ctx, record, expectedVersion),
    recordShortage: (record) => recordShortage(ctx, record),
    clearShortage: (pool) => clearShortage(ctx, pool),
  };
}

async function getLease(ctx: StoreContext): Promise<Item | undefined> {
  const answer = await ctx.send('GetItem', () =>
    ctx.client.send(
      new GetItemCommand({ TableName: ctx.table, Key: ctx.key(LEASE_SORT_KEY), ConsistentRead: true }),
    ),
  );
  return answer.Item;
}

async function tryAcquireLease(
  ctx: StoreContext,
  holder: string,
  ttlMs: number,
  now: Date,
): Promise<LeaseResult> {
  const expiresAtMs = now.getTime() + ttlMs;
  for (let attempt = 1; attempt <= LEASE_ACQUIRE_ATTEMPTS; attempt++) {
    const result = await ctx.conditional('PutItem (acquire the lease)', () =>
      ctx.client.send(
        new PutItemCommand({
          TableName: ctx.table,
          Item: {
            ...ctx.key(LEASE_SORT_KEY),
            holder: { S: holder },
            acquiredAtMs: num(now.getTime()),
            expiresAtMs: num(expiresAtMs),
            ttl: num(ttlSeconds(expiresAtMs)),
          },
          ConditionExpression: 'attribute_not_exists(#sk) OR #expiresAtMs < :now OR #holder = :holder',
          ExpressionAttributeNames: { '#sk': 'sk', '#expiresAtMs': 'expiresAtMs', '#holder': 'holder' },
          ExpressionAttributeValues: { ':now': num(now.getTime()), ':holder': { S: holder } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (result.applied) return { acquired: true };
    // Without the old item in the answer, read it; gone by now means it was released: try again.
    const current = result.current ?? (await getLease(ctx));
    if (current) return { acquired: false, heldBy: toLease(current, ctx.table) };
    ctx.log(`the lease in ${ctx.table} was released while we asked for it; asking again`);
  }
  throw new Error(
    `PutItem (acquire the lease) on DynamoDB table ${ctx.table} in ${ctx.region} failed: the lease was refused ` +
      `${LEASE_ACQUIRE_ATTEMPTS} times but no holder could be read`,
  );
}

async function renewLease(ctx: StoreContext, holder: string, ttlMs: number, now: Date): Promise<boolean> {
  const expiresAtMs = now.getTime() + ttlMs;
  const result = await ctx.conditional('UpdateItem (renew the lease)', () =>
    ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.table,
        Key: ctx.key(LEASE_SORT_KEY),
        UpdateExpression: 'SET #expiresAtMs = :expiresAtMs, #ttl = :ttl',
        ConditionExpression: '#holder = :holder',
        ExpressionAttributeNames: { '#expiresAtMs': 'expiresAtMs', '#ttl': 'ttl', '#holder': 'holder' },
        ExpressionAttributeValues: {
          ':expiresAtMs': num(expiresAtMs),
          ':ttl': num(ttlSeconds(expiresAtMs)),
          ':holder': { S: holder },
        },
      }),
    ),
  );
  if (!result.applied) ctx.log(`lease renewal refused: ${holder} no longer holds the lease in ${ctx.table}`);
  return result.applied;
}

async function releaseLease(ctx: StoreContext, holder: string): Promise<void> {
  const result = await ctx.conditional('DeleteItem (release the lease)', () =>
    ctx.client.send(
      new DeleteItemCommand({
        TableName: ctx.table,
        Key: ctx.key(LEASE_SORT_KEY),
        ConditionExpression: '#holder = :holder',
        ExpressionAttributeNames: { '#holder': 'holder' },
        ExpressionAttributeValues: { ':holder': { S: holder } },
      }),
    ),
  );
  if (!result.applied) ctx.log(`lease release skipped: ${holder} no longer holds the lease in ${ctx.table}`);
}

async function queryAll(ctx: StoreContext): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const previous = startKey;
    const page = await ctx.send('Query', () =>
      ctx.client.send(
        new QueryCommand({
          TableName: ctx.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': { S: ctx.environment } },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      ),
    );
    items.push(...(page.Items ?? []));
    const last = page.LastEvaluatedKey;
    startKey = last && Object.keys(last).length > 0 ? last : undefined;
    if (startKey && previous && sameKey(startKey, previous)) {
      throw new Error(
        `Query on DynamoDB table ${ctx.table} in ${ctx.region} failed: the same LastEvaluatedKey was returned twice`,
      );
    }
  } while (startKey);
  return items;
}

async function read(ctx: StoreContext, now: Date): Promise<StoreSnapshot> {
  const snapshot: StoreSnapshot = { launches: [], breakers: [], shortages: [] };
  for (const item of await queryAll(ctx)) {
    if (isExpired(item, now, ctx.table)) continue;
    const sk = item.sk?.S ?? '';
    if (sk === LEASE_SORT_KEY) snapshot.lease = toLease(item, ctx.table);
    else if (sk.startsWith(LAUNCH_PREFIX)) snapshot.launches.push(toLaunch(item, ctx.table));
    else if (sk.startsWith(BREAKER_PREFIX)) snapshot.breakers.push(toBreaker(item, ctx.table));
    else if (sk.startsWith(SHORTAGE_PREFIX)) snapshot.shortages.push(toShortage(item, ctx.table));
    else if (!sk.startsWith(LISTENER_PREFIX))
      ctx.log(`ignoring an item of unknown kind in ${ctx.table}: sk ${sk}`);
  }
  return snapshot;
}

async function recordLaunch(ctx: StoreContext, record: LaunchRecord): Promise<void> {
  await ctx.send('PutItem (record a launch)', () =>
    ctx.client.send(new PutItemCommand({ TableName: ctx.table, Item: launchItem(ctx.environment, record) })),
  );
}

async function writeBreaker(
  ctx: StoreContext,
  record: BreakerRecord,
  expectedVersion: number,
): Promise<boolean> {
  if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw new Error(`writeBreaker: expectedVersion must be an integer >= 0, got ${expectedVersion}`);
  }
  const result = await ctx.conditional('PutItem (write a breaker)', () =>
    ctx.client.send(
      new PutItemCommand({
        TableName: ctx.table,
        Item: breakerItem(ctx.environment, record, expectedVersion + 1),
        ...(expectedVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(#sk)', ExpressionAttributeNames: { '#sk': 'sk' } }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': num(expectedVersion) },
            }),
      }),
    ),
  );
  if (!result.applied) {
    ctx.log(`breaker of pool ${record.pool}: another run wrote version ${expectedVersion + 1} first`);
  }
  return result.applied;
}

async function recordShortage(ctx: StoreContext, record: ShortageRecord): Promise<void> {
  await ctx.send('PutItem (record a capacity shortage)', () =>
    ctx.client.send(
      new PutItemCommand({ TableName: ctx.table, Item: shortageItem(ctx.environment, record) }),
    ),
  );
}

async function clearShortage(ctx: StoreContext, pool: string): Promise<void> {
  await ctx.send('DeleteItem (end a capacity shortage)', () =>
    ctx.client.send(
      new DeleteItemCommand({ TableName: ctx.table, Key: ctx.key(`${SHORTAGE_PREFIX}${pool}`) }),
    ),
  );
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof Error && error.name === CONDITIONAL_CHECK_FAILED;
}

function sameKey(a: Item, b: Item): boolean {
  return a.pk?.S === b.pk?.S && a.sk?.S === b.sk?.S;
}

/** Rethrowable error naming the table, the region and the operation; keeps the API error code as name and code. */
export function storeError(operation: string, table: string, region: string, error: unknown): Error {
  const { code, message } = describeError(error);
  const where = `DynamoDB table ${table} in ${region}`;
  const hint =
    code === 'ResourceNotFoundException'
      ? ` (the coordination table ${table} does not exist in ${region}, or these credentials cannot see it: ` +
        'create it with examples/launch-template/cloudformation.yml, or name the right table and region under ' +
        'coordination in the pools file)'
      : '';
  const wrapped = new Error(`${operation} on ${where} failed: ${code}: ${message}${hint}`, { cause: error });
  wrapped.name = code;
  Object.assign(wrapped, { code });
  return wrapped;
}

// ---- items <-> records ----

function launchItem(environment: string, record: LaunchRecord): Item {
  const expiresAtMs = record.expiresAt.getTime();
  return {
    pk: { S: environment },
    sk: { S: `${LAUNCH_PREFIX}${record.clientToken}` },
    pool: { S: record.pool },
    clientToken: { S: record.clientToken },
    count: num(record.count),
    instanceIds: { L: record.instanceIds.map((id) => ({ S: id })) },
    jobIds: { L: record.jobIds.map((id) => num(id)) },
    ...(record.labels ? { labels: { L: record.labels.map((label) => ({ S: label })) } } : {}),
    runId: { S: record.runId },
    atMs: num(record.at.getTime()),
    expiresAtMs: num(expiresAtMs),
    ttl: num(ttlSeconds(expiresAtMs)),
    state: { S: record.state },
  };
}

function breakerItem(environment: string, record: BreakerRecord, version: number): Item {
  return {
    pk: { S: environment },
    sk: { S: `${BREAKER_PREFIX}${record.pool}` },
    failures: num(record.failures),
    instanceIds: { L: record.instanceIds.map((id) => ({ S: id })) },
    ...(record.lastFailureAt ? { lastFailureAtMs: num(record.lastFailureAt.getTime()) } : {}),
    openUntilMs: num(record.openUntil ? record.openUntil.getTime() : 0),
    settingsHash: { S: record.settingsHash },
    ...(record.reason !== undefined ? { reason: { S: record.reason } } : {}),
    version: num(version),
  };
}

function shortageItem(environment: string, record: ShortageRecord): Item {
  const expiresAtMs = record.expiresAt.getTime();
  return {
    pk: { S: environment },
    sk: { S: `${SHORTAGE_PREFIX}${record.pool}` },
    sinceMs: num(record.since.getTime()),
    lastAtMs: num(record.lastAt.getTime()),
    short: { L: record.short.map((option) => ({ S: option })) },
    expiresAtMs: num(expiresAtMs),
    ttl: num(ttlSeconds(expiresAtMs)),
  };
}

/** Reads typed attributes of one item; a missing or mistyped attribute is an error naming the item. */
function reader(item: Item, table: string) {
  const where = () => `item ${item.sk?.S ?? '(no sk)'} of DynamoDB table ${table}`;
  const fail = (name: string, expected: string): never => {
    throw new Error(
      `${where()}: attribute ${name} is ${JSON.stringify(item[name] ?? null)}, expected ${expected}`,
    );
  };
  const number = (name: string): number => {
    const value = item[name]?.N;
    const parsed = value === undefined ? Number.NaN : Number(value);
    return Number.isFinite(parsed) ? parsed : fail(name, 'a number (N)');
  };
  const string = (name: string): string => item[name]?.S ?? fail(name, 'a string (S)');
  const list = <T>(
    name: string,
    element: (value: AttributeValue) => T | undefined,
    expected: string,
  ): T[] => {
    const values = item[name]?.L;
    if (!values) return fail(name, `a list (L) of ${expected}`);
    return values.map((value) => element(value) ?? fail(name, `a list (L) of ${expected}`));
  };
  return {
    number,
    string,
    optionalNumber: (name: string) => (item[name] === undefined ? undefined : number(name)),
    optionalString: (name: string) => (item[name] === undefined ? undefined : string(name)),
    strings: (name: string) => list(name, (value) => value.S, 'strings (S)'),
    numbers: (name: string) =>
      list(
        name,
        (value) => (value.N !== undefined && Number.isFinite(Number(value.N)) ? Number(value.N) : undefined),
        'numbers (N)',
      ),
    fail,
  };
}

/**
 * Expired by its own expiry or by its TTL (DynamoDB deletes expired items up to days later). Strictly
 * before now, as the lease condition judges it: a lease that expires this millisecond is still held.
 */
function isExpired(item: Item, now: Date, table: string): boolean {
  const attributes = reader(item, table);
  const expiresAtMs = attributes.optionalNumber('expiresAtMs');
  const ttl = attributes.optionalNumber('ttl');
  const nowMs = now.getTime();
  return (expiresAtMs !== undefined && expiresAtMs < nowMs) || (ttl !== undefined && ttl * 1000 < nowMs);
}

function toLease(item: Item, table: string): LeaseState {
  const attributes = reader(item, table);
  return {
    holder: attributes.string('holder'),
    acquiredAt: new Date(attributes.number('acquiredAtMs')),
    expiresAt: new Date(attributes.number('expiresAtMs')),
  };
}

const LAUNCH_STATES: readonly string[] = ['intent', 'launched', 'failed'] satisfies LaunchRecordState[];

function toLaunch(item: Item, table: string): LaunchRecord {
  const attributes = reader(item, table);
  const state = attributes.string('state');
  if (!LAUNCH_STATES.includes(state)) attributes.fail('state', LAUNCH_STATES.join(' or '));
  const labels = item.labels === undefined ? undefined : attributes.strings('labels');
  return {
    pool: attributes.string('pool'),
    clientToken: attributes.string('clientToken'),
    count: attributes.number('count'),
    instanceIds: attributes.strings('instanceIds'),
    jobIds: attributes.numbers('jobIds'),
    ...(labels ? { labels } : {}),
    runId: attributes.string('runId'),
    at: new Date(attributes.number('atMs')),
    expiresAt: new Date(attributes.number('expiresAtMs')),
    state: state as LaunchRecordState,
  };
}

function toBreaker(item: Item, table: string): BreakerRecord {
  const attributes = reader(item, table);
  const lastFailureAtMs = attributes.optionalNumber('lastFailureAtMs');
  const openUntilMs = attributes.optionalNumber('openUntilMs') ?? 0;
  const reason = attributes.optionalString('reason');
  return {
    pool: (item.sk?.S ?? '').slice(BREAKER_PREFIX.length),
    failures: attributes.number('failures'),
    instanceIds: attributes.strings('instanceIds'),
    ...(lastFailureAtMs !== undefined ? { lastFailureAt: new Date(lastFailureAtMs) } : {}),
    ...(openUntilMs > 0 ? { openUntil: new Date(openUntilMs) } : {}),
    settingsHash: attributes.string('settingsHash'),
    ...(reason !== undefined ? { reason } : {}),
    version: attributes.number('version'),
  };
}

function toShortage(item: Item, table: string): ShortageRecord {
  const attributes = reader(item, table);
  return {
    pool: (item.sk?.S ?? '').slice(SHORTAGE_PREFIX.length),
    since: new Date(attributes.number('sinceMs')),
    lastAt: new Date(attributes.number('lastAtMs')),
    short: attributes.strings('short'),
    expiresAt: new Date(attributes.number('expiresAtMs')),
  };
}
