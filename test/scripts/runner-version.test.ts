// scripts/runner-version.ts: reads the pin of examples/ami/runner.pkr.hcl and a release's JSON (its
// notes' SHA-256 markers, as actions/runner publishes them), and fails when the pin is behind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkPin,
  compareRunnerVersions,
  parseRelease,
  readPin,
  TEMPLATE,
  writePin,
} from '../../scripts/runner-version.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const template = readFileSync(TEMPLATE, 'utf8');
const pinned = readPin(template);

const X64 = 'a'.repeat(64);
const ARM64 = 'b'.repeat(64);

/** A release as GET /repos/actions/runner/releases/latest returns it (the notes' checksum list). */
function releaseJson(version: string, publishedAt = '2026-09-01T12:00:00Z', notes?: string): string {
  const body =
    notes ??
    [
      '## SHA-256 Checksums',
      '',
      `- actions-runner-osx-x64-${version}.tar.gz <!-- BEGIN SHA osx-x64 -->${'c'.repeat(64)}<!-- END SHA osx-x64 -->`,
      `- actions-runner-linux-x64-${version}.tar.gz <!-- BEGIN SHA linux-x64 -->${X64}<!-- END SHA linux-x64 -->`,
      `- actions-runner-linux-arm64-${version}.tar.gz <!-- BEGIN SHA linux-arm64 -->${ARM64}<!-- END SHA linux-arm64 -->`,
      `- actions-runner-linux-arm-${version}.tar.gz <!-- BEGIN SHA linux-arm -->${'d'.repeat(64)}<!-- END SHA linux-arm -->`,
    ].join('\n');
  return JSON.stringify({ tag_name: `v${version}`, published_at: publishedAt, body });
}

function nextVersion(version: string): string {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return `${major}.${minor + 1}.0`;
}

const dir = mkdtempSync(path.join(tmpdir(), 'runner-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the pin and a release', () => {
  it('reads the pin of the Packer template', () => {
    expect(pinned.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pinned.sha256.x64).toMatch(/^[0-9a-f]{64}$/);
    expect(pinned.sha256.arm64).toMatch(/^[0-9a-f]{64}$/);
    expect(pinned.sha256.x64).not.toBe(pinned.sha256.arm64);
  });

  it("takes the Linux checksums from the release notes' markers, and refuses notes without them", () => {
    const release = parseRelease(releaseJson('2.340.1'));
    expect(release).toEqual({
      version: '2.340.1',
      sha256: { x64: X64, arm64: ARM64 },
      publishedAt: new Date('2026-09-01T12:00:00Z'),
    });
    expect(() => parseRelease(releaseJson('2.340.1', undefined, 'no checksums'), 'latest.json')).toThrow(
      'latest.json: the release notes of v2.340.1 have no SHA-256 for linux-x64',
    );
    expect(() => parseRelease(JSON.stringify({ tag_name: 'latest' }), 'latest.json')).toThrow(
      'latest.json: tag_name: got "latest", expected a runner version such as 2.336.0',
    );
  });

  it('writes a release into the template, changing only the pin', () => {
    const release = parseRelease(releaseJson('2.340.1'));
    const updated = writePin(template, release);
    expect(readPin(updated)).toEqual({ version: '2.340.1', sha256: { x64: X64, arm64: ARM64 } });
    const changed = updated.split('\n').filter((line, i) => line !== template.split('\n')[i]);
    expect(changed.map((line) => line.trim())).toEqual([
      'default     = "2.340.1"',
      `x64   = "${X64}"`,
      `arm64 = "${ARM64}"`,
    ]);
    expect(() => readPin(template.replace(pinned.sha256.arm64, 'bad'))).toThrow(
      'examples/ami/runner.pkr.hcl: runner_sha256.arm64: got "bad", expected 64 hexadecimal digits',
    );
  });

  it('is current at the latest release, and behind before it, with the date runners stop getting jobs', () => {
    expect(checkPin(pinned, parseRelease(releaseJson(pinned.version))).current).toBe(true);
    const behind = checkPin(
      pinned,
      parseRelease(releaseJson(nextVersion(pinned.version), '2026-09-01T12:00:00Z')),
    );
    expect(behind.current).toBe(false);
    expect(behind.message).toContain(
      `actions runner ${pinned.version} is pinned in examples/ami/runner.pkr.hcl`,
    );
    expect(behind.message).toContain('released on 2026-09-01');
    expect(behind.message).toContain('(by 2026-10-01)');
    expect(behind.message).toContain('npm run runner-version -- update release.json');
    expect(compareRunnerVersions('2.336.0', '2.99.9')).toBeGreaterThan(0);
  });
});

describe('npm run runner-version', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/runner-version.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });

  it('check exits 0 at the pinned version and 1, saying what to do, when a newer runner is out', () => {
    const current = path.join(dir, 'current.json');
    writeFileSync(current, releaseJson(pinned.version));
    const ok = run('check', current);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`actions runner ${pinned.version} is pinned`);

    const newer = path.join(dir, 'newer.json');
    writeFileSync(newer, releaseJson(nextVersion(pinned.version)));
    const behind = run('check', newer);
    expect(behind.status).toBe(1);
    expect(behind.stdout).toContain('Update the pin and rebuild the AMI');
    // The check reads the template and never writes it.
    expect(readFileSync(TEMPLATE, 'utf8')).toBe(template);
  });

  it('names the usage when the arguments are wrong', () => {
    const result = run('compare');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('usage: npm run runner-version -- check|update <release.json>');
  });

  it('is what the scheduled workflow runs', () => {
    const workflow = readFileSync(path.join(ROOT, '.github/workflows/runner-version.yml'), 'utf8');
    expect(workflow).toContain(
      'gh api repos/actions/runner/releases/latest > "$RUNNER_TEMP/runner-release.json"',
    );
    expect(workflow).toContain('npm run --silent runner-version -- check "$RUNNER_TEMP/runner-release.json"');
    expect(workflow).toMatch(/schedule:\n\s+- cron:/);
  });
});
