// Runs the real bootstrap, hook and systemd units in a fake instance (test/bootstrap/world.ts): a loopback IMDSv2
// server, a fake aws/systemctl/iptables/nft/runuser, a runner tree shaped like run.sh -> run-helper.sh ->
// Runner.Listener, started with `env -i` as systemd starts a service. Every path ends in a poweroff.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TAG_ENVIRONMENT,
  TAG_JOB_STARTED,
  TAG_RUNNER_OUTDATED,
  TAG_SPOT_INTERRUPTION,
  parameterName,
  poolParameterName,
  runnerName,
} from '../../src/contract.js';
import {
  BOOTSTRAP,
  BOOTSTRAP_DIR,
  ENVIRONMENT,
  HOOK,
  INSTANCE_ID,
  POOL,
  REGION,
  RUNNER_USER,
  World,
  argAfter,
  listenerEnvironment,
  steps,
  type Result,
} from './world.js';

const JIT_CONFIG = 'eyJKSVQtU0VDUkVULWNvbmZpZyI6InNob3VsZC1uZXZlci1iZS1wcmludGVkIn0=';
const REGISTRATION_TOKEN = 'AREGTOKEN-SECRET-0123456789';
const INSTANCE_PARAMETER = parameterName(ENVIRONMENT, INSTANCE_ID);
const POOL_PARAMETER = poolParameterName(ENVIRONMENT, POOL);
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const POWEROFF = 'systemctl poweroff --no-wall';

let world: World;

beforeEach(async () => {
  world = new World();
  await world.create();
});

afterEach(async () => {
  await world.destroy();
});

/** The steps before the parameter poll: the firewall rule for the runner user, and its check. */
const FIREWALL_STEPS = ['iptables', 'runuser curl'];

function expectPoweredOff(result: Result, first = POWEROFF): void {
  const sequence = steps(result.calls);
  expect(sequence, result.output).toContain(first);
  // The fake poweroff ends the bootstrap as systemd stopping the unit does: with SIGTERM.
  expect(result.signal, result.output).toBe('SIGTERM');
}

function tagCalls(result: Result, key: string) {
  return result.calls.filter(
    (call) =>
      call.command === 'aws' &&
      call.args[1] === 'create-tags' &&
      argAfter(call, '--tags')?.startsWith(`Key=${key},`),
  );
}

