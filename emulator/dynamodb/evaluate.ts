// Evaluates parsed expressions against an item: conditions to true/false, updates to a new item.
import { validation } from './errors.js';
import type {
  ConditionNode,
  Operand,
  PathElement,
  PathNode,
  UpdateAction,
  UpdateValue,
} from './expressions.js';
import {
  addNumbers,
  cloneItem,
  compareValues,
  setElementEqual,
  typeOf,
  valuesEqual,
  type AttributeValue,
  type Item,
} from './values.js';

export function resolvePath(item: Item | undefined, elements: PathElement[]): AttributeValue | undefined {
  let current: AttributeValue | undefined = item ? { M: item } : undefined;
  for (const element of elements) {
    if (current === undefined) return undefined;
    if (typeof element === 'number') current = current.L?.[element];
    else current = current.M && Object.hasOwn(current.M, element) ? current.M[element] : undefined;
  }
  return current;
}

function sizeOf(value: AttributeValue): number | undefined {
  switch (typeOf(value)) {
    case 'S':
      return [...value.S!].length;
    case 'B':
      return Buffer.from(value.B!, 'base64').length;
    case 'SS':
    case 'NS':
    case 'BS':
      return (value.SS ?? value.NS ?? value.BS)!.length;
    case 'L':
      return value.L!.length;
    case 'M':
      return Object.keys(value.M!).length;
    default:
      return undefined;
  }
}

function operandValue(item: Item | undefined, operand: Operand): AttributeValue | undefined {
  if (operand.kind === 'value') return operand.value;
  if (operand.kind === 'path') return resolvePath(item, operand.elements);
  const target = resolvePath(item, operand.path.elements);
  const size = target === undefined ? undefined : sizeOf(target);
  return size === undefined ? undefined : { N: String(size) };
}

function compare(op: string, left: AttributeValue | undefined, right: AttributeValue | undefined): boolean {
  if (op === '=') return left !== undefined && right !== undefined && valuesEqual(left, right);
  if (op === '<>') return left === undefined || right === undefined || !valuesEqual(left, right);
  if (left === undefined || right === undefined) return false;
  const order = compareValues(left, right);
  if (order === undefined) return false;
  if (op === '<') return order < 0;
  if (op === '<=') return order <= 0;
  if (op === '>') return order > 0;
  return order >= 0;
}

function contains(container: AttributeValue | undefined, element: AttributeValue | undefined): boolean {
  if (container === undefined || element === undefined) return false;
  const type = typeOf(container);
  if (type === 'S') return element.S !== undefined && container.S!.includes(element.S);
  if (type === 'SS' || type === 'NS' || type === 'BS') {
    const single = type === 'SS' ? element.S : type === 'NS' ? element.N : element.B;
    return single !== undefined && container[type]!.some((member) => setElementEqual(type, member, single));
  }
  if (type === 'L') return container.L!.some((member) => valuesEqual(member, element));
  return false;
}

function beginsWith(value: AttributeValue | undefined, prefix: AttributeValue | undefined): boolean {
  if (value === undefined || prefix === undefined) return false;
  if (value.S !== undefined && prefix.S !== undefined) return value.S.startsWith(prefix.S);
  if (value.B !== undefined && prefix.B !== undefined) {
    return Buffer.from(value.B, 'base64')
      .subarray(0, Buffer.from(prefix.B, 'base64').length)
      .equals(Buffer.from(prefix.B, 'base64'));
  }
  return false;
}

export function evaluateCondition(node: ConditionNode, item: Item | undefined): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateCondition(node.left, item) && evaluateCondition(node.right, item);
    case 'or':
      return evaluateCondition(node.left, item) || evaluateCondition(node.right, item);
    case 'not':
      return !evaluateCondition(node.operand, item);
    case 'compare':
      return compare(node.op, operandValue(item, node.left), operandValue(item, node.right));
    case 'between': {
      const value = operandValue(item, node.operand);
      return (
        compare('>=', value, operandValue(item, node.low)) &&
        compare('<=', value, operandValue(item, node.high))
      );
    }
    case 'in': {
      const value = operandValue(item, node.operand);
      return node.list.some((candidate) => compare('=', value, operandValue(item, candidate)));
    }
    case 'function':
      return evaluateFunction(node.name, node.args, item);
  }
}

