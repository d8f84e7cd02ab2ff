import { describe, expect, it } from 'vitest';
import { applyUpdate, evaluateCondition } from '../../emulator/dynamodb/evaluate.js';
import {
  ExpressionAttributes,
  parseCondition,
  parseUpdate,
  tokenize,
} from '../../emulator/dynamodb/expressions.js';
import {
  addNumbers,
  checkItem,
  checkValue,
  compareNumbers,
  normalizeNumber,
  plainItem,
  type AttributeValue,
  type Item,
} from '../../emulator/dynamodb/values.js';

/** Placeholder values used across the tables below (checked as a request's would be). */
const VALUES: Record<string, AttributeValue> = {
  ':zero': { N: '0' },
  ':one': { N: '1' },
  ':two': { N: '2' },
  ':four': { N: '4' },
  ':five': { N: '5.0' },
  ':six': { N: '6' },
  ':ten': { N: '10' },
  ':hello': { S: 'hello' },
  ':ell': { S: 'ell' },
  ':launch': { S: 'launch#' },
  ':a': { S: 'a' },
  ':typeN': { S: 'N' },
  ':list': { L: [{ S: 'z' }] },
  ':setC': { SS: ['c'] },
  ':setA': { SS: ['a'] },
  ':setAB': { SS: ['a', 'b'] },
};

const ITEM: Item = checkItem({
  pk: { S: 'env' },
  sk: { S: 'launch#a' },
  n: { N: '5' },
  s: { S: 'hello' },
  l: { L: [{ S: 'a' }, { N: '1' }] },
  m: { M: { x: { N: '1' } } },
  ss: { SS: ['a', 'b'] },
  flag: { BOOL: true },
});

/** Attributes holding only the placeholders an expression uses, so that no test trips the unused check. */
function attributesFor(text: string, names: Record<string, string> = {}): ExpressionAttributes {
  const values = Object.fromEntries(
    Object.entries(VALUES)
      .filter(([token]) => new RegExp(`${token}(?![A-Za-z0-9_])`).test(text))
      .map(([token, value]) => [token, checkValue(value)]),
  );
  return new ExpressionAttributes(names, values);
}

function condition(text: string, item: Item | null = ITEM, names?: Record<string, string>): boolean {
  const attributes = attributesFor(text, names);
  const node = parseCondition(text, attributes);
  attributes.checkAllUsed();
  return evaluateCondition(node, item ?? undefined);
}

describe('condition expressions', () => {
  it.each([
    ['attribute_exists(n)', true],
    ['attribute_exists(nope)', false],
    ['attribute_not_exists(nope)', true],
    ['n = :five', true],
    ['n <> :six', true],
    ['nope <> :six', true],
    ['nope = :six', false],
    ['n < :six', true],
    ['n <= :five', true],
    ['n > :four', true],
    ['n > :five', false],
    ['n >= :five', true],
    ['s = :five', false],
    ['s < :five', false],
    ['s = :hello', true],
    ['begins_with(sk, :launch)', true],
    ['begins_with(s, :launch)', false],
    ['contains(s, :ell)', true],
    ['contains(ss, :a)', true],
    ['contains(l, :a)', true],
    ['contains(nope, :a)', false],
    ['size(s) = :five', true],
    ['size(l) = :two', true],
    ['size(m) = :one', true],
    ['size(nope) = :zero', false],
    ['size(n) = :one', false],
    ['n BETWEEN :four AND :six', true],
    ['n BETWEEN :six AND :ten', false],
    ['n IN (:one, :five)', true],
    ['n IN (:one, :two)', false],
    ['attribute_type(n, :typeN)', true],
    ['m.x = :one', true],
    ['l[1] = :one', true],
    ['l[5] = :one', false],
    ['NOT attribute_exists(n)', false],
    ['not attribute_exists(nope)', true],
    ['attribute_exists(n) AND attribute_exists(nope)', false],
    ['attribute_exists(n) and attribute_exists(s)', true],
    ['attribute_exists(nope) OR attribute_exists(n)', true],
    ['attribute_exists(n) OR attribute_exists(x) AND attribute_exists(y)', true],
    ['(attribute_exists(n) OR attribute_exists(x)) AND attribute_exists(y)', false],
    ['NOT (attribute_exists(nope) OR n = :one)', true],
  ])('%s is %s', (text, expected) => {
    expect(condition(text)).toBe(expected);
  });

  it('resolves names through ExpressionAttributeNames, reserved words included', () => {
    expect(
      condition(
        '#count = :five AND #s.#x = :one',
        { ...ITEM, s: ITEM.m! },
        { '#count': 'n', '#s': 's', '#x': 'x' },
      ),
    ).toBe(true);
    expect(condition('#ttl < :six', { ttl: { N: '5' } }, { '#ttl': 'ttl' })).toBe(true);
  });

  it('evaluates against a missing item as DynamoDB does', () => {
    expect(condition('attribute_not_exists(pk)', null)).toBe(true);
    expect(condition('n <> :one', null)).toBe(true);
    expect(condition('n = :one', null)).toBe(false);
  });

  it('compares numbers exactly and strings by their bytes', () => {
    const item = checkItem({ big: { N: '12345678901234567890123456789012345678' }, s: { S: 'é' } });
    const attributes = new ExpressionAttributes(
      {},
      { ':big': { N: '12345678901234567890123456789012345677' }, ':z': { S: 'z' } },
    );
    const node = parseCondition('big > :big AND s > :z', attributes);
    expect(evaluateCondition(node, item)).toBe(true);
  });
});

