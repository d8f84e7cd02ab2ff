// Bad input through the whole action (src/main.ts run()): every validation error fails the step with a
// message naming the path or input, and the action makes no API call at all — so certainly no write.
// Every request, to GitHub or AWS, lands on a local recording server.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/main.js';
import { startRecordingServer, stepEnvironment, type RecordingServer } from '../unit/recording-server.js';
import { replaceAt } from './arbitraries.js';
import { baseFile, fieldNamed, fieldWith, serialize, format } from './pools.js';

const PEM = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;
const TOKEN = 'ghs_validation_token_0123456789';

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

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rs-validation-'));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env = { ...saved };
  process.exitCode = undefined;
});

interface Attempt {
  inputs: Record<string, string>;
  pools?: string;
  event?: { name: string; payload?: unknown; text?: string };
}

/** Runs the action in this process with a fresh environment; returns the decoded ::error:: lines. */
async function attempt({ inputs, pools, event }: Attempt): Promise<{ exitCode: unknown; errors: string[] }> {
  for (const key of Object.keys(process.env))
    if (key.startsWith('INPUT_') || key.startsWith('GITHUB_')) delete process.env[key];
  writeFileSync(path.join(dir, 'pools.yml'), pools ?? serialize(baseFile(), 'yaml'));
  Object.assign(process.env, stepEnvironment(dir, endpoint), {
    AWS_MAX_ATTEMPTS: '1',
    INPUT_CONFIG: 'pools.yml',
  });
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
  if (event) {
    const file = path.join(dir, 'event.json');
    writeFileSync(file, event.text ?? JSON.stringify(event.payload));
    Object.assign(process.env, { GITHUB_EVENT_NAME: event.name, GITHUB_EVENT_PATH: file });
  }
  server.requests.length = 0;
  requests = server.requests;
  stdout = '';
  process.exitCode = undefined;
  process.chdir(dir);
  await run();
  const errors = stdout
    .split('\n')
    .filter((line) => line.startsWith('::error::'))
    .map((line) => decodeURIComponent(line.slice(9).replace(/%0A/g, '\n').replace(/%0D/g, '\r')));
  return { exitCode: process.exitCode, errors };
}

const token = { 'github-token': TOKEN };
const queuedJob = (id: number) => ({
  action: 'queued',
  workflow_job: { id, run_id: 1, labels: ['self-hosted', 'linux'], status: 'queued' },
  repository: { full_name: 'acme/app' },
});

