// `npm run release -- --version X.Y.Z --repository owner/name [--push] [--remote origin] [--notes-file F]`:
// makes a release of the checked-out commit (the "source"), as .github/workflows/release.yml does.
//
// A reusable workflow cannot refer to the repository it lives in, so the source names the action as
// `<org>/runner-scaler@v1`, a placeholder. The release is one commit on top of the source that writes
// the hosting repository in: the reusable workflows' action step becomes `owner/name@<source commit>`
// (the action, dist/ and action.yml of the release commit are the source's), the examples name the
// repository, and the pools file's schema URL names the release's tag. That commit gets the tag vX.Y.Z
// and the major tag vX (only forward; never for a pre-release). The source's branch does not move.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const PLACEHOLDER = '<org>/runner-scaler';
/** The reusable workflows whose action step the release pins. */
export const REUSABLE_WORKFLOWS = [
  '.github/workflows/reconcile.yml',
  '.github/workflows/scale-up.yml',
  '.github/workflows/drain.yml',
  '.github/workflows/listen.yml',
];
/** Where the placeholder is written out: the workflows and the examples (the README keeps it). */
const REWRITTEN_DIRS = ['.github/workflows', 'examples'];
const TEXT_FILE = /\.(ya?ml|md|json|hcl|sh)$/;
const ACTION_STEP = /^(\s*uses:\s*)<org>\/runner-scaler@v1[ \t]*$/m;
const SCHEMA_URL = 'https://raw.githubusercontent.com/<org>/runner-scaler/v1/schema/';
const RELEASED_FROM = 'Released-from';

export interface Version {
  text: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
}

export interface ReleaseOptions {
  /** The repository's work tree, checked out at the source commit. */
  root: string;
  version: string;
  /** owner/name of the repository that hosts the release. */
  repository: string;
  push?: boolean;
  remote?: string;
  /** Write the version's CHANGELOG.md section here, for the GitHub release. */
  notesFile?: string;
}

export interface ReleaseResult {
  tag: string;
  /** The major tag moved to the release commit, or undefined when it stays. */
  majorTag: string | undefined;
  source: string;
  commit: string;
  files: string[];
  /** The tag already named a release of this source: nothing was changed. */
  alreadyReleased: boolean;
}

export function parseVersion(text: string): Version {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(text.trim());
  if (!match) {
    throw new Error(`--version: got "${text}", expected a version X.Y.Z such as 1.4.0 (or 1.5.0-rc.1)`);
  }
  const [major, minor, patch] = [match[1], match[2], match[3]].map(Number) as [number, number, number];
  const prerelease = match[4];
  return {
    text: `${major}.${minor}.${patch}${prerelease ? `-${prerelease}` : ''}`,
    major,
    minor,
    patch,
    prerelease,
  };
}

export function parseRepository(text: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/.test(text) || text.includes('/.')) {
    throw new Error(`--repository: got "${text}", expected owner/name such as acme/runner-scaler`);
  }
  return text;
}

/** Release versions first by number; a pre-release sorts below its release. */
export function compareVersions(a: Version, b: Version): number {
  const byNumber = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (byNumber !== 0) return byNumber;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === undefined) return 1;
  if (b.prerelease === undefined) return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}

