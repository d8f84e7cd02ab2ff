// A parser for the DynamoDB expression subset: condition (and key condition, filter) expressions and
// update expressions, with ExpressionAttributeNames/Values. Errors read as DynamoDB's: a syntax error
// stops at once; a semantic one (an undefined placeholder, a reserved word, a wrong operand) is reported
// once the whole expression parsed, as DynamoDB checks the syntax first.
import { validation } from './errors.js';
import { isReservedWord } from './reserved-words.js';
import { typeOf, type AttributeValue, type ValueType } from './values.js';

export type PathElement = string | number;
export interface PathNode {
  kind: 'path';
  elements: PathElement[];
}
export interface ValueNode {
  kind: 'value';
  value: AttributeValue;
}
export interface SizeNode {
  kind: 'size';
  path: PathNode;
}
export type Operand = PathNode | ValueNode | SizeNode;
export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type ConditionFunction =
  'attribute_exists' | 'attribute_not_exists' | 'attribute_type' | 'begins_with' | 'contains';

export type ConditionNode =
  | { kind: 'compare'; op: Comparator; left: Operand; right: Operand }
  | { kind: 'between'; operand: Operand; low: Operand; high: Operand }
  | { kind: 'in'; operand: Operand; list: Operand[] }
  | { kind: 'function'; name: ConditionFunction; args: Operand[] }
  | { kind: 'and' | 'or'; left: ConditionNode; right: ConditionNode }
  | { kind: 'not'; operand: ConditionNode };

export type UpdateValue =
  | PathNode
  | ValueNode
  | { kind: 'if_not_exists'; path: PathNode; fallback: UpdateValue }
  | { kind: 'list_append'; left: UpdateValue; right: UpdateValue }
  | { kind: 'plus' | 'minus'; left: UpdateValue; right: UpdateValue };

export type UpdateAction =
  | { kind: 'set'; path: PathNode; value: UpdateValue }
  | { kind: 'remove'; path: PathNode }
  | { kind: 'add' | 'delete'; path: PathNode; value: ValueNode };

export type ExpressionKind = 'Condition' | 'KeyCondition' | 'Filter' | 'Update';

const CONDITION_FUNCTIONS: Record<ConditionFunction, number> = {
  attribute_exists: 1,
  attribute_not_exists: 1,
  attribute_type: 2,
  begins_with: 2,
  contains: 2,
};
const COMPARATORS: readonly string[] = ['=', '<>', '<', '<=', '>', '>='];
const UPDATE_SECTIONS = ['SET', 'REMOVE', 'ADD', 'DELETE'] as const;
const OPERAND_TYPE_NAMES: Partial<Record<ValueType, string>> = {
  S: 'STRING',
  N: 'NUMBER',
  B: 'BINARY',
  NULL: 'NULL',
  BOOL: 'BOOLEAN',
  L: 'LIST',
  M: 'MAP',
};

/** The request's ExpressionAttributeNames/Values, shared by its expressions, with what they used. */
export class ExpressionAttributes {
  private readonly usedNames = new Set<string>();
  private readonly usedValues = new Set<string>();

  constructor(
    private readonly names: Record<string, string> = {},
    private readonly values: Record<string, AttributeValue> = {},
  ) {}

  name(token: string): string | undefined {
    const resolved = Object.hasOwn(this.names, token) ? this.names[token] : undefined;
    if (resolved !== undefined) this.usedNames.add(token);
    return resolved;
  }

  value(token: string): AttributeValue | undefined {
    const resolved = Object.hasOwn(this.values, token) ? this.values[token] : undefined;
    if (resolved !== undefined) this.usedValues.add(token);
    return resolved;
  }

  /** DynamoDB refuses placeholders no expression of the request used. */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names).filter((token) => !this.usedNames.has(token));
    if (unusedNames.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`,
      );
    }
    const unusedValues = Object.keys(this.values).filter((token) => !this.usedValues.has(token));
    if (unusedValues.length > 0) {
      throw validation(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`,
      );
    }
  }
}

interface Token {
  kind: 'name' | 'attrName' | 'attrValue' | 'index' | 'punct' | 'eof';
  text: string;
  start: number;
}

/** One token, after optional whitespace (used as a template: each tokenize() compiles its own). */
const TOKEN_GRAMMAR =
  /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(<>|<=|>=|[=<>()[\],.+-])|(\S))/;