describe('a validation error fails the run before any API call', () => {
  const cases: (Attempt & { name: string; message: RegExp })[] = [
    {
      name: '99 labels with a unique label (GitHub takes 100 with self-hosted and the run label)',
      inputs: { ...token, mode: 'scale-up', pool: 'linux', count: '3', 'unique-label': 'true' },
      pools: stringify(
        replaceAt(
          baseFile(),
          ['pools', 'linux', 'labels'],
          Array.from({ length: 99 }, (_, i) => `l${i}`),
        ),
      ),
      message: /pools\.linux\.labels: Too big: expected array to have <=98 items/,
    },
    {
      name: 'a launch template with neither id nor name',
      inputs: { ...token, mode: 'reconcile' },
      pools: stringify(replaceAt(baseFile(), ['pools', 'linux', 'launchTemplate'], { version: 2 })),
      message: /pools\.linux\.launchTemplate: expected exactly one of id or name, got \{"version":2\}/,
    },
    {
      name: 'an instance type that is not one',
      inputs: { ...token, mode: 'reconcile' },
      pools: stringify(replaceAt(baseFile(), ['pools', 'linux', 'instanceTypes'], ['m7i large'])),
      message:
        /pools\.linux\.instanceTypes\.0: expected an EC2 instance type such as m7i\.large, got "m7i large"/,
    },
    {
      name: 'another input holding the token: the error shows neither',
      inputs: { 'github-token': TOKEN, mode: 'scale-up', pool: 'linux', count: '1', 'unique-label': TOKEN },
      pools: stringify(baseFile()),
      message: /^input 'unique-label': got "\*\*\*", expected true or false$/,
    },
    {
      name: 'an alias bomb',
      inputs: { ...token, mode: 'reconcile' },
      pools:
        'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
      message: /invalid pools file pools\.yml: Excessive alias count/,
    },
    {
      name: 'a pool named __proto__',
      inputs: { ...token, mode: 'drain' },
      pools: serialize(baseFile(), 'yaml').replace('  linux:', '  __proto__:'),
      message: /pools\.__proto__: expected a pool name/,
    },
    {
      name: 'an App key that cannot be read',
      inputs: {
        mode: 'reconcile',
        'github-app-id': '12',
        'github-app-private-key':
          '-----BEGIN RSA PRIVATE KEY-----\nMIIEnotakey\n-----END RSA PRIVATE KEY-----',
      },
      message: /^input 'github-app-private-key': not a PEM private key that can be read/,
    },
    {
      name: 'an installation id 0',
      inputs: {
        mode: 'reconcile',
        'github-app-id': '12',
        'github-app-private-key': PEM,
        'github-app-installation-id': '0',
      },
      message: /^input 'github-app-installation-id': got "0", expected a numeric installation id/,
    },
    {
      name: 'an installation id with a token',
      inputs: { ...token, mode: 'reconcile', 'github-app-installation-id': '5' },
      message:
        /^input 'github-app-installation-id': got "5", expected nothing unless 'github-app-id' is given/,
    },
    {
      name: 'a workflow_run payload with a bad run id',
      inputs: { ...token, mode: 'scale-up' },
      event: {
        name: 'workflow_run',
        payload: { action: 'requested', workflow_run: { id: '12' }, repository: { full_name: 'acme/app' } },
      },
      message: /^workflow_run event: workflow_run\.id is "12"; expected number/,
    },
    {
      name: 'a push payload delivered as repository_dispatch (the wrong event)',
      inputs: { ...token, mode: 'scale-up' },
      event: { name: 'repository_dispatch', payload: { ref: 'refs/heads/main', commits: [] } },
      message: /^repository_dispatch event: client_payload is missing; expected object/,
    },
    {
      name: 'one bad entry in a list of 5,000 queued jobs',
      inputs: { ...token, mode: 'scale-up' },
      event: {
        name: 'repository_dispatch',
        payload: {
          client_payload: {
            events: Array.from({ length: 5_000 }, (_, i) =>
              i === 4_321 ? { ...queuedJob(i + 1), repository: { full_name: 'no slash' } } : queuedJob(i + 1),
            ),
          },
        },
      },
      message:
        /^repository_dispatch event: client_payload\.events\[4321\]\.repository\.full_name is "no slash"; expected "owner\/name"/,
    },
    {
      name: 'an event file that is not JSON',
      inputs: { ...token, mode: 'scale-up' },
      event: { name: 'repository_dispatch', text: '{"client_payload": ' },
      message: /^GITHUB_EVENT_PATH .*event\.json: not JSON/,
    },
  ];

  it.each(cases)('$name', async ({ message, ...input }) => {
    const { exitCode, errors } = await attempt(input);
    expect(exitCode).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(requests).toEqual([]);
  });

  it('random invalid pools files: each fails naming the path, with zero API calls', async () => {
    await fc.assert(
      fc.asyncProperty(fieldWith('invalid'), format, async ([name, value], how) => {
        const field = fieldNamed(name);
        const { exitCode, errors } = await attempt({
          inputs: { ...token, mode: 'reconcile' },
          pools: serialize(replaceAt(baseFile(), field.path, value), how),
        });
        expect(exitCode).toBe(1);
        const reported = [name, ...(field.alsoReportedAt ?? []).map((p) => p.join('.'))];
        expect(errors[0]).toMatch(/^invalid pools file pools\.yml:/);
        expect(reported.some((p) => errors[0]?.includes(`\n  ${p}`))).toBe(true);
        expect(requests).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});

describe('controls: the recorder sees the calls of valid runs', () => {
  it('with a token', async () => {
    await attempt({ inputs: { ...token, mode: 'reconcile' } });
    expect(requests.length).toBeGreaterThan(0);
  });

  it('with a readable App key', async () => {
    await attempt({ inputs: { mode: 'reconcile', 'github-app-id': '12', 'github-app-private-key': PEM } });
    expect(requests.some((r) => r.includes('/installation'))).toBe(true);
  });
});
