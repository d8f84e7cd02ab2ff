// A fake EC2 instance for the bootstrap's tests: a loopback IMDSv2 server, a fake `aws` backed by files, fake
// `systemctl`, `iptables`, `nft` and `runuser`, and an actions runner shaped like the real one (run.sh loops over
// run-helper.sh, which runs bin/Runner.Listener and maps its exit codes). The scripts run as systemd starts a
// service: `env -i` with only the unit's variables.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TAG_ENVIRONMENT, TAG_POOL } from '../../src/contract.js';

export const BOOTSTRAP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bootstrap');
export const BOOTSTRAP = path.join(BOOTSTRAP_DIR, 'runner-bootstrap.sh');
export const HOOK = path.join(BOOTSTRAP_DIR, 'job-started.sh');

export const INSTANCE_ID = 'i-0123456789abcdef0';
export const REGION = 'eu-west-1';
export const ENVIRONMENT = 'ci-prod';
export const POOL = 'linux-x64';
/** An unprivileged user that exists on the machine (the bootstrap refuses uid 0 unless RUNNER_USER=root). */
export const RUNNER_USER = process.getuid?.() === 0 ? 'nobody' : userInfo().username;

// Every stub appends one line to $STUB_LOG: its name and its arguments, tab-separated.
const LOG_CALL = `{ printf '%s' "$(basename "$0")"; (($#)) && printf '\\t%s' "$@"; printf '\\n'; } >>"$STUB_LOG"`;

// Parameters are files under $STUB_DIR/ssm; <file>.hidden-reads makes the first N reads miss, and
// $STUB_DIR/ssm-denied-reads makes the first N reads fail with AccessDeniedException.
const AWS_STUB = `#!/usr/bin/env bash
${LOG_CALL}
count() { local n; n=$(($(cat "$1" 2>/dev/null || echo 0) + 1)); echo "$n" >"$1"; echo "$n"; }
name='' args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do [[ \${args[i]} == --name ]] && name=\${args[i + 1]}; done
file="$STUB_DIR/ssm/\${name//\\//_}"
case "$1 $2" in
  'ssm get-parameter')
    if (($(count "$STUB_DIR/ssm-reads") <= $(cat "$STUB_DIR/ssm-denied-reads" 2>/dev/null || echo 0))); then
      echo "An error occurred (AccessDeniedException) when calling the GetParameter operation: not authorized" >&2
      exit 254
    fi
    if [[ -f $file ]] && (($(count "$file.reads") > $(cat "$file.hidden-reads" 2>/dev/null || echo 0))); then
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
    if (($(count "$STUB_DIR/tag-attempts") <= $(cat "$STUB_DIR/tag-failures" 2>/dev/null || echo 0))); then
      echo "An error occurred (RequestLimitExceeded) when calling the CreateTags operation: Request limit exceeded." >&2
      exit 254
    fi
    exit 0 ;;
  'ec2 terminate-instances')
    [[ \${STUB_TERMINATE:-ok} == ok ]] || { echo "An error occurred (UnauthorizedOperation)" >&2; exit 254; }
    kill -TERM "$PPID"; exit 0 ;;
esac
echo "stub aws: unexpected call: $*" >&2
exit 252
`;

// systemctl poweroff: "ok" ends the caller as a real shutdown would (systemd stops the unit: SIGTERM), "fail"
// exits 1, "hang" exits 0 and nothing happens. It also records whether the runner's job process is still alive.
const SYSTEMCTL_STUB = `#!/usr/bin/env bash
${LOG_CALL}
if [[ -f $STUB_DIR/job.pid ]] && kill -0 "$(cat "$STUB_DIR/job.pid")" 2>/dev/null; then
  printf 'job-still-running\\n' >>"$STUB_LOG"
fi
mode=\${STUB_POWEROFF:-ok}
[[ " $* " == *' --force '* ]] && mode=\${STUB_FORCED_POWEROFF:-ok}
case $mode in
  ok) kill -TERM "$PPID"; exit 0 ;;
  fail) echo "Failed to power off system via logind: Access denied" >&2; exit 1 ;;
  hang) exit 0 ;;
esac
`;

