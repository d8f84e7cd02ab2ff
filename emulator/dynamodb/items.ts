// PutItem, GetItem, UpdateItem, DeleteItem: conditional writes, ReturnValues, capacity.
import { DEFAULT_MESSAGES, DynamoDbError, validation } from './errors.js';
import { evaluateCondition, applyUpdate } from './evaluate.js';
import {
  parseCondition,
  parseUpdate,
  updatedAttributes,
  type ConditionNode,
  type ExpressionAttributes,
} from './expressions.js';
import {
  choice,
  expressionAttributes,
  optionalBoolean,
  optionalString,
  refuseUnsupported,
  required,
  type Json,
} from './requests.js';
import {
  checkItemKey,
  checkKey,
  deleteItem,
  getItem,
  keyAttributes,
  keyOf,
  putItem,
  type Table,
} from './tables.js';
import { checkItem, cloneItem, itemSize, type Item } from './values.js';

export interface TableLookup {
  table(region: string, name: string): Table;
}

const MAX_ITEM_BYTES = 400 * 1024;
const ON_FAILURE = ['NONE', 'ALL_OLD'] as const;

export function writeUnits(...items: (Item | undefined)[]): number {
  const size = Math.max(0, ...items.map((item) => (item ? itemSize(item) : 0)));
  return Math.max(1, Math.ceil(size / 1024));
}

export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

/** ConsumedCapacity when the request asked for it (TOTAL or INDEXES). */
export function consumed(input: Json, table: Table, units: number): Json {
  const mode = choice(input, 'ReturnConsumedCapacity', ['INDEXES', 'TOTAL', 'NONE'], 'NONE');
  return mode === 'NONE' ? {} : { ConsumedCapacity: { TableName: table.name, CapacityUnits: units } };
}

function checkSize(item: Item): void {
  if (itemSize(item) > MAX_ITEM_BYTES) throw validation('Item size has exceeded the maximum allowed size');
}

function condition(input: Json, attributes: ExpressionAttributes): ConditionNode | undefined {
  const text = optionalString(input, 'ConditionExpression');
  return text === undefined ? undefined : parseCondition(text, attributes);
}

/** Fails the write when its condition does not hold; a failed write still costs its capacity. */
function checkCondition(
  input: Json,
  table: Table,
  node: ConditionNode | undefined,
  existing: Item | undefined,
  units: number,
): void {
  if (!node || evaluateCondition(node, existing)) return;
  table.writeUnits += units;
  const onFailure = choice(input, 'ReturnValuesOnConditionCheckFailure', ON_FAILURE, 'NONE');
  const code = 'ConditionalCheckFailedException';
  throw new DynamoDbError(
    code,
    DEFAULT_MESSAGES[code]!,
    400,
    onFailure === 'ALL_OLD' && existing ? { Item: existing } : {},
  );
}

function tableOf(lookup: TableLookup, region: string, input: Json): Table {
  return lookup.table(region, required(optionalString(input, 'TableName'), 'TableName'));
}

function requestKey(table: Table, input: Json): Item {
  return checkKey(table, checkItem(required(input.Key ?? undefined, 'Key')));
}

export function putItemOperation(lookup: TableLookup, region: string, input: Json): Json {
  refuseUnsupported(input);
  const table = tableOf(lookup, region, input);
  const item = checkItem(required(input.Item ?? undefined, 'Item'));
  checkItemKey(table, item);
  checkSize(item);
  const attributes = expressionAttributes(input, ['ConditionExpression']);
  const node = condition(input, attributes);
  attributes.checkAllUsed();
  const returnValues = choice(
    input,
    'ReturnValues',
    ['NONE', 'ALL_OLD'],
    'NONE',
    'ReturnValues can only be ALL_OLD or NONE',
  );
  choice(input, 'ReturnValuesOnConditionCheckFailure', ON_FAILURE, 'NONE');
  const existing = getItem(table, keyOf(table, item));
  const units = writeUnits(existing, item);
  checkCondition(input, table, node, existing, units);
  putItem(table, item);
  table.writeUnits += units;
  return {
    ...(returnValues === 'ALL_OLD' && existing ? { Attributes: existing } : {}),
    ...consumed(input, table, units),
  };
}

