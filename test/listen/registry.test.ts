// The listener records and the scheduler's watchdog: start a listener when none is alive or the live one's
// deadline is near, not while one is on its way; the records in DynamoDB (the emulator's).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { createCoordinationStore } from '../../src/aws/store.js';
import {
  createListenerRegistry,
  HANDOVER_LEAD_MS,
  HEARTBEAT_STALE_MS,
  watchdogVerdict,
  type ListenerRecord,
} from '../../src/listen/registry.js';
import { percentile } from '../../src/listen/metrics.js';
import { pool } from '../engine/fixtures.js';

const NOW = new Date('2026-11-22T12:00:00Z');
const MIN = 60_000;
const pools = [pool({ scaleSet: { name: 'ci-linux' } })];
const at = (ms: number) => new Date(NOW.getTime() + ms);

function listener(overrides: Partial<ListenerRecord>): ListenerRecord {
  return {
    id: 'acme/infra#1/1-x',
    state: 'listening',
    holder: 'acme/infra#1/1',
    heartbeat: at(-10_000),
    deadline: at(3 * 60 * MIN),
    pools: ['linux'],
    warnings: [],
    ...overrides,
  };
}

describe('the watchdog verdict', () => {
  it.each([
    { name: 'no scale-set pool: none', records: [], pools: [pool()], verdict: 'none' },
    { name: 'no listener ever: start', records: [], verdict: 'start' },
    { name: 'a live listener: alive', records: [listener({})], verdict: 'alive' },
    {
      name: 'a listener whose heartbeat stopped (crashed, cancelled): start',
      records: [listener({ heartbeat: at(-HEARTBEAT_STALE_MS - 1000) })],
      verdict: 'start',
    },
    {
      name: 'the live listener stops within the handover lead: start its successor',
      records: [listener({ deadline: at(HANDOVER_LEAD_MS - MIN) })],
      verdict: 'start',
    },
    {
      name: '… unless the successor is already waiting',
      records: [
        listener({ deadline: at(HANDOVER_LEAD_MS - MIN) }),
        listener({ id: 'b', state: 'waiting', heartbeat: at(-5000) }),
      ],
      verdict: 'alive',
    },
    {
      name: 'a start asked for a few minutes ago is on its way',
      records: [listener({ id: 'requested', state: 'requested', heartbeat: at(-3 * MIN) })],
      verdict: 'alive',
    },
    {
      name: 'a start asked for long ago never came: ask again',
      records: [listener({ id: 'requested', state: 'requested', heartbeat: at(-20 * MIN) })],
      verdict: 'start',
    },
  ])('$name', ({ records, verdict, pools: p }) => {
    expect(watchdogVerdict(records as ListenerRecord[], p ?? pools, NOW).listener).toBe(verdict);
  });

  it('repeats the warnings of live listeners, and warns when none listens', () => {
    const stuck = 'scale set ci-linux: statistics stuck at 30 assigned job(s)';
    expect(watchdogVerdict([listener({ warnings: [stuck] })], pools, NOW).warnings).toEqual([stuck]);
    expect(watchdogVerdict([], pools, NOW).warnings.join('\n')).toContain('no listener has run yet');
  });
});

describe('percentiles (nearest rank)', () => {
  it('p50, p95 and empty', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile([3], 95)).toBe(3);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('listener records in the coordination table', () => {
  let emulator: Emulator;
  const saved = { ...process.env };
  beforeAll(async () => {
    emulator = await startEmulator({ region: 'eu-west-1' });
    Object.assign(process.env, emulator.env);
  });
  afterAll(async () => {
    process.env = saved;
    await emulator.stop();
  });

  it('writes, lists and removes them; the store reader leaves them alone', async () => {
    const options = { table: 'runner-scaler', region: 'eu-west-1', environment: 'ci' };
    const registry = createListenerRegistry(options);
    const record = listener({ warnings: ['stuck'] });
    await registry.write(record);
    await registry.write(listener({ id: 'requested', state: 'requested', holder: 'acme/infra#2/1' }));
    const listed = await registry.list();
    expect(listed.find((r) => r.id === record.id)).toEqual(record);
    expect(listed.map((r) => r.state).sort()).toEqual(['listening', 'requested']);
    // Another environment's partition does not see them.
    expect(await createListenerRegistry({ ...options, environment: 'other' }).list()).toEqual([]);
    const snapshot = await createCoordinationStore(options).read(NOW);
    expect(snapshot).toEqual({ launches: [], breakers: [], shortages: [] });
    await registry.remove(record.id);
    expect((await registry.list()).map((r) => r.id)).toEqual(['requested']);
  });
});
