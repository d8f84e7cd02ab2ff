// Runs the real bootstrap and hook scripts with stub curl, aws, shutdown and runner scripts that
// log their argv, and checks the calls they make against the resource contract.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TAG_ENVIRONMENT,
  TAG_JOB_STARTED,
  TAG_POOL,
  parameterName,
  poolParameterName,
  runnerName,
} from '../../src/contract.js';

const BOOTSTRAP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bootstrap');
const BOOTSTRAP = path.join(BOOTSTRAP_DIR, 'runner-bootstrap.sh');
const HOOK = path.join(BOOTSTRAP_DIR, 'job-started.sh');

const INSTANCE_ID = 'i-0123456789abcdef0';
const REGION = 'eu-west-1';
const ENVIRONMENT = 'ci-prod';
const POOL = 'linux-x64';
const IMDS_SESSION = 'imds-session-token';
const JIT_CONFIG = 'eyJKSVQtU0VDUkVULWNvbmZpZyI6InNob3VsZC1uZXZlci1iZS1wcmludGVkIn0=';
const REGISTRATION_TOKEN = 'AREGTOKEN-SECRET-0123456789';
const INSTANCE_PARAMETER = parameterName(ENVIRONMENT, INSTANCE_ID);
const POOL_PARAMETER = poolParameterName(ENVIRONMENT, POOL);
const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

// Every stub appends one line to $STUB_LOG: its name and its arguments, tab-separated.
const LOG_CALL = `{ printf '%s' "$(basename "$0")"; (($#)) && printf '\\t%s' "$@"; printf '\\n'; } >>"$STUB_LOG"`;

const CURL_STUB = `#!/usr/bin/env bash
${LOG_CALL}
url="\${*: -1}" method=GET headers=()
while (($#)); do
  case "$1" in
    -X) method=$2; shift ;;
    -H) headers+=("$2"); shift ;;
  esac
  shift
done
fail() { echo "curl: (22) The requested URL returned error: $1" >&2; exit 22; }
case "$url" in
  "$STUB_IMDS/latest/api/token")
    [[ $method == PUT && \${headers[*]} == *X-aws-ec2-metadata-token-ttl-seconds:* ]] || fail 400
    printf '%s' "${IMDS_SESSION}"; exit 0 ;;
  "$STUB_IMDS/latest/meta-data/"*) ;;
  *) fail 404 ;;
esac
[[ \${headers[*]} == *"X-aws-ec2-metadata-token: ${IMDS_SESSION}"* ]] || fail 401
case "\${url#"$STUB_IMDS/latest/meta-data/"}" in
  instance-id) value=$STUB_INSTANCE_ID ;;
  placement/region) value=$STUB_REGION ;;
  tags/instance/${TAG_ENVIRONMENT}) value=\${STUB_TAG_ENVIRONMENT:-} ;;
  tags/instance/${TAG_POOL}) value=\${STUB_TAG_POOL:-} ;;
  *) value='' ;;
esac
[[ -n $value ]] || fail 404
printf '%s' "$value"
`;

// Parameters are files under $STUB_DIR/ssm; a <file>.hidden-reads file makes the first N reads miss.
const AWS_STUB = `#!/usr/bin/env bash
${LOG_CALL}
name=''
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  [[ \${args[i]} == --name ]] && name=\${args[i + 1]}
done
file="$STUB_DIR/ssm/\${name//\\//_}"
case "$1 $2" in
  'ssm get-parameter')
    reads=$(($(cat "$file.reads" 2>/dev/null || echo 0) + 1))
    echo "$reads" >"$file.reads"
    if [[ -f $file ]] && ((reads > $(cat "$file.hidden-reads" 2>/dev/null || echo 0))); then
      cat "$file"; echo; exit 0
    fi
    echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2
    exit 254 ;;
  'ssm delete-parameter')
    if [[ -n \${STUB_FAIL_DELETE:-} ]]; then
      echo "An error occurred (AccessDeniedException) when calling the DeleteParameter operation: denied" >&2
      exit 254
    fi
    rm -f "$file"; exit 0 ;;
  'ec2 create-tags')
    if [[ -n \${STUB_FAIL_CREATE_TAGS:-} ]]; then
      echo "An error occurred (UnauthorizedOperation) when calling the CreateTags operation: denied" >&2
      exit 254
    fi
    exit 0 ;;
esac
echo "stub aws: unexpected call: $*" >&2
exit 252
`;

