// Secret hygiene end to end: dist/index.js against the emulator with GitHub App auth (private key, installation
// token), JIT configs and registration tokens, debug logging and failing APIs. runAction scans every run's
// stdout, stderr, summary and outputs for every secret the emulator issued and requires an ::add-mask::
// command for each secret the run handled; these tests add explicit checks and prove the scanner can fail.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';
import { runAction, type RunOptions } from '../../emulator/run-action.js';
import {
  findSecretLeaks,
  findUnmaskedSecrets,
  maskedValues,
  secretKind,
} from '../../emulator/secret-scan.js';

const MIN = 60_000;
const APP_ID = '4242';
const { privateKey: PEM } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const TOKEN = 'ghs_secrets_e2e_token_0123456789';

const pools = (registration: 'jit' | 'token') => `
environment: ci
github: { organization: acme }
coordination: { table: runner-scaler }
defaults: { region: eu-west-1, launchTemplate: runner, repositories: [acme/app], registration: ${registration} }
pools:
  linux: { labels: [linux, x64], max: 20, minLifetime: 1m, idleTimeout: 1m }
`;

let emulator: Emulator | undefined;
afterEach(async () => {
  expect(emulator?.errors ?? []).toEqual([]);
  await emulator?.stop();
  emulator = undefined;
});

async function start(github: EmulatorOptions['github']): Promise<Emulator> {
  emulator = await startEmulator({
    region: 'eu-west-1',
    github: { orgs: ['acme'], repos: ['acme/app'], ...github },
    simulator: { bootDelayMs: 20_000, runnerStartMs: 3_000 },
  });
  return emulator;
}

const appInputs = (privateKey = PEM) => ({ 'github-app-id': APP_ID, 'github-app-private-key': privateKey });

function run(e: Emulator, options: Omit<RunOptions, 'url' | 'secrets' | 'requireMasks'>) {
  return runAction({ url: e.url, secrets: () => e.issuedSecrets(), requireMasks: true, ...options });
}

const issued = (e: Emulator, test: (s: string) => boolean) => e.issuedSecrets().filter(test);
const isJitConfig = (s: string) => secretKind(s) === 'a JIT config';

describe('secrets end to end', () => {
  it('GitHub App auth with JIT runners: the key, the installation token and the JIT configs are masked, never shown', async () => {
    const e = await start({ app: { id: APP_ID, privateKey: PEM } });
    e.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['self-hosted', 'linux'] }], count: 3 });
    const result = await run(e, { inputs: { mode: 'reconcile', ...appInputs() }, pools: pools('jit') });
    expect(result.errors).toEqual([]);
    expect(result.result).toMatchObject({ launched: 3, failed: 0 });

    const installationTokens = issued(e, (s) => s.startsWith('ghs_'));
    const jitConfigs = issued(e, isJitConfig);
    expect(installationTokens).toHaveLength(1);
    expect(jitConfigs).toHaveLength(3);
    expect(e.issuedSecrets()).toContain(PEM);
    const masked = maskedValues(result.stdout);
    for (const secret of [...installationTokens, ...jitConfigs]) expect(masked.has(secret)).toBe(true);
    for (const line of PEM.split('\n').filter((l) => l.length >= 8 && !l.startsWith('-----'))) {
      expect(masked.has(line)).toBe(true);
    }
    // The JIT configs went to SSM, where the instances read them.
    expect(
      e.ssm
        .parameters()
        .map((p) => p.value)
        .sort(),
    ).toEqual([...jitConfigs].sort());
    // The instances boot and take the jobs: the secrets did their job without showing up anywhere.
    await e.advance(2 * MIN);
    expect(e.github.jobs({ status: 'completed' })).toHaveLength(3);
  });

  it('GitHub App key pasted with \\n escapes, token registration, debug logging on', async () => {
    const e = await start({ app: { id: APP_ID, privateKey: PEM } });
    const result = await run(e, {
      inputs: { mode: 'scale-up', pool: 'linux', count: '2', ...appInputs(PEM.replace(/\n/g, '\\n')) },
      pools: pools('token'),
      env: { RUNNER_DEBUG: '1' },
    });
    expect(result.errors).toEqual([]);
    expect(result.result).toMatchObject({ launched: 2, failed: 0 });
    expect(result.stdout).toMatch(/^::debug::/m);
    const registrationTokens = issued(e, (s) => secretKind(s) === 'a registration token');
    expect(registrationTokens).toHaveLength(1);
    expect(maskedValues(result.stdout).has(registrationTokens[0] as string)).toBe(true);
    expect(e.ssm.parameter('/runner-scaler/ci/pools/linux')?.value).toContain(registrationTokens[0]);
  });

  it('failing APIs: error messages and summaries show no secret', async () => {
    const e = await start({ tokens: [TOKEN] });
    e.seedInstance({
      environment: 'ci',
      pool: 'linux',
      launchTime: new Date(Date.now() - 60 * MIN),
      withRunner: 'offline',
      withParameter: true,
    });
    e.seedInstance({
      environment: 'ci',
      pool: 'linux',
      launchTime: new Date(Date.now() - 60 * MIN),
      withRunner: false,
      withParameter: true,
    });
    e.github.queueRun({ repository: 'acme/app', jobs: [{ labels: ['linux'] }], count: 4 });
    e.faults.inject({ service: 'ssm', action: 'PutParameter', code: 'ValidationException', times: 2 });
    e.faults.inject({
      service: 'github',
      action: /generate-jitconfig/,
      status: 422,
      message: 'Validation Failed',
      times: 1,
    });
    e.faults.inject({ service: 'ssm', action: 'DeleteParameters', code: 'InternalServerError' });
    e.faults.inject({
      service: 'ec2',
      action: 'TerminateInstances',
      code: 'UnauthorizedOperation',
      status: 403,
    });
    const result = await run(e, {
      inputs: { mode: 'reconcile', 'github-token': TOKEN },
      pools: pools('jit'),
      env: { RUNNER_DEBUG: '1', AWS_MAX_ATTEMPTS: '1' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.result?.failed).toBeGreaterThan(0);
    expect(issued(e, isJitConfig).length).toBeGreaterThanOrEqual(4);
  });

  it('an invalid input: the token is masked before the error is printed', async () => {
    const e = await start({ tokens: [TOKEN] });
    const result = await run(e, {
      inputs: { mode: 'scale-sideways', 'github-token': TOKEN },
      pools: pools('jit'),
    });
    expect(result.errors).toEqual([expect.stringMatching(/^input 'mode'/)]);
    expect(maskedValues(result.stdout).has(TOKEN)).toBe(true);
  });
});