// The firewall stubs record one line per rule: "<uid> <host> <port>" (STUB_FIREWALL=fail refuses, =ignore
// accepts the rule without enforcing it).
const IPTABLES_STUB = `#!/usr/bin/env bash
${LOG_CALL}
[[ \${STUB_FIREWALL:-ok} != fail ]] || { echo "iptables: Permission denied" >&2; exit 4; }
[[ \${STUB_FIREWALL:-ok} != ignore ]] || exit 0
args=("$@") uid='' host='' port=''
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in --uid-owner) uid=\${args[i + 1]} ;; -d) host=\${args[i + 1]} ;; --dport) port=\${args[i + 1]} ;; esac
done
echo "$uid $host $port" >>"$STUB_DIR/firewall"
`;
const NFT_STUB = `#!/usr/bin/env bash
${LOG_CALL}
rules=$(cat)
printf 'nft-rules\\t%s\\n' "$rules" >>"$STUB_LOG"
[[ $rules =~ skuid\\ ([0-9]+)\\ ip\\ daddr\\ ([0-9.]+)\\ tcp\\ dport\\ ([0-9]+)\\ reject ]] || exit 1
echo "\${BASH_REMATCH[1]} \${BASH_REMATCH[2]} \${BASH_REMATCH[3]}" >>"$STUB_DIR/firewall"
`;

// runuser -u USER -- CMD…: runs CMD "as USER" (the test process cannot switch users): the environment a real
// runuser gives, and a PATH whose curl obeys the recorded firewall rules for that user's uid.
const RUNUSER_STUB = `#!/usr/bin/env bash
${LOG_CALL}
[[ $1 == -u && $3 == -- ]] || { echo "runuser stub: unexpected arguments" >&2; exit 1; }
user=$2; shift 3
export HOME=/home/$user USER=$user LOGNAME=$user STUB_AS_UID=$(id -u "$user")
export PATH="$STUB_DIR/as-runner:$PATH"
exec "$@"
`;
const RUNNER_CURL = `#!/usr/bin/env bash
url=\${*: -1} authority=\${url#*://}; authority=\${authority%%/*}
while read -r uid host port; do
  if [[ $uid == "$STUB_AS_UID" && $authority == "$host:$port" ]]; then
    echo "curl: (7) Failed to connect to $host port $port: Connection refused" >&2; exit 7
  fi
done < <(cat "$STUB_DIR/firewall" 2>/dev/null)
exec /usr/bin/curl "$@"
`;

// The actions runner, shaped like the real one: run.sh restarts run-helper.sh on 2 and passes 7 on only with
// ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1; run-helper.sh maps Runner.Listener's exit codes.
const RUN_SH = `#!/bin/bash
DIR="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
while :; do
  "$DIR"/run-helper.sh "$@"
  returnCode=$?
  if [[ $returnCode -eq 2 ]]; then echo "Restarting runner..."
  elif [[ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" == "1" && $returnCode -eq 7 ]]; then exit 7
  else exit 0
  fi
done
`;
const RUN_HELPER_SH = `#!/bin/bash
DIR="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
"$DIR"/bin/Runner.Listener run "$@"
returnCode=$?
if [[ $returnCode == 0 ]]; then exit 0
elif [[ "$ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE" == "1" && $returnCode -eq 7 ]]; then exit 7
elif [[ $returnCode == 2 ]]; then sleep 0.1; exit 2
else exit 0
fi
`;
// The listener: records how it was started, writes its credentials file as the real one does (umask decides the
// mode), runs the job-started hook when it gets a job, and exits with the next of STUB_LISTENER_EXITS.
const LISTENER = `#!/usr/bin/env bash
${LOG_CALL}
printf 'listener-env\\t%s\\n' "$(printf '%s=%s;' HOME "$HOME" USER "\${USER:-}" LANG "\${LANG:-}" \\
  JIT "\${ACTIONS_RUNNER_INPUT_JITCONFIG:+set}" DEPRECATED "\${ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE:-}" \\
  HOOK "\${ACTIONS_RUNNER_HOOK_JOB_STARTED:-}" ALLOW_ROOT "\${RUNNER_ALLOW_RUNASROOT:-}" UMASK "$(umask)")" >>"$STUB_LOG"
printf '%s' "\${ACTIONS_RUNNER_INPUT_JITCONFIG:-}" >"$STUB_DIR/listener-jitconfig"
: >"$(dirname "$0")/../.credentials_rsaparams"
n=$(($(cat "$STUB_DIR/listener-runs" 2>/dev/null || echo 0) + 1)); echo "$n" >"$STUB_DIR/listener-runs"
IFS=, read -ra exits <<<"\${STUB_LISTENER_EXITS:-0}"
code=\${exits[n - 1]:-\${exits[-1]}}
if [[ -n \${STUB_JOB:-} ]]; then
  sleep "\${STUB_JOB_DELAY:-0}"
  bash "$ACTIONS_RUNNER_HOOK_JOB_STARTED"
  printf 'job-started\\n' >>"$STUB_LOG"
fi
if [[ -n \${STUB_STUBBORN_JOB:-} ]]; then
  bash -c 'trap "" TERM; sleep 60' & echo $! >"$STUB_DIR/job.pid"
fi
sleep "\${STUB_LISTENER_SECONDS:-0}"
printf 'listener-end\\t%s\\n' "$code" >>"$STUB_LOG"
exit "$code"
`;
const CONFIG_SH = `#!/usr/bin/env bash
${LOG_CALL}
printf 'config-env\\t%s\\n' "\${ACTIONS_RUNNER_INPUT_TOKEN:-}" >"$STUB_DIR/config-token"
exit "\${STUB_CONFIG_EXIT:-0}"
`;