const SHUTDOWN_STUB = `#!/usr/bin/env bash
${LOG_CALL}
`;

// The runner: logs its environment, optionally starts a job (runs the hook as the runner does),
// sleeps, and exits with STUB_RUN_EXIT.
const RUN_STUB = `#!/usr/bin/env bash
${LOG_CALL}
printf 'run.sh-env\\t%s\\t%s\\t%s\\t%s\\n' "$PWD" "\${ACTIONS_RUNNER_HOOK_JOB_STARTED:-}" \\
  "\${RUNNER_SCALER_JOB_STARTED_FILE:-}" "\${RUNNER_ALLOW_RUNASROOT:-}" >>"$STUB_LOG"
if [[ -n \${STUB_RUN_START_JOB:-} ]]; then bash -e "$ACTIONS_RUNNER_HOOK_JOB_STARTED"; fi
if [[ -n \${STUB_RUN_SLEEP:-} ]]; then sleep "$STUB_RUN_SLEEP"; fi
printf 'run.sh-end\\n' >>"$STUB_LOG"
exit "\${STUB_RUN_EXIT:-0}"
`;

const CONFIG_STUB = `#!/usr/bin/env bash
${LOG_CALL}
exit "\${STUB_CONFIG_EXIT:-0}"
`;

interface Call {
  command: string;
  args: string[];
}

interface Result {
  code: number | null;
  output: string;
  calls: Call[];
  elapsedMs: number;
}

let dir: string;
let binDir: string;
let runnerDir: string;
let stateDir: string;
let logFile: string;

async function writeExecutable(file: string, text: string): Promise<void> {
  await writeFile(file, text);
  await chmod(file, 0o755);
}

async function putParameter(name: string, value: string, hiddenReads = 0): Promise<void> {
  const file = path.join(dir, 'ssm', name.replaceAll('/', '_'));
  await writeFile(file, value);
  if (hiddenReads > 0) await writeFile(`${file}.hidden-reads`, String(hiddenReads));
}

