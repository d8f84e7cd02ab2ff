import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScaleSetClient } from '../../../src/github/scaleset/types.js';
import { API_VERSION, exception, hourToken, mockTokenChain, newClient, service } from './fixtures.js';

const AGENTS = '/rest/_apis/distributedtask/pools/0/agents';
const JIT = '/rest/_apis/runtime/runnerscalesets/7/generatejitconfig';
const JIT_CONFIG = Buffer.from(JSON.stringify({ '.runner': 'c2VjcmV0' })).toString('base64');

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function setup(): { client: ScaleSetClient; admin: string; log: ReturnType<typeof newClient>['log'] } {
  const admin = hourToken();
  mockTokenChain(admin);
  const { client, log } = newClient();
  return { client, admin, log };
}

function agent(overrides: Record<string, unknown> = {}) {
  return { id: 41, name: 'rs-abc', runnerScaleSetId: 7, status: 'offline', enabled: true, ...overrides };
}

const created = { runner: { id: 42, name: 'rs-abc', runnerScaleSetId: 7 }, encodedJITConfig: JIT_CONFIG };
const agentExists = exception('AgentExistsException', "Agent 'rs-abc' already exists");

describe('generateJitConfig', () => {
  it('registers a runner in the scale set and masks its JIT config', async () => {
    const { client, admin, log } = setup();
    service(admin).post(JIT, { name: 'rs-abc', workFolder: '' }).query(API_VERSION).reply(200, created);
    const result = await client.generateJitConfig(7, 'rs-abc');
    expect(result).toEqual({
      status: 'created',
      runner: { id: 42, name: 'rs-abc', scaleSetId: 7, hasAssignedJob: false, hasCompletedJob: false },
      encodedJitConfig: JIT_CONFIG,
    });
    expect(log.secrets).toContain(JIT_CONFIG);
    expect(log.lines().join('\n')).not.toContain(JIT_CONFIG);
  });

  it('on AgentExists removes an unused offline runner of this scale set and registers again', async () => {
    const { client, admin, log } = setup();
    service(admin).post(JIT).query(API_VERSION).reply(409, agentExists);
    service(admin)
      .get(AGENTS)
      .query({ ...API_VERSION, agentName: 'rs-abc' })
      .reply(200, { count: 1, value: [agent()] });
    service(admin).delete(`${AGENTS}/41`).query(API_VERSION).reply(204);
    service(admin).post(JIT).query(API_VERSION).reply(200, created);
    await expect(client.generateJitConfig(7, 'rs-abc')).resolves.toMatchObject({
      status: 'created',
      runner: { id: 42 },
    });
    expect(log.infos.join('\n')).toContain('Removed unused runner 41 (rs-abc) of scale set 7');
  });

  it.each([
    ['online', agent({ status: 'online' })],
    ['busy', agent({ status: 'busy' })],
    ['running a job', agent({ assignedRequest: { requestId: 5 } })],
    ['that ran a job', agent({ lastCompletedRequest: { requestId: 4 } })],
    ['of another scale set', agent({ runnerScaleSetId: 8 })],
    ['of unknown status', agent({ status: undefined })],
    ['online (numeric status)', agent({ status: 2 })],
  ])('on AgentExists keeps a runner %s and reports the name taken', async (_name, existing) => {
    const { client, admin, log } = setup();
    service(admin).post(JIT).query(API_VERSION).reply(400, agentExists);
    service(admin)
      .get(AGENTS)
      .query({ ...API_VERSION, agentName: 'rs-abc' })
      .reply(200, { count: 1, value: [existing] });
    const result = await client.generateJitConfig(7, 'rs-abc');
    expect(result).toMatchObject({ status: 'exists', runner: { id: 41 } });
    expect(log.warnings.join('\n')).toMatch(/Runner name rs-abc is taken by runner 41 .*keeping it/);
  });

  it('on AgentExists keeps a runner whose DELETE says a job is still running', async () => {
    const { client, admin } = setup();
    service(admin).post(JIT).query(API_VERSION).reply(409, agentExists);
    service(admin)
      .get(AGENTS)
      .query(true)
      .reply(200, { count: 1, value: [agent()] });
    service(admin)
      .delete(`${AGENTS}/41`)
      .query(API_VERSION)
      .reply(400, exception('JobStillRunningException', 'job running'));
    await expect(client.generateJitConfig(7, 'rs-abc')).resolves.toMatchObject({ status: 'exists' });
  });

  it('registers again when the runner behind AgentExists has vanished; a second AgentExists is reported', async () => {
    const { client, admin } = setup();
    service(admin).post(JIT).query(API_VERSION).reply(409, agentExists);
    service(admin).get(AGENTS).query(true).reply(200, { count: 0, value: [] });
    service(admin).post(JIT).query(API_VERSION).reply(409, agentExists);
    await expect(client.generateJitConfig(7, 'rs-abc')).resolves.toEqual({
      status: 'exists',
      runner: undefined,
    });
  });

  it("keeps the runner holding the name when beforeReplace says no, and answers 'exists'", async () => {
    const { client, admin } = setup();
    service(admin).post(JIT).query(API_VERSION).reply(409, agentExists);
    service(admin)
      .get(AGENTS)
      .query({ ...API_VERSION, agentName: 'rs-abc' })
      .reply(200, { count: 1, value: [agent()] });
    await expect(
      client.generateJitConfig(7, 'rs-abc', { beforeReplace: async () => false }),
    ).resolves.toMatchObject({ status: 'exists', runner: { id: 41 } });
  });

  it('rejects an empty name', async () => {
    const { client } = setup();
    nock.cleanAll(); // no call is made
    await expect(client.generateJitConfig(7, ' ')).rejects.toThrow('runner name: got "", expected a name');
  });
});

