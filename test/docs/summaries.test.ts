// docs/summaries.md: real job summaries of dist/index.js against the emulator. The scenarios run again here; the
// committed file must have the structure they produce now (alerts, tables, charts, status), and say what each
// scenario is for.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSummaries, SUMMARIES_FILE } from '../../scripts/summaries.js';
import { renderGfm, xychartShape } from '../unit/gfm.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const committed = readFileSync(SUMMARIES_FILE, 'utf8');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Each scenario's summary reduced to what must not drift: status, alerts, tables, charts. */
function structure(markdown: string) {
  const sections = markdown.split(/^## /m).slice(1);
  return sections.map((section) => {
    const title = section.slice(0, section.indexOf('\n'));
    const gfm = renderGfm(section);
    return {
      title,
      status: /^(🟢 OK|🟡 Warnings|🔴 Failed) · runner-scaler: /.exec(gfm.headings[0] ?? '')?.[1],
      alerts: gfm.alerts.map((a) => `${a.variant}: ${/#(ts-[a-z-]+)/.exec(a.text)?.[1] ?? '?'}`),
      quotes: gfm.quotes.length,
      tables: gfm.tables.map((t) => `${t.after}: ${t.header.join(', ')}`),
      charts: gfm.code.filter((c) => c.lang === 'mermaid').map((c) => xychartShape(c.text).categories),
    };
  });
}

let fresh: string;

beforeAll(async () => {
  fresh = await generateSummaries();
}, 120_000);

describe('docs/summaries.md', () => {
  it('has the structure the scenarios produce now (run `npm run summaries` when this fails)', () => {
    expect(structure(committed)).toEqual(structure(fresh));
  });

  it('shows a normal run, a failure, a read failure, a drain and a burst, each as it should read', () => {
    const byTitle = Object.fromEntries(structure(fresh).map((s) => [s.title, s]));
    expect(Object.keys(byTitle)).toEqual([
      'A normal run',
      'A failure',
      'A read failure',
      'A drain',
      'A burst',
    ]);
    expect(byTitle['A normal run']).toMatchObject({
      status: '🟡 Warnings',
      alerts: ['warning: ts-unserved-jobs'],
    });
    expect(byTitle['A failure']).toMatchObject({
      status: '🔴 Failed',
      alerts: ['caution: ts-launch-denied', 'caution: ts-aws-denied'],
    });
    expect(byTitle['A read failure']).toMatchObject({
      status: '🔴 Failed',
      alerts: ['caution: ts-aws-denied', 'caution: ts-repository'],
    });
    expect(byTitle['A drain']).toMatchObject({ status: '🟢 OK', alerts: [] });
    expect(byTitle['A burst']).toMatchObject({ status: '🟡 Warnings', alerts: ['warning: ts-capacity'] });
    for (const s of Object.values(byTitle)) {
      expect(s.quotes, s.title).toBe(0);
      expect(s.tables[0], s.title).toBe('Pools: pool, min, queued, booting, idle, busy, dead, total');
      expect(s.charts, s.title).toEqual([5]);
    }
  });

  it('links the README rows that exist, and never the API docs root', () => {
    const anchors = [...committed.matchAll(/\]\(\.\.\/README\.md#([\w-]+)\)/g)].map((m) => m[1]);
    expect(anchors.length).toBeGreaterThan(4);
    for (const anchor of anchors) expect(readme).toContain(`<a id="${anchor}"></a>`);
    expect(committed).not.toContain('https://docs.github.com/rest');
  });
});
