// `npm run summaries`: writes docs/summaries.md, real job summaries of dist/index.js run against the emulator: a
// normal run, a failure, a read failure, a drain and a burst. test/docs/summaries.test.ts runs the same scenarios
// and checks that the committed file has the structure they produce now.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { runAction } from '../emulator/run-action.js';

export const SUMMARIES_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../docs/summaries.md',
);

const TOKEN = 'ghs_summaries_token_0123456789';
const MIN = 60_000;
/** Where a release's summaries link (GITHUB_ACTION_REPOSITORY at GITHUB_ACTION_REF); here, the repository's README. */
const ACTION_REPOSITORY = 'acme/runner-scaler';
const DOCS_URL = `https://github.com/${ACTION_REPOSITORY}/blob/v1/README.md`;

const POOLS = `
environment: acme-ci
github: { organization: acme }
coordination: { table: runner-scaler }
defaults: { region: eu-west-1, launchTemplate: runner-linux, repositories: [acme/app] }
pools:
  linux-x64:
    labels: [linux, x64]
    min: 1
    max: 300
    instanceTypes: [m7i.large, m6i.large]
    schedule:
      timeZone: Europe/Berlin
      windows: [{ days: mon-fri, hours: '08:00-18:00', min: 3 }]
  linux-arm64: { labels: [linux, arm64], max: 20 }
`;

interface Scenario {
  title: string;
  what: string;
  mode: string;
  pools?: string;
  setup(emulator: Emulator): Promise<void> | void;
}

const ago = (ms: number) => new Date(Date.now() - ms);

function seed(
  emulator: Emulator,
  withRunner: 'idle' | 'busy' | false,
  ageMs: number,
  tags: Record<string, string> = {},
) {
  return emulator.seedInstance({
    environment: 'acme-ci',
    pool: 'linux-x64',
    launchTime: ago(ageMs),
    withRunner,
    // Without x64: the seeded runners take none of the queued jobs while the scenario is set up.
    labels: ['self-hosted', 'linux'],
    tags,
    ...(withRunner === 'busy' ? { busyForMs: 60 * MIN } : {}),
  });
}