export function getItemOperation(lookup: TableLookup, region: string, input: Json): Json {
  refuseUnsupported(input, ['ProjectionExpression']);
  const table = tableOf(lookup, region, input);
  const key = requestKey(table, input);
  expressionAttributes(input, ['ProjectionExpression']);
  const item = getItem(table, key);
  const units = readUnits(item ? itemSize(item) : 0, optionalBoolean(input, 'ConsistentRead') ?? false);
  table.readUnits += units;
  return { ...(item ? { Item: item } : {}), ...consumed(input, table, units) };
}

export function deleteItemOperation(lookup: TableLookup, region: string, input: Json): Json {
  refuseUnsupported(input);
  const table = tableOf(lookup, region, input);
  const key = requestKey(table, input);
  const attributes = expressionAttributes(input, ['ConditionExpression']);
  const node = condition(input, attributes);
  attributes.checkAllUsed();
  const returnValues = choice(
    input,
    'ReturnValues',
    ['NONE', 'ALL_OLD'],
    'NONE',
    'ReturnValues can only be ALL_OLD or NONE',
  );
  choice(input, 'ReturnValuesOnConditionCheckFailure', ON_FAILURE, 'NONE');
  const existing = getItem(table, key);
  const units = writeUnits(existing);
  checkCondition(input, table, node, existing, units);
  deleteItem(table, key);
  table.writeUnits += units;
  return {
    ...(returnValues === 'ALL_OLD' && existing ? { Attributes: existing } : {}),
    ...consumed(input, table, units),
  };
}

const UPDATE_RETURN_VALUES = ['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'] as const;

export function updateItemOperation(lookup: TableLookup, region: string, input: Json): Json {
  refuseUnsupported(input);
  const table = tableOf(lookup, region, input);
  const key = requestKey(table, input);
  const attributes = expressionAttributes(input, ['UpdateExpression', 'ConditionExpression']);
  const updateText = optionalString(input, 'UpdateExpression');
  const actions = updateText === undefined ? [] : parseUpdate(updateText, attributes);
  const node = condition(input, attributes);
  attributes.checkAllUsed();
  for (const action of actions) {
    const name = action.path.elements[0];
    if (keyAttributes(table).some((attribute) => attribute.name === name)) {
      throw validation(
        `One or more parameter values were invalid: Cannot update attribute ${String(name)}. This attribute is part of the key`,
      );
    }
  }
  const returnValues = choice(input, 'ReturnValues', UPDATE_RETURN_VALUES, 'NONE');
  choice(input, 'ReturnValuesOnConditionCheckFailure', ON_FAILURE, 'NONE');
  const existing = getItem(table, key);
  checkCondition(input, table, node, existing, writeUnits(existing));
  // UpdateItem creates the item when it does not exist yet.
  const updated = applyUpdate(existing ?? cloneItem(key), actions);
  checkSize(updated);
  const units = writeUnits(existing, updated);
  putItem(table, updated);
  table.writeUnits += units;
  return {
    ...updateAnswer(returnValues, actions.length > 0 ? updatedAttributes(actions) : [], existing, updated),
    ...consumed(input, table, units),
  };
}

function updateAnswer(
  mode: (typeof UPDATE_RETURN_VALUES)[number],
  names: string[],
  before: Item | undefined,
  after: Item,
): Json {
  const pick = (item: Item | undefined) =>
    Object.fromEntries(
      names.filter((name) => item?.[name] !== undefined).map((name) => [name, item![name]!]),
    );
  let attributes: Item | undefined;
  if (mode === 'ALL_OLD') attributes = before;
  else if (mode === 'ALL_NEW') attributes = after;
  else if (mode === 'UPDATED_OLD') attributes = pick(before);
  else if (mode === 'UPDATED_NEW') attributes = pick(after);
  return attributes && Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
}