describe('runner-bootstrap.sh with a JIT config', () => {
  it('blocks IMDS for the runner user, reads and deletes the parameter, runs the runner, tags the job start, powers off', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_JOB: '1', STUB_LISTENER_SECONDS: '0.5' });

    expectPoweredOff(result);
    expect(steps(result.calls)).toEqual([
      ...FIREWALL_STEPS,
      `get-parameter ${INSTANCE_PARAMETER}`,
      `delete-parameter ${INSTANCE_PARAMETER}`,
      'runuser /bin/bash -c umask 077 && exec ./run.sh',
      'Runner.Listener run',
      'job-started',
      `create-tags Key=${TAG_JOB_STARTED}`,
      'listener-end 0',
      POWEROFF,
    ]);
    // IMDS: the token first, then only token-carrying reads; the runner user's attempt was refused.
    expect(world.imds.requests[0]).toBe('PUT /latest/api/token');
    const tag = tagCalls(result, TAG_JOB_STARTED)[0];
    expect(argAfter(tag, '--resources')).toBe(INSTANCE_ID);
    expect(argAfter(tag, '--region')).toBe(REGION);
    const startedAt = argAfter(tag, '--tags')?.split(',Value=')[1] ?? '';
    expect(startedAt).toMatch(ISO_MS);
    expect(Date.now() - Date.parse(startedAt)).toBeLessThan(20_000);
    expect(world.parameterExists(INSTANCE_PARAMETER)).toBe(false);
  });

  it('passes the JIT config in ACTIONS_RUNNER_INPUT_JITCONFIG, never in argv or the log, with umask 077', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP);

    expect(await readFile(world.file('listener-jitconfig'), 'utf8')).toBe(JIT_CONFIG);
    for (const call of result.calls) expect(call.args.join(' ')).not.toContain(JIT_CONFIG);
    expect(result.output).not.toContain(JIT_CONFIG);
    const env = listenerEnvironment(result.calls);
    expect(env).toMatchObject({
      JIT: 'set',
      DEPRECATED: '1',
      HOOK,
      UMASK: '0077',
      HOME: `/home/${RUNNER_USER}`,
      USER: RUNNER_USER,
      LANG: 'C.UTF-8',
      ALLOW_ROOT: '',
    });
    // The runner's credentials file is written under that umask.
    expect(statSync(path.join(world.runnerDir, '.credentials_rsaparams')).mode & 0o777).toBe(0o600);
    expectPoweredOff(result);
  });

  it('runs the runner as root only when asked, with HOME, USER and LANG set, and no firewall', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { RUNNER_USER: 'root' });

    expect(steps(result.calls)).not.toContain('iptables');
    expect(steps(result.calls).some((step) => step.startsWith('runuser'))).toBe(false);
    expect(listenerEnvironment(result.calls)).toMatchObject({
      HOME: '/root',
      USER: 'root',
      LANG: 'C.UTF-8',
      ALLOW_ROOT: '1',
    });
    expect(result.output).toContain('RUNNER_USER=root: jobs run as root and can use the instance role');
    expectPoweredOff(result);
  });

  it('polls until the parameter appears, logging each distinct read error once', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG, 2);
    await writeFile(world.file('ssm-denied-reads'), '6');

    const result = await world.run(BOOTSTRAP);

    const reads = steps(result.calls).filter((step) => step.startsWith('get-parameter'));
    expect(reads.length).toBeGreaterThanOrEqual(9);
    expect(result.output.match(/reading \/runner-scaler\/ci-prod\/i-0123456789abcdef0 failed/g)).toHaveLength(
      1,
    );
    expect(result.output.match(/reading \/runner-scaler\/ci-prod\/pools\/linux-x64 failed/g)).toHaveLength(1);
    expect(steps(result.calls)).toContain('Runner.Listener run');
    expectPoweredOff(result);
  });

  it('powers off without a runner when no parameter appears within CONFIG_WAIT_SECONDS', async () => {
    const result = await world.run(BOOTSTRAP, { CONFIG_WAIT_SECONDS: '1', CONFIG_POLL_SECONDS: '0.1' });

    expect(result.elapsedMs).toBeGreaterThanOrEqual(900);
    expect(steps(result.calls)).not.toContain('Runner.Listener run');
    expect(result.output).toContain('no registration within 1s');
    expectPoweredOff(result);
  });

  it('still runs the runner when the parameter cannot be deleted', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_FAIL_DELETE: '1' });

    expect(steps(result.calls)).toContain('Runner.Listener run');
    expect(result.output).toContain(`could not delete ${INSTANCE_PARAMETER}`);
    expectPoweredOff(result);
  });

  it('reports a deprecated runner (exit 7): logged, tagged runner-outdated, powered off', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_LISTENER_EXITS: '7' });

    expect(result.output).toContain('the runner exited with status 7');
    expect(result.output).toContain('this runner version is deprecated');
    const value = argAfter(tagCalls(result, TAG_RUNNER_OUTDATED)[0], '--tags')?.split(',Value=')[1];
    expect(value).toMatch(ISO_MS);
    expect(steps(result.calls).slice(-2)).toEqual([`create-tags Key=${TAG_RUNNER_OUTDATED}`, POWEROFF]);
    expectPoweredOff(result);
  });

  it('retries the job-started tag, logging each distinct error once', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
    await writeFile(world.file('tag-failures'), '3');

    const result = await world.run(BOOTSTRAP, { STUB_JOB: '1', STUB_LISTENER_SECONDS: '3' });

    expect(tagCalls(result, TAG_JOB_STARTED)).toHaveLength(4);
    expect(result.output.match(/tagging i-0123456789abcdef0 runner-scaler:job-started failed/g)).toHaveLength(
      1,
    );
    expect(result.output).toContain(`tagged ${INSTANCE_ID} ${TAG_JOB_STARTED}=`);
    expectPoweredOff(result);
  });

  it('lets the job run when the tag cannot be written at all, and says so', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
    await writeFile(world.file('tag-failures'), '99');

    const result = await world.run(BOOTSTRAP, { STUB_JOB: '1', STUB_LISTENER_SECONDS: '3' });

    expect(tagCalls(result, TAG_JOB_STARTED)).toHaveLength(5);
    expect(result.output).toContain(`${INSTANCE_ID} is not tagged ${TAG_JOB_STARTED} after 5 attempts`);
    expect(steps(result.calls)).toContain('listener-end 0');
    expectPoweredOff(result);
  });
});

