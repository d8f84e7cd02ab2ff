// The coordination store against the DynamoDB emulator, through the real SDK client and the SDK's own
// endpoint and retry settings (AWS_ENDPOINT_URL_DYNAMODB, AWS_MAX_ATTEMPTS), as the action runs it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDynamoDbService,
  serveDynamoDb,
  type DynamoDbServer,
  type DynamoDbService,
} from '../../emulator/dynamodb/index.js';
import { createCoordinationStore, STORE_TIME_ATTRIBUTES } from '../../src/aws/store.js';
import type { BreakerRecord, CoordinationStore, LaunchRecord, ShortageRecord } from '../../src/types.js';

const REGION = 'eu-west-1';
const TABLE = 'runner-scaler-ci';
const ENV = 'ci';
const MINUTE = 60_000;

let offset = 0;
const clock = {
  now: () => Date.now() + offset,
  offset: () => offset,
  toWall: (time: number) => time - offset,
};
let service: DynamoDbService;
let server: DynamoDbServer;
let failures: unknown[];

beforeEach(async () => {
  offset = 0;
  failures = [];
  service = createDynamoDbService(
    { clock, defaultRegion: REGION, accountId: '123456789012' },
    { tables: [{ name: TABLE, ttlAttribute: 'ttl' }], timeAttributes: STORE_TIME_ATTRIBUTES },
  );
  server = await serveDynamoDb(service, { region: REGION, onError: (error) => failures.push(error) });
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', server.url);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAEMULATOR');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'dummy');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await server.close();
  expect(failures).toEqual([]);
});

function store(options: { table?: string; environment?: string } = {}): CoordinationStore {
  return createCoordinationStore({
    table: options.table ?? TABLE,
    region: REGION,
    environment: options.environment ?? ENV,
  });
}

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30, 12) + ms);

function launch(clientToken: string, overrides: Partial<LaunchRecord> = {}): LaunchRecord {
  return {
    pool: 'linux',
    clientToken,
    count: 2,
    instanceIds: [],
    jobIds: [101, 102],
    runId: '900/1',
    at: at(0),
    expiresAt: at(30 * MINUTE),
    state: 'intent',
    ...overrides,
  };
}

describe('lease', () => {
  it('lets exactly one of two racing holders acquire it, round after round', async () => {
    const [a, b] = [store(), store()];
    for (let round = 0; round < 20; round++) {
      const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
      const names = round % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
      const results = await Promise.all([
        first.tryAcquireLease(`${names[0]}-${round}`, MINUTE, at(0)),
        second.tryAcquireLease(`${names[1]}-${round}`, MINUTE, at(0)),
      ]);
      const acquired = results.filter((result) => result.acquired);
      expect(acquired).toHaveLength(1);
      const winner = results[0]!.acquired ? `${names[0]}-${round}` : `${names[1]}-${round}`;
      const loser = results.find((result) => !result.acquired);
      expect(loser).toEqual({
        acquired: false,
        heldBy: { holder: winner, acquiredAt: at(0), expiresAt: at(MINUTE) },
      });
      expect((await a.read(at(1))).lease?.holder).toBe(winner);
      await (winner.startsWith('a') ? a : b).releaseLease(winner);
    }
    expect(service.items(TABLE)).toEqual([]);
  });

  it('is taken over once expired; the old holder then cannot renew it, nor release it', async () => {
    const [a, b] = [store(), store()];
    expect(await a.tryAcquireLease('a', MINUTE, at(0))).toEqual({ acquired: true });
    expect(await b.tryAcquireLease('b', MINUTE, at(30_000))).toEqual({
      acquired: false,
      heldBy: { holder: 'a', acquiredAt: at(0), expiresAt: at(MINUTE) },
    });
    // Still held at the very millisecond it expires.
    expect((await b.tryAcquireLease('b', MINUTE, at(MINUTE))).acquired).toBe(false);
    expect(await b.tryAcquireLease('b', MINUTE, at(MINUTE + 1))).toEqual({ acquired: true });
    expect(await a.renewLease('a', MINUTE, at(MINUTE + 2))).toBe(false);
    await a.releaseLease('a');
    expect((await a.read(at(MINUTE + 3))).lease).toEqual({
      holder: 'b',
      acquiredAt: at(MINUTE + 1),
      expiresAt: at(2 * MINUTE + 1),
    });
  });

  it('is renewed by its holder, re-acquired by it, and released only by it', async () => {
    const [a, b] = [store(), store()];
    await a.tryAcquireLease('a', MINUTE, at(0));
    expect(await a.renewLease('a', MINUTE, at(50_000))).toBe(true);
    expect((await b.read(at(70_000))).lease).toEqual({
      holder: 'a',
      acquiredAt: at(0),
      expiresAt: at(110_000),
    });
    expect((await b.tryAcquireLease('b', MINUTE, at(70_000))).acquired).toBe(false);
    // A retried run asks again for the lease it holds.
    expect(await a.tryAcquireLease('a', MINUTE, at(80_000))).toEqual({ acquired: true });
    await b.releaseLease('b');
    expect((await b.read(at(81_000))).lease?.holder).toBe('a');
    await a.releaseLease('a');
    expect((await b.read(at(81_000))).lease).toBeUndefined();
    expect(await b.tryAcquireLease('b', MINUTE, at(82_000))).toEqual({ acquired: true });
  });

  it('reads an expired lease as none, though DynamoDB has not deleted it', async () => {
    await store().tryAcquireLease('a', MINUTE, at(0));
    expect((await store().read(at(MINUTE + 1))).lease).toBeUndefined();
    expect(service.items(TABLE)).toHaveLength(1);
  });

  it('acquires through a lost answer: the SDK retries and the lease is already ours', async () => {
    const lost = service.faults.serverError({ action: 'PutItem', times: 1, lostResponse: true });
    expect(await store().tryAcquireLease('a', MINUTE, at(0))).toEqual({ acquired: true });
    expect(lost.hits).toBe(1);
    expect(service.counts()).toMatchObject({ 'PutItem:InternalServerError': 1, PutItem: 1 });
  });

  it('expires in emulated time: a clock jump ages the stored lease', async () => {
    await store().tryAcquireLease('a', MINUTE, new Date());
    expect((await store().tryAcquireLease('b', MINUTE, new Date())).acquired).toBe(false);
    offset += 2 * MINUTE;
    expect(await store().tryAcquireLease('b', MINUTE, new Date())).toEqual({ acquired: true });
  });
});

