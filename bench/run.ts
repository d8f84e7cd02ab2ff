// `npm run bench [-- options]`: runs the benchmark and writes bench/results/latest.json and latest.md.
// `npm run bench -- --help` prints the options.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { runBenchmark } from './bench.js';
import { runListenBench } from './listen.js';
import { renderListenMarkdown } from './listen-report.js';
import { renderMarkdown } from './report.js';
import { DEFAULT_LATENCY_PER_KB_MS } from '../emulator/index.js';
import { DEFAULT_SIZES, SCENARIO_NAMES, type Latency, type ScenarioName } from './scenarios.js';

const USAGE = `usage: npm run bench [-- options]

Runs the benchmark scenarios against the local emulator (real API budgets, emulated latency) and writes a
JSON report and a markdown report next to it.

  --only LIST             scenarios to run, comma-separated (default all): ${SCENARIO_NAMES.join(', ')}, listen
  --burst N               jobs in the burst scenarios (default ${DEFAULT_SIZES.burst})
  --drain N               idle runners in the drain scenario (default ${DEFAULT_SIZES.drain})
  --steady N              runners in the steady scenario (default ${DEFAULT_SIZES.steady})
  --churn N               instances in the churn scenario (default ${DEFAULT_SIZES.churn})
  --concurrent N          jobs in the concurrent scenario (default ${DEFAULT_SIZES.concurrent})
  --latency LIST          emulator latency per answer in ms, and EC2's per KB of answer
                          (default github=60,ec2=80,ssm=40,dynamodb=40,ec2PerKb=0.25)
  --trickle-every S       listen: a job every S seconds (default 10) …
  --trickle-for S         … for S seconds (default 600)
  --listen-burst N        listen: jobs queued at once (default 250)
  --idle S                listen: seconds the listener is measured idle (default 300)
  --boot S                listen: emulated instance boot, seconds (default 40; the runner starts 5 s later)
  --no-baselines          skip the naive baselines
  --action FILE           the bundle to measure (default dist/index.js)
  --compare FILE          another bundle (e.g. the previous commit's dist/index.js) run beside --action,
                          scenario by scenario, on fresh emulators: the report gets a side-by-side table
  --repeat N              pairs of runs per scenario with --compare (default 1); the order alternates
  --without-coordination before|all
                          the --compare bundle (before), or both bundles (all), predate the coordination
                          store: their pools files leave out the coordination key
  --node-options OPTIONS  extra NODE_OPTIONS for the action process (e.g. --max-semi-space-size=1)
  --out FILE              the JSON report (default bench/results/latest.json); the markdown goes beside it
  --help                  print this and exit
`;