export interface Call {
  command: string;
  args: string[];
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  calls: Call[];
  elapsedMs: number;
}

/** The instance metadata service, IMDSv2 only: a PUT for a session token, then GETs that carry it. */
export class FakeImds {
  readonly tags: Record<string, string> = { [TAG_ENVIRONMENT]: ENVIRONMENT, [TAG_POOL]: POOL };
  lifecycle = 'on-demand';
  spotAction: string | undefined;
  /** The next token requests answered 500 (curl retries those), or every one with this status. */
  tokenFailures = 0;
  tokenStatus = 200;
  readonly requests: string[] = [];
  private readonly tokens = new Set<string>();
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const url = request.url ?? '';
      this.requests.push(`${request.method} ${url}`);
      const reply = (status: number, body = '') => response.writeHead(status).end(body);
      if (url === '/latest/api/token') {
        if (request.method !== 'PUT' || !request.headers['x-aws-ec2-metadata-token-ttl-seconds'])
          return reply(400);
        if (this.tokenStatus !== 200) return reply(this.tokenStatus);
        if (this.tokenFailures > 0) return (this.tokenFailures--, reply(500));
        const token = `token-${this.tokens.size}-${Math.random().toString(36).slice(2)}`;
        this.tokens.add(token);
        return reply(200, token);
      }
      if (!this.tokens.has(String(request.headers['x-aws-ec2-metadata-token']))) return reply(401);
      const value = this.metadata(url.replace('/latest/meta-data/', ''));
      return value === undefined ? reply(404) : reply(200, value);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private metadata(item: string): string | undefined {
    if (item === 'instance-id') return INSTANCE_ID;
    if (item === 'placement/region') return REGION;
    if (item === 'instance-life-cycle') return this.lifecycle;
    if (item === 'spot/instance-action') return this.spotAction;
    if (item.startsWith('tags/instance/')) return this.tags[decodeURIComponent(item.slice(14))];
    return undefined;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function writeExecutable(file: string, text: string): Promise<void> {
  await writeFile(file, text);
  await chmod(file, 0o755);
}

export class World {
  readonly imds = new FakeImds();
  dir = '';
  bin = '';
  runnerDir = '';
  stateDir = '';
  logFile = '';
  private endpoint = '';

  async create(options: { nft?: boolean } = {}): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), 'runner-bootstrap-'));
    this.bin = path.join(this.dir, 'bin');
    this.runnerDir = path.join(this.dir, 'actions-runner');
    this.stateDir = path.join(this.dir, 'run', 'runner-scaler');
    this.logFile = path.join(this.dir, 'calls.log');
    const asRunner = path.join(this.dir, 'as-runner');
    await Promise.all(
      [this.bin, path.join(this.runnerDir, 'bin'), path.join(this.dir, 'ssm'), asRunner].map((d) =>
        mkdir(d, { recursive: true }),
      ),
    );
    await writeFile(path.join(this.dir, 'boot_id'), 'first-boot\n');
    await Promise.all([
      writeExecutable(path.join(this.bin, 'aws'), AWS_STUB),
      writeExecutable(path.join(this.bin, 'systemctl'), SYSTEMCTL_STUB),
      writeExecutable(path.join(this.bin, 'iptables'), IPTABLES_STUB),
      ...(options.nft ? [writeExecutable(path.join(this.bin, 'nft'), NFT_STUB)] : []),
      writeExecutable(path.join(this.bin, 'runuser'), RUNUSER_STUB),
      writeExecutable(path.join(asRunner, 'curl'), RUNNER_CURL),
      writeExecutable(path.join(this.runnerDir, 'run.sh'), RUN_SH),
      writeExecutable(path.join(this.runnerDir, 'run-helper.sh'), RUN_HELPER_SH),
      writeExecutable(path.join(this.runnerDir, 'bin', 'Runner.Listener'), LISTENER),
      writeExecutable(path.join(this.runnerDir, 'config.sh'), CONFIG_SH),
    ]);
    this.endpoint = await this.imds.start();
  }

  async destroy(): Promise<void> {
    await this.imds.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  async putParameter(name: string, value: string, hiddenReads = 0): Promise<void> {
    const file = path.join(this.dir, 'ssm', name.replaceAll('/', '_'));
    await writeFile(file, value);
    if (hiddenReads > 0) await writeFile(`${file}.hidden-reads`, String(hiddenReads));
  }

  parameterExists(name: string): boolean {
    return existsSync(path.join(this.dir, 'ssm', name.replaceAll('/', '_')));
  }

  /** What systemd passes a service: the unit's variables only (the test's own environment stays out). */
  environment(extra: Record<string, string>): Record<string, string> {
    return {
      // No sbin directories: the real nft, iptables, runuser and poweroff must never be reached from a test.
      PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin`,
      STUB_LOG: this.logFile,
      STUB_DIR: this.dir,
      IMDS_ENDPOINT: this.endpoint,
      RUNNER_DIR: this.runnerDir,
      RUNNER_USER,
      STATE_DIR: this.stateDir,
      BOOT_RECORD: path.join(this.dir, 'lib', 'boot-id'),
      BOOT_ID_FILE: path.join(this.dir, 'boot_id'),
      JOB_STARTED_HOOK: HOOK,
      CONFIG_WAIT_SECONDS: '5',
      CONFIG_POLL_SECONDS: '0.05',
      SUPERVISE_POLL_SECONDS: '0.1',
      SPOT_POLL_SECONDS: '0.1',
      TAG_RETRY_SECONDS: '0.05',
      RUNNER_STOP_SECONDS: '2',
      SHUTDOWN_GRACE_SECONDS: '1',
      ...extra,
    };
  }

  async calls(): Promise<Call[]> {
    const text = existsSync(this.logFile) ? await readFile(this.logFile, 'utf8') : '';
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [command = '', ...args] = line.split('\t');
        return { command, args };
      });
  }

  async run(
    script: string,
    extra: Record<string, string> = {},
    options: { args?: string[]; signalAfterMs?: number; timeoutMs?: number } = {},
  ): Promise<Result> {
    const started = Date.now();
    const variables = Object.entries(this.environment(extra)).map(([key, value]) => `${key}=${value}`);
    const child = spawn('/usr/bin/env', ['-i', ...variables, '/bin/bash', script, ...(options.args ?? [])], {
      cwd: this.dir,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    if (options.signalAfterMs !== undefined) setTimeout(() => child.kill('SIGTERM'), options.signalAfterMs);
    const guard = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (status, killedBy) => resolve([status, killedBy])),
    );
    clearTimeout(guard);
    return { code, signal, output, calls: await this.calls(), elapsedMs: Date.now() - started };
  }
}

export function argAfter(call: Call | undefined, flag: string): string | undefined {
  if (call === undefined) return undefined;
  const index = call.args.indexOf(flag);
  return index < 0 ? undefined : call.args[index + 1];
}

/** One readable step per call, in order. */
export function steps(calls: Call[]): string[] {
  return calls
    .filter((call) => !['listener-env', 'nft-rules', 'config-env'].includes(call.command))
    .map((call) => {
      if (call.command === 'aws') {
        const [service, operation] = call.args;
        if (service === 'ssm') return `${operation} ${argAfter(call, '--name')}`;
        if (operation === 'create-tags') return `create-tags ${argAfter(call, '--tags')?.split(',')[0]}`;
        return `${service} ${operation}`;
      }
      if (call.command === 'systemctl') return `systemctl ${call.args.join(' ')}`;
      if (call.command === 'runuser')
        return `runuser ${call.args[3] === 'curl' ? 'curl' : call.args.slice(3).join(' ')}`;
      if (call.command === 'Runner.Listener') return `Runner.Listener ${call.args.join(' ')}`;
      if (call.command === 'listener-end') return `listener-end ${call.args[0]}`;
      return call.command;
    });
}

/** The listener's environment facts, as it recorded them. */
export function listenerEnvironment(calls: Call[]): Record<string, string> {
  const line = calls.find((call) => call.command === 'listener-env')?.args[0] ?? '';
  return Object.fromEntries(
    line
      .split(';')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]),
  );
}