describe('runner-bootstrap.sh with token registration', () => {
  it('configures an ephemeral runner with the token in its environment, not its argv, and keeps the parameter', async () => {
    await world.putParameter(
      POOL_PARAMETER,
      JSON.stringify({
        token: REGISTRATION_TOKEN,
        url: 'https://github.com/acme/app',
        labels: ['linux', 'x64', 'gpu'],
        runnerGroup: 'ci runners',
      }),
    );

    const result = await world.run(BOOTSTRAP);

    const config = result.calls.find((call) => call.command === 'config.sh');
    expect(config?.args).toEqual([
      '--unattended',
      '--ephemeral',
      '--name',
      runnerName(ENVIRONMENT, INSTANCE_ID),
      '--url',
      'https://github.com/acme/app',
      '--labels',
      'linux,x64,gpu',
      '--runnergroup',
      'ci runners',
      '--disableupdate',
    ]);
    expect(await readFile(world.file('config-token'), 'utf8')).toBe(`config-env\t${REGISTRATION_TOKEN}\n`);
    for (const call of result.calls) expect(call.args.join(' ')).not.toContain(REGISTRATION_TOKEN);
    expect(result.output).not.toContain(REGISTRATION_TOKEN);
    expect(world.parameterExists(POOL_PARAMETER)).toBe(true);
    expect(listenerEnvironment(result.calls).JIT).toBe('');
    expectPoweredOff(result);
  });

  it.each([
    ['not JSON', `token=${REGISTRATION_TOKEN}`],
    ['without a url', JSON.stringify({ token: REGISTRATION_TOKEN })],
    [
      'with labels that are not a list',
      JSON.stringify({ token: REGISTRATION_TOKEN, url: 'https://github.com/acme', labels: 'x' }),
    ],
  ])(
    'powers off without a runner when the pool parameter is %s, without printing it',
    async (_case, value) => {
      await world.putParameter(POOL_PARAMETER, value);

      const result = await world.run(BOOTSTRAP);

      expect(steps(result.calls)).not.toContain('config.sh');
      expect(steps(result.calls)).not.toContain('Runner.Listener run');
      expect(result.output).not.toContain(REGISTRATION_TOKEN);
      expectPoweredOff(result);
    },
  );

  it('powers off without running the runner when config.sh fails', async () => {
    await world.putParameter(
      POOL_PARAMETER,
      JSON.stringify({ token: REGISTRATION_TOKEN, url: 'https://github.com/acme' }),
    );

    const result = await world.run(BOOTSTRAP, { STUB_CONFIG_EXIT: '1' });

    expect(steps(result.calls)).toContain('config.sh');
    expect(steps(result.calls)).not.toContain('Runner.Listener run');
    expectPoweredOff(result);
  });
});

