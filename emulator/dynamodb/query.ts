// Query: one partition, an optional sort-key condition, in sort-key order (or reversed), paged by Limit
// and by 1 MB of items read (before the filter), ExclusiveStartKey / LastEvaluatedKey.
import { validation } from './errors.js';
import { evaluateCondition } from './evaluate.js';
import { parseCondition, type ConditionNode, type Operand } from './expressions.js';
import { consumed, readUnits, type TableLookup } from './items.js';
import {
  choice,
  expressionAttributes,
  optionalBoolean,
  optionalInteger,
  optionalString,
  refuseUnsupported,
  required,
  type Json,
} from './requests.js';
import { keyAttributes, keyOf, partitionItems, type KeyAttribute, type Table } from './tables.js';
import { checkItem, compareValues, itemSize, typeOf, type AttributeValue, type Item } from './values.js';

export const MAX_PAGE_BYTES = 1024 * 1024;

interface KeyCondition {
  partition: AttributeValue;
  /** Keeps the items whose sort key satisfies the condition (all of them when none was given). */
  sort: ConditionNode | undefined;
}

function keyName(operand: Operand): string | undefined {
  if (operand.kind !== 'path') return undefined;
  if (operand.elements.length > 1)
    throw validation('KeyConditionExpressions cannot have conditions on nested attributes');
  return String(operand.elements[0]);
}

function checkKeyValue(attribute: KeyAttribute, operand: Operand): AttributeValue {
  if (operand.kind !== 'value')
    throw validation(
      'Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition',
    );
  if (typeOf(operand.value) !== attribute.type) {
    throw validation(
      'One or more parameter values were invalid: Condition parameter type does not match schema type',
    );
  }
  return operand.value;
}

/** Splits `pk = :v [AND <sort key condition>]` into its parts, refusing what DynamoDB refuses. */
function keyCondition(table: Table, node: ConditionNode): KeyCondition {
  const parts = node.kind === 'and' ? [node.left, node.right] : [node];
  if (parts.some((part) => part.kind === 'and'))
    throw validation('KeyConditionExpressions must only contain one condition per key');
  let partition: AttributeValue | undefined;
  let sort: ConditionNode | undefined;
  for (const given of parts) {
    const part = keyFirst(given);
    if (
      part.kind === 'or' ||
      part.kind === 'not' ||
      part.kind === 'in' ||
      (part.kind === 'compare' && part.op === '<>')
    ) {
      throw validation(
        `Invalid operator used in KeyConditionExpression: ${part.kind === 'compare' ? '<>' : part.kind.toUpperCase()}`,
      );
    }
    if (part.kind === 'function' && part.name !== 'begins_with') {
      throw validation(`Invalid operator used in KeyConditionExpression: ${part.name}`);
    }
    const first =
      part.kind === 'compare'
        ? part.left
        : part.kind === 'between'
          ? part.operand
          : part.kind === 'function'
            ? part.args[0]!
            : undefined;
    const name = first ? keyName(first) : undefined;
    if (name === undefined)
      throw validation('Invalid condition in KeyConditionExpression: No key attribute specified');
    if (name === table.partitionKey.name) {
      if (partition !== undefined)
        throw validation('KeyConditionExpressions must only contain one condition per key');
      if (part.kind !== 'compare' || part.op !== '=') throw validation('Query key condition not supported');
      partition = checkKeyValue(table.partitionKey, part.right);
    } else if (table.sortKey && name === table.sortKey.name) {
      if (sort !== undefined)
        throw validation('KeyConditionExpressions must only contain one condition per key');
      checkSortOperands(table.sortKey, part);
      sort = part;
    } else {
      throw validation('Query key condition not supported');
    }
  }
  if (partition === undefined)
    throw validation(`Query condition missed key schema element: ${table.partitionKey.name}`);
  return { partition, sort };
}

const FLIPPED: Record<string, '=' | '<' | '<=' | '>' | '>='> = {
  '=': '=',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};