export function tokenize(text: string, fail: (token: Token, previous: Token | undefined) => never): Token[] {
  const tokens: Token[] = [];
  // A sticky pattern of its own: its lastIndex is this call's cursor.
  const pattern = new RegExp(TOKEN_GRAMMAR.source, 'y');
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text))) {
    const start = match.index + match[0].length - match[0].trimStart().length;
    const kinds: Token['kind'][] = ['attrName', 'attrValue', 'name', 'index', 'punct'];
    const group = [1, 2, 3, 4, 5].findIndex((index) => match![index] !== undefined);
    const token: Token = { kind: group >= 0 ? kinds[group]! : 'punct', text: match[0].trim(), start };
    if (group < 0 && match[6] !== undefined) fail(token, tokens.at(-1));
    if (token.text !== '') tokens.push(token);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', start: text.length });
  return tokens;
}

/** DynamoDB names the offending token and quotes the source from the token before it. */
function syntaxError(text: string, token: Token, previous: Token | undefined): never {
  const from = previous ? previous.start : token.start;
  const to = token.kind === 'eof' ? text.length : token.start + token.text.length;
  throw new ExpressionError(`Syntax error; token: "${token.text}", near: "${text.slice(from, to)}"`);
}

function pathText(path: PathNode): string {
  return `[${path.elements.map((element) => (typeof element === 'number' ? `[${element}]` : element)).join(', ')}]`;
}

/** Recursive descent over one expression's tokens. */
class Parser {
  private readonly tokens: Token[];
  private position = 0;
  private deferred: string | undefined;

  constructor(
    private readonly text: string,
    private readonly attributes: ExpressionAttributes,
  ) {
    this.tokens = tokenize(text, (token, previous) => syntaxError(text, token, previous));
  }

  private get current(): Token {
    return this.tokens[this.position]!;
  }

  /** A syntax error at `token` (default: the current one). */
  fail(token: Token = this.current): never {
    const index = this.tokens.indexOf(token);
    return syntaxError(this.text, token, index > 0 ? this.tokens[index - 1] : undefined);
  }

  /** Keeps the first semantic error; it is raised once the syntax is known to be right. */
  defer(message: string): void {
    this.deferred ??= message;
  }

  finish<T>(result: T): T {
    if (this.current.kind !== 'eof') this.fail();
    if (this.deferred !== undefined) throw new ExpressionError(this.deferred);
    return result;
  }

  next(): Token {
    const token = this.current;
    if (token.kind !== 'eof') this.position++;
    return token;
  }

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.position + offset, this.tokens.length - 1)]!;
  }

  isKeyword(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'name' && token.text.toUpperCase() === word;
  }

  accept(text: string): boolean {
    if (this.current.kind === 'punct' && this.current.text === text) {
      this.position++;
      return true;
    }
    return false;
  }

  expect(text: string): void {
    if (!this.accept(text)) this.fail();
  }

  expectKeyword(word: string): void {
    if (!this.isKeyword(word)) this.fail();
    this.position++;
  }

  path(): PathNode {
    const elements: PathElement[] = [this.pathName()];
    for (;;) {
      if (this.accept('.')) elements.push(this.pathName());
      else if (this.accept('[')) {
        const index = this.next();
        if (index.kind !== 'index') this.fail(index);
        elements.push(Number(index.text));
        this.expect(']');
      } else return { kind: 'path', elements };
    }
  }

  private pathName(): string {
    const token = this.next();
    if (token.kind === 'attrName') {
      const name = this.attributes.name(token.text);
      if (name === undefined) {
        this.defer(
          `An expression attribute name used in the document path is not defined; attribute name: ${token.text}`,
        );
      }
      return name ?? token.text;
    }
    if (token.kind !== 'name') this.fail(token);
    if (isReservedWord(token.text))
      this.defer(`Attribute name is a reserved keyword; reserved keyword: ${token.text}`);
    return token.text;
  }

  valueNode(): ValueNode {
    const token = this.next();
    if (token.kind !== 'attrValue') this.fail(token);
    const value = this.attributes.value(token.text);
    if (value === undefined) {
      this.defer(
        `An expression attribute value used in expression is not defined; attribute value: ${token.text}`,
      );
    }
    return { kind: 'value', value: value ?? { NULL: true } };
  }
}

export class ExpressionError extends Error {}

// ---- conditions ----

function orCondition(parser: Parser): ConditionNode {
  let left = andCondition(parser);
  while (parser.isKeyword('OR')) {
    parser.next();
    left = { kind: 'or', left, right: andCondition(parser) };
  }
  return left;
}

