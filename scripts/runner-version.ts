// `npm run runner-version -- check|update <release.json>`: compares the actions runner that
// examples/ami/runner.pkr.hcl pins with a release of actions/runner (the JSON of GitHub's
// GET /repos/actions/runner/releases/latest, e.g. `gh api repos/actions/runner/releases/latest`).
//
// check: exits 1 when the pin is older, saying by when runners built from it stop getting jobs (GitHub
//        sends no jobs to runners that lag a release by more than 30 days and cannot update themselves,
//        as runners registered with --disableupdate cannot).
// update: writes the release's version and SHA-256 checksums (from its release notes) into the template.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPLATE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../examples/ami/runner.pkr.hcl',
);
export const ARCHES = ['x64', 'arm64'] as const;
type Arch = (typeof ARCHES)[number];
/** Days after a release until GitHub stops sending jobs to runners that did not update. */
export const GRACE_DAYS = 30;

export interface RunnerPin {
  version: string;
  sha256: Record<Arch, string>;
}

export interface RunnerRelease extends RunnerPin {
  publishedAt: Date;
}

const VERSION_VARIABLE = /(variable "runner_version" \{[^}]*?default\s*=\s*")([^"]*)(")/;
const SHA_VARIABLE = /variable "runner_sha256" \{[^]*?default\s*=\s*\{([^}]*)\}/;

function sha256Line(arch: Arch): RegExp {
  return new RegExp(`(\\b${arch}\\s*=\\s*")([^"]*)(")`);
}

function parseVersionNumbers(version: string, where: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`${where}: got "${version}", expected a runner version such as 2.336.0`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function compareRunnerVersions(a: string, b: string): number {
  const [x, y] = [parseVersionNumbers(a, 'version'), parseVersionNumbers(b, 'version')];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** The pin in the Packer template's variables runner_version and runner_sha256. */
export function readPin(template: string, where = 'examples/ami/runner.pkr.hcl'): RunnerPin {
  const version = VERSION_VARIABLE.exec(template)?.[2];
  const shaBlock = SHA_VARIABLE.exec(template)?.[1];
  if (version === undefined || shaBlock === undefined) {
    throw new Error(`${where}: no variable "runner_version" and "runner_sha256" with defaults`);
  }
  parseVersionNumbers(version, `${where}: runner_version`);
  const sha256 = {} as Record<Arch, string>;
  for (const arch of ARCHES) {
    const value = sha256Line(arch).exec(shaBlock)?.[2];
    if (!value || !/^[0-9a-f]{64}$/.test(value)) {
      throw new Error(
        `${where}: runner_sha256.${arch}: got "${value ?? ''}", expected 64 hexadecimal digits`,
      );
    }
    sha256[arch] = value;
  }
  return { version, sha256 };
}

/** A release from GitHub's release JSON; the checksums are the release notes' `BEGIN SHA` markers. */
export function parseRelease(json: string, where = 'release JSON'): RunnerRelease {
  const release = JSON.parse(json) as { tag_name?: unknown; published_at?: unknown; body?: unknown };
  const tag = typeof release.tag_name === 'string' ? release.tag_name : '';
  const version = tag.replace(/^v/, '');
  parseVersionNumbers(version, `${where}: tag_name`);
  const publishedAt = new Date(typeof release.published_at === 'string' ? release.published_at : NaN);
  if (Number.isNaN(publishedAt.getTime())) throw new Error(`${where}: published_at is not a date`);
  const body = typeof release.body === 'string' ? release.body : '';
  const sha256 = {} as Record<Arch, string>;
  for (const arch of ARCHES) {
    const marker = new RegExp(`<!-- BEGIN SHA linux-${arch} -->([0-9a-f]{64})<!-- END SHA linux-${arch} -->`);
    const value = marker.exec(body)?.[1];
    if (!value) throw new Error(`${where}: the release notes of ${tag} have no SHA-256 for linux-${arch}`);
    sha256[arch] = value;
  }
  return { version, sha256, publishedAt };
}

/** The template with the release's version and checksums written in. */
export function writePin(template: string, pin: RunnerPin): string {
  readPin(template);
  let result = template.replace(VERSION_VARIABLE, `$1${pin.version}$3`);
  result = result.replace(SHA_VARIABLE, (block) =>
    ARCHES.reduce((text, arch) => text.replace(sha256Line(arch), `$1${pin.sha256[arch]}$3`), block),
  );
  return result;
}

export interface CheckResult {
  current: boolean;
  message: string;
}

export function checkPin(pin: RunnerPin, latest: RunnerRelease): CheckResult {
  const order = compareRunnerVersions(pin.version, latest.version);
  if (order >= 0) {
    return {
      current: true,
      message: `actions runner ${pin.version} is pinned, the latest release is ${latest.version}: current`,
    };
  }
  const released = latest.publishedAt.toISOString().slice(0, 10);
  const deadline = new Date(latest.publishedAt.getTime() + GRACE_DAYS * 86_400_000)
    .toISOString()
    .slice(0, 10);
  return {
    current: false,
    message: [
      `actions runner ${pin.version} is pinned in examples/ami/runner.pkr.hcl; ${latest.version} was released on ${released}.`,
      `Runners that register with --disableupdate stop getting jobs ${GRACE_DAYS} days after a newer release (by ${deadline}).`,
      'Update the pin and rebuild the AMI:',
      '  gh api repos/actions/runner/releases/latest > release.json',
      '  npm run runner-version -- update release.json',
    ].join('\n'),
  };
}

function main(argv: string[]): number {
  const [command, file] = argv;
  if ((command !== 'check' && command !== 'update') || !file) {
    throw new Error('usage: npm run runner-version -- check|update <release.json>');
  }
  const latest = parseRelease(readFileSync(file, 'utf8'), file);
  const template = readFileSync(TEMPLATE, 'utf8');
  const pin = readPin(template);
  if (command === 'update') {
    writeFileSync(TEMPLATE, writePin(template, latest));
    console.log(`examples/ami/runner.pkr.hcl: actions runner ${pin.version} -> ${latest.version}`);
    return 0;
  }
  const result = checkPin(pin, latest);
  console.log(result.message);
  return result.current ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (error) {
    console.error(`runner-version: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