describe('runner-bootstrap.sh bounding the runner’s life', () => {
  it('stops a runner that got no job within JOB_WAIT_SECONDS, waiting for its whole process group', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, {
      JOB_WAIT_SECONDS: '1',
      STUB_LISTENER_SECONDS: '30',
      STUB_STUBBORN_JOB: '1',
    });

    expect(result.elapsedMs).toBeLessThan(15_000);
    expect(result.output).toContain('no job started within 1s: stopping the runner');
    // The job process ignored SIGTERM: it was killed, and gone before the poweroff.
    expect(result.output).toContain('did not stop within 2s: killing it');
    expect(steps(result.calls)).not.toContain('listener-end 0');
    expect(steps(result.calls)).not.toContain('job-still-running');
    expectPoweredOff(result);
  });

  it('lets a runner whose job started within JOB_WAIT_SECONDS finish', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, {
      JOB_WAIT_SECONDS: '3',
      STUB_JOB: '1',
      STUB_LISTENER_SECONDS: '4',
    });

    expect(steps(result.calls)).toContain('listener-end 0');
    expect(result.output).not.toContain('no job started');
    expectPoweredOff(result);
  });

  it('stops a listener that retries for ever (exit 2, run.sh restarts it) at MAX_LIFETIME_SECONDS', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, {
      MAX_LIFETIME_SECONDS: '3',
      JOB_WAIT_SECONDS: '0',
      STUB_LISTENER_EXITS: '2',
      STUB_LISTENER_SECONDS: '0.2',
    });

    // run.sh started the listener again after each exit 2.
    expect(
      steps(result.calls).filter((step) => step === 'Runner.Listener run').length,
    ).toBeGreaterThanOrEqual(2);
    expect(result.output).toContain('reached MAX_LIFETIME_SECONDS (3s): stopping the runner');
    expectPoweredOff(result);
  });

  it('stops the runner gracefully and powers off when systemd stops the unit (SIGTERM)', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_LISTENER_SECONDS: '30' }, { signalAfterMs: 1_500 });

    expect(result.elapsedMs).toBeLessThan(10_000);
    expect(result.output).toContain('stopping the runner');
    expect(result.output).toContain('exit status 143');
    expectPoweredOff(result);
  });

  it('logs and reports a spot interruption notice', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
    world.imds.lifecycle = 'spot';
    setTimeout(() => (world.imds.spotAction = '{"action":"terminate","time":"2026-11-22T10:02:00Z"}'), 800);

    const result = await world.run(BOOTSTRAP, { STUB_LISTENER_SECONDS: '3' });

    expect(result.output.match(/spot interruption notice: terminate at 2026-11-22T10:02:00Z/g)).toHaveLength(
      1,
    );
    expect(argAfter(tagCalls(result, TAG_SPOT_INTERRUPTION)[0], '--tags')).toBe(
      `Key=${TAG_SPOT_INTERRUPTION},Value=terminate@2026-11-22T10:02:00Z`,
    );
    expectPoweredOff(result);
  });
});

describe('runner-bootstrap.sh keeping jobs away from the instance role', () => {
  it('adds an owner-match rule for the runner user with nft when it is installed', async () => {
    const nftWorld = new World();
    await nftWorld.create({ nft: true });
    try {
      await nftWorld.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
      const result = await nftWorld.run(BOOTSTRAP);
      const uid = spawnSync('id', ['-u', RUNNER_USER], { encoding: 'utf8' }).stdout.trim();
      const rules = result.calls.find((call) => call.command === 'nft-rules')?.args[0] ?? '';
      expect(rules).toContain(`meta skuid ${uid} ip daddr 127.0.0.1`);
      // Debian's nft checks the ruleset's syntax without applying it (.ci/run installs nftables).
      if (existsSync('/usr/sbin/nft')) {
        const check = spawnSync('/usr/sbin/nft', ['--check', '-f', '-'], { input: rules, encoding: 'utf8' });
        expect(check.stderr).toBe('');
        expect(check.status).toBe(0);
      }
      expect(steps(result.calls)).not.toContain('iptables');
      expect(steps(result.calls)).toContain('Runner.Listener run');
      expectPoweredOff(result);
    } finally {
      await nftWorld.destroy();
    }
  });

  it('starts no runner when the firewall rule cannot be added', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_FIREWALL: 'fail' });

    expect(result.output).toContain('iptables could not add the rule that keeps jobs away from IMDS');
    expect(steps(result.calls)).not.toContain(`get-parameter ${INSTANCE_PARAMETER}`);
    expectPoweredOff(result);
  });

  it('starts no runner when IMDS still answers the runner user after the rule', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_FIREWALL: 'ignore' });

    expect(result.output).toContain(`IMDS still answers ${RUNNER_USER} after the firewall rule`);
    expect(steps(result.calls)).not.toContain('Runner.Listener run');
    expectPoweredOff(result);
  });
});