async function parameterExists(name: string): Promise<boolean> {
  return existsSync(path.join(dir, 'ssm', name.replaceAll('/', '_')));
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Only what the scripts need from the host: no AWS settings leak into the stubs.
  for (const key of ['HOME', 'LANG', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    PATH: `${binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    STUB_LOG: logFile,
    STUB_DIR: dir,
    STUB_IMDS: 'http://imds.test',
    STUB_INSTANCE_ID: INSTANCE_ID,
    STUB_REGION: REGION,
    STUB_TAG_ENVIRONMENT: ENVIRONMENT,
    STUB_TAG_POOL: POOL,
    IMDS_ENDPOINT: 'http://imds.test',
    RUNNER_DIR: runnerDir,
    STATE_DIR: stateDir,
    JOB_STARTED_HOOK: HOOK,
    SHUTDOWN_COMMAND: `${path.join(binDir, 'shutdown')} -h now`,
    CONFIG_WAIT_SECONDS: '5',
    CONFIG_POLL_SECONDS: '0.05',
    ...extra,
  };
}

async function readCalls(): Promise<Call[]> {
  const text = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [command = '', ...args] = line.split('\t');
      return { command, args };
    });
}

async function runScript(
  script: string,
  extraEnv: Record<string, string> = {},
  options: { signalAfterMs?: number } = {},
): Promise<Result> {
  const started = Date.now();
  const child = spawn('bash', [script], { cwd: dir, env: baseEnv(extraEnv) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  if (options.signalAfterMs !== undefined) {
    setTimeout(() => child.kill('SIGTERM'), options.signalAfterMs);
  }
  const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  clearTimeout(guard);
  return { code, output, calls: await readCalls(), elapsedMs: Date.now() - started };
}

function runBootstrap(extraEnv: Record<string, string> = {}, options: { signalAfterMs?: number } = {}) {
  return runScript(BOOTSTRAP, extraEnv, options);
}

function argAfter(call: Call | undefined, flag: string): string | undefined {
  if (call === undefined) return undefined;
  const index = call.args.indexOf(flag);
  return index < 0 ? undefined : call.args[index + 1];
}

/** One readable step per call, in order. */
function steps(calls: Call[]): string[] {
  return calls
    .filter((call) => call.command !== 'run.sh-env')
    .map((call) => {
      if (call.command === 'curl') {
        const url = call.args.at(-1) ?? '';
        return url.endsWith('/latest/api/token')
          ? 'imds token'
          : `imds ${url.split('/latest/meta-data/')[1]}`;
      }
      if (call.command === 'aws') {
        const [service, operation] = call.args;
        if (service === 'ssm') return `${operation} ${argAfter(call, '--name')}`;
        return `${service} ${operation}`;
      }
      return call.command;
    });
}

const IMDS_STEPS = [
  'imds token',
  'imds instance-id',
  'imds placement/region',
  `imds tags/instance/${TAG_ENVIRONMENT}`,
  `imds tags/instance/${TAG_POOL}`,
];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'runner-bootstrap-'));
  binDir = path.join(dir, 'bin');
  runnerDir = path.join(dir, 'actions-runner');
  stateDir = path.join(dir, 'state');
  logFile = path.join(dir, 'calls.log');
  await Promise.all([mkdir(binDir), mkdir(runnerDir), mkdir(path.join(dir, 'ssm'))]);
  await Promise.all([
    writeExecutable(path.join(binDir, 'curl'), CURL_STUB),
    writeExecutable(path.join(binDir, 'aws'), AWS_STUB),
    // Also on PATH, so that a test that forgot SHUTDOWN_COMMAND still cannot reach the real one.
    writeExecutable(path.join(binDir, 'shutdown'), SHUTDOWN_STUB),
    writeExecutable(path.join(runnerDir, 'run.sh'), RUN_STUB),
    writeExecutable(path.join(runnerDir, 'config.sh'), CONFIG_STUB),
  ]);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runner-bootstrap.sh with a JIT config', () => {
  it('reads and deletes the parameter, runs the runner with it, then shuts down', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap();

    expect(result.code).toBe(0);
    expect(steps(result.calls)).toEqual([
      ...IMDS_STEPS,
      `get-parameter ${INSTANCE_PARAMETER}`,
      `delete-parameter ${INSTANCE_PARAMETER}`,
      'run.sh',
      'run.sh-end',
      'shutdown',
    ]);
    const token = result.calls[0];
    expect(token?.args).toEqual(expect.arrayContaining(['-X', 'PUT']));
    const read = result.calls.find((call) => call.args[1] === 'get-parameter');
    expect(read?.args).toEqual(expect.arrayContaining(['--with-decryption', '--output', 'text']));
    expect(argAfter(read, '--query')).toBe('Parameter.Value');
    expect(argAfter(read, '--region')).toBe(REGION);
    const remove = result.calls.find((call) => call.args[1] === 'delete-parameter');
    expect(argAfter(remove, '--region')).toBe(REGION);
    expect(await parameterExists(INSTANCE_PARAMETER)).toBe(false);
    expect(result.calls.find((call) => call.command === 'run.sh')?.args).toEqual(['--jitconfig', JIT_CONFIG]);
    expect(result.calls.find((call) => call.command === 'shutdown')?.args).toEqual(['-h', 'now']);
  });

  it('runs the runner in RUNNER_DIR with the job-started hook in its environment', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap();

    const env = result.calls.find((call) => call.command === 'run.sh-env');
    const [cwd, hook, marker, allowRoot] = env?.args ?? [];
    expect(cwd).toBe(runnerDir);
    expect(hook).toBe(HOOK);
    expect(marker).toBe(path.join(stateDir, 'job-started'));
    expect(allowRoot).toBe(process.getuid?.() === 0 ? '1' : '');
  });

  it('never prints the JIT config', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({ STUB_FAIL_DELETE: '1', STUB_RUN_START_JOB: '1', STUB_RUN_EXIT: '1' });

    expect(result.calls.find((call) => call.command === 'run.sh')?.args).toEqual(['--jitconfig', JIT_CONFIG]);
    expect(result.output).not.toBe('');
    expect(result.output).not.toContain(JIT_CONFIG);
  });

  it('polls until the parameter appears (third read)', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG, 2);

    const result = await runBootstrap();

    expect(result.code).toBe(0);
    const sequence = steps(result.calls);
    expect(sequence.filter((step) => step === `get-parameter ${INSTANCE_PARAMETER}`)).toHaveLength(3);
    expect(sequence.slice(IMDS_STEPS.length)).toEqual([
      `get-parameter ${INSTANCE_PARAMETER}`,
      `get-parameter ${POOL_PARAMETER}`,
      `get-parameter ${INSTANCE_PARAMETER}`,
      `get-parameter ${POOL_PARAMETER}`,
      `get-parameter ${INSTANCE_PARAMETER}`,
      `delete-parameter ${INSTANCE_PARAMETER}`,
      'run.sh',
      'run.sh-end',
      'shutdown',
    ]);
  });

  it('shuts down without starting a runner when no parameter appears within CONFIG_WAIT_SECONDS', async () => {
    const result = await runBootstrap({ CONFIG_WAIT_SECONDS: '1', CONFIG_POLL_SECONDS: '0.1' });

    expect(result.code).not.toBe(0);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(900);
    const sequence = steps(result.calls);
    expect(sequence.filter((step) => step === `get-parameter ${INSTANCE_PARAMETER}`).length).toBeGreaterThan(
      2,
    );
    expect(sequence).not.toContain('run.sh');
    expect(sequence).not.toContain('config.sh');
    expect(sequence.at(-1)).toBe('shutdown');
    expect(result.output).toContain('no registration within 1s');
  });

  it('still runs the runner when the parameter cannot be deleted', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({ STUB_FAIL_DELETE: '1' });

    expect(result.code).toBe(0);
    expect(steps(result.calls).slice(-4)).toEqual([
      `delete-parameter ${INSTANCE_PARAMETER}`,
      'run.sh',
      'run.sh-end',
      'shutdown',
    ]);
    expect(result.output).toContain(`could not delete ${INSTANCE_PARAMETER}`);
  });

  it('shuts down when the runner fails, with its exit status', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({ STUB_RUN_EXIT: '3' });

    expect(result.code).toBe(3);
    expect(steps(result.calls).slice(-3)).toEqual(['run.sh', 'run.sh-end', 'shutdown']);
  });

  it('tags the instance through the hook when a job starts', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({ STUB_RUN_START_JOB: '1' });

    expect(result.code).toBe(0);
    expect(steps(result.calls).slice(-7)).toEqual([
      'run.sh',
      'imds token',
      'imds instance-id',
      'imds placement/region',
      'ec2 create-tags',
      'run.sh-end',
      'shutdown',
    ]);
    expect(existsSync(path.join(stateDir, 'job-started'))).toBe(true);
  });
});

describe('runner-bootstrap.sh with token registration', () => {
  it('configures an ephemeral runner from the pool parameter, runs it, and keeps the parameter', async () => {
    await putParameter(
      POOL_PARAMETER,
      JSON.stringify({
        token: REGISTRATION_TOKEN,
        url: 'https://github.com/acme/app',
        labels: ['linux', 'x64', 'gpu'],
        runnerGroup: 'ci runners',
      }),
    );

    const result = await runBootstrap();

    expect(result.code).toBe(0);
    expect(steps(result.calls)).toEqual([
      ...IMDS_STEPS,
      `get-parameter ${INSTANCE_PARAMETER}`,
      `get-parameter ${POOL_PARAMETER}`,
      'config.sh',
      'run.sh',
      'run.sh-end',
      'shutdown',
    ]);
    expect(result.calls.find((call) => call.command === 'config.sh')?.args).toEqual([
      '--unattended',
      '--ephemeral',
      '--name',
      runnerName(ENVIRONMENT, INSTANCE_ID),
      '--url',
      'https://github.com/acme/app',
      '--token',
      REGISTRATION_TOKEN,
      '--labels',
      'linux,x64,gpu',
      '--runnergroup',
      'ci runners',
      '--disableupdate',
    ]);
    expect(result.calls.find((call) => call.command === 'run.sh')?.args).toEqual([]);
    expect(await parameterExists(POOL_PARAMETER)).toBe(true);
    expect(result.output).not.toContain(REGISTRATION_TOKEN);
  });

  it('leaves out --labels and --runnergroup when the pool has none', async () => {
    await putParameter(
      POOL_PARAMETER,
      JSON.stringify({ token: REGISTRATION_TOKEN, url: 'https://github.com/acme' }),
    );

    const result = await runBootstrap();

    expect(result.calls.find((call) => call.command === 'config.sh')?.args).toEqual([
      '--unattended',
      '--ephemeral',
      '--name',
      runnerName(ENVIRONMENT, INSTANCE_ID),
      '--url',
      'https://github.com/acme',
      '--token',
      REGISTRATION_TOKEN,
      '--disableupdate',
    ]);
  });

  it('prefers the per-instance JIT config over the pool parameter', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
    await putParameter(
      POOL_PARAMETER,
      JSON.stringify({ token: REGISTRATION_TOKEN, url: 'https://github.com/acme' }),
    );

    const result = await runBootstrap();

    expect(steps(result.calls)).not.toContain('config.sh');
    expect(result.calls.find((call) => call.command === 'run.sh')?.args).toEqual(['--jitconfig', JIT_CONFIG]);
  });

  it.each([
    ['not JSON', `token=${REGISTRATION_TOKEN}`],
    ['without a url', JSON.stringify({ token: REGISTRATION_TOKEN })],
    [
      'with labels that are not a list',
      JSON.stringify({
        token: REGISTRATION_TOKEN,
        url: 'https://github.com/acme',
        labels: REGISTRATION_TOKEN,
      }),
    ],
  ])(
    'shuts down without a runner when the pool parameter is %s, without printing it',
    async (_case, value) => {
      await putParameter(POOL_PARAMETER, value);

      const result = await runBootstrap();

      expect(result.code).not.toBe(0);
      const sequence = steps(result.calls);
      expect(sequence).not.toContain('config.sh');
      expect(sequence).not.toContain('run.sh');
      expect(sequence.at(-1)).toBe('shutdown');
      expect(result.output).not.toContain(REGISTRATION_TOKEN);
    },
  );

  it('shuts down without running the runner when config.sh fails', async () => {
    await putParameter(
      POOL_PARAMETER,
      JSON.stringify({ token: REGISTRATION_TOKEN, url: 'https://github.com/acme' }),
    );

    const result = await runBootstrap({ STUB_CONFIG_EXIT: '1' });

    expect(result.code).not.toBe(0);
    expect(steps(result.calls).slice(-2)).toEqual(['config.sh', 'shutdown']);
    expect(result.output).not.toContain(REGISTRATION_TOKEN);
  });
});

describe('runner-bootstrap.sh stopping and failing', () => {
  it('stops a runner that got no job within JOB_WAIT_SECONDS, then shuts down', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({ JOB_WAIT_SECONDS: '1', STUB_RUN_SLEEP: '30' });

    expect(result.elapsedMs).toBeLessThan(10_000);
    expect(result.code).not.toBe(0);
    // The whole runner session is stopped: the stub's sleep does not finish.
    expect(steps(result.calls).slice(-2)).toEqual(['run.sh', 'shutdown']);
    expect(result.output).toContain('no job started within 1s');
  });

  it('lets the runner finish when its job started within JOB_WAIT_SECONDS', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({
      JOB_WAIT_SECONDS: '2',
      STUB_RUN_START_JOB: '1',
      STUB_RUN_SLEEP: '3.5',
    });

    expect(result.code).toBe(0);
    expect(steps(result.calls).slice(-3)).toEqual(['ec2 create-tags', 'run.sh-end', 'shutdown']);
  });

  it('stops the runner and shuts down when the bootstrap is terminated', async () => {
    await putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await runBootstrap({ STUB_RUN_SLEEP: '30' }, { signalAfterMs: 1_000 });

    expect(result.elapsedMs).toBeLessThan(10_000);
    expect(result.code).toBe(143);
    expect(steps(result.calls).slice(-2)).toEqual(['run.sh', 'shutdown']);
  });

  it('shuts down when the instance metadata tags are not available', async () => {
    const result = await runBootstrap({ STUB_TAG_ENVIRONMENT: '' });

    expect(result.code).not.toBe(0);
    expect(steps(result.calls)).toEqual([...IMDS_STEPS.slice(0, 4), 'shutdown']);
    expect(result.output).toContain('enable instance metadata tags');
  });

  it('shuts down when RUNNER_DIR holds no runner', async () => {
    const result = await runBootstrap({ RUNNER_DIR: path.join(dir, 'missing') });

    expect(result.code).not.toBe(0);
    expect(steps(result.calls)).toEqual(['shutdown']);
    expect(result.output).toContain('no actions runner in');
  });
});

describe('job-started.sh', () => {
  it('tags the instance runner-scaler:job-started with the current UTC time and writes the marker', async () => {
    const marker = path.join(dir, 'marker');
    const before = Math.floor(Date.now() / 1000) * 1000;

    const result = await runScript(HOOK, { RUNNER_SCALER_JOB_STARTED_FILE: marker });

    const after = Date.now();
    expect(result.code).toBe(0);
    expect(steps(result.calls)).toEqual([
      'imds token',
      'imds instance-id',
      'imds placement/region',
      'ec2 create-tags',
    ]);
    const tag = result.calls.at(-1);
    expect(argAfter(tag, '--resources')).toBe(INSTANCE_ID);
    expect(argAfter(tag, '--region')).toBe(REGION);
    const match = /^Key=(.+),Value=(.+)$/.exec(argAfter(tag, '--tags') ?? '');
    expect(match?.[1]).toBe(TAG_JOB_STARTED);
    const time = match?.[2] ?? '';
    expect(time).toMatch(ISO_SECOND);
    expect(Date.parse(time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(time)).toBeLessThanOrEqual(after);
    expect(existsSync(marker)).toBe(true);
  });

  it('exits 0 and logs a warning when the tag cannot be written', async () => {
    const result = await runScript(HOOK, { STUB_FAIL_CREATE_TAGS: '1' });

    expect(result.code).toBe(0);
    expect(steps(result.calls).at(-1)).toBe('ec2 create-tags');
    expect(result.output).toContain(`could not tag ${INSTANCE_ID}`);
    expect(result.output).toContain('UnauthorizedOperation');
  });

  it('exits 0 without tagging when IMDS does not answer', async () => {
    const result = await runScript(HOOK, { STUB_INSTANCE_ID: '' });

    expect(result.code).toBe(0);
    expect(steps(result.calls)).not.toContain('ec2 create-tags');
    expect(result.output).toContain(`not tagged ${TAG_JOB_STARTED}`);
  });
});

describe('shell scripts', () => {
  const shellcheck = spawnSync('bash', ['-c', 'command -v shellcheck']).status === 0;

  it('pass shellcheck', (context) => {
    context.skip(!shellcheck, 'shellcheck is not installed (.ci/run installs it with apt-get)');
    const result = spawnSync('shellcheck', [BOOTSTRAP, HOOK], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('are executable and use bash strict mode', async () => {
    for (const script of [BOOTSTRAP, HOOK]) {
      const text = await readFile(script, 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
      expect(text).toMatch(/^set -euo pipefail$/m);
      expect(text).not.toMatch(/^\s*set -[a-z]*x/m);
      expect(spawnSync('test', ['-x', script]).status).toBe(0);
    }
  });
});