/** `:v <= sk` reads as `sk >= :v`, as DynamoDB accepts it. */
function keyFirst(part: ConditionNode): ConditionNode {
  if (
    part.kind === 'compare' &&
    part.left.kind === 'value' &&
    part.right.kind === 'path' &&
    FLIPPED[part.op]
  ) {
    return { kind: 'compare', op: FLIPPED[part.op]!, left: part.right, right: part.left };
  }
  return part;
}

function checkSortOperands(sortKey: KeyAttribute, part: ConditionNode): void {
  if (part.kind === 'compare') checkKeyValue(sortKey, part.right);
  else if (part.kind === 'between') {
    checkKeyValue(sortKey, part.low);
    checkKeyValue(sortKey, part.high);
    if (
      (compareValues(
        (part.low as { value: AttributeValue }).value,
        (part.high as { value: AttributeValue }).value,
      ) ?? 0) > 0
    ) {
      throw validation(
        'Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound',
      );
    }
  } else if (part.kind === 'function') {
    if (sortKey.type === 'N')
      throw validation(
        'Invalid condition in KeyConditionExpression: begins_with operator is not supported on a number key',
      );
    checkKeyValue(sortKey, part.args[1]!);
  }
}

function startPosition(table: Table, items: Item[], raw: unknown, forward: boolean): number {
  if (raw === undefined || raw === null) return 0;
  const start = checkItem(raw);
  const names = keyAttributes(table).map((attribute) => attribute.name);
  if (Object.keys(start).length !== names.length || names.some((name) => start[name] === undefined)) {
    throw validation(
      'The provided starting key is invalid: The provided key element does not match the schema',
    );
  }
  if (!table.sortKey) return items.length;
  const sortName = table.sortKey.name;
  const after = (item: Item) =>
    (compareValues(item[sortName]!, start[sortName]!) ?? 0) * (forward ? 1 : -1) > 0;
  const index = items.findIndex(after);
  return index < 0 ? items.length : index;
}

export function queryOperation(
  lookup: TableLookup,
  region: string,
  input: Json,
  pageBytes = MAX_PAGE_BYTES,
): Json {
  refuseUnsupported(input, ['IndexName', 'ProjectionExpression']);
  const table = lookup.table(region, required(optionalString(input, 'TableName'), 'TableName'));
  const attributes = expressionAttributes(input, ['KeyConditionExpression', 'FilterExpression']);
  const keyText = optionalString(input, 'KeyConditionExpression');
  if (keyText === undefined)
    throw validation(
      'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
    );
  const key = keyCondition(table, parseCondition(keyText, attributes, 'KeyCondition'));
  const filterText = optionalString(input, 'FilterExpression');
  const filter = filterText === undefined ? undefined : parseCondition(filterText, attributes, 'Filter');
  attributes.checkAllUsed();
  const limit = optionalInteger(input, 'Limit', 1);
  const forward = optionalBoolean(input, 'ScanIndexForward') ?? true;
  const select = choice(input, 'Select', ['ALL_ATTRIBUTES', 'COUNT'], 'ALL_ATTRIBUTES');
  const consistent = optionalBoolean(input, 'ConsistentRead') ?? false;

  const ordered = partitionItems(table, key.partition).filter(
    (item) => !key.sort || evaluateCondition(key.sort, item),
  );
  const items = forward ? ordered : [...ordered].reverse();
  const page: Item[] = [];
  let bytes = 0;
  let index = startPosition(table, items, input.ExclusiveStartKey, forward);
  let last: Item | undefined;
  for (; index < items.length; index++) {
    if ((limit !== undefined && page.length >= limit) || bytes >= pageBytes) break;
    const item = items[index]!;
    page.push(item);
    bytes += itemSize(item);
    last = item;
  }
  const more = index < items.length || (limit !== undefined && page.length >= limit);
  const matched = filter ? page.filter((item) => evaluateCondition(filter, item)) : page;
  const units = readUnits(bytes, consistent);
  table.readUnits += units;
  return {
    ...(select === 'COUNT' ? {} : { Items: matched }),
    Count: matched.length,
    ScannedCount: page.length,
    ...(more && last ? { LastEvaluatedKey: keyOf(table, last) } : {}),
    ...consumed(input, table, units),
  };
}