describe('runner-bootstrap.sh failing', () => {
  it('powers off when the instance metadata tags are not available', async () => {
    delete world.imds.tags[TAG_ENVIRONMENT];

    const result = await world.run(BOOTSTRAP);

    expect(result.output).toContain('enable instance metadata tags');
    expect(steps(result.calls)).toEqual([POWEROFF]);
    expectPoweredOff(result);
  });

  it('powers off when IMDS refuses a token', async () => {
    world.imds.tokenStatus = 403;

    const result = await world.run(BOOTSTRAP);

    expect(result.output).toContain('could not get an IMDSv2 token');
    expect(steps(result.calls)).toEqual([POWEROFF]);
    expectPoweredOff(result);
  });

  it('retries IMDS while it answers errors', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
    world.imds.tokenFailures = 1;

    const result = await world.run(BOOTSTRAP);

    expect(world.imds.requests.slice(0, 2)).toEqual(['PUT /latest/api/token', 'PUT /latest/api/token']);
    expect(steps(result.calls)).toContain('Runner.Listener run');
    expectPoweredOff(result);
  });

  it('powers off when RUNNER_DIR holds no runner', async () => {
    const result = await world.run(BOOTSTRAP, { RUNNER_DIR: world.file('missing') });

    expect(result.output).toContain('no actions runner in');
    expect(steps(result.calls)).toEqual([POWEROFF]);
    expectPoweredOff(result);
  });

  it.each([
    ['JOB_WAIT_SECONDS', 'soon', 'JOB_WAIT_SECONDS must be a whole number of seconds'],
    ['RUNNER_USER', 'no user', "RUNNER_USER must be a user name, got 'no user'"],
    ['RUNNER_USER', 'no-such-user', "RUNNER_USER 'no-such-user' does not exist"],
  ])('powers off on a bad setting: %s=%s', async (name, value, message) => {
    const result = await world.run(BOOTSTRAP, { [name]: value });

    expect(result.output).toContain(message);
    expectPoweredOff(result);
  });

  it('forces the poweroff when it fails, then terminates the instance through the EC2 API', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_POWEROFF: 'fail', STUB_FORCED_POWEROFF: 'fail' });

    expect(steps(result.calls).slice(-3)).toEqual([
      POWEROFF,
      'systemctl poweroff --force',
      'ec2 terminate-instances',
    ]);
    const terminate = result.calls.at(-1);
    expect(argAfter(terminate, '--instance-ids')).toBe(INSTANCE_ID);
    expect(argAfter(terminate, '--region')).toBe(REGION);
    expect(result.output).toContain('the clean poweroff failed');
    expect(result.signal).toBe('SIGTERM');
  });

  it('forces a poweroff that reported success but did not happen within SHUTDOWN_GRACE_SECONDS', async () => {
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);

    const result = await world.run(BOOTSTRAP, { STUB_POWEROFF: 'hang' });

    expect(steps(result.calls).slice(-2)).toEqual([POWEROFF, 'systemctl poweroff --force']);
    expect(result.output).toContain('the poweroff did not happen: forcing it');
    expect(result.signal).toBe('SIGTERM');
  });
});

describe('runner-bootstrap.sh reboot-guard', () => {
  it('does nothing on the first boot, and powers off a rebooted instance', async () => {
    const first = await world.run(BOOTSTRAP, {}, { args: ['reboot-guard'] });
    expect(first.code).toBe(0);
    expect(steps(first.calls)).toEqual([]);

    // The runner's boot records its boot id.
    await world.putParameter(INSTANCE_PARAMETER, JIT_CONFIG);
    await world.run(BOOTSTRAP);
    await writeFile(world.logFile, '');
    const sameBoot = await world.run(BOOTSTRAP, {}, { args: ['reboot-guard'] });
    expect(sameBoot.code).toBe(0);
    expect(steps(sameBoot.calls)).toEqual([]);

    await writeFile(world.file('boot_id'), 'second-boot\n');
    const rebooted = await world.run(BOOTSTRAP, {}, { args: ['reboot-guard'] });
    expect(rebooted.output).toContain('rebooted after its runner started');
    expect(steps(rebooted.calls)).toEqual([POWEROFF]);
    expect(rebooted.signal).toBe('SIGTERM');
  });
});

