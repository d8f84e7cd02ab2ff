// README.md agrees with action.yml, the reusable workflows, the action's messages and the repository.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TROUBLESHOOTING } from '../../src/report/troubleshooting.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

interface Input {
  required?: boolean;
  default?: unknown;
  type?: string;
}

const action = parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, Input>;
  outputs: Record<string, unknown>;
};

/** The rows (cells, trimmed) of the first table after `heading`. */
function table(heading: string): string[][] {
  const lines = readme.split('\n');
  const start = lines.indexOf(heading);
  expect(start, `README has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('|'))
      rows.push(
        line
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim()),
      );
    else if (rows.length > 0) break;
    else if (line.startsWith('#')) break;
  }
  return rows.slice(2); // header and separator
}

/** `name` → name. */
const code = (cell: string) => /^`([^`]+)`$/.exec(cell)?.[1] ?? cell;

function sourceText(dir: string): string {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(path.join(ROOT, dir, f), 'utf8'))
    .join('\n');
}

describe('README.md', () => {
  it('keeps the two quickstart commands', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
  });

  it("lists exactly action.yml's inputs, with their defaults", () => {
    const rows = table('### Inputs');
    expect(rows.map((r) => code(r[0] as string))).toEqual(Object.keys(action.inputs));
    for (const [cell, defaultCell] of rows) {
      const input = action.inputs[code(cell as string)] as Input;
      const expected = input.required ? '(required)' : input.default ? `\`${String(input.default)}\`` : '';
      expect(defaultCell, cell).toBe(expected);
    }
  });

  it("lists exactly action.yml's outputs", () => {
    expect(table('### Outputs').map((r) => code(r[0] as string))).toEqual(Object.keys(action.outputs));
  });

  it('lists the five modes', () => {
    expect(table('## Modes').map((r) => code(r[0] as string))).toEqual([
      'scale-up',
      'scale-down',
      'reconcile',
      'drain',
      'listen',
    ]);
  });

  it("lists exactly the reusable workflows' inputs, with types, defaults and the workflows that take them", () => {
    const workflows = ['reconcile', 'scale-up', 'drain'].map((name) => {
      const file = `.github/workflows/${name}.yml`;
      const on = (parse(readFileSync(path.join(ROOT, file), 'utf8')) as { on: Record<string, unknown> }).on;
      return { name, inputs: (on.workflow_call as { inputs: Record<string, Input> }).inputs };
    });
    const rows = table('## The reusable workflows');
    const names = new Set(workflows.flatMap((w) => Object.keys(w.inputs)));
    expect(rows.map((r) => code(r[0] as string)).sort()).toEqual([...names].sort());
    for (const [cell, type, defaultCell, takers] of rows) {
      const name = code(cell as string);
      const having = workflows.filter((w) => name in w.inputs);
      expect(takers, name).toBe(
        having.length === workflows.length ? 'all' : having.map((w) => `\`${w.name}\``).join(', '),
      );
      const input = having[0]?.inputs[name] as Input;
      expect(type, name).toBe(input.type);
      const expected = input.required
        ? '(required)'
        : input.default !== ''
          ? `\`${String(input.default)}\``
          : '';
      expect(defaultCell, name).toBe(expected);
    }
  });

  it("quotes the action's own messages in Troubleshooting", () => {
    const source = sourceText('src');
    const rows = table('## Troubleshooting');
    expect(rows.length).toBeGreaterThan(10);
    for (const [cell] of rows) {
      const message = /^`(.*)`$/.exec(cell as string)?.[1];
      expect(message, cell).toBeDefined();
      // `…` stands for what the message fills in, and its parts are joined by ': '. Each part is in src/,
      // or comes from the API: an HTTP status or an AWS error code.
      const fragments = (message as string)
        .split(/…|: /)
        .map((f) => f.trim())
        .filter((f) => f.length >= 8);
      expect(fragments.length, cell).toBeGreaterThan(0);
      for (const fragment of fragments) {
        const fromApi = /^HTTP \d{3}$|^[A-Z][A-Za-z.]+(Exception|Error|Operation)\b/.test(fragment);
        expect(source.includes(fragment) || fromApi, `"${fragment}" is not in src/`).toBe(true);
      }
    }
  });

  it('has a Troubleshooting row for every trouble the job summary links to', () => {
    const section = readme.slice(readme.indexOf('## Troubleshooting'), readme.indexOf('Other symptoms:'));
    for (const anchor of Object.values(TROUBLESHOOTING)) {
      expect(section, anchor).toMatch(new RegExp(`^\\| \`[^\n]*\\| <a id="${anchor}"></a>`, 'm'));
    }
  });

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)|^\[[^\]]+\]:\s*(\S+)/gm)]
      .map((m) => m[1] ?? m[3] ?? '')
      .filter((target) => target && !/^[a-z]+:/.test(target));
    expect(links.length).toBeGreaterThan(10);
    const missing = links.filter((target) => !existsSync(path.join(ROOT, target)));
    expect(missing).toEqual([]);
  });

  it('links to sections that exist', () => {
    const anchors = new Set(
      [...readme.matchAll(/^#+ (.+)$/gm)].map((m) =>
        (m[1] as string)
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const targets = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((t) => !anchors.has(t))).toEqual([]);
  });
});
