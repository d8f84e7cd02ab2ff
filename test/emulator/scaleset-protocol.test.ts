// The runner scale set protocol on the emulator: the token chain, runner groups, scale sets,
// JIT runners and agents, error shapes and behaviour switches, over plain HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../emulator/index.js';
import { appJwt, connect, jwtClaims, register, request } from './scaleset-client.js';

let emulator: Emulator | undefined;

async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  emulator = await startEmulator({
    simulator: false,
    ...options,
    github: {
      orgs: ['acme', 'other'],
      runnerGroups: [
        { id: 1, name: 'Default' },
        { id: 7, name: 'fleet' },
      ],
      ...options.github,
      scaleSets: { pollTimeoutMs: 1_000, ...options.github?.scaleSets },
    },
  });
  return emulator;
}

afterEach(async () => {
  await emulator?.stop();
  expect(emulator?.errors).toEqual([]);
  emulator = undefined;
});

describe('token chain', () => {
  it('exchanges a registration token (RemoteAuth) for the service URL and an admin JWT with exp', async () => {
    const emu = await start({ github: { scaleSets: { adminTokenLifetimeMs: 120_000 } } });
    const before = Math.floor(Date.now() / 1000);
    const registration = await register(emu);
    expect(registration.base).toBe(`${emu.url}/tenant/1/`);
    const claims = jwtClaims(registration.adminToken);
    expect(claims.exp).toBeGreaterThanOrEqual(before + 119);
    expect(claims.exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 121);
    // The tokens handed out are secrets the emulator masks.
    expect(emu.issuedSecrets()).toEqual(
      expect.arrayContaining([registration.adminToken, registration.registrationToken]),
    );
    // Another organization gets its own tenant.
    expect((await register(emu, 'other')).base).toBe(`${emu.url}/tenant/2/`);
    // The exchange is served at the API root too, and answers with token_schema and use_v2_flow.
    const again = await request(
      `${emu.url}/actions/runner-registration`,
      'POST',
      `RemoteAuth ${registration.registrationToken}`,
      { body: { url: `${emu.url}/acme/`, runner_event: 'register' } },
    );
    expect(again.status).toBe(201);
    expect(again.json).toMatchObject({
      url: `${emu.url}/tenant/1/`,
      token_schema: 'OAuthAccessToken',
      use_v2_flow: true,
    });
  });

  it('serves the REST token routes under /api/v3 with their statuses (201)', async () => {
    const emu = await start();
    const installation = await request(
      `${emu.url}/api/v3/orgs/acme/installation`,
      'GET',
      `Bearer ${appJwt()}`,
    );
    expect(installation.status).toBe(200);
    const token = await request(
      `${emu.url}/api/v3/app/installations/${String(installation.json.id)}/access_tokens`,
      'POST',
      `Bearer ${appJwt()}`,
    );
    expect(token.status).toBe(201);
    const registration = await request(
      `${emu.url}/api/v3/orgs/acme/actions/runners/registration-token`,
      'POST',
      `token ${String(token.json.token)}`,
    );
    expect(registration.status).toBe(201);
    expect(Date.parse(String(registration.json.expires_at)) - Date.now()).toBeGreaterThan(3_590_000);
    expect(emu.calls.map((call) => call.action)).toContain(
      'POST /api/v3/orgs/{org}/actions/runners/registration-token',
    );
  });

  it('refuses a bad RemoteAuth, a wrong runner_event, a URL of another scope', async () => {
    const emu = await start();
    const { registrationToken } = await register(emu);
    const exchange = (authorization: string, body: unknown) =>
      request(`${emu.url}/api/v3/actions/runner-registration`, 'POST', authorization, { body });
    const good = { url: `${emu.url}/acme`, runner_event: 'register' };
    expect((await exchange('RemoteAuth not-a-token', good)).status).toBe(401);
    expect((await exchange(`Bearer ${registrationToken}`, good)).status).toBe(401);
    const event = await exchange(`RemoteAuth ${registrationToken}`, { ...good, runner_event: 'remove' });
    expect(event.status).toBe(400);
    expect(event.json.message).toContain('runner_event');
    expect(
      (await exchange(`RemoteAuth ${registrationToken}`, { ...good, url: `${emu.url}/other` })).status,
    ).toBe(404);
    expect((await exchange(`RemoteAuth ${registrationToken}`, { ...good, url: 'not a url' })).status).toBe(
      400,
    );
    // An expired registration token no longer works.
    await emu.advance(3_600_001);
    expect((await exchange(`RemoteAuth ${registrationToken}`, good)).status).toBe(401);
  });

  it('rejects the admin token after its exp, an unknown token and a token of another tenant', async () => {
    const emu = await start({ github: { scaleSets: { adminTokenLifetimeMs: 5_000 } } });
    const client = await connect(emu);
    expect((await client.call('GET', '_apis/runtime/runnergroups/?groupName=Default')).status).toBe(200);
    await emu.advance(5_000);
    const expired = await client.call('GET', '_apis/runtime/runnergroups/?groupName=Default');
    expect(expired.status).toBe(401);
    expect(expired.json.typeName).toContain('VssUnauthorizedException');
    const fresh = await connect(emu);
    expect((await fresh.call('GET', '_apis/runtime/runnergroups/')).status).toBe(200);
    expect((await fresh.call('GET', '_apis/runtime/runnergroups/', { token: 'eyJ.x.y' })).status).toBe(401);
    const other = await connect(emu, 'other');
    const crossed = await fresh.call('GET', '_apis/runtime/runnergroups/', {
      token: other.registration.adminToken,
    });
    expect(crossed.status).toBe(401);
    expect(emu.scaleSets.expireAdminTokens()).toBe(2);
    expect((await other.call('GET', '_apis/runtime/runnergroups/')).status).toBe(401);
  });
});