describe('the scanner', () => {
  const quiet = { stdout: '', stderr: '', summary: '', outputsFile: '', outputs: {} };
  const jit = Buffer.from('{"runner":"x","credentials":"0123456789"}').toString('base64');

  it('finds each kind of secret wherever it leaks, and names the kind and the place', () => {
    const pemLine = PEM.split('\n')[3] as string;
    const leaks = findSecretLeaks(
      {
        stdout: `::add-mask::${TOKEN}\nfine\nPutParameter failed: ${jit}\n`,
        stderr: `at line ${pemLine}`,
        summary: `| token | ${TOKEN} |`,
        outputsFile: '',
        outputs: { result: '{"registration":"ABCDEFGHIJKLMNOPQRSTUVWXYZ012"}' },
      },
      [jit, PEM, TOKEN, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012', 'ghs_never_printed_0000'],
      new Map([[TOKEN, 'github-token']]),
    );
    expect(leaks).toEqual([
      { kind: 'a JIT config', where: 'stdout line 3', excerpt: 'PutParameter failed: ***' },
      { kind: 'a line of the GitHub App private key', where: 'stderr line 1', excerpt: 'at line ***' },
      { kind: 'the github-token input', where: 'the job summary', excerpt: '| token | *** |' },
      { kind: 'a registration token', where: 'output result', excerpt: '{"registration":"***"}' },
    ]);
  });

  it('an ::add-mask:: command is not a leak; a missing one is reported, per line for a key', () => {
    expect(findSecretLeaks({ ...quiet, stdout: `::add-mask::${jit}\n` }, [jit])).toEqual([]);
    const keyLines = PEM.split('\n').filter((l) => l.length >= 8 && !l.startsWith('-----'));
    const masks = (values: string[]) =>
      values.map((v) => `::add-mask::${v.replace(/\n/g, '%0A')}\n`).join('');
    expect(findUnmaskedSecrets(masks([jit, PEM, ...keyLines]), [jit, PEM])).toEqual([]);
    expect(findUnmaskedSecrets(masks([PEM, ...keyLines.slice(1)]), [jit, PEM])).toEqual([jit, PEM]);
  });

  it('runAction throws when a run shows a secret', async () => {
    const e = await start({ tokens: [TOKEN] });
    // The environment name is in the job summary: declared a secret, it must be reported there.
    const leaky = 'leaky-environment-name';
    await expect(
      runAction({
        url: e.url,
        inputs: { mode: 'reconcile', 'dry-run': 'true', 'github-token': TOKEN },
        pools: pools('jit').replace('environment: ci', `environment: ${leaky}`),
        secrets: () => [leaky],
      }),
    ).rejects.toThrow(/secret leak in the action's run:\n {2}a JIT config appears in stdout line \d+: /);
  });
});
