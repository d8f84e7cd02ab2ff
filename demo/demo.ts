// `npm run demo`: the action's modes over half an hour of fleet life on the local emulator, in seconds.
// Each run is the bundled dist/index.js started as the Actions runner starts it; what a user would see
// on GitHub (the job summary) is printed here.
import { startEmulator, type Emulator } from '../emulator/index.js';
import { runAction } from '../emulator/run-action.js';
import { listenDemo } from './listen.js';
import { renderMarkdown } from './render.js';

const TOKEN = 'ghs_demo_token_not_a_secret_0000';
const MIN = 60_000;

const POOLS = `
environment: demo
github: { organization: acme }
coordination: { table: runner-scaler }
defaults:
  region: eu-west-1
  launchTemplate: runner-linux
  repositories: [acme/app, acme/ml]
pools:
  linux-x64:
    labels: [linux, x64]
    min: 2
    max: 40
    idleTimeout: 5m
    minLifetime: 2m
  gpu:
    labels: [linux, gpu]
    launchTemplate: runner-gpu
    instanceTypes: [g5.xlarge, g6.xlarge]
    market: spot-with-fallback
    registration: token
    max: 4
`;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
let clockMs = 0;

function banner(text: string) {
  const t = `t+${String(Math.floor(clockMs / MIN)).padStart(2, '0')}m`;
  console.log(`\n${bold(`═══ ${t}  ${text} `.padEnd(100, '═'))}\n`);
}

async function advance(emulator: Emulator, ms: number) {
  await emulator.advance(ms);
  clockMs += ms;
}

function fleetLine(emulator: Emulator): string {
  const instances = emulator.ec2.instances({ environment: 'demo' });
  const count = (state: string) => instances.filter((i) => i.state === state).length;
  const runners = emulator.github.runners();
  const jobs = emulator.github.jobs();
  const jobCount = (status: string) => jobs.filter((j) => j.status === status).length;
  return (
    `instances: ${count('pending')} pending, ${count('running')} running; ` +
    `runners: ${runners.filter((r) => r.status === 'online' && !r.busy).length} idle, ` +
    `${runners.filter((r) => r.busy).length} busy, ${runners.filter((r) => r.status === 'offline').length} offline; ` +
    `jobs: ${jobCount('queued')} queued, ${jobCount('in_progress')} running, ${jobCount('completed')} done`
  );
}

async function step(emulator: Emulator, title: string, inputs: Record<string, string>) {
  banner(title);
  const result = await runAction({
    url: emulator.url,
    inputs: { 'github-token': TOKEN, ...inputs },
    pools: POOLS,
    event: inputs.mode === 'drain' ? { name: 'workflow_dispatch', payload: {} } : undefined,
    // Throws if a token, key or JIT config shows in the log, summary or outputs, or was never masked.
    secrets: () => emulator.issuedSecrets(),
    requireMasks: true,
  });
  console.log(renderMarkdown(result.summary));
  const outputs = ['launched', 'removed', 'failed'].map((k) => `${k}=${result.outputs[k] ?? '?'}`).join(' ');
  console.log(`step outputs: ${outputs}; exit code ${result.exitCode}`);
  if (result.exitCode !== 0) throw new Error(`the ${inputs.mode} run failed:\n${result.errors.join('\n')}`);
}