describe('runner groups and scale sets', () => {
  it('finds runner groups by name', async () => {
    const emu = await start();
    const client = await connect(emu);
    const fleet = await client.call('GET', '_apis/runtime/runnergroups/?groupName=fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.json).toEqual({
      count: 1,
      value: [{ id: 7, name: 'fleet', size: 0, isDefaultGroup: false }],
    });
    const none = await client.call('GET', '_apis/runtime/runnergroups/?groupName=nope');
    expect(none.json).toEqual({ count: 0, value: [] });
    const all = await client.call('GET', '_apis/runtime/runnergroups/');
    expect(all.json.count).toBe(2);
  });

  it('creates (200), lists by group and name, gets, patches and deletes scale sets', async () => {
    const emu = await start();
    const client = await connect(emu);
    const created = await client.createScaleSet('linux-x64', ['linux-x64', 'self-hosted', 'gpu'], {
      runnerGroupId: 7,
    });
    expect(created).toMatchObject({
      id: 1,
      name: 'linux-x64',
      runnerGroupId: 7,
      runnerGroupName: 'fleet',
      labels: [
        { name: 'linux-x64', type: 'System' },
        { name: 'self-hosted', type: 'System' },
        { name: 'gpu', type: 'System' },
      ],
      RunnerSetting: { disableUpdate: true },
      runnerJitConfigUrl: `${client.registration.base}_apis/runtime/runnerscalesets/1/generatejitconfig`,
      statistics: { totalAssignedJobs: 0, totalRegisteredRunners: 0 },
    });
    expect(Date.parse(String(created.createdOn))).toBeGreaterThan(Date.now() - 10_000);

    const byName = await client.call('GET', '_apis/runtime/runnerscalesets?runnerGroupId=7&name=linux-x64');
    expect(byName.json.count).toBe(1);
    expect(byName.json.value![0]!.id).toBe(1);
    const otherGroup = await client.call(
      'GET',
      '_apis/runtime/runnerscalesets?runnerGroupId=1&name=linux-x64',
    );
    expect(otherGroup.json).toEqual({ count: 0, value: [] });

    const duplicate = await client.call('POST', '_apis/runtime/runnerscalesets', {
      body: { name: 'linux-x64', runnerGroupId: 7 },
    });
    expect(duplicate.status).toBe(409);
    // The same name in another group is another scale set; without labels it is labelled by its name.
    const second = await client.createScaleSet('linux-x64', [], { runnerGroupId: 0 });
    expect(second).toMatchObject({
      id: 2,
      runnerGroupId: 1,
      labels: [{ name: 'linux-x64', type: 'System' }],
    });

    const patched = await client.call('PATCH', '_apis/runtime/runnerscalesets/1', {
      body: { name: 'renamed', RunnerSetting: {}, createdOn: '0001-01-01T00:00:00Z' },
    });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      id: 1,
      name: 'renamed',
      runnerGroupId: 7,
      RunnerSetting: { disableUpdate: true },
    });
    const moved = await client.call('PATCH', '_apis/runtime/runnerscalesets/1', {
      body: { runnerGroupId: 1 },
    });
    expect(moved.json).toMatchObject({ name: 'renamed', runnerGroupId: 1, runnerGroupName: 'Default' });

    expect((await client.call('DELETE', '_apis/runtime/runnerscalesets/1')).status).toBe(204);
    const gone = await client.call('GET', '_apis/runtime/runnerscalesets/1');
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual({
      typeName:
        'GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException, GitHub.Actions.Runtime.WebApi',
      message: 'No runner scale set found with identifier 1.',
    });
    expect((await client.call('PATCH', '_apis/runtime/runnerscalesets/1', { body: {} })).status).toBe(404);
    expect(emu.scaleSets.list().map((set) => set.id)).toEqual([2]);
  });

  it('names the bad value of a bad create', async () => {
    const emu = await start();
    const client = await connect(emu);
    const noName = await client.call('POST', '_apis/runtime/runnerscalesets', { body: { runnerGroupId: 1 } });
    expect(noName.status).toBe(400);
    expect(noName.json.message).toContain('name must be a non-empty string');
    const badGroup = await client.call('POST', '_apis/runtime/runnerscalesets', {
      body: { name: 'x', runnerGroupId: 99 },
    });
    expect(badGroup.status).toBe(400);
    expect(badGroup.json.message).toContain('runnerGroupId 99');
    const badLabels = await client.call('POST', '_apis/runtime/runnerscalesets', {
      body: { name: 'x', labels: [{ type: 'System' }] },
    });
    expect(badLabels.status).toBe(400);
    expect(badLabels.json.message).toContain('label');
  });

  it('keeps each tenant to its own scale sets', async () => {
    const emu = await start();
    const acme = await connect(emu);
    const other = await connect(emu, 'other');
    await acme.createScaleSet('linux');
    expect((await other.call('GET', '_apis/runtime/runnerscalesets/1')).status).toBe(404);
    expect((await other.call('GET', '_apis/runtime/runnerscalesets?name=linux')).json.count).toBe(0);
  });
});

