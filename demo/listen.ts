// The demo's listen part: a scale-set pool, a listener (dist/index.js, mode listen), and a job queued in a
// repository the pools file does not name: its instance is launched within a second of the assignment message.
import { startEmulator, type Emulator } from '../emulator/index.js';
import { runAction } from '../emulator/run-action.js';
import { renderMarkdown } from './render.js';

const TOKEN = 'ghp_demo_listen_token_not_a_secret';
const POOLS = `
environment: demo
github: { organization: acme }
coordination: { table: runner-scaler }
defaults:
  region: eu-west-1
  launchTemplate: runner-linux
pools:
  linux-fast:
    labels: [linux, x64, fast]
    max: 20
    scaleSet: true
`;

export interface DemoOutput {
  banner(text: string): void;
  bold(text: string): string;
}

async function until(ready: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function launchWatch(emulator: Emulator): number[] {
  const calls: number[] = [];
  emulator.onCall((request, answer) => {
    if (
      request.service === 'ec2' &&
      answer.status === 200 &&
      /^(RunInstances|CreateFleet)$/.test(request.action)
    )
      calls.push(Date.now());
  });
  return calls;
}

export async function listenDemo(out: DemoOutput): Promise<void> {
  const emulator = await startEmulator({
    region: 'eu-west-1',
    github: { orgs: ['acme'], repos: ['acme/app', 'acme/newly-created'], tokens: [TOKEN] },
    simulator: { bootDelayMs: 40_000, runnerStartMs: 5_000 },
  });
  try {
    out.banner('Listen mode: the pool linux-fast is a runner scale set; a listener serves it');
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    const listener = runAction({
      url: emulator.url,
      inputs: { mode: 'listen', 'github-token': TOKEN, 'listen-minutes': '10' },
      pools: POOLS,
      secrets: () => emulator.issuedSecrets(),
      onSpawn: (c) => (child = c),
    });
    if (!(await until(() => emulator.scaleSets.sessions().length > 0, 30_000)))
      throw new Error('the listener held no session within 30 s');
    const set = emulator.scaleSets.get('demo-linux-fast');
    console.log(
      `The listener created scale set ${set?.name} (labels ${set?.labels.join(', ')}) and holds its session.`,
    );
    const launches = launchWatch(emulator);
    const queuedAt = Date.now();
    emulator.github.queueRun({
      repository: 'acme/newly-created',
      name: 'build',
      jobs: [{ labels: ['self-hosted', 'linux', 'x64', 'fast'], durationMs: 60_000, name: 'build' }],
    });
    console.log('A job is queued in acme/newly-created, a repository the pools file does not name.');
    if (!(await until(() => launches.length > 0, 10_000))) throw new Error('no launch within 10 s');
    const delay = (launches[0] as number) - queuedAt;
    console.log(
      out.bold(
        `Its instance was launched ${delay} ms after the job's assignment message (emitted as it was queued): ` +
          'no scheduler tick, no repository list.',
      ),
    );
    await until(() => emulator.ssm.parameters().length > 0, 10_000);
    await emulator.advance(50_000);
    await until(() => emulator.github.jobs().every((j) => j.status !== 'queued'), 10_000);
    const job = emulator.github.jobs()[0];
    console.log(`The job is ${job?.status} on runner ${job?.runnerName}, a runner of the scale set.`);
    // The JobStarted message reaches the listener; then it is stopped as a cancelled job would be.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    child?.kill('SIGTERM');
    const run = await listener;
    console.log(renderMarkdown(run.summary));
    console.log(`listener exit code ${run.exitCode}; sessions left: ${emulator.scaleSets.sessions().length}`);
    if (run.exitCode !== 0) throw new Error(`the listener failed:\n${run.errors.join('\n')}`);
  } finally {
    await emulator.stop();
  }
}