describe('update expressions', () => {
  it.each<[string, Record<string, unknown>]>([
    ['SET a = :hello', { a: 'hello' }],
    ['SET n = n + :one', { n: 6 }],
    ['SET n = n - :ten', { n: -5 }],
    ['SET c = if_not_exists(c, :zero) + :one', { c: 1 }],
    ['SET n = if_not_exists(n, :zero) + :one', { n: 6 }],
    ['SET l = list_append(l, :list)', { l: ['a', 1, 'z'] }],
    ['SET l = list_append(:list, l)', { l: ['z', 'a', 1] }],
    ['SET l[5] = :hello', { l: ['a', 1, 'hello'] }],
    ['SET l[0] = :hello', { l: ['hello', 1] }],
    ['SET m.y = :two', { m: { x: 1, y: 2 } }],
    ['SET a = n, n = :one', { a: 5, n: 1 }],
    ['REMOVE s, m.x', { s: undefined, m: {} }],
    ['REMOVE l[0]', { l: [1] }],
    ['ADD n :one', { n: 6 }],
    ['ADD fresh :one', { fresh: 1 }],
    ['ADD ss :setC', { ss: new Set(['a', 'b', 'c']) }],
    ['DELETE ss :setA', { ss: new Set(['b']) }],
    ['DELETE ss :setAB', { ss: undefined }],
    ['SET a = :one REMOVE s ADD n :one', { a: 1, s: undefined, n: 6 }],
    ['remove s set a = :one', { a: 1, s: undefined }],
  ])('%s', (text, changes) => {
    const attributes = attributesFor(text);
    const actions = parseUpdate(text, attributes);
    attributes.checkAllUsed();
    const updated = plainItem(applyUpdate(ITEM, actions));
    for (const [name, value] of Object.entries(changes)) expect(updated[name]).toEqual(value);
    // The item given is left alone.
    expect(ITEM.n).toEqual({ N: '5' });
  });

  it.each([
    ['SET a = nope + :one', 'The provided expression refers to an attribute that does not exist in the item'],
    ['SET s = s + :one', 'An operand in the update expression has an incorrect data type'],
    ['ADD s :one', 'An operand in the update expression has an incorrect data type'],
    ['SET l = list_append(l, s)', 'An operand in the update expression has an incorrect data type'],
    ['SET m.y.z = :one', 'The document path provided in the update expression is invalid for update'],
  ])('%s fails when applied: %s', (text, message) => {
    const actions = parseUpdate(text, attributesFor(text));
    expect(() => applyUpdate(ITEM, actions)).toThrow(message);
  });
});

