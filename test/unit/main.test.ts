import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readSettings } from '../../src/inputs.js';
import { run } from '../../src/main.js';
import { startRecordingServer, stepEnvironment, type RecordingServer } from './recording-server.js';

const saved = { ...process.env };
let dir: string;
let requests: string[];
let stdout: string;
let server: RecordingServer;
let endpoint: string;

beforeAll(async () => {
  server = await startRecordingServer();
  endpoint = server.url;
});
afterAll(() => server.close());

function setInputs(inputs: Record<string, string>) {
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rs-main-'));
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  Object.assign(process.env, stepEnvironment(dir, endpoint));
  server.requests.length = 0;
  requests = server.requests;
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  process.exitCode = undefined;
});

afterEach(() => {
  vi.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
});

const validPools = `
github: { organization: acme }
coordination: { table: runner-scaler }
pools:
  linux: { labels: [linux], region: eu-west-1, launchTemplate: runner }
`;

describe('main: bad input fails before any API call', () => {
  const cases: { name: string; inputs: Record<string, string>; pools?: string; message: RegExp }[] = [
    {
      name: 'an invalid pools file names the path and the value',
      inputs: { mode: 'reconcile', 'github-token': 'ghp_x' },
      pools: validPools.replace('[linux]', '[linux], max: "lots"'),
      message: /invalid pools file .*runner-scaler\.yml:\n\s+pools\.linux\.max: .*got "lots"/,
    },
    {
      name: 'a missing pools file',
      inputs: { mode: 'reconcile', 'github-token': 'ghp_x', config: 'nope.yml' },
      message: /input 'config': cannot read pools file nope\.yml \(ENOENT\)/,
    },
    {
      name: 'an unknown mode',
      inputs: { mode: 'scale-sideways', 'github-token': 'ghp_x' },
      message: /input 'mode': got "scale-sideways", expected scale-up, scale-down, reconcile, drain/,
    },
    {
      name: 'a pool not in the file',
      inputs: { mode: 'drain', pool: 'gpu', 'github-token': 'ghp_x' },
      message: /input 'pool': got "gpu", expected a pool of .*: linux/,
    },
    {
      name: 'a count outside scale-up',
      inputs: { mode: 'drain', count: '3', pool: 'linux', 'github-token': 'ghp_x' },
      message: /input 'count': got "3", expected no count unless mode is 'scale-up'/,
    },
    {
      name: 'a non-numeric count',
      inputs: { mode: 'scale-up', count: 'many', pool: 'linux', 'github-token': 'ghp_x' },
      message: /input 'count': got "many", expected a whole number from 1 to 1000/,
    },
    {
      name: 'no credentials',
      inputs: { mode: 'reconcile' },
      message: /'github-token': one is required/,
    },
    {
      name: 'a bad dry-run flag',
      inputs: { mode: 'reconcile', 'dry-run': 'maybe', 'github-token': 'ghp_x' },
      message: /input 'dry-run': got "maybe", expected true or false/,
    },
    {
      name: 'an event payload of the wrong shape',
      inputs: { mode: 'scale-up', 'github-token': 'ghp_x' },
      message: /repository_dispatch event: client_payload/,
    },
  ];
  it.each(cases)('$name', async ({ inputs, pools, message, name }) => {
    writeFileSync(path.join(dir, 'runner-scaler.yml'), pools ?? validPools);
    setInputs({ config: 'runner-scaler.yml', ...inputs });
    if (name.includes('event payload')) {
      const event = path.join(dir, 'event.json');
      writeFileSync(event, JSON.stringify({ client_payload: { something: 'else' } }));
      Object.assign(process.env, { GITHUB_EVENT_NAME: 'repository_dispatch', GITHUB_EVENT_PATH: event });
    }
    process.chdir(dir);
    await run();
    expect(process.exitCode).toBe(1);
    const error = stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(decodeURIComponent(error.replace(/%0A/g, '\n'))).toMatch(message);
    expect(requests).toEqual([]);
  });
});

it('the request recorder sees the API calls of a valid run (so an empty record means none were made)', async () => {
  writeFileSync(path.join(dir, 'runner-scaler.yml'), validPools);
  setInputs({ config: 'runner-scaler.yml', mode: 'reconcile', 'github-token': 'ghp_x' });
  process.env.AWS_MAX_ATTEMPTS = '1';
  await run();
  expect(requests.length).toBeGreaterThan(0);
});

describe('inputs', () => {
  it('masks the token and every line of the private key', () => {
    setInputs({
      mode: 'reconcile',
      'github-app-id': '123',
      'github-app-private-key':
        '-----BEGIN RSA PRIVATE KEY-----\nMIIEabcdefgh\nQWERTYUIOP123\n-----END RSA PRIVATE KEY-----',
    });
    const settings = readSettings();
    expect(settings.auth).toMatchObject({ kind: 'app', appId: '123' });
    expect(stdout).toContain('::add-mask::MIIEabcdefgh');
    expect(stdout).toContain('::add-mask::QWERTYUIOP123');
  });

  it('reads the run context and resolves the config against the workspace', () => {
    setInputs({
      mode: 'scale-up',
      count: '5',
      pool: 'linux',
      'unique-label': 'true',
      'github-token': 'ghp_abc',
    });
    Object.assign(process.env, { GITHUB_RUN_ID: '99', GITHUB_RUN_ATTEMPT: '2' });
    const settings = readSettings();
    expect(settings).toMatchObject({
      mode: 'scale-up',
      count: 5,
      pool: 'linux',
      uniqueLabel: true,
      dryRun: false,
      configPath: path.join(dir, '.github/runner-scaler.yml'),
      apiUrl: endpoint,
      run: { id: '99', attempt: '2' },
    });
    expect(stdout).toContain('::add-mask::ghp_abc');
  });

  it('refuses a token and an app at once', () => {
    setInputs({
      mode: 'reconcile',
      'github-token': 't',
      'github-app-id': '1',
      'github-app-private-key': 'k',
    });
    expect(() => readSettings()).toThrow(/give one way to authenticate, not both/);
  });
});

describe('the summary’s links and the pools file’s warnings', () => {
  it('links the README of the action’s own release, when the runner names it', () => {
    setInputs({ mode: 'reconcile', 'github-token': 'ghp_abc' });
    Object.assign(process.env, { GITHUB_ACTION_REPOSITORY: 'acme/runner-scaler', GITHUB_ACTION_REF: 'v1' });
    expect(readSettings().docsUrl).toBe('https://github.com/acme/runner-scaler/blob/v1/README.md');
    // A local action (uses: ./) has neither: the summary names the README row instead.
    Object.assign(process.env, { GITHUB_ACTION_REPOSITORY: '', GITHUB_ACTION_REF: '' });
    expect(readSettings().docsUrl).toBeUndefined();
  });

  it('a pools file warning is an annotation, and the run goes on', async () => {
    writeFileSync(
      path.join(dir, 'runner-scaler.yml'),
      validPools.replace('labels: [linux]', 'labels: [linux, self-hosted]'),
    );
    setInputs({ config: 'runner-scaler.yml', mode: 'reconcile', 'github-token': 'ghp_x' });
    process.env.AWS_MAX_ATTEMPTS = '1';
    process.chdir(dir);
    await run();
    expect(stdout).toMatch(
      /::warning::pools file runner-scaler\.yml: pools\.linux\.labels: self-hosted is implied/,
    );
    expect(requests.length).toBeGreaterThan(0);
  });
});
