// What to write instead: hints for the pools file's common mistakes, appended to the error that names them.
import { formatDuration } from './engine/format.js';

export const DURATION_KEYS = new Set([
  'idleTimeout',
  'bootTimeout',
  'minLifetime',
  'maxLifetime',
  'capacityTimeout',
]);
const LIST_KEYS = new Set(['labels', 'instanceTypes', 'subnets', 'repositories', 'windows']);
const COUNT_KEYS = new Set(['min', 'max', 'runnerGroupId']);

const UNIT_WORDS: [RegExp, string][] = [
  [/^(s|secs?|seconds?)$/i, 's'],
  [/^(m|mins?|minutes?)$/i, 'm'],
  [/^(h|hrs?|hours?)$/i, 'h'],
  [/^(d|days?)$/i, 'd'],
];

/** A duration written another way (`15`, `15 min`, `1.5h`, `1h30m`, `PT5M`, `5M`) as the file wants it. */
export function durationHint(input: unknown): string | undefined {
  if (typeof input === 'number' && Number.isFinite(input) && input >= 0) {
    if (input >= 1000 && input % 1000 === 0) {
      return `write ${formatDuration(input)} if ${input} meant milliseconds: a duration needs its unit`;
    }
    return `write ${input}m for minutes (or ${input}s, ${input}h): a duration needs its unit`;
  }
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  const iso = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/i.exec(text);
  const parts = iso
    ? [
        [iso[1], 'h'],
        [iso[2], 'm'],
        [iso[3], 's'],
      ].filter(([n]) => n !== undefined)
    : [...text.matchAll(/(\d+(?:\.\d+)?)\s*([A-Za-z]+)/g)].map((m) => [
        m[1],
        UNIT_WORDS.find(([word]) => word.test(m[2] as string))?.[1],
      ]);
  const unitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (parts.length === 0 || parts.some(([n, unit]) => n === undefined || unit === undefined)) {
    return /^\d+$/.test(text) ? `write ${text}m for minutes (or ${text}s, ${text}h)` : undefined;
  }
  const ms = parts.reduce((sum, [n, unit]) => sum + Number(n) * (unitMs[unit as string] as number), 0);
  if (!Number.isFinite(ms) || ms <= 0 || ms % 1000 !== 0) return undefined;
  const written = formatDuration(ms).replace(
    /^(\d+)m(\d+)s$/,
    (_all, m, s) => `${Number(m) * 60 + Number(s)}s`,
  );
  return /^\d+[smhd]$/.test(written) && written !== text ? `write ${written}` : undefined;
}

function listHint(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.trim() === '') return undefined;
  const items = input
    .split(/[,\s]+/)
    .map((item) => item.trim())
    .filter(Boolean);
  return `write a list: [${items.join(', ')}]`;
}

/** The option a value meant when it differs only in case or separators (`Spot`, `on_demand`, `JIT`). */
export function closeOption(input: unknown, options: readonly string[]): string | undefined {
  if (typeof input !== 'string') return undefined;
  const squash = (text: string) => text.toLowerCase().replace(/[-_\s]/g, '');
  return options.find((option) => squash(option) === squash(input) && option !== input);
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** The allowed key an unknown key most likely meant (`instanceType`, `boot_timeout`, `Min`). */
export function closeKey(key: string, allowed: string[]): string | undefined {
  const squash = (text: string) => text.toLowerCase().replace(/[-_\s]/g, '');
  const same = allowed.find((option) => squash(option) === squash(key));
  if (same) return same;
  const scored = allowed
    .map((option) => ({ option, d: distance(squash(key), squash(option)) }))
    .filter(({ d, option }) => d <= (option.length > 6 ? 2 : 1))
    .sort((a, b) => a.d - b.d);
  return scored[0]?.option;
}

/** A hint for a bad value at `path`, or undefined. */
export function valueHint(
  path: PropertyKey[],
  input: unknown,
  options: readonly string[] = [],
): string | undefined {
  const key = String(path.at(-1) ?? '');
  const parent = String(path.at(-2) ?? '');
  if (DURATION_KEYS.has(key)) return durationHint(input);
  if (LIST_KEYS.has(key) && typeof input === 'string') return listHint(input);
  if (COUNT_KEYS.has(key) && typeof input === 'string' && /^\s*\d+\s*$/.test(input))
    return `write ${input.trim()} without quotes`;
  const option = closeOption(input, options);
  if (option) return `write ${option}`;
  if (typeof input !== 'string') return undefined;
  const zone = /^([a-z]{2}(?:-[a-z]+)+-\d)[a-z]$/.exec(input);
  if (key === 'region' && zone) return `${input} is an availability zone: write its region ${zone[1]}`;
  if (
    (key === 'repositories' || parent === 'repositories' || key === 'repository') &&
    /^[\w.-]+$/.test(input)
  )
    return `write <owner>/${input}`;
  if (parent === 'instanceTypes' && input !== input.toLowerCase() && /^[a-z0-9.-]+$/i.test(input))
    return `write ${input.toLowerCase()}`;
  return undefined;
}