describe('JIT runners and agents', () => {
  it('generates a JIT config (200) that pre-registers an offline runner of the set', async () => {
    const emu = await start();
    const client = await connect(emu);
    const set = await client.createScaleSet('linux', ['linux', 'self-hosted']);
    const jit = await client.generateJitConfig(Number(set.id), 'runner-abc12345');
    expect(jit.status).toBe(200);
    const runner = jit.json.runner!;
    expect(runner).toEqual({ id: expect.any(Number), name: 'runner-abc12345', runnerScaleSetId: 1 });
    const files = JSON.parse(
      Buffer.from(String(jit.json.encodedJITConfig), 'base64').toString('utf8'),
    ) as Record<string, string>;
    expect(Object.keys(files).sort()).toEqual(['.credentials', '.credentials_rsaparams', '.runner']);
    const runnerFile = JSON.parse(Buffer.from(files['.runner']!, 'base64').toString('utf8')) as Record<
      string,
      string
    >;
    expect(runnerFile).toMatchObject({
      agentId: String(runner.id),
      agentName: 'runner-abc12345',
      serverUrlV2: client.registration.base,
      workFolder: '_work',
      ephemeral: 'true',
    });
    expect(emu.issuedSecrets()).toContain(String(jit.json.encodedJITConfig));
    // It shows as an offline runner in REST too, with the set's labels, and counts as registered.
    expect(emu.github.runner('runner-abc12345')).toMatchObject({
      status: 'offline',
      labels: ['linux', 'self-hosted'],
      ephemeral: true,
    });
    expect(emu.scaleSets.statistics(1)).toMatchObject({ totalRegisteredRunners: 1, totalIdleRunners: 0 });

    const duplicate = await client.generateJitConfig(1, 'runner-abc12345');
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.typeName).toContain('AgentExistsException');

    const byId = await client.call('GET', `_apis/distributedtask/pools/0/agents/${String(runner.id)}`);
    expect(byId.json).toMatchObject({ id: runner.id, name: 'runner-abc12345', runnerScaleSetId: 1 });
    const byName = await client.call('GET', '_apis/distributedtask/pools/0/agents?agentName=runner-abc12345');
    expect(byName.json).toMatchObject({ count: 1, value: [{ id: runner.id, runnerScaleSetId: 1 }] });
    const noName = await client.call('GET', '_apis/distributedtask/pools/0/agents?agentName=nobody');
    expect(noName.json).toEqual({ count: 0, value: [] });

    expect(
      (await client.call('DELETE', `_apis/distributedtask/pools/0/agents/${String(runner.id)}`)).status,
    ).toBe(204);
    const missing = await client.call('GET', `_apis/distributedtask/pools/0/agents/${String(runner.id)}`);
    expect(missing.status).toBe(404);
    expect(missing.json.typeName).toContain('AgentNotFoundException');
    // Deleting an unknown runner answers 204 as well.
    expect((await client.call('DELETE', '_apis/distributedtask/pools/0/agents/424242')).status).toBe(204);
    expect(emu.scaleSets.statistics(1).totalRegisteredRunners).toBe(0);
  });

  it('expires a JIT runner that never came online, and keeps one that did', async () => {
    const emu = await start({ github: { scaleSets: { jitRunnerExpiryMs: 600_000 } } });
    const client = await connect(emu);
    await client.createScaleSet('linux');
    await client.generateJitConfig(1, 'unused');
    await client.generateJitConfig(1, 'used');
    emu.scaleSets.connectRunner('used');
    await emu.advance(600_000);
    expect(emu.github.runner('unused')).toBeUndefined();
    expect(emu.github.runner('used')).toMatchObject({ status: 'online' });
    expect(emu.scaleSets.statistics(1)).toMatchObject({ totalRegisteredRunners: 1, totalIdleRunners: 1 });
  });

  it('a 404 for generatejitconfig on an unknown set; a bad name is named', async () => {
    const emu = await start();
    const client = await connect(emu);
    expect((await client.generateJitConfig(9, 'x')).status).toBe(404);
    await client.createScaleSet('linux');
    const bad = await client.call('POST', '_apis/runtime/runnerscalesets/1/generatejitconfig', { body: {} });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('name must be a non-empty string');
  });
});