const { values } = parseArgs({
  options: {
    help: { type: 'boolean', default: false },
    compare: { type: 'string' },
    repeat: { type: 'string' },
    'without-coordination': { type: 'string' },
    only: { type: 'string' },
    burst: { type: 'string' },
    drain: { type: 'string' },
    steady: { type: 'string' },
    churn: { type: 'string' },
    concurrent: { type: 'string' },
    'trickle-every': { type: 'string' },
    'trickle-for': { type: 'string' },
    'listen-burst': { type: 'string' },
    idle: { type: 'string' },
    boot: { type: 'string' },
    latency: { type: 'string', default: 'github=60,ec2=80,ssm=40,dynamodb=40,ec2PerKb=0.25' },
    'no-baselines': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.json' },
    action: { type: 'string' },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function size(name: keyof typeof DEFAULT_SIZES): number {
  const raw = values[name];
  if (raw === undefined) return DEFAULT_SIZES[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${raw}`);
  return n;
}

function latency(text: string): Latency {
  // Unnamed services keep these; a per-KB cost is the emulator's default (DEFAULT_LATENCY_PER_KB_MS).
  const result: Latency = { github: 0, ec2: 0, ssm: 0, dynamodb: 0, ec2PerKb: DEFAULT_LATENCY_PER_KB_MS.ec2 };
  for (const part of text.split(',')) {
    const [key, value] = part.split('=');
    if (!key || !(key in result) || value === undefined || !(Number(value) >= 0)) {
      throw new Error(
        `--latency: expected github=<ms>,ec2=<ms>,ssm=<ms>,dynamodb=<ms>,ec2PerKb=<ms per KB>, got ${text}`,
      );
    }
    result[key as keyof Latency] = Number(value);
  }
  return result;
}

function only(text: string | undefined): (ScenarioName | 'listen')[] {
  if (!text) return [...SCENARIO_NAMES, 'listen'];
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!SCENARIO_NAMES.includes(name as ScenarioName) && name !== 'listen') {
      throw new Error(
        `--only: unknown scenario ${name}; expected some of ${SCENARIO_NAMES.join(', ')}, listen`,
      );
    }
  }
  return names as (ScenarioName | 'listen')[];
}

/** A listen option in seconds: a positive number. */
function seconds(name: 'trickle-every' | 'trickle-for' | 'idle' | 'boot', fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback * 1000;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--${name}: expected a positive number of seconds, got ${raw}`);
  return n * 1000;
}

function listenBurst(): number {
  const raw = values['listen-burst'];
  if (raw === undefined) return 250;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--listen-burst: expected a positive integer, got ${raw}`);
  return n;
}

function withoutCoordination(text: string | undefined): { withoutCoordination?: 'before' | 'all' } {
  if (text === undefined) return {};
  if (text !== 'before' && text !== 'all') {
    throw new Error(`--without-coordination: expected before or all, got ${text}`);
  }
  return { withoutCoordination: text };
}

function repeat(text: string | undefined): number {
  if (text === undefined) return 1;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`--repeat: expected 1 to 20, got ${text}`);
  return n;
}

const args = process.argv.slice(2);
const selected = only(values.only);
const core = selected.filter((name): name is ScenarioName => name !== 'listen');
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const listenOptions = {
  trickleEveryMs: seconds('trickle-every', 10),
  trickleForMs: seconds('trickle-for', 600),
  burst: listenBurst(),
  idleMs: seconds('idle', 300),
  bootDelayMs: seconds('boot', 40),
  runnerStartMs: 5_000,
};

/** Written as the repository's prettier settings format it, so that `npm run format:check` stays clean. */
async function write(file: string, text: string): Promise<void> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
}

const out = path.resolve(values.out);
mkdirSync(path.dirname(out), { recursive: true });

if (selected.includes('listen')) {
  const started = new Date();
  const listen = await runListenBench({
    ...listenOptions,
    latency: latency(values.latency),
    ...(values.action ? { action: path.resolve(values.action) } : {}),
    log,
  });
  const listenOut = out.replace(/\.json$/, '') + '-listen.json';
  await write(listenOut, JSON.stringify(listen, null, 2));
  const listenMarkdown = renderListenMarkdown(listen, command, started);
  await write(listenOut.replace(/\.json$/, '.md'), listenMarkdown);
  console.log(listenMarkdown);
  console.error(`wrote ${path.relative(process.cwd(), listenOut)} and its .md`);
}
if (core.length === 0) process.exit(0);

const report = await runBenchmark({
  sizes: {
    burst: size('burst'),
    drain: size('drain'),
    steady: size('steady'),
    churn: size('churn'),
    concurrent: size('concurrent'),
  },
  only: core,
  latency: latency(values.latency),
  ...(values.action ? { action: path.resolve(values.action) } : {}),
  ...(values.compare ? { compare: path.resolve(values.compare), repeat: repeat(values.repeat) } : {}),
  ...withoutCoordination(values['without-coordination']),
  baselines: !values['no-baselines'],
  ...(values['node-options'] ? { nodeOptions: values['node-options'] } : {}),
  command,
  log,
});

await write(out, JSON.stringify(report, null, 2));
const markdown = renderMarkdown(report);
const markdownFile = out.replace(/\.json$/, '') + '.md';
await write(markdownFile, markdown);
console.log(markdown);
console.error(`wrote ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), markdownFile)}`);