function andCondition(parser: Parser): ConditionNode {
  let left = notCondition(parser);
  while (parser.isKeyword('AND')) {
    parser.next();
    left = { kind: 'and', left, right: notCondition(parser) };
  }
  return left;
}

function notCondition(parser: Parser): ConditionNode {
  if (parser.isKeyword('NOT')) {
    parser.next();
    return { kind: 'not', operand: notCondition(parser) };
  }
  if (parser.accept('(')) {
    const inner = orCondition(parser);
    parser.expect(')');
    return inner;
  }
  const token = parser.peek();
  if (token.kind === 'name' && parser.peek(1).text === '(' && token.text !== 'size')
    return functionCondition(parser);
  return comparison(parser);
}

function functionCondition(parser: Parser): ConditionNode {
  const name = parser.next().text;
  parser.expect('(');
  const args: Operand[] = [operand(parser)];
  while (parser.accept(',')) args.push(operand(parser));
  parser.expect(')');
  if (!Object.hasOwn(CONDITION_FUNCTIONS, name)) {
    parser.defer(`Invalid function name; function: ${name}`);
    return { kind: 'function', name: 'attribute_exists', args };
  }
  const fn = name as ConditionFunction;
  if (args.length !== CONDITION_FUNCTIONS[fn]) {
    parser.defer(
      `Incorrect number of operands for operator or function; operator or function: ${fn}, number of operands: ${args.length}`,
    );
  } else if (args[0]!.kind !== 'path' && fn !== 'contains') {
    parser.defer(`Operator or function requires a document path; operator or function: ${fn}`);
  }
  if (fn === 'begins_with' && args[1]?.kind === 'value') {
    const type = typeOf(args[1].value);
    if (type !== 'S' && type !== 'B') {
      parser.defer(
        `Incorrect operand type for operator or function; operator or function: begins_with, operand type: ${type}`,
      );
    }
  }
  if (parser.peek().kind === 'punct' && COMPARATORS.includes(parser.peek().text)) {
    // A condition function compared like a value: DynamoDB parses the comparison, then refuses it.
    parser.defer(`The function is not allowed to be used this way in an expression; function: ${fn}`);
    parser.next();
    operand(parser);
  }
  return { kind: 'function', name: fn, args };
}

function comparison(parser: Parser): ConditionNode {
  const left = operand(parser);
  const token = parser.peek();
  if (token.kind === 'punct' && COMPARATORS.includes(token.text)) {
    parser.next();
    return { kind: 'compare', op: token.text as Comparator, left, right: operand(parser) };
  }
  if (parser.isKeyword('BETWEEN')) {
    parser.next();
    const low = operand(parser);
    parser.expectKeyword('AND');
    return { kind: 'between', operand: left, low, high: operand(parser) };
  }
  if (parser.isKeyword('IN')) {
    parser.next();
    parser.expect('(');
    const list: Operand[] = [operand(parser)];
    while (parser.accept(',')) list.push(operand(parser));
    parser.expect(')');
    return { kind: 'in', operand: left, list };
  }
  return parser.fail();
}

function operand(parser: Parser): Operand {
  const token = parser.peek();
  if (token.kind === 'attrValue') return parser.valueNode();
  if (token.kind === 'name' && token.text === 'size' && parser.peek(1).text === '(') {
    parser.next();
    parser.expect('(');
    const inner = parser.peek().kind === 'attrValue' ? parser.valueNode() : parser.path();
    parser.expect(')');
    if (inner.kind !== 'path') {
      parser.defer('Operator or function requires a document path; operator or function: size');
      return { kind: 'value', value: inner.value };
    }
    return { kind: 'size', path: inner };
  }
  if (token.kind === 'name' && parser.peek(1).text === '(') {
    parser.defer(`The function is not allowed to be used this way in an expression; function: ${token.text}`);
    functionCondition(parser);
    return { kind: 'value', value: { NULL: true } };
  }
  return parser.path();
}

function checkNotEmpty(text: string): void {
  if (text.trim() === '') throw new ExpressionError('The expression can not be empty;');
}

function parse<T>(kind: ExpressionKind, text: string, run: () => T): T {
  try {
    checkNotEmpty(text);
    return run();
  } catch (error) {
    if (error instanceof ExpressionError) throw validation(`Invalid ${kind}Expression: ${error.message}`);
    throw error;
  }
}

