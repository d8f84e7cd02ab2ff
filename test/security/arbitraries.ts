// fast-check generators of hostile values, shared by the bad-input property tests.
import fc from 'fast-check';

/** An object with `key` as an own property, even for `__proto__` (plain assignment would set the prototype). */
export function ownProperties(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** Keys that have broken parsers before: prototype keys, empty, blank, odd characters, very long. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '',
    ' ',
    'a b',
    'a,b',
    'ünïcödé',
    '💥',
    'x'.repeat(300),
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\t',
    '\n',
    '__proto__',
    'constructor',
    'a,b',
    'a b',
    '💥',
    'ünïcödé',
    'null',
    'true',
    '1e309',
    '-1',
    '0x10',
    '~',
    '*a',
    '&a',
    '!!binary',
    '${{ secrets.TOKEN }}',
    "'; DROP TABLE runners; --",
    '../../etc/passwd',
  ),
  fc.string({ unit: 'grapheme', minLength: 250, maxLength: 320 }),
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    0.5,
    1.5,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 63),
    1e21,
    1e308,
    Number.MAX_VALUE,
    1e-300,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
  ),
);

/** A list nested `depth` levels deep. */
export function nested(depth: number, leaf: unknown = 'x'): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

export const prototypePollution: fc.Arbitrary<unknown> = fc.constantFrom(
  ownProperties([['__proto__', { polluted: 'yes', events: [], workflow_job: {} }]]),
  ownProperties([['constructor', { prototype: { polluted: 'yes' } }]]),
  ownProperties([
    ['__proto__', { polluted: 'yes' }],
    ['prototype', { polluted: 'yes' }],
  ]),
);

/** JSON-compatible junk: wrong types, huge and negative numbers, odd strings, prototype keys, deep nesting. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    prototypePollution,
    fc.integer({ min: 20, max: 300 }).map((depth) => nested(depth)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(ownProperties),
  ),
})).value;

/** Every path to a node of a JSON value (objects and arrays), the root included. */
export function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const paths: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...pathsOf(item, [...prefix, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  }
  return paths;
}

/** A deep copy of `value` with the node at `path` replaced (the root when the path is empty). */
export function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  Object.defineProperty(node, last, {
    value: replacement,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

/** Own keys of Object.prototype (and their values' types), to prove nothing was added to it. */
export function prototypeSnapshot(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(',');
}

/** An error a parser must never let escape: a crash rather than a message about the input. */
export function isCrash(error: unknown): boolean {
  return (
    !(error instanceof Error) ||
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError
  );
}
