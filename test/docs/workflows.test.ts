// The reusable workflows pass every action input correctly, the examples call them correctly, and the
// workflow linters (npm run lint:workflows) pass and can fail.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lintAction, lintRepository, lintWorkflows } from '../../scripts/lint-workflows.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

type Inputs = Record<string, { required?: boolean; default?: unknown; type?: string; description?: string }>;

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  needs?: string | string[];
  permissions?: Record<string, string>;
  concurrency?: { group?: string; 'cancel-in-progress'?: unknown; queue?: string } | string;
  outputs?: Record<string, string>;
  steps?: Step[];
  'runs-on'?: unknown;
}

interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: unknown;
  jobs: Record<string, Job>;
}

interface WorkflowCall {
  inputs?: Inputs;
  secrets?: Record<string, { required?: boolean }>;
  outputs?: Record<string, { value: string }>;
}

const load = <T>(file: string): T => parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;

const action = load<{ inputs: Inputs; outputs: Record<string, unknown>; runs: { using: string } }>(
  'action.yml',
);
const actionInputs = Object.keys(action.inputs);

/** Action inputs that carry secrets: action.yml says they are masked. */
const SECRET_INPUTS = actionInputs.filter((name) =>
  /\bmasked\b/i.test(action.inputs[name]?.description ?? ''),
);

const REUSABLE: Record<string, { mode: string; notPassed: string[]; outputs: string[] }> = {
  'reconcile.yml': {
    mode: 'reconcile',
    notPassed: ['count', 'unique-label', 'listen-minutes'],
    outputs: ['launched', 'removed', 'failed', 'result', 'listener'],
  },
  'scale-up.yml': {
    mode: 'scale-up',
    notPassed: ['listen-minutes'],
    outputs: ['label', 'launched', 'removed', 'failed', 'result'],
  },
  'drain.yml': {
    mode: 'drain',
    notPassed: ['count', 'unique-label', 'listen-minutes'],
    outputs: ['launched', 'removed', 'failed', 'result'],
  },
  'listen.yml': {
    mode: 'listen',
    notPassed: ['count', 'unique-label', 'dry-run'],
    outputs: ['launched'],
  },
};

/** `${{ … }}` expressions in a value. */
function expressions(value: unknown): string[] {
  return [...String(value).matchAll(/\$\{\{(.*?)\}\}/g)].map((m) => (m[1] ?? '').trim());
}

/** Names referenced as `<context>.<name>` in a value's expressions. */
function references(value: unknown, context: string): string[] {
  const pattern = new RegExp(`\\b${context}\\.([A-Za-z0-9_-]+)`, 'g');
  return expressions(value).flatMap((e) => [...e.matchAll(pattern)].map((m) => m[1] as string));
}

/** The action's step: `<org>/runner-scaler@v1` in the source, `owner/runner-scaler@<commit>` in a release. */
function isActionStep(step: Step): boolean {
  return /^[^/]+\/runner-scaler@(v\d+|[0-9a-f]{40})$/.test(step.uses ?? '');
}

describe('the secret inputs of action.yml', () => {
  it('are the GitHub App key and the token', () => {
    expect(SECRET_INPUTS.sort()).toEqual(['github-app-private-key', 'github-token']);
  });
  it('action.yml runs on node24', () => {
    // lint:workflows validates action.yml with node24 read as node20 (its schema predates node24).
    expect(action.runs.using).toBe('node24');
  });
});

