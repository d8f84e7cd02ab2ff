// scripts/release.ts against a temporary git repository holding this repository's workflows and
// examples, with a bare repository as its remote: no network.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lintWorkflows } from '../../scripts/lint-workflows.js';
import {
  changelogSection,
  compareVersions,
  parseVersion,
  PLACEHOLDER,
  release,
  REUSABLE_WORKFLOWS,
} from '../../scripts/release.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const REPOSITORY = 'acme/runner-scaler';

const CHANGELOG = `# Changelog

## [Unreleased]

## [2.0.0-rc.1] - 2026-03-01

- A pre-release.

## [1.1.0] - 2026-02-01

### Added

- Metrics.

## [1.0.1] - 2026-01-15

- A fix for 1.0.

## [1.0.0] - 2026-01-01

### Added

- The first release.
`;

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A repository with this one's workflows, examples, action.yml and README, and a bare remote. */
function createRepository(): { root: string; remote: string; source: string } {
  const base = mkdtempSync(path.join(tmpdir(), 'release-test-'));
  temporary.push(base);
  const root = path.join(base, 'work');
  const remote = path.join(base, 'remote.git');
  for (const entry of ['.github/workflows', 'examples', 'action.yml', 'README.md']) {
    cpSync(path.join(ROOT, entry), path.join(root, entry), { recursive: true });
  }
  writeFileSync(path.join(root, 'CHANGELOG.md'), CHANGELOG);
  git(base, 'init', '--quiet', '--bare', remote);
  git(root, 'init', '--quiet', '--initial-branch=main');
  git(root, 'config', 'user.name', 'Release Test');
  git(root, 'config', 'user.email', 'release-test@example.com');
  git(root, 'config', 'commit.gpgsign', 'false');
  git(root, 'config', 'tag.gpgsign', 'false');
  git(root, 'remote', 'add', 'origin', remote);
  git(root, 'add', '.');
  git(root, 'commit', '--quiet', '-m', 'source');
  return { root, remote, source: git(root, 'rev-parse', 'HEAD') };
}

/** A new commit on main (a later source). */
function advance(root: string, note: string): string {
  writeFileSync(path.join(root, 'NOTES.md'), `${note}\n`);
  git(root, 'add', 'NOTES.md');
  git(root, 'commit', '--quiet', '-m', note);
  return git(root, 'rev-parse', 'HEAD');
}

const show = (root: string, commit: string, file: string) => git(root, 'show', `${commit}:${file}`);
const tagged = (cwd: string, tag: string) => git(cwd, 'rev-parse', `${tag}^{commit}`);

interface Workflow {
  jobs: Record<string, { uses?: string; steps?: { id?: string; uses?: string }[] }>;
}