describe('runners', () => {
  it('looks a runner up by id and by name, undefined when gone', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(`${AGENTS}/41`)
      .query(API_VERSION)
      .reply(200, agent({ status: 'Online' }));
    service(admin)
      .get(`${AGENTS}/43`)
      .query(API_VERSION)
      .reply(404, exception('AgentNotFoundException', 'no agent 43'));
    service(admin)
      .get(AGENTS)
      .query({ ...API_VERSION, agentName: 'rs-none' })
      .reply(200, { count: 0, value: [] });
    await expect(client.getRunner(41)).resolves.toEqual({
      id: 41,
      name: 'rs-abc',
      scaleSetId: 7,
      status: 'online',
      hasAssignedJob: false,
      hasCompletedJob: false,
    });
    await expect(client.getRunner(43)).resolves.toBeUndefined();
    await expect(client.findRunner('rs-none')).resolves.toBeUndefined();
  });

  it.each([
    ['204', 204, undefined, 'deleted'],
    ['JobStillRunning (400, the ADR)', 400, exception('JobStillRunningException', 'busy'), 'busy'],
    ['JobStillRunning (409, the Go tests)', 409, exception('JobStillRunningException', 'busy'), 'busy'],
    ['AgentNotFound', 400, exception('AgentNotFoundException', 'gone'), 'not-found'],
    ['a bare 404', 404, 'Not Found', 'not-found'],
  ])('removeRunner answers %s as %s', async (_name, status, body, expected) => {
    const { client, admin } = setup();
    service(admin).delete(`${AGENTS}/41`).query(API_VERSION).reply(status, body);
    await expect(client.removeRunner(41)).resolves.toBe(expected);
  });

  it('runs beforeSend right before each attempt: a retry is checked again, and false sends nothing', async () => {
    const { client, admin } = setup();
    service(admin).delete(`${AGENTS}/41`).query(API_VERSION).reply(503, 'busy broker');
    service(admin).delete(`${AGENTS}/41`).query(API_VERSION).reply(204);
    const checks: number[] = [];
    const beforeSend = async () => {
      checks.push(checks.length);
      return true;
    };
    await expect(client.removeRunner(41, { beforeSend })).resolves.toBe('deleted');
    expect(checks).toHaveLength(2);
    // The evidence says no: the DELETE is never sent (nock has no interceptor for it).
    await expect(client.removeRunner(41, { beforeSend: async () => false })).resolves.toBe('cancelled');
  });

  it('throws other removal failures (the runner is kept)', async () => {
    const { client, admin } = setup();
    service(admin).delete(`${AGENTS}/41`).query(API_VERSION).reply(403, { message: 'forbidden' });
    await expect(client.removeRunner(41)).rejects.toMatchObject({ status: 403, kind: 'http' });
  });
});
