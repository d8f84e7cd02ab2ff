// Bad listen-mode input and scale-set pool settings fail before any API call, naming the input or path,
// the bad value and what is expected.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { readSettings } from '../../src/inputs.js';
import { run } from '../../src/main.js';
import { startRecordingServer, stepEnvironment, type RecordingServer } from '../unit/recording-server.js';

const saved = { ...process.env };
let dir: string;
let stdout: string;
let server: RecordingServer;

beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

function setInputs(inputs: Record<string, string>) {
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rs-listen-'));
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  Object.assign(process.env, stepEnvironment(dir, server.url));
  server.requests.length = 0;
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

const pools = (linux: string, extra = '') => `
environment: ci
github: { organization: acme }
coordination: { table: runner-scaler }
pools:
  linux: { labels: [linux], region: eu-west-1, launchTemplate: runner${linux} }
${extra}`;

describe('listen: bad input fails before any API call', () => {
  const cases: { name: string; inputs: Record<string, string>; pools?: string; message: RegExp }[] = [
    {
      name: 'listen without a scale-set pool',
      inputs: { mode: 'listen', 'github-token': 'ghp_x' },
      pools: pools(''),
      message:
        /input 'mode': 'listen' needs a scale-set pool: add `scaleSet: true` to a pool of runner-scaler\.yml/,
    },
    {
      name: 'listen limited to a pool that is not a scale set',
      inputs: { mode: 'listen', pool: 'arm', 'github-token': 'ghp_x' },
      pools: pools(
        ', scaleSet: true',
        '  arm: { labels: [arm64], region: eu-west-1, launchTemplate: runner }',
      ),
      message: /'listen' needs a scale-set pool \(pool arm is not one\)/,
    },
    {
      name: 'listen-minutes that is not a number',
      inputs: { mode: 'listen', 'listen-minutes': 'all day', 'github-token': 'ghp_x' },
      message: /input 'listen-minutes': got "all day", expected a number of minutes above 0 and at most 7200/,
    },
    {
      name: 'listen-minutes past the self-hosted job limit',
      inputs: { mode: 'listen', 'listen-minutes': '7201', 'github-token': 'ghp_x' },
      message: /input 'listen-minutes': got "7201", expected a number of minutes above 0 and at most 7200/,
    },
    {
      name: 'listen-minutes outside listen',
      inputs: { mode: 'reconcile', 'listen-minutes': '30', 'github-token': 'ghp_x' },
      message: /input 'listen-minutes': got "30", expected nothing unless mode is 'listen'/,
    },
    {
      name: 'a dry-run listener',
      inputs: { mode: 'listen', 'dry-run': 'true', 'github-token': 'ghp_x' },
      message: /input 'dry-run': not with mode 'listen'/,
    },
    {
      name: 'a unique label for a scale-set pool',
      inputs: {
        mode: 'scale-up',
        pool: 'linux',
        count: '1',
        'unique-label': 'true',
        'github-token': 'ghp_x',
      },
      message: /input 'unique-label': pool linux is a runner scale set/,
    },
  ];
  it.each(cases)('$name', async ({ inputs, pools: file, message }) => {
    writeFileSync(path.join(dir, 'runner-scaler.yml'), file ?? pools(', scaleSet: true'));
    setInputs({ config: 'runner-scaler.yml', ...inputs });
    process.chdir(dir);
    await run();
    expect(process.exitCode).toBe(1);
    const error = stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(decodeURIComponent(error.replace(/%0A/g, '\n'))).toMatch(message);
    expect(server.requests).toEqual([]);
  });

  it('reads listen-minutes (decimals allowed), 330 by default', () => {
    setInputs({ mode: 'listen', 'github-token': 'ghp_x' });
    expect(readSettings().listenMinutes).toBe(330);
    setInputs({ 'listen-minutes': '0.5' });
    expect(readSettings().listenMinutes).toBe(0.5);
  });
});

describe('scale-set pools in the pools file', () => {
  const file = (linux: string, extra = '') =>
    pools(linux, extra).replace(/^environment: ci$/m, 'environment: ci');

  it('true names the scale set <environment>-<pool>; a string names it', () => {
    expect(parseConfig(file(', scaleSet: true'), 'f').pools[0]?.scaleSet).toEqual({ name: 'ci-linux' });
    expect(parseConfig(file(', scaleSet: linux-fast'), 'f').pools[0]?.scaleSet).toEqual({
      name: 'linux-fast',
    });
    expect(parseConfig(file(', scaleSet: false'), 'f').pools[0]?.scaleSet).toBeUndefined();
  });

  it.each([
    {
      name: 'token registration',
      text: file(', scaleSet: true, registration: token'),
      message: /pools\.linux\.scaleSet: expected registration 'jit' for a scale-set pool .*, got true/,
    },
    {
      name: 'two pools with one name',
      text: file(
        ', scaleSet: shared',
        '  arm: { labels: [arm64], region: eu-west-1, launchTemplate: runner, scaleSet: shared }',
      ),
      message:
        /pools\.arm\.scaleSet: expected a scale set name of its own \(pool linux uses it\), got "shared"/,
    },
    {
      name: 'a bad name',
      text: file(', scaleSet: "has space"'),
      message: /pools\.linux\.scaleSet: expected true, false or a scale set name/,
    },
    {
      name: 'scaleSet in defaults (each pool names its own)',
      text: file('').replace('pools:', 'defaults: { scaleSet: true }\npools:'),
      message: /defaults\.scaleSet: unknown key/,
    },
  ])('rejects $name', ({ text, message }) => {
    expect(() => parseConfig(text, 'f')).toThrow(message);
  });
});
