import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScaleSetClient } from '../../../src/github/scaleset/types.js';
import { API_VERSION, exception, hourToken, mockTokenChain, newClient, service } from './fixtures.js';

const SETS = '/rest/_apis/runtime/runnerscalesets';

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function wireSet(overrides: Record<string, unknown> = {}) {
  return {
    id: 7,
    name: 'linux-x64',
    runnerGroupId: 1,
    runnerGroupName: 'Default',
    labels: [
      { name: 'self-hosted', type: 'System' },
      { name: 'linux', type: 'System' },
    ],
    RunnerSetting: { disableUpdate: true },
    createdOn: '2026-11-01T00:00:00Z',
    runnerJitConfigUrl: 'https://x/jit',
    statistics: { totalAssignedJobs: 2 },
    ...overrides,
  };
}

function setup(): { client: ScaleSetClient; admin: string; log: ReturnType<typeof newClient>['log'] } {
  const admin = hourToken();
  mockTokenChain(admin);
  const { client, log } = newClient();
  return { client, admin, log };
}

describe('ensureScaleSet', () => {
  it('finds an up-to-date scale set by name in the default group without a group lookup', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(SETS)
      .query({ ...API_VERSION, runnerGroupId: '1', name: 'linux-x64' })
      .reply(200, { count: 1, value: [wireSet()] });
    const result = await client.ensureScaleSet({ name: 'linux-x64', labels: ['Linux', 'self-hosted'] });
    expect(result.action).toBe('found');
    expect(result.scaleSet).toEqual({
      id: 7,
      name: 'linux-x64',
      runnerGroupId: 1,
      runnerGroupName: 'Default',
      labels: ['self-hosted', 'linux'],
      disableUpdate: true,
      statistics: {
        totalAvailableJobs: 0,
        totalAcquiredJobs: 0,
        totalAssignedJobs: 2,
        totalRunningJobs: 0,
        totalRegisteredRunners: 0,
        totalBusyRunners: 0,
        totalIdleRunners: 0,
      },
    });
  });

  it('creates the scale set when absent, in the named runner group, labels de-duplicated', async () => {
    const { client, admin, log } = setup();
    service(admin)
      .get('/rest/_apis/runtime/runnergroups/')
      .query({ ...API_VERSION, groupName: 'ci fleet' })
      .reply(200, { count: 1, value: [{ id: 4, name: 'ci fleet', size: 0, isDefaultGroup: false }] });
    service(admin)
      .get(SETS)
      .query({ ...API_VERSION, runnerGroupId: '4', name: 'linux-x64' })
      .reply(200, { count: 0, value: [] });
    service(admin)
      .post(SETS, {
        name: 'linux-x64',
        runnerGroupId: 4,
        labels: [
          { name: 'self-hosted', type: 'System' },
          { name: 'linux', type: 'System' },
        ],
        RunnerSetting: { disableUpdate: true },
      })
      .query(API_VERSION)
      .reply(200, wireSet({ runnerGroupId: 4, runnerGroupName: 'ci fleet' }));
    const result = await client.ensureScaleSet({
      name: 'linux-x64',
      labels: ['self-hosted', 'linux', 'LINUX', ' '],
      runnerGroup: 'ci fleet',
    });
    expect(result).toMatchObject({ action: 'created', scaleSet: { id: 7, runnerGroupId: 4 } });
    expect(log.infos.join('\n')).toContain('Created runner scale set linux-x64 (id 7) in runner group 4');
  });

  it('labels a scale set with its name when no labels are given', async () => {
    const { client, admin } = setup();
    service(admin).get(SETS).query(true).reply(200, { count: 0 });
    service(admin)
      .post(
        SETS,
        (body: { labels: unknown }) => JSON.stringify(body.labels) === '[{"name":"solo","type":"System"}]',
      )
      .query(API_VERSION)
      .reply(200, wireSet({ name: 'solo', labels: [{ name: 'solo', type: 'System' }] }));
    await expect(client.ensureScaleSet({ name: 'solo', labels: [] })).resolves.toMatchObject({
      action: 'created',
    });
  });

  it('PATCHes labels and setting that differ', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(SETS)
      .query(true)
      .reply(200, { count: 1, value: [wireSet()] });
    service(admin)
      .patch(`${SETS}/7`, {
        name: 'linux-x64',
        runnerGroupId: 1,
        labels: [
          { name: 'self-hosted', type: 'System' },
          { name: 'linux', type: 'System' },
          { name: 'gpu', type: 'System' },
        ],
        RunnerSetting: { disableUpdate: false },
      })
      .query(API_VERSION)
      .reply(200, wireSet({ RunnerSetting: {} }));
    const result = await client.ensureScaleSet({
      name: 'linux-x64',
      labels: ['self-hosted', 'linux', 'gpu'],
      disableUpdate: false,
    });
    expect(result.action).toBe('updated');
  });

  it('finds a known id in another group and moves it to the requested group', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(`${SETS}/7`)
      .query(API_VERSION)
      .reply(200, wireSet({ runnerGroupId: 4 }));
    service(admin)
      .patch(`${SETS}/7`, (body: { runnerGroupId: number }) => body.runnerGroupId === 1)
      .query(API_VERSION)
      .reply(200, wireSet());
    const result = await client.ensureScaleSet({
      name: 'linux-x64',
      labels: ['self-hosted', 'linux'],
      runnerGroup: 'Default',
      knownId: 7,
    });
    expect(result).toMatchObject({ action: 'updated', scaleSet: { runnerGroupId: 1 } });
  });

  it('recreates a scale set GitHub deleted: the known id is gone, so it looks up by name and creates', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(`${SETS}/7`)
      .query(API_VERSION)
      .reply(404, exception('RunnerScaleSetNotFoundException', 'not found'));
    service(admin).get(SETS).query(true).reply(200, { count: 0, value: [] });
    service(admin)
      .post(SETS)
      .query(API_VERSION)
      .reply(200, wireSet({ id: 8 }));
    const result = await client.ensureScaleSet({
      name: 'linux-x64',
      labels: ['self-hosted', 'linux'],
      knownId: 7,
    });
    expect(result).toMatchObject({ action: 'created', scaleSet: { id: 8 } });
  });

  it('takes the scale set another listener created a moment earlier', async () => {
    const { client, admin } = setup();
    service(admin).get(SETS).query(true).reply(200, { count: 0, value: [] });
    service(admin)
      .post(SETS)
      .query(API_VERSION)
      .reply(400, exception('RunnerScaleSetExistsException', 'already exists'));
    service(admin)
      .get(SETS)
      .query(true)
      .reply(200, { count: 1, value: [wireSet()] });
    const result = await client.ensureScaleSet({ name: 'linux-x64', labels: ['self-hosted', 'linux'] });
    expect(result).toMatchObject({ action: 'found', scaleSet: { id: 7 } });
  });

  it('names a runner group that does not exist', async () => {
    const { client, admin } = setup();
    service(admin).get('/rest/_apis/runtime/runnergroups/').query(true).reply(200, { count: 0, value: [] });
    await expect(client.ensureScaleSet({ name: 'x', labels: [], runnerGroup: 'nope' })).rejects.toThrow(
      'runner group "nope" in https://github.com/acme: found none, expected exactly one',
    );
  });

  it('refuses two scale sets of one name', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(SETS)
      .query(true)
      .reply(200, { count: 2, value: [wireSet(), wireSet({ id: 9 })] });
    await expect(client.findScaleSet('linux-x64', 1)).rejects.toThrow(/2 scale sets named "linux-x64"/);
  });
});

