// DynamoDB attribute values: validation as DynamoDB does it, numbers as exact decimals (38 digits),
// ordering (strings and binaries by their bytes), sizes.
import { validation } from './errors.js';

export type ScalarType = 'S' | 'N' | 'B';
export type ValueType = ScalarType | 'BOOL' | 'NULL' | 'SS' | 'NS' | 'BS' | 'L' | 'M';

export interface AttributeValue {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  SS?: string[];
  NS?: string[];
  BS?: string[];
  L?: AttributeValue[];
  M?: Record<string, AttributeValue>;
}

export type Item = Record<string, AttributeValue>;

const TYPES: readonly ValueType[] = ['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M'];
const MAX_DIGITS = 38;
const MAX_EXPONENT = 125;
const MIN_EXPONENT = -130;

export function typeOf(value: AttributeValue): ValueType {
  for (const type of TYPES) if (value[type] !== undefined) return type;
  throw new Error('attribute value without a type');
}

// ---- numbers ----

/** sign * digits * 10^exponent, with digits free of trailing zeros (0 is digits 0, exponent 0). */
export interface Decimal {
  negative: boolean;
  digits: bigint;
  exponent: number;
}

const NUMBER_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export function parseNumber(text: string): Decimal {
  const match = NUMBER_PATTERN.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw validation(`The parameter cannot be converted to a numeric value: ${text}`);
  }
  const [, sign, whole = '', fraction = '', exponentText = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  let exponent = Number(exponentText) - fraction.length;
  if (digits === '') return { negative: false, digits: 0n, exponent: 0 };
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  if (digits.length > MAX_DIGITS)
    throw validation('Attempting to store more than 38 significant digits in a Number');
  const magnitude = exponent + digits.length - 1;
  if (magnitude > MAX_EXPONENT) {
    throw validation(
      'Number overflow. Attempting to store a number with magnitude larger than supported range',
    );
  }
  if (magnitude < MIN_EXPONENT) {
    throw validation(
      'Number underflow. Attempting to store a number with magnitude smaller than supported range',
    );
  }
  return { negative: sign === '-', digits: BigInt(digits), exponent };
}

