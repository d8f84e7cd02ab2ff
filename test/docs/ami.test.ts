// examples/ami/: the Packer template parses as HCL2 (HashiCorp's parser, compiled to WebAssembly) and
// builds what the bootstrap needs: the pinned runner, the whole bootstrap/ folder installed by its
// documented step, IMDSv2. `packer validate` cannot run here (Debian's Packer 1.6.6 lacks the Amazon
// plugin's options), so these structural checks stand in for it.
import { parse as parseHcl } from '@cdktf/hcl2json';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPin } from '../../scripts/runner-version.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AMI = path.join(ROOT, 'examples/ami');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

type Block = Record<string, unknown>;
interface Template {
  packer: {
    required_version: string;
    required_plugins: Record<string, { source: string; version: string }>[];
  }[];
  variable: Record<string, { default?: unknown; type?: string }[]>;
  locals: Record<string, string>[];
  source: Record<string, Record<string, Block[]>>;
  build: { sources: string[]; provisioner: Record<string, Block[]> }[];
}

const text = read('examples/ami/runner.pkr.hcl');
const template = (await parseHcl('runner.pkr.hcl', text)) as Template;
const locals = Object.assign({}, ...template.locals) as Record<string, string>;
const source = template.source['amazon-ebs']?.runner?.[0] as Block;
const build = template.build[0] as Template['build'][number];
const shells = build.provisioner.shell ?? [];
const files = build.provisioner.file ?? [];

/** `${path.root}/x` → examples/ami/x, as Packer resolves it for `packer build .` in examples/ami. */
const fromRoot = (value: unknown) => path.resolve(AMI, String(value).replace('${path.root}/', ''));

describe('examples/ami/runner.pkr.hcl', () => {
  it('is HCL2 that the parser reads, and the parser rejects broken HCL', async () => {
    expect(Object.keys(template).sort()).toEqual(['build', 'locals', 'packer', 'source', 'variable']);
    await expect(
      parseHcl('broken.pkr.hcl', text.replace('imds_support = ', 'imds_support ')),
    ).rejects.toThrow(/broken\.pkr\.hcl:\d+/);
  });

  it('needs the Amazon plugin from HashiCorp, and declares every variable and local it uses', () => {
    expect(template.packer[0]?.required_plugins[0]?.amazon?.source).toBe('github.com/hashicorp/amazon');
    const used = (kind: string) =>
      new Set([...text.matchAll(new RegExp(`\\b${kind}\\.([a-z0-9_]+)`, 'g'))].map((m) => m[1]));
    expect([...used('var')].filter((name) => !((name as string) in template.variable))).toEqual([]);
    expect([...used('local')].filter((name) => !((name as string) in locals))).toEqual([]);
    expect(build.sources).toEqual(['source.amazon-ebs.runner']);
  });

  it('requires IMDSv2 on the AMI and on the build instance', () => {
    expect(source.imds_support).toBe('v2.0');
    expect((source.metadata_options as Block[])[0]).toMatchObject({
      http_endpoint: 'enabled',
      http_tokens: 'required',
    });
  });

  it("starts from Canonical's Ubuntu 24.04 image for the architecture", () => {
    const filter = (source.source_ami_filter as Block[])[0] as {
      owners: string[];
      most_recent: boolean;
      filters: Block;
    };
    expect(filter.owners).toEqual(['099720109477']);
    expect(filter.most_recent).toBe(true);
    expect(filter.filters.name).toBe(
      'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${local.ubuntu_arch}-server-*',
    );
  });

  it('pins the runner version with the SHA-256 of each architecture, read the same by npm run runner-version', () => {
    const version = template.variable.runner_version?.[0]?.default;
    const sha256 = template.variable.runner_sha256?.[0]?.default as Record<string, string>;
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(sha256).sort()).toEqual(['arm64', 'x64']);
    for (const value of Object.values(sha256)) expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(readPin(text)).toEqual({ version, sha256 });
    expect(locals.runner_url).toBe(
      'https://github.com/actions/runner/releases/download/v${var.runner_version}/actions-runner-linux-${var.arch}-${var.runner_version}.tar.gz',
    );
    const provision = shells.find((s) => s.script);
    // A custom execute_command must pass the variables on ({{ .Vars }}), through sudo.
    expect(provision?.execute_command).toBe('chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}');
    expect(provision?.environment_vars).toEqual(
      expect.arrayContaining([
        'RUNNER_URL=${local.runner_url}',
        'RUNNER_SHA256=${var.runner_sha256[var.arch]}',
      ]),
    );
  });

  it('uploads the whole bootstrap/ folder, then installs it by the step bootstrap/README.md documents', () => {
    expect(files).toHaveLength(1);
    const upload = files[0] as { source: string; destination: string };
    expect(fromRoot(upload.source)).toBe(path.join(ROOT, 'bootstrap'));
    expect(statSync(path.join(ROOT, 'bootstrap')).isDirectory()).toBe(true);
    // The documented step, verbatim: when bootstrap/README.md changes it, this fails until the template follows.
    expect(read('bootstrap/README.md')).toContain(locals.bootstrap_install);
    const install = shells.find((s) =>
      (s.inline as string[] | undefined)?.includes('sudo ${local.bootstrap_install}'),
    );
    expect(install?.inline).toEqual(expect.arrayContaining([`cd ${upload.destination}`]));
    // Provisioners run in file order: the upload comes before the install.
    expect(text.indexOf('provisioner "file"')).toBeLessThan(text.indexOf('sudo ${local.bootstrap_install}'));
    expect(text.indexOf('provisioner "file"')).toBeGreaterThan(text.indexOf('mkdir -p /tmp/runner-scaler'));
  });
});