describe('behaviour switches', () => {
  it('BOM-prefixed bodies and text/plain errors', async () => {
    const emu = await start({ github: { scaleSets: { bom: true } } });
    const client = await connect(emu);
    const groups = await client.call('GET', '_apis/runtime/runnergroups/');
    expect(groups.text.startsWith('\uFEFF')).toBe(true);
    expect(groups.json.count).toBe(2);
    emu.scaleSets.setBehaviour({ bom: false, plainTextErrors: true });
    const plain = await client.call('GET', '_apis/runtime/runnerscalesets/5');
    expect(plain.status).toBe(404);
    expect(plain.headers.get('content-type')).toContain('text/plain');
    expect(plain.text).toBe('No runner scale set found with identifier 5.');
    emu.scaleSets.setBehaviour({ plainTextErrors: false });
    const json = await client.call('GET', '_apis/runtime/runnerscalesets/5');
    expect(json.text.startsWith('{')).toBe(true);
  });

  it('accepts calls with or without api-version, and does not charge the REST rate limit', async () => {
    const emu = await start({ budgets: { github: true } });
    const client = await connect(emu);
    const withVersion = await client.call('GET', '_apis/runtime/runnergroups/?api-version=6.0-preview');
    expect(withVersion.status).toBe(200);
    const without = await request(
      `${client.registration.base}_apis/runtime/runnergroups/`,
      'GET',
      `Bearer ${client.registration.adminToken}`,
    );
    expect(without.status).toBe(200);
    expect(Number(without.headers.get('x-ratelimit-used'))).toBe(
      Number(withVersion.headers.get('x-ratelimit-used')),
    );
  });
});