/** The body of `## [X.Y.Z]` in a Keep a Changelog file. */
export function changelogSection(changelog: string, version: Version): string {
  const lines = changelog.split('\n');
  const heading = new RegExp(`^## \\[${version.text.replace(/\./g, '\\.')}\\]`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) {
    throw new Error(
      `CHANGELOG.md has no section "## [${version.text}] - <date>": move the Unreleased entries under it before releasing`,
    );
  }
  const next = lines.findIndex((line, i) => i > start && /^## /.test(line));
  const body = lines
    .slice(start + 1, next < 0 ? undefined : next)
    .join('\n')
    .trim();
  if (!body) throw new Error(`CHANGELOG.md: the section of ${version.text} is empty`);
  return `${body}\n`;
}

/** The release commit's text of one file; throws when a reusable workflow lacks its action step. */
export function releasedText(
  file: string,
  text: string,
  release: { repository: string; source: string; version: Version },
): string {
  let result = text;
  if (REUSABLE_WORKFLOWS.includes(file)) {
    if (!ACTION_STEP.test(result)) {
      throw new Error(`${file}: no action step "uses: ${PLACEHOLDER}@v1" to pin (was it renamed?)`);
    }
    result = result.replace(
      ACTION_STEP,
      `$1${release.repository}@${release.source} # v${release.version.text}`,
    );
  }
  return result
    .replaceAll(
      SCHEMA_URL,
      `https://raw.githubusercontent.com/${release.repository}/v${release.version.text}/schema/`,
    )
    .replaceAll(PLACEHOLDER, release.repository);
}

function listFiles(root: string, dir: string): string[] {
  const entries = readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' });
  return entries
    .map((entry) => path.posix.join(dir, entry.split(path.sep).join('/')))
    .filter((file) => TEXT_FILE.test(file) && statSync(path.join(root, file)).isFile())
    .sort();
}

function createGit(root: string) {
  const run = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const commitOf = (ref: string): string | undefined => {
    try {
      return run('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
    } catch {
      return undefined;
    }
  };
  return { run, commitOf };
}

type Git = ReturnType<typeof createGit>;

/** Whether the major tag moves to this release: never backwards, never for a pre-release. */
function movesMajorTag(git: Git, version: Version): boolean {
  if (version.prerelease) return false;
  const released = git
    .run('tag', '--list', `v${version.major}.*`)
    .split('\n')
    .filter((tag) => /^v\d+\.\d+\.\d+$/.test(tag))
    .map((tag) => parseVersion(tag));
  return released.every((other) => compareVersions(version, other) >= 0);
}

/** When the tag exists: undefined if it names the source (a pushed tag), the release it names if that
 *  was made from the source; otherwise an error. */
function existingRelease(git: Git, tag: string, source: string): string | undefined {
  const tagged = git.commitOf(`refs/tags/${tag}`);
  if (tagged === undefined || tagged === source) return undefined;
  const message = git.run('log', '-1', '--format=%B', tagged);
  if (git.commitOf(`${tagged}^`) === source && message.includes(`${RELEASED_FROM}: ${source}`)) return tagged;
  throw new Error(
    `tag ${tag} already names commit ${tagged}, which is not a release of ${source} (HEAD): a version is released once; choose a new version`,
  );
}

function commitRelease(
  git: Git,
  root: string,
  options: { repository: string; source: string; version: Version },
) {
  const files = REWRITTEN_DIRS.flatMap((dir) => listFiles(root, dir));
  const changed: string[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    const released = releasedText(file, text, options);
    if (released !== text) {
      writeFileSync(path.join(root, file), released);
      changed.push(file);
    }
  }
  const missing = REUSABLE_WORKFLOWS.filter((file) => !files.includes(file));
  if (missing.length > 0) throw new Error(`no reusable workflow ${missing.join(', ')}`);
  git.run('add', '--', ...changed);
  git.run(
    'commit',
    '--quiet',
    '-m',
    `Release v${options.version.text}`,
    '-m',
    `Writes ${options.repository} into the workflows and examples.\n\n${RELEASED_FROM}: ${options.source}`,
  );
  return { commit: git.run('rev-parse', 'HEAD'), files: changed };
}

export function release(options: ReleaseOptions): ReleaseResult {
  const version = parseVersion(options.version);
  const repository = parseRepository(options.repository);
  const git = createGit(options.root);
  if (git.run('status', '--porcelain', '--untracked-files=no')) {
    throw new Error('the work tree has uncommitted changes: release a committed source only');
  }
  const source = git.run('rev-parse', 'HEAD');
  const tag = `v${version.text}`;
  const notes = changelogSection(readFileSync(path.join(options.root, 'CHANGELOG.md'), 'utf8'), version);
  if (options.notesFile) writeFileSync(options.notesFile, notes);

  const released = existingRelease(git, tag, source);
  if (released !== undefined) {
    return { tag, majorTag: undefined, source, commit: released, files: [], alreadyReleased: true };
  }
  const majorTag = movesMajorTag(git, version) ? `v${version.major}` : undefined;
  const branch = git.run('rev-parse', '--abbrev-ref', 'HEAD');
  git.run('checkout', '--quiet', '--detach');
  let result: { commit: string; files: string[] };
  try {
    result = commitRelease(git, options.root, { repository, source, version });
  } finally {
    git.run('checkout', '--quiet', '--force', branch === 'HEAD' ? source : branch);
  }
  git.run('tag', '--force', '--annotate', '-m', `${tag} (from ${source})`, tag, result.commit);
  if (majorTag) git.run('tag', '--force', '--annotate', '-m', `${majorTag}: ${tag}`, majorTag, result.commit);
  if (options.push) {
    // `+`: the version tag may move from the source (a pushed tag), the major tag moves forward.
    const refs = [tag, ...(majorTag ? [majorTag] : [])].map((t) => `+refs/tags/${t}:refs/tags/${t}`);
    git.run('push', '--quiet', options.remote ?? 'origin', ...refs);
  }
  return { tag, majorTag, source, commit: result.commit, files: result.files, alreadyReleased: false };
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      version: { type: 'string' },
      repository: { type: 'string' },
      push: { type: 'boolean', default: false },
      remote: { type: 'string', default: 'origin' },
      'notes-file': { type: 'string' },
    },
  });
  if (!values.version || !values.repository) {
    throw new Error(
      'usage: npm run release -- --version X.Y.Z --repository owner/name [--push] [--notes-file F]',
    );
  }
  const result = release({
    root: process.cwd(),
    version: values.version,
    repository: values.repository,
    push: values.push,
    remote: values.remote,
    notesFile: values['notes-file'],
  });
  if (result.alreadyReleased) {
    console.log(`${result.tag} is already the release ${result.commit} of ${result.source}: nothing to do`);
    return;
  }
  console.log(`${result.tag}: release commit ${result.commit} on ${result.source}`);
  console.log(`written: ${result.files.join(', ')}`);
  console.log(result.majorTag ? `${result.majorTag} moved to ${result.tag}` : 'major tag unchanged');
  console.log(values.push ? `pushed to ${values.remote}` : 'not pushed (add --push)');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`release: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
