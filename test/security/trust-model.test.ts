// The trust model of docs/security.md ("Who can run the scaler") against the examples: every trigger the example
// workflows use has a row, an example whose row is not the recommended setup says so, the CloudFormation trust
// policy matches the recommended OIDC subject exactly, and the README promises only what the table shows.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

interface Row {
  trigger: string;
  repository: string;
  sub: string;
  secrets: string;
  writers: string;
  recommended: string;
}

/** The rows of the first table after the heading. */
function trustTable(): Row[] {
  const lines = read('docs/security.md').split('\n');
  const start = lines.indexOf('## Who can run the scaler');
  expect(start).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  const rows = lines
    .slice(start + 1, end < 0 ? undefined : end)
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  return rows.slice(2).map(([trigger, repository, sub, secrets, writers, recommended]) => ({
    trigger: trigger ?? '',
    repository: repository ?? '',
    sub: sub ?? '',
    secrets: secrets ?? '',
    writers: writers ?? '',
    recommended: recommended ?? '',
  }));
}

const rows = trustTable();
const row = (trigger: string) => rows.find((r) => r.trigger === trigger);

/** The table's row for one trigger of an example workflow. */
function rowFor(trigger: string, preJob: boolean): string {
  if (preJob) return `pre-job from \`${trigger}\``;
  return (
    { schedule: 'scheduler', workflow_dispatch: 'drain', workflow_run: '`workflow_run`' }[trigger] ??
    (trigger === 'repository_dispatch' ? '`repository_dispatch` relay' : trigger)
  );
}

const workflows = readdirSync(path.join(ROOT, 'examples/workflows')).filter((file) => file.endsWith('.yml'));

describe('the trust table', () => {
  it('has one row per way to run the scaler, each with an OIDC subject of the trusting repository', () => {
    expect(rows.map((r) => r.trigger)).toEqual([
      'scheduler',
      'drain',
      'pre-job from `push`',
      'pre-job from `pull_request`',
      'pre-job from `workflow_dispatch`',
      '`workflow_run`',
      '`repository_dispatch` relay',
    ]);
    for (const r of rows) {
      expect(r.sub, r.trigger).toMatch(/^`repo:<owner>\/<[a-z]+>:(ref:refs\/heads\/<[^>]+>|pull_request)`/);
      for (const cell of [r.repository, r.secrets, r.writers, r.recommended])
        expect(cell, r.trigger).not.toBe('');
    }
    // The recommended setup keeps every credential in the infrastructure repository.
    for (const r of rows.filter((r) => r.recommended.startsWith('**yes**'))) {
      expect(r.repository, r.trigger).toContain('infrastructure repository');
      expect(r.sub, r.trigger).toContain('<infra>');
    }
  });

  it.each(workflows)(
    'covers examples/workflows/%s, which points to it when its setup is not recommended',
    (file) => {
      const text = read(`examples/workflows/${file}`);
      const workflow = parse(text) as {
        on: Record<string, unknown>;
        jobs: Record<string, { with?: Record<string, unknown> }>;
      };
      const preJob = Object.values(workflow.jobs).some((job) => job.with?.count !== undefined);
      for (const trigger of Object.keys(workflow.on)) {
        const found = row(rowFor(trigger, preJob));
        expect(found, `${file}: ${trigger}`).toBeDefined();
        if (!found?.recommended.startsWith('**yes**'))
          expect(text, `${file}: ${trigger}`).toContain('docs/security.md');
      }
    },
  );
});

describe('the CloudFormation example', () => {
  const template = read('examples/launch-template/cloudformation.yml');

  it('trusts exactly the given subjects and audience, without wildcards', () => {
    const trust = /AssumeRolePolicyDocument:[^]*?Condition:\n([^]*?)\n\s+Policies:/.exec(template)?.[1] ?? '';
    expect(trust).toContain('StringEquals:');
    expect(trust).toContain('token.actions.githubusercontent.com:aud: sts.amazonaws.com');
    expect(trust).toContain('token.actions.githubusercontent.com:sub: !Ref GitHubSubjects');
    expect(trust).not.toMatch(/StringLike|\*/);
  });

  it("suggests the recommended row's subject", () => {
    const pattern = (row('scheduler')?.sub ?? '')
      .replace(/^`|`$/g, '')
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/<[^>]+>/g, '[\\w.-]+');
    const example = /GitHubSubjects=(\S+)/.exec(template)?.[1] ?? '';
    expect(example).toMatch(new RegExp(`^${pattern}$`));
    const parameter =
      /GitHubSubjects:\n\s+Type: CommaDelimitedList\n([^]*?)\n {2}\w/.exec(template)?.[1] ?? '';
    expect(parameter).not.toContain('Default:');
    expect(parameter).toContain('repo:acme/infra:ref:refs/heads/main');
  });
});

describe('README.md', () => {
  const readme = read('README.md');

  it('promises only what the table shows, and points to it', () => {
    expect(readme).toContain('docs/security.md#who-can-run-the-scaler');
    expect(readme).toContain('only in one infrastructure repository');
    expect(readme).not.toContain('so a branch cannot raise `max` or change the launch template');
  });
});