function finalTable(emulator: Emulator) {
  banner('Final fleet');
  const rows = emulator.ec2.instances({ environment: 'demo' }).map((i) => {
    const runner = emulator.github.runners().find((r) => r.instanceId === i.id || r.name === `demo-${i.id}`);
    const state = runner ? (runner.busy ? 'busy' : runner.status === 'online' ? 'idle' : 'offline') : '-';
    return [i.id, i.tags['runner-scaler:pool'] ?? '?', i.state, i.lifecycle, state];
  });
  const live = rows.filter((r) => r[2] !== 'terminated');
  const markdown = [
    '| instance | pool | state | market | runner |',
    '| --- | --- | --- | --- | --- |',
    ...live.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(live.length ? renderMarkdown(markdown) : 'No instance left running.');
  const terminated = rows.length - live.length;
  const jobs = emulator.github.jobs();
  const calls = emulator.calls.filter((c) => c.caller === 'action');
  const byService = (s: string) => calls.filter((c) => c.service === s).length;
  console.log(`\n${terminated} instance(s) launched and gone again; ${fleetLine(emulator)}`);
  console.log(
    `parameters left: ${emulator.ssm.parameters().filter((p) => /\/i-/.test(p.name)).length}; ` +
      `jobs completed: ${jobs.filter((j) => j.status === 'completed').length} of ${jobs.length}; ` +
      `API calls by the action: ${byService('github')} GitHub, ${byService('ec2')} EC2, ${byService('ssm')} SSM`,
  );
}

async function main() {
  const emulator = await startEmulator({
    region: 'eu-west-1',
    github: { orgs: ['acme'], repos: ['acme/app', 'acme/ml'], tokens: [TOKEN] },
    simulator: { bootDelayMs: 40_000, runnerStartMs: 5_000 },
  });
  try {
    const durations = [2, 3, 3, 4, 4, 5, 5, 6];
    emulator.github.queueRun({
      repository: 'acme/app',
      name: 'CI',
      jobs: Array.from({ length: 24 }, (_, i) => ({
        labels: ['self-hosted', 'linux', 'x64'],
        durationMs: (durations[i % durations.length] ?? 3) * MIN,
        name: `test (${i + 1})`,
      })),
    });
    emulator.github.queueRun({
      repository: 'acme/ml',
      name: 'train',
      jobs: Array.from({ length: 3 }, (_, i) => ({
        labels: ['self-hosted', 'gpu'],
        durationMs: 8 * MIN,
        name: `train (${i + 1})`,
      })),
    });
    console.log(bold('runner-scaler demo: a local emulator of EC2, SSM and GitHub on ' + emulator.url));
    console.log('A 24-job matrix on linux-x64 and 3 GPU training jobs are queued.');

    await step(emulator, 'Scheduler: reconcile (the matrix and the GPU jobs arrive)', { mode: 'reconcile' });
    await advance(emulator, 3 * MIN);
    console.log(`\n… 3 minutes later: ${fleetLine(emulator)}`);

    const lint = emulator.github.queueRun({
      repository: 'acme/app',
      name: 'lint',
      jobs: Array.from({ length: 6 }, () => ({ labels: ['self-hosted', 'linux'], durationMs: 1 * MIN })),
    });
    await advance(emulator, 2 * MIN);
    await step(emulator, 'Scheduler: reconcile (6 more jobs; the matrix is running)', { mode: 'reconcile' });
    emulator.github.cancelRun(lint.runId);
    console.log('\n… the lint run is cancelled: the runners launched for it will come up with nothing to do');

    await advance(emulator, 8 * MIN);
    console.log(`\n… 8 minutes later: ${fleetLine(emulator)}`);
    await step(emulator, 'Scheduler: reconcile (jobs done; ephemeral runners left; idle runners seen once)', {
      mode: 'reconcile',
    });

    await advance(emulator, 6 * MIN);
    await step(
      emulator,
      'Scheduler: reconcile (idle runners seen again after idleTimeout: those above min go)',
      {
        mode: 'reconcile',
      },
    );

    await step(emulator, 'workflow_dispatch: drain linux-x64 (e.g. before an AMI change)', {
      mode: 'drain',
      pool: 'linux-x64',
    });
    await advance(emulator, 1 * MIN);
    finalTable(emulator);
    if (emulator.errors.length)
      throw new Error(`emulator errors: ${emulator.errors.map((e) => e.message).join('; ')}`);
  } finally {
    await emulator.stop();
  }
  await listenDemo({ banner, bold });
}

await main();
