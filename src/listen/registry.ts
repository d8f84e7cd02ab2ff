// Listener records in the coordination store: each listener writes a heartbeat (what it listens to, until
// when, and what it warns about); the scheduler reads them to start a listener when none is alive or the
// live one's deadline is near, and to repeat its warnings. Items `listener#<id>` of the environment's
// partition; their times are their own attributes (heartbeatMs, deadlineMs), so the store's other readers
// leave them alone.
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { LISTENER_PREFIX, storeError } from '../aws/store.js';
import { createSdkLogger } from '../aws/sdk-logger.js';
import type { PoolConfig } from '../types.js';

/** waiting: started, holds no session yet; listening: holds its sessions; requested: the scheduler asked for one. */
export type ListenerState = 'waiting' | 'listening' | 'requested';

export interface ListenerRecord {
  id: string;
  state: ListenerState;
  /** The workflow run (repository#run/attempt), or the scheduler run that asked. */
  holder: string;
  heartbeat: Date;
  deadline: Date;
  pools: string[];
  /** Warnings to repeat in the scheduler's summary (stuck statistics). */
  warnings: string[];
}

export interface ListenerRegistry {
  write(record: ListenerRecord): Promise<void>;
  list(): Promise<ListenerRecord[]>;
  remove(id: string): Promise<void>;
}

export interface ListenerRegistryOptions {
  table: string;
  region: string;
  environment: string;
  log?: (message: string) => void;
}

/** A heartbeat older than this is a listener that died (crash, SIGKILL, cancelled runner). */
export const HEARTBEAT_STALE_MS = 2 * 60_000;
/** The scheduler starts the next listener once the live one has less than this left. */
export const HANDOVER_LEAD_MS = 10 * 60_000;
/** A start the scheduler asked for counts as on its way for this long. */
export const REQUEST_VALID_MS = 10 * 60_000;
export const REQUESTED_ID = 'requested';

type Item = Record<string, AttributeValue>;

export function createListenerRegistry(options: ListenerRegistryOptions): ListenerRegistry {
  const { table, region, environment } = options;
  const client = new DynamoDBClient({ region, retryMode: 'adaptive', logger: createSdkLogger(options.log) });
  const key = (id: string): Item => ({ pk: { S: environment }, sk: { S: `${LISTENER_PREFIX}${id}` } });
  const send = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw storeError(operation, table, region, error);
    }
  };
  return {
    async write(record) {
      await send('PutItem (listener heartbeat)', () =>
        client.send(new PutItemCommand({ TableName: table, Item: { ...key(record.id), ...toItem(record) } })),
      );
    },
    async list() {
      const answer = await send('Query (listeners)', () =>
        client.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': { S: environment }, ':prefix': { S: LISTENER_PREFIX } },
            ConsistentRead: true,
          }),
        ),
      );
      return (answer.Items ?? []).flatMap((item) => fromItem(item) ?? []);
    },
    async remove(id) {
      await send('DeleteItem (listener)', () =>
        client.send(new DeleteItemCommand({ TableName: table, Key: key(id) })),
      );
    },
  };
}

function toItem(record: ListenerRecord): Item {
  return {
    state: { S: record.state },
    holder: { S: record.holder },
    heartbeatMs: { N: String(record.heartbeat.getTime()) },
    deadlineMs: { N: String(record.deadline.getTime()) },
    pools: { L: record.pools.map((p) => ({ S: p })) },
    warnings: { L: record.warnings.map((w) => ({ S: w.slice(0, 1000) })) },
    // DynamoDB drops the item a day after the listener's deadline, whatever happened to it.
    ttl: { N: String(Math.ceil(record.deadline.getTime() / 1000) + 86_400) },
  };
}

/** An item of another shape (a newer version's) is skipped, not an error: the watchdog then starts a listener. */
function fromItem(item: Item): ListenerRecord | undefined {
  const state = item.state?.S;
  const heartbeat = Number(item.heartbeatMs?.N);
  const deadline = Number(item.deadlineMs?.N);
  if (state !== 'waiting' && state !== 'listening' && state !== 'requested') return undefined;
  if (!Number.isFinite(heartbeat) || !Number.isFinite(deadline)) return undefined;
  return {
    id: (item.sk?.S ?? '').slice(LISTENER_PREFIX.length),
    state,
    holder: item.holder?.S ?? '',
    heartbeat: new Date(heartbeat),
    deadline: new Date(deadline),
    pools: (item.pools?.L ?? []).flatMap((v) => (v.S ? [v.S] : [])),
    warnings: (item.warnings?.L ?? []).flatMap((v) => (v.S ? [v.S] : [])),
  };
}

export interface WatchdogVerdict {
  /** start: ask for a listener now; alive: one listens (or is on its way); none: no scale-set pool. */
  listener: 'start' | 'alive' | 'none';
  reason: string;
  /** Warnings for the scheduler's summary: a listener missing, stuck statistics it reported. */
  warnings: string[];
}

const minutes = (ms: number) => `${Math.max(0, Math.round(ms / 60_000))} min`;

/** What the scheduler makes of the listener records. Pure. */
export function watchdogVerdict(records: ListenerRecord[], pools: PoolConfig[], now: Date): WatchdogVerdict {
  if (!pools.some((p) => p.scaleSet)) return { listener: 'none', reason: 'no scale-set pool', warnings: [] };
  const t = now.getTime();
  const fresh = (r: ListenerRecord) =>
    t - r.heartbeat.getTime() <= HEARTBEAT_STALE_MS && r.deadline.getTime() > t;
  const live = records.filter((r) => r.state === 'listening' && fresh(r));
  const coming = records.filter(
    (r) =>
      (r.state === 'waiting' && fresh(r)) ||
      (r.state === 'requested' && t - r.heartbeat.getTime() < REQUEST_VALID_MS),
  );
  const warnings = [...new Set(live.flatMap((r) => r.warnings))];
  if (coming.length > 0) {
    return { listener: 'alive', reason: `a listener is starting (${coming[0]?.holder})`, warnings };
  }
  if (live.length === 0) {
    const last = Math.max(0, ...records.map((r) => r.heartbeat.getTime()));
    const why = last > 0 ? `no listener heartbeat for ${minutes(t - last)}` : 'no listener has run yet';
    return {
      listener: 'start',
      reason: why,
      warnings: [...warnings, `${why}: scale-set pools wait for the scheduler until one starts`],
    };
  }
  const until = Math.max(...live.map((r) => r.deadline.getTime()));
  if (until - t <= HANDOVER_LEAD_MS) {
    return {
      listener: 'start',
      reason: `the listener stops in ${minutes(until - t)}: its successor starts now`,
      warnings,
    };
  }
  return { listener: 'alive', reason: `listening until ${new Date(until).toISOString()}`, warnings };
}