describe('examples/ami/provision.sh', () => {
  const script = path.join(AMI, 'provision.sh');
  const body = readFileSync(script, 'utf8');

  it('is the script the template runs, given every setting it reads', () => {
    const provision = shells.find((s) => s.script) as { script: string; environment_vars: string[] };
    expect(fromRoot(provision.script)).toBe(script);
    const given = provision.environment_vars.map((v) => v.split('=')[0]).sort();
    const read = [...body.matchAll(/^: "\$\{([A-Z0-9_]+):\?|^([A-Z0-9_]+)="\$\{\2:-/gm)]
      .map((m) => m[1] ?? m[2])
      .sort();
    expect(given).toEqual(read);
  });

  it('checks the runner download against its SHA-256 before unpacking it', () => {
    const check = body.indexOf('sha256sum --check --strict');
    expect(check).toBeGreaterThan(0);
    expect(check).toBeLessThan(body.indexOf('tar -xzf'));
    expect(body).toContain('bin/installdependencies.sh');
    expect(body.indexOf('gpg --batch --verify')).toBeLessThan(body.indexOf('aws/install'));
  });

  it('leaves the commands the bootstrap calls installed, and fails when one is missing', () => {
    const checked = /for command in ([a-z0-9 ]+); do/.exec(body)?.[1]?.split(' ');
    expect(checked).toEqual(expect.arrayContaining(['bash', 'curl', 'aws', 'jq', 'setsid', 'runuser']));
  });

  it('is executable, in bash strict mode, and passes shellcheck', (context) => {
    expect(body.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(body).toMatch(/^set -euo pipefail$/m);
    expect(statSync(script).mode & 0o111).not.toBe(0);
    const shellcheck = spawnSync('bash', ['-c', 'command -v shellcheck']).status === 0;
    context.skip(!shellcheck, 'shellcheck is not installed (.ci/run installs it with apt-get)');
    const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('is documented next to the template', () => {
    expect(existsSync(path.join(AMI, 'README.md'))).toBe(true);
    expect(read('examples/ami/README.md')).toContain(`packer build -var region=eu-west-1 .`);
  });
});