describe('release', () => {
  it('writes the repository and the source commit into a release commit, and tags it and v1', async () => {
    const { root, source } = createRepository();
    const notesFile = path.join(root, '..', 'notes.md');
    const result = release({ root, version: '1.0.0', repository: REPOSITORY, notesFile });

    expect(result).toMatchObject({ tag: 'v1.0.0', majorTag: 'v1', source, alreadyReleased: false });
    expect(git(root, 'rev-parse', `${result.commit}^`)).toBe(source);
    expect(tagged(root, 'v1.0.0')).toBe(result.commit);
    expect(tagged(root, 'v1')).toBe(result.commit);
    expect(git(root, 'log', '-1', '--format=%B', result.commit)).toContain(`Released-from: ${source}`);
    // The branch and the work tree stay at the source.
    expect(git(root, 'rev-parse', 'main')).toBe(source);
    expect(git(root, 'status', '--porcelain')).toBe('');
    expect(readFileSync(path.join(root, REUSABLE_WORKFLOWS[0] as string), 'utf8')).toContain(PLACEHOLDER);
    expect(readFileSync(notesFile, 'utf8')).toBe('### Added\n\n- The first release.\n');

    // Only the workflows and the examples change; the action itself is the source's.
    const changed = git(root, 'diff', '--name-only', source, result.commit).split('\n');
    expect(changed.sort()).toEqual([...result.files].sort());
    expect(changed).toEqual(expect.arrayContaining([...REUSABLE_WORKFLOWS, 'examples/runner-scaler.yml']));
    expect(changed.every((f) => f.startsWith('.github/workflows/') || f.startsWith('examples/'))).toBe(true);

    for (const file of REUSABLE_WORKFLOWS) {
      const text = show(root, result.commit, file);
      expect(text).toMatch(new RegExp(`^\\s+uses: ${REPOSITORY}@${source} # v1\\.0\\.0$`, 'm'));
      const steps = Object.values((parse(text) as Workflow).jobs)[0]?.steps ?? [];
      expect(steps.find((s) => s.id === 'scale')?.uses).toBe(`${REPOSITORY}@${source}`);
    }
    const tree = git(root, 'ls-tree', '-r', '--name-only', result.commit).split('\n');
    for (const file of tree.filter((f) => f.startsWith('.github/') || f.startsWith('examples/'))) {
      expect(show(root, result.commit, file), file).not.toContain('<org>/runner-scaler');
    }
    expect(show(root, result.commit, 'examples/runner-scaler.yml')).toContain(
      `https://raw.githubusercontent.com/${REPOSITORY}/v1.0.0/schema/runner-scaler.schema.json`,
    );
    const scheduler = parse(show(root, result.commit, 'examples/workflows/scheduler.yml')) as Workflow;
    expect(scheduler.jobs.reconcile?.uses).toBe(`${REPOSITORY}/.github/workflows/reconcile.yml@v1`);
    // The README keeps the placeholder: it explains it.
    expect(show(root, result.commit, 'README.md')).toBe(show(root, source, 'README.md'));

    // The released workflows still pass actionlint.
    const released = REUSABLE_WORKFLOWS.map((file) => ({ file, text: show(root, result.commit, file) }));
    expect(await lintWorkflows(released)).toEqual([]);
  });

  it('moves v1 only forward, and never for a pre-release', () => {
    const { root, source } = createRepository();
    const first = release({ root, version: '1.0.0', repository: REPOSITORY });
    advance(root, 'minor');
    const minor = release({ root, version: 'v1.1.0', repository: REPOSITORY });
    expect(minor.majorTag).toBe('v1');
    expect(tagged(root, 'v1')).toBe(minor.commit);

    // A patch of 1.0 from the 1.0 source: tagged, but v1 stays at 1.1.0.
    git(root, 'checkout', '--quiet', source);
    const patch = release({ root, version: '1.0.1', repository: REPOSITORY });
    expect(patch.majorTag).toBeUndefined();
    expect(tagged(root, 'v1.0.1')).toBe(patch.commit);
    expect(tagged(root, 'v1')).toBe(minor.commit);
    expect(git(root, 'rev-parse', 'HEAD')).toBe(source);

    git(root, 'checkout', '--quiet', 'main');
    advance(root, 'next major');
    const rc = release({ root, version: '2.0.0-rc.1', repository: REPOSITORY });
    expect(rc.majorTag).toBeUndefined();
    expect(git(root, 'tag', '--list', 'v2')).toBe('');
    expect(tagged(root, 'v1.0.0')).toBe(first.commit);
  });

  it('moves a pushed version tag from the source to the release, once', () => {
    const { root, source } = createRepository();
    git(root, 'tag', 'v1.0.0');
    const result = release({ root, version: '1.0.0', repository: REPOSITORY });
    expect(tagged(root, 'v1.0.0')).toBe(result.commit);
    expect(git(root, 'rev-parse', `${result.commit}^`)).toBe(source);

    // A re-run for the same source finds the release and changes nothing.
    const again = release({ root, version: '1.0.0', repository: REPOSITORY });
    expect(again).toMatchObject({ alreadyReleased: true, commit: result.commit, files: [] });
    expect(git(root, 'tag', '--list')).toBe('v1\nv1.0.0');
  });

  it('pushes the tags, force-moving v1 on the remote', () => {
    const { root, remote } = createRepository();
    const first = release({ root, version: '1.0.0', repository: REPOSITORY, push: true });
    expect(tagged(remote, 'v1.0.0')).toBe(first.commit);
    expect(tagged(remote, 'v1')).toBe(first.commit);
    advance(root, 'minor');
    const second = release({ root, version: '1.1.0', repository: REPOSITORY, push: true });
    expect(tagged(remote, 'v1')).toBe(second.commit);
    expect(tagged(remote, 'v1.0.0')).toBe(first.commit);
    // Only tags go to the remote: the source branch is not pushed.
    expect(git(remote, 'branch', '--list')).toBe('');
  });

  it('refuses a version whose tag names another commit, and leaves everything as it was', () => {
    const { root } = createRepository();
    release({ root, version: '1.0.0', repository: REPOSITORY });
    const other = advance(root, 'other');
    expect(() => release({ root, version: '1.0.0', repository: REPOSITORY })).toThrow(
      /tag v1\.0\.0 already names commit [0-9a-f]{40}, which is not a release of [0-9a-f]{40}/,
    );
    expect(git(root, 'rev-parse', 'HEAD')).toBe(other);
  });

  it('refuses uncommitted changes, a version without a changelog section, and bad arguments', () => {
    const { root, source } = createRepository();
    expect(() => release({ root, version: '3.0.0', repository: REPOSITORY })).toThrow(
      'CHANGELOG.md has no section "## [3.0.0] - <date>": move the Unreleased entries under it before releasing',
    );
    expect(() => release({ root, version: '1.0', repository: REPOSITORY })).toThrow(
      '--version: got "1.0", expected a version X.Y.Z such as 1.4.0 (or 1.5.0-rc.1)',
    );
    expect(() => release({ root, version: '1.0.0', repository: 'acme' })).toThrow(
      '--repository: got "acme", expected owner/name such as acme/runner-scaler',
    );
    writeFileSync(path.join(root, 'README.md'), 'changed\n');
    expect(() => release({ root, version: '1.0.0', repository: REPOSITORY })).toThrow(/uncommitted changes/);
    git(root, 'checkout', '--quiet', '--', 'README.md');
    expect(git(root, 'tag', '--list')).toBe('');
    expect(git(root, 'rev-parse', 'HEAD')).toBe(source);
  });

  it('fails, and restores the work tree, when a reusable workflow has no action step to pin', () => {
    const { root } = createRepository();
    const file = path.join(root, '.github/workflows/drain.yml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(`uses: ${PLACEHOLDER}@v1`, 'uses: ./'));
    git(root, 'commit', '--quiet', '-am', 'renamed');
    const source = git(root, 'rev-parse', 'HEAD');
    expect(() => release({ root, version: '1.0.0', repository: REPOSITORY })).toThrow(
      '.github/workflows/drain.yml: no action step "uses: <org>/runner-scaler@v1" to pin (was it renamed?)',
    );
    expect(git(root, 'status', '--porcelain')).toBe('');
    expect(git(root, 'rev-parse', 'HEAD')).toBe(source);
    expect(git(root, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(git(root, 'tag', '--list')).toBe('');
  });
});

describe('versions and the changelog', () => {
  it('orders versions by number, a pre-release below its release', () => {
    const sorted = ['1.10.0', '1.2.0', '2.0.0-rc.1', '2.0.0', '1.2.0-beta', '0.9.9']
      .map(parseVersion)
      .sort(compareVersions)
      .map((v) => v.text);
    expect(sorted).toEqual(['0.9.9', '1.2.0-beta', '1.2.0', '1.10.0', '2.0.0-rc.1', '2.0.0']);
  });

  it("takes a version's section up to the next heading", () => {
    expect(changelogSection(CHANGELOG, parseVersion('1.1.0'))).toBe('### Added\n\n- Metrics.\n');
    expect(() => changelogSection('## [1.0.0] - 2026-01-01\n\n## [0.9.0]\n', parseVersion('1.0.0'))).toThrow(
      'CHANGELOG.md: the section of 1.0.0 is empty',
    );
  });

  it("has this repository's CHANGELOG.md in Keep a Changelog form, with an Unreleased section", () => {
    const changelog = readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toMatch(/^# Changelog\n/);
    expect(changelog).toContain('https://keepachangelog.com/');
    const headings = [...changelog.matchAll(/^## (.+)$/gm)].map((m) => m[1] as string);
    expect(headings[0]).toBe('[Unreleased]');
    for (const heading of headings.slice(1))
      expect(heading).toMatch(/^\[\d+\.\d+\.\d+\S*\] - \d{4}-\d{2}-\d{2}$/);
    const unreleased = changelog.slice(changelog.indexOf('## [Unreleased]'));
    expect(unreleased).toMatch(/^### (Added|Changed|Deprecated|Removed|Fixed|Security)$/m);
  });
});
