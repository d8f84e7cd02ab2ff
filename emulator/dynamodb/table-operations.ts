// CreateTable, DescribeTable, UpdateTimeToLive, DescribeTimeToLive.
import { randomUUID } from 'node:crypto';
import { DynamoDbError, validation } from './errors.js';
import {
  asObject,
  choice,
  optionalBoolean,
  optionalString,
  refuseUnsupported,
  required,
  type Json,
} from './requests.js';
import { checkTableName, keyAttributes, type KeyAttribute, type Table } from './tables.js';
import { itemSize, type ScalarType } from './values.js';
import { allItems } from './tables.js';

export interface TableRegistry {
  find(region: string, name: string): Table | undefined;
  add(table: Table): void;
  /** Emulator time. */
  now(): number;
  toWall(time: number): number;
  accountId: string;
}

/** DynamoDB refuses a second TTL change within an hour of the last one. */
const TTL_CHANGE_INTERVAL_MS = 60 * 60 * 1000;

export interface TableSpec {
  name: string;
  region: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  billingMode?: Table['billingMode'];
  ttlAttribute?: string;
}

export function newTable(spec: TableSpec, now: number): Table {
  return {
    name: spec.name,
    region: spec.region,
    partitionKey: spec.partitionKey,
    ...(spec.sortKey ? { sortKey: spec.sortKey } : {}),
    attributeDefinitions: spec.sortKey ? [spec.partitionKey, spec.sortKey] : [spec.partitionKey],
    billingMode: spec.billingMode ?? 'PAY_PER_REQUEST',
    createdAt: now,
    ttl: spec.ttlAttribute ? { attributeName: spec.ttlAttribute, enabled: true } : { enabled: false },
    partitions: new Map(),
    sorted: new Map(),
    itemCount: 0,
    readUnits: 0,
    writeUnits: 0,
  };
}

function list(input: Json, key: string): Json[] {
  const value = required(input[key] ?? undefined, key);
  if (!Array.isArray(value)) throw new DynamoDbError('SerializationException', `${key} must be a list`);
  return value.map(asObject);
}

function keySchema(input: Json): KeyAttribute[] {
  const schema = list(input, 'KeySchema');
  const definitions = new Map(
    list(input, 'AttributeDefinitions').map((definition) => [
      required(optionalString(definition, 'AttributeName'), 'AttributeName'),
      choice(definition, 'AttributeType', ['S', 'N', 'B'] as ScalarType[], 'S'),
    ]),
  );
  if (schema.length < 1 || schema.length > 2) {
    throw validation(
      "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2",
    );
  }
  const expected = ['HASH', 'RANGE'];
  const attributes = schema.map((element, index) => {
    const name = required(optionalString(element, 'AttributeName'), 'AttributeName');
    if (optionalString(element, 'KeyType') !== expected[index]) {
      throw validation(
        `Invalid KeySchema: The ${index === 0 ? 'first' : 'second'} KeySchemaElement is not a ${expected[index]} key type`,
      );
    }
    const type = definitions.get(name);
    if (type === undefined) {
      throw validation(
        'One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions.',
      );
    }
    return { name, type };
  });
  if (definitions.size !== attributes.length) {
    throw validation(
      'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    );
  }
  return attributes;
}

export function describe(registry: TableRegistry, table: Table, status = 'ACTIVE'): Json {
  const items = allItems(table);
  return {
    TableName: table.name,
    TableArn: `arn:aws:dynamodb:${table.region}:${registry.accountId}:table/${table.name}`,
    TableId: randomUUID(),
    TableStatus: status,
    KeySchema: keyAttributes(table).map((attribute, index) => ({
      AttributeName: attribute.name,
      KeyType: index === 0 ? 'HASH' : 'RANGE',
    })),
    AttributeDefinitions: table.attributeDefinitions.map((attribute) => ({
      AttributeName: attribute.name,
      AttributeType: attribute.type,
    })),
    CreationDateTime: registry.toWall(table.createdAt) / 1000,
    ItemCount: items.length,
    TableSizeBytes: items.reduce((sum, item) => sum + itemSize(item), 0),
    ProvisionedThroughput: { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
    ...(table.billingMode === 'PAY_PER_REQUEST'
      ? { BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' } }
      : {}),
    DeletionProtectionEnabled: false,
  };
}

export function createTableOperation(registry: TableRegistry, region: string, input: Json): Json {
  refuseUnsupported(input, ['GlobalSecondaryIndexes', 'LocalSecondaryIndexes', 'StreamSpecification']);
  const name = checkTableName(input.TableName);
  const [partitionKey, sortKey] = keySchema(input);
  const billingMode = choice(input, 'BillingMode', ['PROVISIONED', 'PAY_PER_REQUEST'], 'PROVISIONED');
  if (
    billingMode === 'PROVISIONED' &&
    (input.ProvisionedThroughput === undefined || input.ProvisionedThroughput === null)
  ) {
    throw validation(
      'One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
    );
  }
  if (registry.find(region, name))
    throw new DynamoDbError('ResourceInUseException', `Table already exists: ${name}`);
  const table = newTable(
    { name, region, partitionKey: partitionKey!, ...(sortKey ? { sortKey } : {}), billingMode },
    registry.now(),
  );
  registry.add(table);
  // DynamoDB answers CREATING and turns ACTIVE within seconds; the emulator's table is usable at once.
  return { TableDescription: describe(registry, table, 'CREATING') };
}

export function describeTableOperation(registry: TableRegistry, region: string, input: Json): Json {
  const name = checkTableName(input.TableName);
  const table = registry.find(region, name);
  if (!table)
    throw new DynamoDbError(
      'ResourceNotFoundException',
      `Requested resource not found: Table: ${name} not found`,
    );
  return { Table: describe(registry, table) };
}

export function updateTimeToLiveOperation(registry: TableRegistry, region: string, input: Json): Json {
  const name = checkTableName(input.TableName);
  const specification = asObject(
    required(input.TimeToLiveSpecification ?? undefined, 'TimeToLiveSpecification'),
  );
  const enabled = required(optionalBoolean(specification, 'Enabled'), 'Enabled');
  const attributeName = required(optionalString(specification, 'AttributeName'), 'AttributeName');
  const table = registry.find(region, name);
  if (!table) throw new DynamoDbError('ResourceNotFoundException', 'Requested resource not found');
  if (enabled && table.ttl.enabled) throw validation('TimeToLive is already enabled');
  if (!enabled && !table.ttl.enabled) throw validation('TimeToLive is already disabled');
  if (table.ttl.changedAt !== undefined && registry.now() - table.ttl.changedAt < TTL_CHANGE_INTERVAL_MS) {
    throw validation('Time to live has been modified multiple times within a fixed interval');
  }
  table.ttl = { enabled, attributeName, changedAt: registry.now() };
  return { TimeToLiveSpecification: { Enabled: enabled, AttributeName: attributeName } };
}

export function describeTimeToLiveOperation(registry: TableRegistry, region: string, input: Json): Json {
  const name = checkTableName(input.TableName);
  const table = registry.find(region, name);
  if (!table)
    throw new DynamoDbError(
      'ResourceNotFoundException',
      `Requested resource not found: Table: ${name} not found`,
    );
  return {
    TimeToLiveDescription: table.ttl.enabled
      ? { TimeToLiveStatus: 'ENABLED', AttributeName: table.ttl.attributeName }
      : { TimeToLiveStatus: 'DISABLED' },
  };
}