const SCENARIOS: Scenario[] = [
  {
    title: 'A normal run',
    what: 'reconcile: queued jobs to launch for, an idle runner removed on its second sighting, another seen idle for the first time, busy runners kept, a job no pool serves',
    mode: 'reconcile',
    setup(emulator) {
      seed(emulator, 'idle', 40 * MIN, { 'runner-scaler:idle-since': ago(12 * MIN).toISOString() });
      seed(emulator, 'idle', 40 * MIN, { 'runner-scaler:idle-since': ago(12 * MIN).toISOString() });
      seed(emulator, 'idle', 20 * MIN);
      seed(emulator, 'busy', 30 * MIN);
      seed(emulator, 'busy', 30 * MIN);
      emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: ['self-hosted', 'linux', 'x64'] }],
      });
      emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: ['self-hosted', 'linux', 'arm64'] }],
        count: 2,
      });
      emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: ['self-hosted', 'gpu'], name: 'train' }],
      });
    },
  },
  {
    title: 'A failure',
    what: 'reconcile: the role may not terminate (a policy without TerminateInstances) and launching is refused',
    mode: 'reconcile',
    setup(emulator) {
      seed(emulator, false, 60 * MIN);
      seed(emulator, 'busy', 30 * MIN);
      emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: ['self-hosted', 'linux', 'arm64'] }],
        count: 2,
      });
      const denied =
        'You are not authorized to perform this operation. Encoded authorization failure message: AbC123';
      emulator.faults.inject({
        service: 'ec2',
        action: 'TerminateInstances',
        code: 'UnauthorizedOperation',
        status: 403,
        message: denied,
      });
      emulator.faults.inject({
        service: 'ec2',
        action: 'RunInstances',
        code: 'UnauthorizedOperation',
        status: 403,
        message: denied,
      });
    },
  },
  {
    title: 'A read failure',
    what: 'reconcile: the parameters cannot be listed (AccessDeniedException), and a repository in the pools file is gone (404)',
    mode: 'reconcile',
    pools: POOLS.replace('repositories: [acme/app]', 'repositories: [acme/app, acme/old-app]'),
    setup(emulator) {
      seed(emulator, false, 60 * MIN);
      seed(emulator, 'idle', 40 * MIN, { 'runner-scaler:idle-since': ago(12 * MIN).toISOString() });
      emulator.faults.inject({
        service: 'ssm',
        action: 'DescribeParameters',
        code: 'AccessDeniedException',
        status: 400,
        message:
          'User: arn:aws:sts::123456789012:assumed-role/acme-ci-scaler/x is not authorized to perform: ssm:DescribeParameters',
      });
    },
  },
  {
    title: 'A drain',
    what: 'drain: every idle and booting instance goes, whatever min says; busy runners finish their job',
    mode: 'drain',
    setup(emulator) {
      for (let i = 0; i < 6; i++) seed(emulator, 'idle', 40 * MIN);
      for (let i = 0; i < 3; i++) seed(emulator, 'busy', 30 * MIN);
      seed(emulator, false, 1 * MIN);
    },
  },
  {
    title: 'A burst',
    what: 'reconcile: a 250-job matrix for a pool that registers with a token, and EC2 has capacity for 200 (a warning: the next run retries the rest)',
    mode: 'reconcile',
    pools: POOLS.replace('    min: 1\n', '    min: 1\n    registration: token\n'),
    setup(emulator) {
      emulator.github.queueRun({
        repository: 'acme/app',
        jobs: [{ labels: ['self-hosted', 'linux', 'x64'] }],
        count: 250,
      });
      emulator.ec2.setCapacity({ 'm7i.large': 150, 'm6i.large': 50 }, 'on-demand');
    },
  },
];

async function runScenario(scenario: Scenario): Promise<string> {
  const emulator = await startEmulator({
    region: 'eu-west-1',
    github: { orgs: ['acme'], repos: ['acme/app'], tokens: [TOKEN] },
    simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
  try {
    await scenario.setup(emulator);
    const run = await runAction({
      url: emulator.url,
      inputs: { mode: scenario.mode, 'github-token': TOKEN },
      pools: scenario.pools ?? POOLS,
      env: { GITHUB_ACTION_REPOSITORY: ACTION_REPOSITORY, GITHUB_ACTION_REF: 'v1' },
      secrets: () => emulator.issuedSecrets(),
    });
    if (!run.summary.trim())
      throw new Error(`${scenario.title}: no summary (exit ${run.exitCode}): ${run.stderr}`);
    return run.summary;
  } finally {
    await emulator.stop();
  }
}

/** The summary one level down (its ## under the scenario's ##), its README links relative to docs/. */
function embed(summary: string): string {
  return summary
    .replace(/^(#{2,5}) /gm, '#$1 ')
    .replaceAll(DOCS_URL, '../README.md')
    .trimEnd();
}

export async function generateSummaries(): Promise<string> {
  const sections: string[] = [];
  for (const scenario of SCENARIOS) {
    const summary = await runScenario(scenario);
    sections.push(`## ${scenario.title}`, '', `_${scenario.what}._`, '', embed(summary), '');
  }
  const text = [
    '# Job summaries',
    '',
    'What the job summary looks like, as GitHub renders it: real summaries of `dist/index.js` run against the',
    'emulator (`npm run summaries` writes this file; `test/docs/summaries.test.ts` checks that it has the structure',
    'the scenarios produce). Instance ids and times differ from run to run.',
    '',
    ...sections,
  ].join('\n');
  const options = (await prettier.resolveConfig(SUMMARIES_FILE)) ?? {};
  return prettier.format(text, { ...options, parser: 'markdown' });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(SUMMARIES_FILE, await generateSummaries());
  console.log(`wrote ${path.relative(process.cwd(), SUMMARIES_FILE)}`);
}