describe('launch ledger', () => {
  it('round-trips records: the intent, then the launch overwrites it', async () => {
    const ledger = store();
    await ledger.recordLaunch(launch('tok-1'));
    await ledger.recordLaunch(
      launch('tok-2', { pool: 'gpu', labels: ['self-hosted', 'gpu', 'run-77'], count: 1, jobIds: [] }),
    );
    expect((await ledger.read(at(1000))).launches).toEqual([
      launch('tok-1'),
      launch('tok-2', { pool: 'gpu', labels: ['self-hosted', 'gpu', 'run-77'], count: 1, jobIds: [] }),
    ]);
    await ledger.recordLaunch(launch('tok-1', { state: 'launched', instanceIds: ['i-0a', 'i-0b'] }));
    const { launches } = await store().read(at(2000));
    expect(launches).toHaveLength(2);
    expect(launches[0]).toEqual(launch('tok-1', { state: 'launched', instanceIds: ['i-0a', 'i-0b'] }));
  });

  it('drops expired records and keeps other environments apart', async () => {
    await store().recordLaunch(launch('old', { expiresAt: at(MINUTE) }));
    await store().recordLaunch(launch('new'));
    await store({ environment: 'prod' }).recordLaunch(launch('prod-1'));
    const { launches } = await store().read(at(2 * MINUTE));
    expect(launches.map((record) => record.clientToken)).toEqual(['new']);
    expect(
      (await store({ environment: 'prod' }).read(at(0))).launches.map((record) => record.clientToken),
    ).toEqual(['prod-1']);
  });

  it('pages through many records', async () => {
    service.setQueryPageBytes(2000);
    const ledger = store();
    const tokens = Array.from({ length: 60 }, (_, index) => `tok-${String(index).padStart(2, '0')}`);
    for (const token of tokens) await ledger.recordLaunch(launch(token, { instanceIds: [`i-${token}`] }));
    await ledger.tryAcquireLease('a', MINUTE, at(0));
    const snapshot = await ledger.read(at(1000));
    expect(snapshot.launches.map((record) => record.clientToken)).toEqual(tokens);
    expect(snapshot.lease?.holder).toBe('a');
    expect(service.counts().Query).toBeGreaterThan(3);
  });
});

