// `npm run bench [-- options]`: runs the benchmark and writes bench/results/latest.json and latest.md.
//
//   --only burst-jit,burst-token,drain,steady,churn   scenarios to run (default all)
//   --burst 250 --drain 1000 --steady 2000 --churn 2000   sizes
//   --latency github=60,ec2=80,ssm=40                  emulator latency per service (ms)
//   --no-baselines                                     skip the naive baselines
//   --node-options=--max-semi-space-size=1             extra NODE_OPTIONS for the action process
//   --out bench/results/latest.json                    the JSON report; the markdown goes next to it (.md)
//   --action dist/index.js                             the bundle to measure (e.g. a candidate build)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { runBenchmark } from './bench.js';
import { renderMarkdown } from './report.js';
import { DEFAULT_SIZES, SCENARIO_NAMES, type Latency, type ScenarioName } from './scenarios.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    burst: { type: 'string' },
    drain: { type: 'string' },
    steady: { type: 'string' },
    churn: { type: 'string' },
    latency: { type: 'string', default: 'github=60,ec2=80,ssm=40' },
    'no-baselines': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.json' },
    action: { type: 'string' },
  },
});

function size(name: keyof typeof DEFAULT_SIZES): number {
  const raw = values[name];
  if (raw === undefined) return DEFAULT_SIZES[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${raw}`);
  return n;
}

function latency(text: string): Latency {
  const result: Latency = { github: 0, ec2: 0, ssm: 0 };
  for (const part of text.split(',')) {
    const [key, value] = part.split('=');
    if (!key || !(key in result) || value === undefined || !(Number(value) >= 0)) {
      throw new Error(`--latency: expected github=<ms>,ec2=<ms>,ssm=<ms>, got ${text}`);
    }
    result[key as keyof Latency] = Number(value);
  }
  return result;
}

function only(text: string | undefined): ScenarioName[] {
  if (!text) return SCENARIO_NAMES;
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!SCENARIO_NAMES.includes(name as ScenarioName)) {
      throw new Error(`--only: unknown scenario ${name}; expected some of ${SCENARIO_NAMES.join(', ')}`);
    }
  }
  return names as ScenarioName[];
}

const args = process.argv.slice(2);
const report = await runBenchmark({
  sizes: { burst: size('burst'), drain: size('drain'), steady: size('steady'), churn: size('churn') },
  only: only(values.only),
  latency: latency(values.latency),
  ...(values.action ? { action: path.resolve(values.action) } : {}),
  baselines: !values['no-baselines'],
  ...(values['node-options'] ? { nodeOptions: values['node-options'] } : {}),
  command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  log: (line) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`),
});

/** Written as the repository's prettier settings format it, so that `npm run format:check` stays clean. */
async function write(file: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

const out = path.resolve(values.out);
mkdirSync(path.dirname(out), { recursive: true });
await write(out, JSON.stringify(report, null, 2));
const markdown = renderMarkdown(report);
const markdownFile = out.replace(/\.json$/, '') + '.md';
await write(markdownFile, markdown);
console.log(markdown);
console.error(`wrote ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), markdownFile)}`);
