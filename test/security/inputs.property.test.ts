// Property tests of the action inputs (INPUT_* variables as the runner sets them): every combination of
// mode, count, pool, dry-run, unique-label and App/token credentials is either read correctly or refused
// with an InputError naming the input and the bad value; the secret inputs are masked before any check.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkPrivateKey, InputError, readSettings, type Settings } from '../../src/inputs.js';
import { hostileString, isCrash } from './arbitraries.js';

const MODES = ['scale-up', 'scale-down', 'reconcile', 'drain'];
const POOL = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const PEM = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;

/** An input as the runner sets it; `undefined` means not set. */
type Value = string | undefined;

interface Case {
  mode: Value;
  count: Value;
  pool: Value;
  dryRun: Value;
  uniqueLabel: Value;
  token: Value;
  appId: Value;
  privateKey: Value;
  installationId: Value;
  apiUrl: Value;
}

const absent = fc.constant(undefined);
const blank = fc.constantFrom('', ' ', '\t');
const flag = fc.oneof(
  absent,
  blank,
  fc.constantFrom('true', 'false', 'TRUE', ' False ', 'yes', '1', 'on', 'truee', 'tr ue'),
  hostileString,
);
const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  mode: fc.oneof(
    fc.constantFrom(...MODES),
    fc.constantFrom(...MODES).map((m) => ` ${m} `),
    fc.constantFrom('Reconcile', 'scale_up', 'scale-sideways', 'SCALE-UP', 'drain;rm -rf /'),
    blank,
    absent,
    hostileString,
  ),
  count: fc.oneof(
    absent,
    blank,
    fc.integer({ min: 1, max: 1000 }).map(String),
    fc.constantFrom(
      '007',
      '0',
      '-1',
      '1.5',
      '1e3',
      '1001',
      '99999999999999999999',
      'many',
      '５',
      '0x10',
      '1 2',
    ),
    hostileString,
  ),
  pool: fc.oneof(
    absent,
    blank,
    fc.stringMatching(POOL),
    fc.constantFrom('linux', '-x', 'a b', 'x'.repeat(41), 'ü', '../x'),
    hostileString,
  ),
  dryRun: flag,
  uniqueLabel: flag,
  token: fc.oneof(
    absent,
    absent,
    fc.constantFrom('ghp_0123456789abcdef', 'ghs_xyz%41\nsecond'),
    hostileString,
  ),
  appId: fc.oneof(
    absent,
    absent,
    fc.stringMatching(/^[1-9]\d{0,15}$/),
    fc.constantFrom('0', 'abc', '-1', '1.5', '12345678901234567', '١٢', ' 42 '),
  ),
  privateKey: fc.oneof(
    absent,
    absent,
    fc.constantFrom(
      PEM,
      PEM.replace(/\n/g, '\\n'),
      'not a key',
      'ssh-rsa AAAAB3Nza',
      '-----BEGIN PRIVATE KEY-----',
    ),
  ),
  installationId: fc.oneof(
    absent,
    absent,
    fc.stringMatching(/^[1-9]\d{0,8}$/),
    fc.constantFrom('0', 'x', '-3'),
  ),
  apiUrl: fc.oneof(
    absent,
    fc.constantFrom(
      'https://api.github.com',
      'http://127.0.0.1:9/',
      'api.github.com',
      'ftp://x',
      'javascript:alert(1)',
    ),
  ),
});

const trim = (value: Value) => (value ?? '').trim();

/** The inputs a correct reader must refuse this case for (empty: it must accept it). */
function badInputs(c: Case): Set<string> {
  const bad = new Set<string>();
  const mode = trim(c.mode);
  if (!MODES.includes(mode)) bad.add('mode');
  const pool = trim(c.pool);
  if (pool && !POOL.test(pool)) bad.add('pool');
  const count = trim(c.count);
  if (count) {
    if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 1000) bad.add('count');
    else if (mode !== 'scale-up' || !pool) bad.add('count');
  }
  const flagOk = (value: Value) => ['', 'true', 'false'].includes(trim(value).toLowerCase());
  if (!flagOk(c.uniqueLabel)) bad.add('unique-label');
  else if (trim(c.uniqueLabel).toLowerCase() === 'true' && !count) bad.add('unique-label');
  if (!flagOk(c.dryRun)) bad.add('dry-run');
  const apiUrl = c.apiUrl ?? '';
  if (apiUrl && !/^https?:\/\//.test(apiUrl)) bad.add('GITHUB_API_URL');
  const token = trim(c.token);
  const appId = trim(c.appId);
  const key = trim(c.privateKey);
  const installation = trim(c.installationId);
  if (appId || key) {
    if (token) bad.add('github-token').add('github-app-id');
    if (!/^[1-9]\d{0,15}$/.test(appId)) bad.add('github-app-id');
    if (!key.includes('PRIVATE KEY-----')) bad.add('github-app-private-key');
    if (installation && !/^[1-9]\d{0,15}$/.test(installation)) bad.add('github-app-installation-id');
  } else {
    if (!token) bad.add('github-token');
    if (installation) bad.add('github-app-installation-id');
  }
  return bad;
}