export function parseCondition(
  text: string,
  attributes: ExpressionAttributes,
  kind: Exclude<ExpressionKind, 'Update'> = 'Condition',
): ConditionNode {
  return parse(kind, text, () => {
    const parser = new Parser(text, attributes);
    return parser.finish(orCondition(parser));
  });
}

// ---- updates ----

function updateOperand(parser: Parser): UpdateValue {
  const token = parser.peek();
  if (token.kind === 'attrValue') return parser.valueNode();
  if (token.kind === 'name' && parser.peek(1).text === '(') {
    const name = parser.next().text;
    parser.expect('(');
    const first = name === 'if_not_exists' ? parser.path() : updateOperand(parser);
    parser.expect(',');
    const second = updateOperand(parser);
    parser.expect(')');
    if (name === 'if_not_exists') return { kind: 'if_not_exists', path: first as PathNode, fallback: second };
    if (name === 'list_append') {
      for (const argument of [first, second]) checkLiteralType(parser, argument, 'list_append', 'L');
      return { kind: 'list_append', left: first, right: second };
    }
    parser.defer(`Invalid function name; function: ${name}`);
    return first;
  }
  return parser.path();
}

function checkLiteralType(parser: Parser, value: UpdateValue, operator: string, expected: ValueType): void {
  if (value.kind !== 'value') return;
  const type = typeOf(value.value);
  if (type !== expected) {
    parser.defer(
      `Incorrect operand type for operator or function; operator or function: ${operator}, operand type: ${type}`,
    );
  }
}

function setValue(parser: Parser): UpdateValue {
  const left = updateOperand(parser);
  for (const [symbol, kind] of [
    ['+', 'plus'],
    ['-', 'minus'],
  ] as const) {
    if (parser.accept(symbol)) {
      const right = updateOperand(parser);
      for (const argument of [left, right]) checkLiteralType(parser, argument, symbol, 'N');
      return { kind, left, right };
    }
  }
  return left;
}

function sectionAction(parser: Parser, section: (typeof UPDATE_SECTIONS)[number]): UpdateAction {
  const path = parser.path();
  if (section === 'SET') {
    parser.expect('=');
    return { kind: 'set', path, value: setValue(parser) };
  }
  if (section === 'REMOVE') return { kind: 'remove', path };
  const value = parser.valueNode();
  const type = typeOf(value.value);
  const allowed: ValueType[] = section === 'ADD' ? ['N', 'SS', 'NS', 'BS'] : ['SS', 'NS', 'BS'];
  if (!allowed.includes(type)) {
    parser.defer(
      `Incorrect operand type for operator or function; operator: ${section}, operand type: ${OPERAND_TYPE_NAMES[type] ?? type}`,
    );
  }
  return { kind: section === 'ADD' ? 'add' : 'delete', path, value };
}

function checkOverlaps(parser: Parser, actions: UpdateAction[]): void {
  for (let i = 0; i < actions.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = actions[j]!.path.elements;
      const b = actions[i]!.path.elements;
      const shared = Math.min(a.length, b.length);
      if (a.slice(0, shared).every((element, index) => element === b[index])) {
        parser.defer(
          `Two document paths overlap with each other; must remove or rewrite one of these paths; path one: ${pathText(actions[j]!.path)}, path two: ${pathText(actions[i]!.path)}`,
        );
      }
    }
  }
}

export function parseUpdate(text: string, attributes: ExpressionAttributes): UpdateAction[] {
  return parse('Update', text, () => {
    const parser = new Parser(text, attributes);
    const actions: UpdateAction[] = [];
    const seen = new Set<string>();
    do {
      const section = UPDATE_SECTIONS.find((word) => parser.isKeyword(word));
      if (!section) return parser.fail();
      parser.next();
      if (seen.has(section))
        parser.defer(`The "${section}" section can only be used once in an update expression;`);
      seen.add(section);
      actions.push(sectionAction(parser, section));
      while (parser.accept(',')) actions.push(sectionAction(parser, section));
    } while (parser.peek().kind !== 'eof');
    checkOverlaps(parser, actions);
    return parser.finish(actions);
  });
}

/** Top-level attribute names an update writes or removes (for UPDATED_OLD / UPDATED_NEW). */
export function updatedAttributes(actions: UpdateAction[]): string[] {
  return [...new Set(actions.map((action) => String(action.path.elements[0])))];
}

export { pathText };