export function formatNumber(value: Decimal): string {
  if (value.digits === 0n) return '0';
  const digits = value.digits.toString();
  const sign = value.negative ? '-' : '';
  if (value.exponent >= 0) return `${sign}${digits}${'0'.repeat(value.exponent)}`;
  const point = digits.length + value.exponent;
  if (point > 0) return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${sign}0.${'0'.repeat(-point)}${digits}`;
}

/** The canonical form DynamoDB answers with ("1.50" is "1.5", "1e3" is "1000"). */
export function normalizeNumber(text: string): string {
  return formatNumber(parseNumber(text));
}

function scaled(value: Decimal, exponent: number): bigint {
  const magnitude = value.digits * 10n ** BigInt(value.exponent - exponent);
  return value.negative ? -magnitude : magnitude;
}

export function compareNumbers(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  const exponent = Math.min(x.exponent, y.exponent);
  const difference = scaled(x, exponent) - scaled(y, exponent);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

export function addNumbers(a: string, b: string, subtract = false): string {
  const x = parseNumber(a);
  const y = parseNumber(b);
  const exponent = Math.min(x.exponent, y.exponent);
  const sum = scaled(x, exponent) + (subtract ? -1n : 1n) * scaled(y, exponent);
  const negative = sum < 0n;
  return normalizeNumber(`${negative ? '-' : ''}${(negative ? -sum : sum).toString()}e${exponent}`);
}

// ---- validation ----

/** Checks one value from a request and returns it with its numbers in canonical form. */
export function checkValue(raw: unknown): AttributeValue {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  }
  const value = raw as Record<string, unknown>;
  const present = TYPES.filter((type) => value[type] !== undefined && value[type] !== null);
  if (present.length === 0) {
    throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  }
  if (present.length > 1) {
    throw validation(
      'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
    );
  }
  return checkTyped(present[0]!, value[present[0]!]);
}

function checkTyped(type: ValueType, content: unknown): AttributeValue {
  const wrong = () => validation(`Supplied AttributeValue has an invalid ${type} value`);
  switch (type) {
    case 'S':
    case 'B':
      if (typeof content !== 'string') throw wrong();
      return { [type]: content };
    case 'N':
      if (typeof content !== 'string') throw wrong();
      return { N: normalizeNumber(content) };
    case 'BOOL':
      if (typeof content !== 'boolean') throw wrong();
      return { BOOL: content };
    case 'NULL':
      if (content !== true) {
        throw validation(
          'One or more parameter values were invalid: Null attribute value types must have the value of true',
        );
      }
      return { NULL: true };
    case 'SS':
    case 'NS':
    case 'BS':
      return checkSet(type, content);
    case 'L':
      if (!Array.isArray(content)) throw wrong();
      return { L: content.map(checkValue) };
    case 'M':
      if (content === null || typeof content !== 'object' || Array.isArray(content)) throw wrong();
      return { M: checkItem(content) };
  }
}

function checkSet(type: 'SS' | 'NS' | 'BS', content: unknown): AttributeValue {
  if (!Array.isArray(content) || content.some((element) => typeof element !== 'string')) {
    throw validation(`Supplied AttributeValue has an invalid ${type} value`);
  }
  if (content.length === 0) {
    throw validation(
      `One or more parameter values were invalid: An ${type === 'NS' ? 'number' : type === 'SS' ? 'string' : 'binary'} set  may not be empty`,
    );
  }
  const elements = type === 'NS' ? (content as string[]).map(normalizeNumber) : (content as string[]);
  if (new Set(elements).size !== elements.length) {
    throw validation(
      `One or more parameter values were invalid: Input collection [${elements.join(', ')}] contains duplicates.`,
    );
  }
  return { [type]: elements };
}

export function checkItem(raw: unknown): Item {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw validation('Supplied item must be a map of attribute values');
  }
  const item: Item = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) item[name] = checkValue(value);
  return item;
}

// ---- comparison ----

function bytes(value: AttributeValue, type: 'S' | 'B'): Buffer {
  return type === 'S' ? Buffer.from(value.S!, 'utf8') : Buffer.from(value.B!, 'base64');
}

/** Orders two values of the same scalar type as DynamoDB does; undefined when they cannot be ordered. */
export function compareValues(a: AttributeValue, b: AttributeValue): number | undefined {
  const type = typeOf(a);
  if (type !== typeOf(b)) return undefined;
  if (type === 'N') return compareNumbers(a.N!, b.N!);
  if (type === 'S' || type === 'B') return Buffer.compare(bytes(a, type), bytes(b, type));
  return undefined;
}

export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  const type = typeOf(a);
  if (type !== typeOf(b)) return false;
  switch (type) {
    case 'N':
      return compareNumbers(a.N!, b.N!) === 0;
    case 'SS':
    case 'BS':
    case 'NS': {
      const left = a[type]!;
      const right = b[type]!;
      return (
        left.length === right.length &&
        left.every((element) => right.some((other) => setElementEqual(type, element, other)))
      );
    }
    case 'L':
      return (
        a.L!.length === b.L!.length && a.L!.every((element, index) => valuesEqual(element, b.L![index]!))
      );
    case 'M': {
      const keys = Object.keys(a.M!);
      return (
        keys.length === Object.keys(b.M!).length &&
        keys.every((key) => b.M![key] !== undefined && valuesEqual(a.M![key]!, b.M![key]!))
      );
    }
    default:
      return JSON.stringify(a) === JSON.stringify(b);
  }
}

export function setElementEqual(type: 'SS' | 'NS' | 'BS', a: string, b: string): boolean {
  return type === 'NS' ? compareNumbers(a, b) === 0 : a === b;
}

// ---- sizes ----

/** A value's size in bytes as DynamoDB counts it against the 400 KB item and 1 MB page limits. */
export function valueSize(value: AttributeValue): number {
  switch (typeOf(value)) {
    case 'S':
      return Buffer.byteLength(value.S!, 'utf8');
    case 'B':
      return Buffer.from(value.B!, 'base64').length;
    case 'N':
      return numberSize(value.N!);
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return value.SS!.reduce((sum, element) => sum + Buffer.byteLength(element, 'utf8'), 0);
    case 'NS':
      return value.NS!.reduce((sum, element) => sum + numberSize(element), 0);
    case 'BS':
      return value.BS!.reduce((sum, element) => sum + Buffer.from(element, 'base64').length, 0);
    case 'L':
      return 3 + value.L!.reduce((sum, element) => sum + 1 + valueSize(element), 0);
    case 'M':
      return 3 + itemSize(value.M!) + Object.keys(value.M!).length;
  }
}

function numberSize(text: string): number {
  const digits = parseNumber(text).digits.toString().length;
  return Math.ceil(digits / 2) + 1;
}

export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item))
    size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  return size;
}

// ---- views ----

export type PlainValue =
  string | number | boolean | null | PlainValue[] | { [key: string]: PlainValue } | Set<string | number>;

/** A value as plain JavaScript (numbers as numbers), for tests and views. */
export function toPlain(value: AttributeValue): PlainValue {
  switch (typeOf(value)) {
    case 'S':
      return value.S!;
    case 'B':
      return value.B!;
    case 'N':
      return Number(value.N!);
    case 'BOOL':
      return value.BOOL!;
    case 'NULL':
      return null;
    case 'SS':
      return new Set(value.SS!);
    case 'BS':
      return new Set(value.BS!);
    case 'NS':
      return new Set(value.NS!.map(Number));
    case 'L':
      return value.L!.map(toPlain);
    case 'M':
      return plainItem(value.M!);
  }
}

export function plainItem(item: Item): Record<string, PlainValue> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, toPlain(value)]));
}

export function cloneItem<T>(item: T): T {
  return structuredClone(item);
}