let stdout = '';
const saved = { ...process.env };
beforeAll(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
});
afterAll(() => {
  vi.restoreAllMocks();
  process.env = { ...saved };
});

function setEnvironment(c: Case): void {
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  delete process.env.GITHUB_API_URL;
  const inputs: Record<string, Value> = {
    MODE: c.mode,
    COUNT: c.count,
    POOL: c.pool,
    'DRY-RUN': c.dryRun,
    'UNIQUE-LABEL': c.uniqueLabel,
    'GITHUB-TOKEN': c.token,
    'GITHUB-APP-ID': c.appId,
    'GITHUB-APP-PRIVATE-KEY': c.privateKey,
    'GITHUB-APP-INSTALLATION-ID': c.installationId,
  };
  for (const [name, value] of Object.entries(inputs))
    if (value !== undefined) process.env[`INPUT_${name}`] = value;
  if (c.apiUrl !== undefined) process.env.GITHUB_API_URL = c.apiUrl;
  process.env.GITHUB_WORKSPACE = '/workspace';
}

function read(c: Case): { settings: Settings } | { error: unknown } {
  setEnvironment(c);
  stdout = '';
  try {
    return { settings: readSettings() };
  } catch (error) {
    return { error };
  }
}

/** What @actions/core writes for a command's data (`::add-mask::<escaped>`). */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

describe('inputs', () => {
  it('every combination is read as given or refused naming a bad input; secrets are masked first', () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const bad = badInputs(c);
        const result = read(c);

        // Masked whatever else is wrong: an error about another input must not be able to print them.
        const token = trim(c.token);
        if (token) expect(stdout).toContain(`::add-mask::${escapeData(token)}\n`);
        if (trim(c.privateKey)) {
          expect(stdout).toContain(`::add-mask::${escapeData(trim(c.privateKey))}\n`);
          for (const line of trim(c.privateKey).split(/\r?\n|\\n/)) {
            if (line.trim().length > 8) expect(stdout).toContain(`::add-mask::${escapeData(line.trim())}\n`);
          }
        }

        if ('error' in result) {
          if (isCrash(result.error)) throw result.error;
          const message = (result.error as Error).message;
          expect(bad.size, `refused a valid case: ${message}`).toBeGreaterThan(0);
          // @actions/core's own "Input required and not supplied: mode" is an Error; ours are InputErrors.
          if (!(result.error instanceof InputError))
            expect(message).toBe('Input required and not supplied: mode');
          const named = [...bad].filter(
            (name) =>
              message.includes(`'${name}'`) ||
              message.endsWith(`: ${name}`) ||
              message.startsWith(`${name} `),
          );
          expect(named, `${message} names none of ${[...bad].join(', ')}`).not.toEqual([]);
          // The message shows no secret.
          if (token.length >= 12) expect(message).not.toContain(token);
          if (c.privateKey?.includes('PRIVATE KEY-----')) expect(message).not.toContain('MII');
          return;
        }
        expect([...bad], 'accepted an invalid case').toEqual([]);
        const { settings } = result;
        expect(settings.mode).toBe(trim(c.mode));
        expect(settings.pool).toBe(trim(c.pool) || undefined);
        expect(settings.count).toBe(trim(c.count) ? Number(trim(c.count)) : undefined);
        expect(settings.dryRun).toBe(trim(c.dryRun).toLowerCase() === 'true');
        expect(settings.uniqueLabel).toBe(trim(c.uniqueLabel).toLowerCase() === 'true');
        if (settings.auth.kind === 'token') expect(settings.auth.token).toBe(token);
        else {
          expect(settings.auth.appId).toBe(trim(c.appId));
          expect(settings.auth.privateKey).toBe(trim(c.privateKey).replace(/\\n/g, '\n'));
          expect(settings.auth.installationId).toBe(
            trim(c.installationId) ? Number(trim(c.installationId)) : undefined,
          );
        }
      }),
      { numRuns: 400 },
    );
  });

  it('an App key that cannot be read is refused before any API call, without showing it', () => {
    const unreadable = [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEabcdefgh\nQWERTYUIOP123\n-----END RSA PRIVATE KEY-----',
      '-----BEGIN PRIVATE KEY-----',
      PEM.slice(0, 200),
    ];
    for (const privateKey of unreadable) {
      expect(() => checkPrivateKey({ kind: 'app', appId: '1', privateKey })).toThrow(
        /^input 'github-app-private-key': not a PEM private key that can be read/,
      );
      try {
        checkPrivateKey({ kind: 'app', appId: '1', privateKey });
      } catch (error) {
        expect((error as Error).message).not.toMatch(/MII|QWERTY/);
      }
    }
    expect(() => checkPrivateKey({ kind: 'app', appId: '1', privateKey: PEM })).not.toThrow();
    expect(() => checkPrivateKey({ kind: 'token', token: 'x' })).not.toThrow();
  });
});
