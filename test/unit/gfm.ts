// Markdown as GitHub renders it (GFM tables, alerts), reduced to its structure for tests: headings, paragraphs,
// alert blocks, tables (cells as text), fenced code blocks. Rendered by marked and marked-alert.
import { Marked, type Token, type Tokens } from 'marked';
import markedAlert from 'marked-alert';

export interface Rendered {
  /** Block tokens in order, by type (alerts as `alert:caution`…). */
  blocks: string[];
  headings: string[];
  paragraphs: string[];
  alerts: { variant: string; text: string }[];
  /** Blockquotes that are not alerts (a malformed alert would land here). */
  quotes: string[];
  tables: { header: string[]; rows: string[][]; after?: string }[];
  code: { lang: string; text: string }[];
  html: string;
}

export function renderGfm(markdown: string): Rendered {
  const marked = new Marked(markedAlert(), { gfm: true });
  const tokens = marked.lexer(markdown);
  marked.walkTokens(tokens, marked.defaults.walkTokens ?? (() => {}));
  const rendered: Rendered = {
    blocks: [],
    headings: [],
    paragraphs: [],
    alerts: [],
    quotes: [],
    tables: [],
    code: [],
    html: marked.parse(markdown) as string,
  };
  let lastHeading: string | undefined;
  for (const token of tokens as Token[]) {
    if (token.type === 'space') continue;
    const variant = (token as { meta?: { variant?: string } }).meta?.variant;
    rendered.blocks.push(token.type === 'alert' ? `alert:${variant}` : token.type);
    if (token.type === 'heading') {
      lastHeading = (token as Tokens.Heading).text;
      rendered.headings.push(lastHeading);
    } else if (token.type === 'paragraph') rendered.paragraphs.push((token as Tokens.Paragraph).text);
    else if (token.type === 'alert') rendered.alerts.push({ variant: variant ?? '', text: token.raw });
    else if (token.type === 'blockquote') rendered.quotes.push(token.raw);
    else if (token.type === 'table') {
      const t = token as Tokens.Table;
      rendered.tables.push({
        header: t.header.map((c) => c.text),
        rows: t.rows.map((r) => r.map((c) => c.text)),
        ...(lastHeading ? { after: lastHeading } : {}),
      });
    } else if (token.type === 'code') {
      const c = token as Tokens.Code;
      rendered.code.push({ lang: c.lang ?? '', text: c.text });
    }
  }
  return rendered;
}

/** The table that follows a heading. */
export function tableAfter(rendered: Rendered, heading: string) {
  return rendered.tables.find((t) => t.after === heading);
}

/** Checks a mermaid xychart: as many values in each series as categories on the x axis. */
export function xychartShape(text: string): { categories: number; bars: number[]; lines: number[] } {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines[0] !== 'xychart-beta') throw new Error(`not an xychart: ${lines[0]}`);
  const list = (prefix: string) => {
    const line = lines.find((l) => l.startsWith(prefix));
    const inner = line ? /\[(.*)\]/.exec(line)?.[1] : undefined;
    return inner === undefined ? [] : inner.split(',').map((s) => s.trim());
  };
  return {
    categories: list('x-axis').length,
    bars: list('bar').map(Number),
    lines: list('line').map(Number),
  };
}