describe('job-started.sh', () => {
  it('leaves the marker with the UTC time in ms, and calls nothing', async () => {
    const marker = world.file('marker');
    const before = Date.now();

    const result = await world.run(HOOK, { RUNNER_SCALER_JOB_STARTED_FILE: marker });

    expect(result.code).toBe(0);
    expect(result.calls).toEqual([]);
    expect(world.imds.requests).toEqual([]);
    const written = (await readFile(marker, 'utf8')).trim();
    expect(written).toMatch(ISO_MS);
    expect(Date.parse(written)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(written)).toBeLessThanOrEqual(Date.now());
  });

  it('exits 0 with a warning when it cannot leave the marker', async () => {
    const unset = await world.run(HOOK);
    expect(unset.code).toBe(0);
    expect(unset.output).toContain('RUNNER_SCALER_JOB_STARTED_FILE is not set');

    const unwritable = await world.run(HOOK, {
      RUNNER_SCALER_JOB_STARTED_FILE: world.file('no/such/dir/marker'),
    });
    expect(unwritable.code).toBe(0);
    expect(unwritable.output).toContain('could not write');
  });
});

describe('the systemd units', () => {
  const units = ['runner-scaler.service', 'runner-scaler-reboot-guard.service'];
  const unit = (name: string) => readFile(path.join(BOOTSTRAP_DIR, name), 'utf8');
  const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

  it('pass systemd-analyze verify', async (context) => {
    context.skip(!systemdAnalyze, 'systemd-analyze is not installed (.ci/run installs Debian’s systemd)');
    // ExecStart must exist: point it at the script in this checkout.
    const dir = world.file('units');
    await mkdir(dir);
    for (const name of units) {
      const text = (await unit(name)).replaceAll('/opt/runner-scaler/runner-bootstrap.sh', BOOTSTRAP);
      await writeFile(path.join(dir, name), text);
    }
    const result = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', ...units.map((n) => path.join(dir, n))],
      {
        encoding: 'utf8',
      },
    );
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('run the bootstrap outside cloud-init, ordered after the network and the clock, and power off on every exit', async () => {
    const text = await unit('runner-scaler.service');
    expect(text).toMatch(/^Wants=.*network-online\.target.*time-sync\.target/m);
    expect(text).toMatch(/^After=.*network-online\.target.*time-sync\.target.*cloud-final\.service/m);
    expect(text).toMatch(/^SuccessAction=poweroff$/m);
    expect(text).toMatch(/^FailureAction=poweroff$/m);
    expect(text).toMatch(/^KillMode=mixed$/m);
    expect(text).toMatch(/^TimeoutStopSec=\d+$/m);
    expect(text).toMatch(/^StandardOutput=journal\+console$/m);
    expect(text).toMatch(/^StandardError=journal\+console$/m);
    expect(text).toMatch(/^UMask=0077$/m);
    // Started by the user data, never at boot: a reboot starts no runner.
    expect(text).not.toContain('[Install]');
    expect(await unit('runner-scaler-reboot-guard.service')).toMatch(/^WantedBy=multi-user\.target$/m);
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(text)?.[1]);
    expect(stop).toBeGreaterThan(30); // the bootstrap's default RUNNER_STOP_SECONDS, plus its own exit
  });

  it('are started by the example user data without waiting', async () => {
    const userData = await readFile(path.join(BOOTSTRAP_DIR, 'user-data.sh'), 'utf8');
    expect(userData).toContain('systemctl start --no-block runner-scaler.service');
  });
});

describe('shell scripts', () => {
  const shellcheck = spawnSync('bash', ['-c', 'command -v shellcheck']).status === 0;
  const scripts = async () =>
    (await readdir(BOOTSTRAP_DIR))
      .filter((file) => file.endsWith('.sh'))
      .map((file) => path.join(BOOTSTRAP_DIR, file));

  it('pass shellcheck', async (context) => {
    context.skip(!shellcheck, 'shellcheck is not installed (.ci/run installs it with apt-get)');
    const result = spawnSync('shellcheck', await scripts(), { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('are executable and use strict mode without tracing', async () => {
    for (const script of await scripts()) {
      const text = await readFile(script, 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n') || text.startsWith('#!/bin/bash\n')).toBe(true);
      expect(text).toMatch(/^set -euo pipefail$/m);
      expect(text).not.toMatch(/^\s*set -[a-z]*x/m);
      expect(existsSync(script) && spawnSync('test', ['-x', script]).status).toBe(0);
    }
  });
});