describe.each(Object.entries(REUSABLE))('reusable workflow %s', (file, expected) => {
  const text = readFileSync(path.join(ROOT, '.github/workflows', file), 'utf8');
  const workflow = parse(text) as Workflow;
  const call = workflow.on.workflow_call as WorkflowCall;
  const declaredInputs = call.inputs ?? {};
  const declaredSecrets = call.secrets ?? {};
  const jobEntries = Object.entries(workflow.jobs);
  const [jobName, job] = jobEntries[0] as [string, Job];
  const steps = job.steps ?? [];
  const actionSteps = steps.filter(isActionStep);
  const actionStep = actionSteps[0] as Step;
  const passed = actionStep?.with ?? {};

  it('is only callable (on: workflow_call), with one job', () => {
    expect(Object.keys(workflow.on)).toEqual(['workflow_call']);
    expect(jobEntries).toHaveLength(1);
  });

  it('asks for the minimal permissions: an OIDC token and read access to the pools file', () => {
    expect(workflow.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    expect(job.permissions).toBeUndefined();
  });

  if (expected.mode === 'listen') {
    // A listener's successor runs beside it and waits out its session (listen.yml says why).
    it('has no concurrency group, so that a successor can start while the listener runs', () => {
      expect(job.concurrency).toBeUndefined();
      expect(workflow.concurrency).toBeUndefined();
    });
  } else {
    it('queues runs of one environment in one concurrency group, cancelling none', () => {
      expect(typeof job.concurrency).toBe('object');
      const concurrency = job.concurrency as Exclude<Job['concurrency'], string | undefined>;
      expect(references(concurrency.group, 'inputs')).toEqual(['environment']);
      expect(concurrency['cancel-in-progress']).toBe(false);
      expect(concurrency.queue).toBe('max');
      expect(declaredInputs.environment?.default).toBe('runner-scaler');
    });
  }

  it('gets AWS credentials through OIDC before the action runs', () => {
    const index = steps.findIndex((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(index).toBeGreaterThanOrEqual(0);
    expect(index).toBeLessThan(steps.indexOf(actionStep));
    const aws = steps[index]?.with ?? {};
    expect(aws['role-to-assume']).toBe('${{ inputs.aws-role-arn }}');
    expect(aws['aws-region']).toBe('${{ inputs.aws-region }}');
    expect(Object.keys(aws).filter((k) => /access-key|secret|session-token/.test(k))).toEqual([]);
    expect(declaredInputs['aws-role-arn']?.required).toBe(true);
    expect(declaredInputs['aws-region']?.required).toBe(true);
  });

  it("checks out the default branch's pools file before the action runs", () => {
    const index = steps.findIndex((s) => s.uses?.startsWith('actions/checkout@'));
    expect(index).toBeGreaterThanOrEqual(0);
    expect(index).toBeLessThan(steps.indexOf(actionStep));
    expect(steps[index]?.with?.['sparse-checkout']).toBe('${{ inputs.config }}');
    // Never a pull request's own copy of the pools file.
    expect(steps[index]?.with?.ref).toBe('${{ github.event.repository.default_branch }}');
  });

  it('runs the action once, in its mode', () => {
    expect(actionSteps).toHaveLength(1);
    expect(passed.mode).toBe(expected.mode);
  });

  it('passes only inputs the action defines, every required one, and every one its mode uses', () => {
    const names = Object.keys(passed);
    expect(names.filter((n) => !actionInputs.includes(n))).toEqual([]);
    const required = actionInputs.filter((n) => action.inputs[n]?.required);
    expect(required.filter((n) => !names.includes(n))).toEqual([]);
    const wanted = actionInputs.filter((n) => !expected.notPassed.includes(n));
    expect(wanted.filter((n) => !names.includes(n))).toEqual([]);
    expect(names.filter((n) => expected.notPassed.includes(n))).toEqual([]);
  });

  it('passes secrets as workflow secrets, and secrets only to the inputs that mask them', () => {
    for (const [name, value] of Object.entries(passed)) {
      const secrets = references(value, 'secrets');
      if (SECRET_INPUTS.includes(name)) {
        expect(value, name).toBe(`\${{ secrets.${name} }}`);
        expect(Object.keys(declaredSecrets), name).toContain(name);
        expect(declaredSecrets[name]?.required, name).toBe(false);
      } else {
        expect(secrets, name).toEqual([]);
      }
    }
    expect(Object.keys(declaredSecrets).sort()).toEqual([...SECRET_INPUTS].sort());
    // A secret must never be given as a plain input.
    expect(Object.keys(declaredInputs).filter((n) => SECRET_INPUTS.includes(n))).toEqual([]);
  });

  it('passes values from declared inputs of the right type', () => {
    for (const [name, value] of Object.entries(passed)) {
      for (const input of references(value, 'inputs')) {
        expect(Object.keys(declaredInputs), `${name} uses inputs.${input}`).toContain(input);
      }
    }
    for (const name of ['dry-run'].filter((n) => !expected.notPassed.includes(n))) {
      expect(passed[name]).toBe(`\${{ inputs.${name} }}`);
      expect(declaredInputs[name]?.type).toBe('boolean');
    }
    for (const name of ['config', 'pool', 'github-app-id', 'github-app-installation-id']) {
      expect(passed[name]).toBe(`\${{ inputs.${name} }}`);
      expect(declaredInputs[name]?.type).toBe('string');
    }
    expect(declaredInputs.config?.default).toBe(action.inputs.config?.default);
  });

  it('uses every input it declares', () => {
    for (const name of Object.keys(declaredInputs)) {
      expect(text.includes(`inputs.${name} `) || text.includes(`inputs.${name}}`), name).toBe(true);
    }
  });

  it("exposes the action's outputs", () => {
    const outputs = call.outputs ?? {};
    expect(Object.keys(outputs).sort()).toEqual([...expected.outputs].sort());
    for (const [name, output] of Object.entries(outputs)) {
      expect(Object.keys(action.outputs)).toContain(name);
      expect(output.value).toBe(`\${{ jobs.${jobName}.outputs.${name} }}`);
      expect(job.outputs?.[name]).toBe(`\${{ steps.${actionStep.id}.outputs.${name} }}`);
    }
  });

  if (expected.mode === 'scale-up') {
    it('gives the runners of a count a run-unique label, and serves the demand found without one', () => {
      expect(declaredInputs.count?.type).toBe('number');
      expect(passed['unique-label']).toBe('${{ inputs.count > 0 }}');
      expect(passed.count).toBe("${{ inputs.count > 0 && inputs.count || '' }}");
    });
  }
});

describe('the example workflows', () => {
  const files = readdirSync(path.join(ROOT, 'examples/workflows')).filter((f) => f.endsWith('.yml'));

  it('exist for the scheduler, the pre-job pattern, workflow_run and repository_dispatch', () => {
    const triggers = files.flatMap((f) => Object.keys(load<Workflow>(`examples/workflows/${f}`).on));
    for (const trigger of ['schedule', 'workflow_dispatch', 'workflow_run', 'repository_dispatch', 'push']) {
      expect(triggers).toContain(trigger);
    }
  });

  describe.each(files)('%s', (file) => {
    const workflow = load<Workflow>(`examples/workflows/${file}`);
    const calls = Object.entries(workflow.jobs).filter(([, job]) => job.uses?.includes('/runner-scaler/'));

    it('calls the reusable workflows with inputs and secrets they declare', () => {
      expect(calls.length).toBeGreaterThan(0);
      for (const [name, job] of calls) {
        const match = /^[^/]+\/runner-scaler\/\.github\/workflows\/([a-z-]+\.yml)@v\d+$/.exec(job.uses ?? '');
        expect(match, `${name}: ${job.uses}`).not.toBeNull();
        const called = load<Workflow>(`.github/workflows/${match?.[1]}`).on.workflow_call as WorkflowCall;
        const inputs = called.inputs ?? {};
        const given = job.with ?? {};
        expect(
          Object.keys(given).filter((k) => !(k in inputs)),
          name,
        ).toEqual([]);
        const required = Object.keys(inputs).filter((k) => inputs[k]?.required);
        expect(
          required.filter((k) => !(k in given)),
          name,
        ).toEqual([]);
        for (const [key, value] of Object.entries(given)) {
          expect(references(value, 'secrets'), `${name}.with.${key}`).toEqual([]);
        }
        expect(job.secrets, name).not.toBe('inherit');
        const secrets = (job.secrets ?? {}) as Record<string, unknown>;
        expect(
          Object.keys(secrets).filter((k) => !(k in (called.secrets ?? {}))),
          name,
        ).toEqual([]);
        expect(Object.keys(secrets).length, `${name} authenticates to GitHub`).toBeGreaterThan(0);
        expect(job.permissions, name).toEqual({ 'id-token': 'write', contents: 'read' });
      }
    });

    it('reads only outputs the called workflows declare (needs.<job>.outputs.<name>)', () => {
      const outputsOf = new Map(
        calls.map(([name, job]) => {
          const file = /\.github\/workflows\/([a-z-]+\.yml)@/.exec(job.uses ?? '')?.[1];
          const called = load<Workflow>(`.github/workflows/${file}`).on.workflow_call as WorkflowCall;
          return [name, Object.keys(called.outputs ?? {})];
        }),
      );
      const text = JSON.stringify(workflow.jobs);
      for (const [, job, output] of text.matchAll(/needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
        if (outputsOf.has(job as string)) expect(outputsOf.get(job as string)).toContain(output);
      }
    });

    it("sets no concurrency group of the reusable workflows' own (that would wait for itself)", () => {
      const groups = [workflow.concurrency, ...Object.values(workflow.jobs).map((j) => j.concurrency)];
      for (const group of groups) expect(JSON.stringify(group ?? '')).not.toMatch(/runner-scaler-/);
    });
  });
});

describe('npm run lint:workflows', () => {
  it('passes on action.yml, the reusable workflows and the examples', async () => {
    const { files, findings } = await lintRepository();
    expect(findings).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'action.yml',
        '.github/workflows/reconcile.yml',
        '.github/workflows/scale-up.yml',
        '.github/workflows/drain.yml',
        'examples/workflows/scheduler.yml',
      ]),
    );
  });

  it('reports an expression that names an undeclared input', async () => {
    const text = readFileSync(path.join(ROOT, '.github/workflows/drain.yml'), 'utf8').replace(
      '${{ inputs.pool }}',
      '${{ inputs.pools }}',
    );
    const findings = await lintWorkflows([{ file: 'drain.yml', text }]);
    expect(findings.map((f) => f.rule)).toEqual(['expression']);
    expect(findings[0]?.message).toContain('"pools" is not defined');
  });

  it('reports an unknown concurrency key other than queue', async () => {
    const text = readFileSync(path.join(ROOT, '.github/workflows/drain.yml'), 'utf8').replace(
      'queue: max',
      'queued: max',
    );
    const findings = await lintWorkflows([{ file: 'drain.yml', text }]);
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('unexpected key "queued"')]);
  });

  it('reports a bad action.yml', () => {
    const text = readFileSync(path.join(ROOT, 'action.yml'), 'utf8');
    expect(lintAction(text)).toEqual([]);
    expect(lintAction(text.replace('icon: layers', 'icon: no-such-icon')).map((f) => f.message)).toEqual([
      '/branding/icon: Enum conditions are not met',
    ]);
    expect(lintAction(text.replace('using: node24', 'using: node99')).length).toBeGreaterThan(0);
  });
});
