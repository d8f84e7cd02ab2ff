// GitHub-flavoured markdown pieces for the job summary: table cells, tables, alert blocks, code spans, charts.

/** Rows listed one by one; beyond this a table counts them, so the summary stays far under the 1 MiB limit. */
export const MAX_ROWS = 100;

/** Text safe in a table cell: no pipe ends the cell, no newline ends the row. */
export const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/**
 * An API error as the summary shows it: without the API's documentation root that Octokit appends to every GitHub
 * error (" - https://docs.github.com/rest"), which says nothing about this error; the summary links the fix instead.
 */
export const plainError = (text: string) => text.replace(/ - https:\/\/docs\.github\.com\/rest\S*/g, '');

/** A code span of any text (a backtick inside would end it). */
export const code = (text: string) => `\`${text.replace(/`/g, "'").replace(/\r?\n/g, ' ')}\``;

export function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** Rows of a long list: the first MAX_ROWS, then a line counting the rest by kind. */
export function limited<T>(
  items: T[],
  row: (item: T) => string[],
  kind: (item: T) => string,
): { rows: string[][]; rest: string } {
  const rest = items.slice(MAX_ROWS);
  const byKind = new Map<string, number>();
  for (const item of rest) byKind.set(kind(item), (byKind.get(kind(item)) ?? 0) + 1);
  const text = [...byKind].map(([k, n]) => `${n} × ${k}`).join(', ');
  return {
    rows: items.slice(0, MAX_ROWS).map(row),
    rest: rest.length ? `… and ${rest.length} more: ${text}` : '',
  };
}

/** A GitHub alert block: `> [!CAUTION]` or `> [!WARNING]`, one quoted line per entry. */
export function alert(kind: 'CAUTION' | 'WARNING' | 'NOTE', lines: string[]): string[] {
  const body = lines.flatMap((line) => line.split(/\r?\n/)).filter((line) => line.trim() !== '');
  // Two trailing spaces keep the lines apart in one paragraph (a hard break).
  return [`> [!${kind}]`, ...body.map((line, i) => `> ${line}${i < body.length - 1 ? '  ' : ''}`), ''];
}

/** Up to `max` items joined with commas, then how many more. */
export function some(items: string[], max = 5): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/**
 * A mermaid bar chart (xychart-beta): one bar per category with the counts after the run, and the counts before
 * as a line, so that the change reads at a glance.
 */
export function barChart(title: string, categories: string[], after: number[], before: number[]): string[] {
  const quote = (text: string) => `"${text.replace(/"/g, "'")}"`;
  const top = Math.max(1, ...after, ...before);
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${quote(title)}`,
    `  x-axis [${categories.map(quote).join(', ')}]`,
    `  y-axis "count" 0 --> ${top}`,
    `  bar [${after.join(', ')}]`,
    `  line [${before.join(', ')}]`,
    '```',
  ];
}
