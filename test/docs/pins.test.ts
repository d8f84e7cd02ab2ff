// Every third-party action in the project's workflows, the examples and the docs is pinned by full
// commit SHA with its version as a comment (`uses: actions/checkout@<40 hex> # v6.1.0`), and
// .github/dependabot.yml keeps those pins and the npm dependencies fresh.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Use {
  file: string;
  line: number;
  action: string;
  ref: string;
  comment: string | undefined;
}

const USES = /^\s*(?:-\s+)?uses:\s*(['"]?)([^\s'"#]+)\1\s*(?:#\s*(.*?))?\s*$/;

/** The `uses:` lines of a workflow or of a markdown file's snippets. */
function usesOf(file: string, text: string): Use[] {
  return text.split('\n').flatMap((content, index) => {
    const match = USES.exec(content);
    if (!match) return [];
    const [action = '', ref = ''] = (match[2] as string).split('@');
    return [{ file, line: index + 1, action, ref, comment: match[3] }];
  });
}

/** The project's own action and reusable workflows, local actions and containers are not third-party. */
function isThirdParty(use: Use): boolean {
  if (use.action.startsWith('./') || use.action.startsWith('docker://')) return false;
  return !/^[^/]+\/runner-scaler(\/|$)/.test(use.action);
}

/** What is wrong with a third-party `uses:`, or undefined when it is pinned as it should be. */
function pinProblem(use: Use): string | undefined {
  if (!/^[0-9a-f]{40}$/.test(use.ref)) return `${use.action}@${use.ref} is not pinned by a full commit SHA`;
  if (!/^v\d+\.\d+\.\d+$/.test(use.comment ?? '')) {
    return `${use.action}@${use.ref} has no version comment (# vX.Y.Z), got "${use.comment ?? ''}"`;
  }
  return undefined;
}

function filesIn(dir: string, pattern: RegExp): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((entry) => path.posix.join(dir, entry.split(path.sep).join('/')))
    .filter((file) => pattern.test(file))
    .sort();
}

const WORKFLOWS = [...filesIn('.github/workflows', /\.ya?ml$/), ...filesIn('examples', /\.ya?ml$/)];
const DOCS = [
  'README.md',
  ...filesIn('examples', /\.md$/),
  ...filesIn('docs', /\.md$/),
  'bootstrap/README.md',
];
const uses = [...WORKFLOWS, ...DOCS].flatMap((file) => usesOf(file, read(file)));
const thirdParty = uses.filter(isThirdParty);
const where = (use: Use) => `${use.file}:${use.line}`;

describe('third-party actions', () => {
  it('are used in the workflows, the examples and the README', () => {
    const files = new Set(thirdParty.map((u) => u.file));
    for (const file of [
      '.github/workflows/ci.yml',
      '.github/workflows/reconcile.yml',
      'examples/workflows/pre-job.yml',
      'README.md',
    ]) {
      expect(files, file).toContain(file);
    }
    expect(new Set(thirdParty.map((u) => u.action))).toEqual(
      new Set(['actions/checkout', 'actions/setup-node', 'aws-actions/configure-aws-credentials']),
    );
  });

  it('are each pinned by full commit SHA with its version as a comment', () => {
    const problems = thirdParty.flatMap((use) => {
      const problem = pinProblem(use);
      return problem ? [`${where(use)}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('carry one version per commit, and one commit per action across the workflows and examples', () => {
    const versionOf = new Map<string, string>();
    for (const use of thirdParty) {
      const key = `${use.action}@${use.ref}`;
      expect(versionOf.get(key) ?? use.comment, `${where(use)}: ${key}`).toBe(use.comment);
      versionOf.set(key, use.comment as string);
    }
    // Dependabot updates the workflows and the examples together; the README's snippets follow by hand.
    const refs = new Map<string, Set<string>>();
    for (const use of thirdParty.filter((u) => WORKFLOWS.includes(u.file))) {
      refs.set(use.action, (refs.get(use.action) ?? new Set()).add(use.ref));
    }
    for (const [action, set] of refs) expect([...set], action).toHaveLength(1);
  });

  it('are found and judged by the same rules a check would fail on', () => {
    const bad = [
      '      - uses: actions/checkout@v5',
      '      - uses: actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803',
      '      - uses: actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 # v6',
      "        uses: 'aws-actions/configure-aws-credentials@e6de054' # v6.2.3",
    ].join('\n');
    expect(usesOf('bad.yml', bad).map(pinProblem)).toEqual([
      'actions/checkout@v5 is not pinned by a full commit SHA',
      'actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 has no version comment (# vX.Y.Z), got ""',
      'actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803 has no version comment (# vX.Y.Z), got "v6"',
      'aws-actions/configure-aws-credentials@e6de054 is not pinned by a full commit SHA',
    ]);
    const own = usesOf(
      'own.yml',
      '    uses: <org>/runner-scaler/.github/workflows/scale-up.yml@v1\n        uses: ./',
    );
    expect(own.filter(isThirdParty)).toEqual([]);
  });
});

describe('.github/dependabot.yml', () => {
  interface Update {
    'package-ecosystem': string;
    directory?: string;
    directories?: string[];
    schedule: { interval: string };
    groups?: Record<string, unknown>;
  }
  const config = parse(read('.github/dependabot.yml')) as { version: number; updates: Update[] };
  const update = (ecosystem: string) => config.updates.find((u) => u['package-ecosystem'] === ecosystem);

  it('updates the pins in every directory whose workflows use a third-party action, weekly, grouped', () => {
    const actions = update('github-actions');
    expect(actions?.schedule.interval).toBe('weekly');
    expect(Object.keys(actions?.groups ?? {})).toHaveLength(1);
    // "/" stands for .github/workflows/.
    const listed = (actions?.directories ?? []).map((d) =>
      d === '/' ? '.github/workflows' : d.replace(/^\//, ''),
    );
    const needed = new Set(
      thirdParty.filter((u) => WORKFLOWS.includes(u.file)).map((u) => path.posix.dirname(u.file)),
    );
    expect([...needed].filter((dir) => !listed.includes(dir))).toEqual([]);
  });

  it('updates the npm dependencies weekly, production and development in a group each', () => {
    const npm = update('npm');
    expect(npm?.directory).toBe('/');
    expect(npm?.schedule.interval).toBe('weekly');
    expect(Object.values(npm?.groups ?? {})).toEqual([
      { 'dependency-type': 'production' },
      { 'dependency-type': 'development' },
    ]);
  });
});