describe('expression errors', () => {
  const conditionErrors: [string, Record<string, string>, string][] = [
    ['', {}, 'Invalid ConditionExpression: The expression can not be empty;'],
    ['  ', {}, 'Invalid ConditionExpression: The expression can not be empty;'],
    ['a =', {}, 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "="'],
    ['a = :one AND', {}, 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"'],
    ['a = :one :two', {}, 'Invalid ConditionExpression: Syntax error; token: ":two", near: ":one :two"'],
    ['a', {}, 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "a"'],
    ['a $ b', {}, 'Invalid ConditionExpression: Syntax error; token: "$", near: "a $"'],
    ['(a = :one', {}, 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ":one"'],
    ['#nope = :one AND', {}, 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"'],
    [
      '#nope = :one',
      {},
      'Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope',
    ],
    [
      'a = :nope',
      {},
      'Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope',
    ],
    [
      'count = :one',
      {},
      'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: count',
    ],
    [
      'a.ttl = :one',
      {},
      'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: ttl',
    ],
    ['foo(a)', {}, 'Invalid ConditionExpression: Invalid function name; function: foo'],
    [
      'begins_with(a)',
      {},
      'Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1',
    ],
    [
      'attribute_exists(:one)',
      {},
      'Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists',
    ],
    [
      'begins_with(a, :one)',
      {},
      'Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N',
    ],
    [
      'begins_with(a, :a) = :one',
      {},
      'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: begins_with',
    ],
  ];
  it.each(conditionErrors)('condition %j: %s', (text, names, message) => {
    expect(() => parseCondition(text, attributesFor(text, names))).toThrow(message);
  });

  const updateErrors: [string, string][] = [
    [
      'SET a = :one SET b = :two',
      'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;',
    ],
    [
      'SET a = :one, a = :two',
      'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]',
    ],
    [
      'SET a = :one REMOVE a.b',
      'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]',
    ],
    ['SET l[0] = :one REMOVE l[0]', 'path one: [l, [0]], path two: [l, [0]]'],
    [
      'ADD a :hello',
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING',
    ],
    [
      'DELETE a :one',
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER',
    ],
    [
      'SET a = :hello + :one',
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S',
    ],
    [
      'SET a = list_append(:hello, l)',
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S',
    ],
    ['SET a = other_fn(a, :one)', 'Invalid UpdateExpression: Invalid function name; function: other_fn'],
    ['SET a', 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "a"'],
    ['UPDATE a = :one', 'Invalid UpdateExpression: Syntax error; token: "UPDATE", near: "UPDATE"'],
    ['SET a = :one b = :two', 'Invalid UpdateExpression: Syntax error; token: "b", near: ":one b"'],
    [
      'SET data = :one',
      'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: data',
    ],
    ['', 'Invalid UpdateExpression: The expression can not be empty;'],
  ];
  it.each(updateErrors)('update %j: %s', (text, message) => {
    expect(() => parseUpdate(text, attributesFor(text))).toThrow(message);
  });

  it('reports the placeholders no expression of the request used, names first', () => {
    const names = new ExpressionAttributes(
      { '#a': 'a', '#b': 'b', '#c': 'c' },
      { ':x': { N: '1' }, ':y': { N: '2' } },
    );
    parseCondition('#a = :x', names);
    parseUpdate('SET #c = :x', names);
    expect(() => names.checkAllUsed()).toThrow(
      'Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}',
    );
    const values = new ExpressionAttributes({}, { ':x': { N: '1' }, ':y': { N: '2' }, ':z': { N: '3' } });
    parseCondition('a = :x', values);
    expect(() => values.checkAllUsed()).toThrow(
      'Value provided in ExpressionAttributeValues unused in expressions: keys: {:y, :z}',
    );
  });

  it('tokenizes placeholders, names, indexes and two-character operators', () => {
    const tokens = tokenize('#a.b[10] <> :v_1 AND x>=y', () => {
      throw new Error('unexpected');
    });
    expect(tokens.map((token) => `${token.kind}:${token.text}`)).toEqual([
      'attrName:#a',
      'punct:.',
      'name:b',
      'punct:[',
      'index:10',
      'punct:]',
      'punct:<>',
      'attrValue::v_1',
      'name:AND',
      'name:x',
      'punct:>=',
      'name:y',
      'eof:<EOF>',
    ]);
  });
});

describe('numbers', () => {
  it.each([
    ['1.50', '1.5'],
    ['1e3', '1000'],
    ['-0', '0'],
    ['0.000', '0'],
    ['.5', '0.5'],
    ['-1.25e-2', '-0.0125'],
    ['00012', '12'],
    ['+7', '7'],
    ['1E+2', '100'],
  ])('%s is stored as %s', (input, stored) => {
    expect(normalizeNumber(input)).toBe(stored);
  });

  it.each([
    ['abc', 'The parameter cannot be converted to a numeric value: abc'],
    ['', 'The parameter cannot be converted to a numeric value: '],
    ['1e', 'The parameter cannot be converted to a numeric value: 1e'],
    ['--1', 'The parameter cannot be converted to a numeric value: --1'],
    [' 1', 'The parameter cannot be converted to a numeric value:  1'],
    ['1'.repeat(39), 'Attempting to store more than 38 significant digits in a Number'],
    ['1e126', 'Number overflow. Attempting to store a number with magnitude larger than supported range'],
    ['1e-131', 'Number underflow. Attempting to store a number with magnitude smaller than supported range'],
  ])('%j is refused: %s', (input, message) => {
    expect(() => normalizeNumber(input)).toThrow(message);
  });

  it('adds and compares exactly', () => {
    expect(addNumbers('0.1', '0.2')).toBe('0.3');
    expect(addNumbers('1700000000000', '60000')).toBe('1700000060000');
    expect(addNumbers('5', '7', true)).toBe('-2');
    expect(addNumbers('1764504000', '0.5', true)).toBe('1764503999.5');
    expect(compareNumbers('10', '9')).toBe(1);
    expect(compareNumbers('-1', '-2')).toBe(1);
    expect(compareNumbers('1.0', '1')).toBe(0);
    expect(compareNumbers('0.001', '0.01')).toBe(-1);
  });
});