describe('breakers', () => {
  const breaker = (settingsHash: string, failures: number): BreakerRecord => ({
    pool: 'linux',
    failures,
    instanceIds: Array.from({ length: failures }, (_, index) => `i-${index}`),
    lastFailureAt: at(0),
    openUntil: failures >= 3 ? at(15 * MINUTE) : undefined,
    settingsHash,
    version: 0,
  });

  it('admits one of two writers of the same version; the other learns it lost', async () => {
    expect(await store().writeBreaker(breaker('h1', 1), 0)).toBe(true);
    expect(await store().writeBreaker(breaker('h1', 1), 0)).toBe(false);
    const results = await Promise.all([
      store().writeBreaker(breaker('h-a', 2), 1),
      store().writeBreaker(breaker('h-b', 3), 1),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [written] = (await store().read(at(1000))).breakers;
    const winner = results[0] ? breaker('h-a', 2) : breaker('h-b', 3);
    const { openUntil, ...rest } = winner;
    expect(written).toEqual({ ...rest, ...(openUntil ? { openUntil } : {}), version: 2 });
    expect(await store().writeBreaker(breaker('stale', 1), 1)).toBe(false);
    expect(await store().writeBreaker({ ...breaker('h2', 0), reason: 'settings changed' }, 2)).toBe(true);
    expect((await store().read(at(2000))).breakers).toEqual([
      {
        pool: 'linux',
        failures: 0,
        instanceIds: [],
        lastFailureAt: at(0),
        settingsHash: 'h2',
        reason: 'settings changed',
        version: 3,
      },
    ]);
  });
});

describe('capacity shortages', () => {
  const shortage = (pool: string, short: string[]): ShortageRecord => ({
    pool,
    since: at(0),
    lastAt: at(5 * MINUTE),
    short,
    expiresAt: at(65 * MINUTE),
  });

  it('remembers since when a pool is short, per environment, until cleared or expired', async () => {
    await store().recordShortage(shortage('linux', ['m7i.large in subnet-1 (spot)']));
    await store({ environment: 'other' }).recordShortage(shortage('linux', []));
    await store().recordShortage(shortage('arm', []));
    expect((await store().read(at(10 * MINUTE))).shortages).toEqual([
      shortage('arm', []),
      shortage('linux', ['m7i.large in subnet-1 (spot)']),
    ]);
    await store().clearShortage('arm');
    await store().clearShortage('gone');
    expect((await store().read(at(10 * MINUTE))).shortages.map((s) => s.pool)).toEqual(['linux']);
    // Not seen again within its memory: over.
    expect((await store().read(at(66 * MINUTE))).shortages).toEqual([]);
    expect((await store({ environment: 'other' }).read(at(10 * MINUTE))).shortages).toHaveLength(1);
  });
});

describe('failures', () => {
  it('names the missing table, its region and how to create it', async () => {
    const error = (await store({ table: 'no-such-table' })
      .read(at(0))
      .catch((caught: unknown) => caught)) as Error & { code?: string };
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.code).toBe('ResourceNotFoundException');
    expect(error.message).toMatch(
      /^Query on DynamoDB table no-such-table in eu-west-1 failed: ResourceNotFoundException: Requested resource not found/,
    );
    expect(error.message).toContain('examples/launch-template/cloudformation.yml');
  });

  it('rethrows throttling once the SDK gave up retrying, and keeps nothing half-written', async () => {
    vi.stubEnv('AWS_MAX_ATTEMPTS', '2');
    service.faults.throttle({ action: 'PutItem', code: 'ProvisionedThroughputExceededException' });
    const error = (await store()
      .tryAcquireLease('a', MINUTE, at(0))
      .catch((caught: unknown) => caught)) as Error;
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(error.message).toContain(
      `PutItem (acquire the lease) on DynamoDB table ${TABLE} in ${REGION} failed`,
    );
    expect(service.counts()['PutItem:ProvisionedThroughputExceededException']).toBe(2);
    expect(service.items(TABLE)).toEqual([]);
  });

  it('rethrows an unavailable DynamoDB as an error of the operation, and recovers after it', async () => {
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    service.faults.unavailableFor(MINUTE);
    await expect(store().read(at(0))).rejects.toThrow(
      /^Query on DynamoDB table .* failed: ServiceUnavailable/,
    );
    offset += MINUTE;
    await expect(store().read(at(0))).resolves.toEqual({ launches: [], breakers: [], shortages: [] });
  });
});
