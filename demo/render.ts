// Renders a job summary (GitHub-flavoured markdown) readably in a terminal.

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

function renderTable(rows: string[][], maxWidth = 60): string[] {
  const widths =
    rows[0]?.map((_, i) => Math.min(maxWidth, Math.max(...rows.map((r) => (r[i] ?? '').length)))) ?? [];
  const fit = (text: string, width: number) =>
    text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
  const line = (r: string[]) => `  ${r.map((c, i) => fit(c, widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [
    bold(line(rows[0] ?? [])),
    `  ${widths.map((w) => '─'.repeat(w)).join('  ')}`,
    ...rows.slice(1).map(line),
  ];
}

export function renderMarkdown(markdown: string): string {
  const out: string[] = [];
  let table: string[][] = [];
  const flush = () => {
    if (table.length) out.push(...renderTable(table));
    table = [];
  };
  for (const raw of markdown.split('\n')) {
    if (raw.startsWith('|')) {
      if (!/^\|(\s*---\s*\|)+$/.test(raw.trim())) table.push(cells(raw));
      continue;
    }
    flush();
    const heading = /^(#+)\s+(.*)$/.exec(raw);
    if (heading) out.push(bold(heading[1]?.length === 2 ? `━━ ${heading[2]} ━━` : `▸ ${heading[2]}`));
    else out.push(raw.replace(/\*\*(.*?)\*\*/g, (_, t: string) => bold(t)).replace(/`([^`]*)`/g, '$1'));
  }
  flush();
  return out.join('\n');
}