describe('get and delete', () => {
  it('answers undefined for a scale set that is gone', async () => {
    const { client, admin } = setup();
    service(admin)
      .get(`${SETS}/7`)
      .query(API_VERSION)
      .reply(404, exception('RunnerScaleSetNotFoundException', 'x'));
    await expect(client.getScaleSet(7)).resolves.toBeUndefined();
  });

  it('deletes a scale set (204) and reports one already gone', async () => {
    const { client, admin } = setup();
    service(admin).delete(`${SETS}/7`).query(API_VERSION).reply(204);
    service(admin)
      .delete(`${SETS}/8`)
      .query(API_VERSION)
      .reply(404, exception('RunnerScaleSetNotFoundException', 'x'));
    await expect(client.deleteScaleSet(7)).resolves.toBe('deleted');
    await expect(client.deleteScaleSet(8)).resolves.toBe('not-found');
  });

  it('reports an answer without the fields a scale set needs', async () => {
    const { client, admin } = setup();
    service(admin).get(`${SETS}/7`).query(API_VERSION).reply(200, { name: 'no id' });
    await expect(client.getScaleSet(7)).rejects.toThrow(
      /GET \/rest\/_apis\/runtime\/runnerscalesets\/7: unexpected answer \(id:/,
    );
  });
});
