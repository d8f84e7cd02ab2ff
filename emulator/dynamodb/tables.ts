// Tables: key schema, TTL setting and items, one collection per region. Items of a partition are kept
// in sort-key order on demand (Query reads them in order).
import { constraint, DynamoDbError, validation } from './errors.js';
import { compareValues, typeOf, type AttributeValue, type Item, type ScalarType } from './values.js';

export interface KeyAttribute {
  name: string;
  type: ScalarType;
}

export interface TimeToLive {
  attributeName?: string;
  enabled: boolean;
  /** Emulator time of the last UpdateTimeToLive: DynamoDB refuses another change within an hour. */
  changedAt?: number;
}

export interface Table {
  name: string;
  region: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  attributeDefinitions: KeyAttribute[];
  billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  createdAt: number;
  ttl: TimeToLive;
  /** partition key (encoded) -> sort key (encoded) -> item */
  partitions: Map<string, Map<string, Item>>;
  /** partition key (encoded) -> items in sort-key order; dropped when the partition's keys change */
  sorted: Map<string, Item[]>;
  itemCount: number;
  /** Capacity units consumed so far (on-demand billing counts them). */
  readUnits: number;
  writeUnits: number;
}

const TABLE_NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;

export function checkTableName(name: unknown, member = 'tableName'): string {
  if (name === undefined || name === null) throw constraint(null, member, 'Member must not be null');
  if (typeof name !== 'string')
    throw new DynamoDbError('SerializationException', `${member} must be a string`);
  if (name.length < 3) throw constraint(name, member, 'Member must have length greater than or equal to 3');
  if (name.length > 255) throw constraint(name, member, 'Member must have length less than or equal to 255');
  if (!TABLE_NAME_PATTERN.test(name)) {
    throw constraint(name, member, 'Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+');
  }
  return name;
}

function encodeKeyPart(value: AttributeValue): string {
  return JSON.stringify(value);
}

export function keyAttributes(table: Table): KeyAttribute[] {
  return table.sortKey ? [table.partitionKey, table.sortKey] : [table.partitionKey];
}

/** Checks a request's `Key` against the schema: exactly the key attributes, of the declared types. */
export function checkKey(table: Table, key: Item): Item {
  const attributes = keyAttributes(table);
  if (Object.keys(key).length !== attributes.length) {
    throw validation('The provided key element does not match the schema');
  }
  for (const attribute of attributes) {
    const value = key[attribute.name];
    if (value === undefined || typeOf(value) !== attribute.type) {
      throw validation('The provided key element does not match the schema');
    }
    checkKeyNotEmpty(attribute, value);
  }
  return key;
}

function checkKeyNotEmpty(attribute: KeyAttribute, value: AttributeValue): void {
  if ((attribute.type === 'S' && value.S === '') || (attribute.type === 'B' && value.B === '')) {
    throw validation(
      `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${attribute.type === 'S' ? 'string' : 'binary'} value. Key: ${attribute.name}`,
    );
  }
}

/** Checks that a whole item carries its key attributes with the declared types. */
export function checkItemKey(table: Table, item: Item): void {
  for (const attribute of keyAttributes(table)) {
    const value = item[attribute.name];
    if (value === undefined) {
      throw validation(
        `One or more parameter values were invalid: Missing the key ${attribute.name} in the item`,
      );
    }
    if (typeOf(value) !== attribute.type) {
      throw validation(
        `One or more parameter values were invalid: Type mismatch for key ${attribute.name} expected: ${attribute.type} actual: ${typeOf(value)}`,
      );
    }
    checkKeyNotEmpty(attribute, value);
  }
}

export function keyOf(table: Table, item: Item): Item {
  return Object.fromEntries(keyAttributes(table).map((attribute) => [attribute.name, item[attribute.name]!]));
}

function location(table: Table, item: Item): [string, string] {
  const partition = encodeKeyPart(item[table.partitionKey.name]!);
  const sort = table.sortKey ? encodeKeyPart(item[table.sortKey.name]!) : '';
  return [partition, sort];
}

export function getItem(table: Table, key: Item): Item | undefined {
  const [partition, sort] = location(table, key);
  return table.partitions.get(partition)?.get(sort);
}

export function putItem(table: Table, item: Item): void {
  const [partition, sort] = location(table, item);
  let items = table.partitions.get(partition);
  if (!items) {
    items = new Map();
    table.partitions.set(partition, items);
  }
  if (!items.has(sort)) {
    table.itemCount++;
    table.sorted.delete(partition);
  } else if (table.sorted.has(partition)) {
    // Same key: the cached order holds, only the item changed.
    const cached = table.sorted.get(partition)!;
    const index = cached.indexOf(items.get(sort)!);
    if (index >= 0) cached[index] = item;
  }
  items.set(sort, item);
}

export function deleteItem(table: Table, key: Item): Item | undefined {
  const [partition, sort] = location(table, key);
  const items = table.partitions.get(partition);
  const existing = items?.get(sort);
  if (!items || !existing) return undefined;
  items.delete(sort);
  table.itemCount--;
  table.sorted.delete(partition);
  if (items.size === 0) table.partitions.delete(partition);
  return existing;
}

/** A partition's items in ascending sort-key order. */
export function partitionItems(table: Table, partitionKey: AttributeValue): Item[] {
  const partition = encodeKeyPart(partitionKey);
  let sorted = table.sorted.get(partition);
  if (!sorted) {
    sorted = [...(table.partitions.get(partition)?.values() ?? [])];
    const sortKey = table.sortKey;
    if (sortKey) sorted.sort((a, b) => compareValues(a[sortKey.name]!, b[sortKey.name]!) ?? 0);
    table.sorted.set(partition, sorted);
  }
  return sorted;
}

export function allItems(table: Table): Item[] {
  return [...table.partitions.values()].flatMap((items) => [...items.values()]);
}