function evaluateFunction(name: string, args: Operand[], item: Item | undefined): boolean {
  const first = operandValue(item, args[0]!);
  const second = args[1] ? operandValue(item, args[1]) : undefined;
  switch (name) {
    case 'attribute_exists':
      return first !== undefined;
    case 'attribute_not_exists':
      return first === undefined;
    case 'attribute_type':
      return first !== undefined && second?.S === typeOf(first);
    case 'begins_with':
      return beginsWith(first, second);
    default:
      return contains(first, second);
  }
}

// ---- updates ----

const MISSING_ATTRIBUTE = 'The provided expression refers to an attribute that does not exist in the item';
const WRONG_TYPE = 'An operand in the update expression has an incorrect data type';
const INVALID_PATH = 'The document path provided in the update expression is invalid for update';

function updateValue(item: Item | undefined, value: UpdateValue): AttributeValue {
  switch (value.kind) {
    case 'value':
      return value.value;
    case 'path': {
      const found = resolvePath(item, value.elements);
      if (found === undefined) throw validation(MISSING_ATTRIBUTE);
      return found;
    }
    case 'if_not_exists':
      return resolvePath(item, value.path.elements) ?? updateValue(item, value.fallback);
    case 'list_append': {
      const left = updateValue(item, value.left);
      const right = updateValue(item, value.right);
      if (left.L === undefined || right.L === undefined) throw validation(WRONG_TYPE);
      return { L: [...left.L, ...right.L] };
    }
    case 'plus':
    case 'minus': {
      const left = updateValue(item, value.left);
      const right = updateValue(item, value.right);
      if (left.N === undefined || right.N === undefined) throw validation(WRONG_TYPE);
      return { N: addNumbers(left.N, right.N, value.kind === 'minus') };
    }
  }
}

/** The container a path's last element lives in; undefined when a parent along the path is missing. */
function parentOf(root: AttributeValue, path: PathNode): AttributeValue | undefined {
  let current: AttributeValue | undefined = root;
  for (const element of path.elements.slice(0, -1)) {
    if (current === undefined) return undefined;
    current = typeof element === 'number' ? current.L?.[element] : current.M?.[element];
  }
  return current;
}

function setAt(root: AttributeValue, path: PathNode, value: AttributeValue): void {
  const parent = parentOf(root, path);
  const last = path.elements.at(-1)!;
  if (typeof last === 'number') {
    if (parent?.L === undefined) throw validation(INVALID_PATH);
    // Past the end appends, as DynamoDB does.
    if (last >= parent.L.length) parent.L.push(value);
    else parent.L[last] = value;
    return;
  }
  if (parent?.M === undefined) throw validation(INVALID_PATH);
  parent.M[last] = value;
}

function removeAt(root: AttributeValue, path: PathNode): void {
  const parent = parentOf(root, path);
  const last = path.elements.at(-1)!;
  if (typeof last === 'number') {
    if (parent?.L && last < parent.L.length) parent.L.splice(last, 1);
  } else if (parent?.M) delete parent.M[last];
}

function addTo(
  existing: AttributeValue | undefined,
  value: AttributeValue,
  remove: boolean,
): AttributeValue | undefined {
  const type = typeOf(value);
  if (type === 'N' && !remove) {
    if (existing !== undefined && existing.N === undefined) throw validation(WRONG_TYPE);
    return { N: addNumbers(existing?.N ?? '0', value.N!) };
  }
  const setType = type as 'SS' | 'NS' | 'BS';
  if (existing !== undefined && existing[setType] === undefined) throw validation(WRONG_TYPE);
  const current = existing?.[setType] ?? [];
  const given = value[setType]!;
  const result = remove
    ? current.filter((member) => !given.some((other) => setElementEqual(setType, member, other)))
    : [
        ...current,
        ...given.filter((other) => !current.some((member) => setElementEqual(setType, member, other))),
      ];
  return result.length === 0 ? undefined : { [setType]: result };
}

/** Applies an update to (a copy of) the item; every operand is read from the item as it was before. */
export function applyUpdate(item: Item, actions: UpdateAction[]): Item {
  const values = actions.map((action) =>
    action.kind === 'set' ? updateValue(item, action.value) : undefined,
  );
  const root: AttributeValue = { M: cloneItem(item) };
  actions.forEach((action, index) => {
    if (action.kind === 'set') setAt(root, action.path, cloneItem(values[index]!));
    else if (action.kind === 'remove') removeAt(root, action.path);
    else {
      const result = addTo(
        resolvePath(root.M, action.path.elements),
        action.value.value,
        action.kind === 'delete',
      );
      if (result === undefined) removeAt(root, action.path);
      else setAt(root, action.path, result);
    }
  });
  return root.M!;
}
