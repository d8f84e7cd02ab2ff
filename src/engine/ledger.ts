// The launch ledger (the coordination store's launch records) against what EC2 listed. Pure.
//
// DescribeInstances is eventually consistent: an instance launched seconds ago, or its tags in a filter, can be
// missing from the listing. Launch records name what every run launched recently, so an instance the listing
// misses still counts toward `max` and as supply, its runner is not a ghost and its parameter not a leak.
import { TAG_ENVIRONMENT, TAG_LABEL, TAG_POOL } from '../contract.js';
import type { Instance, LaunchRecord, PoolConfig } from '../types.js';

/** Reserved label of a record's runners (the one label of a pre-job's runners, or the one they share). */
export function reservedLabelOf(record: LaunchRecord, isReserved: (label: string) => boolean) {
  return record.labels?.find(isReserved);
}

export interface Unlisted {
  /** Stand-ins for launched instances the listing misses, and for launches still in flight (no ids yet). */
  members: Instance[];
  /** Every instance id a record names (listed or not): recently launched by some run. */
  recentIds: Set<string>;
}

/**
 * Stand-ins are `pending` instances launched at the record's time; an in-flight launch (an intent) stands for
 * `count` instances with ids that name it (never acted on: removals only take listed instances).
 */
export function unlistedLaunches(
  environment: string,
  records: LaunchRecord[],
  listed: Instance[],
  pools: PoolConfig[],
  isReserved: (label: string) => boolean,
): Unlisted {
  const listedIds = new Set(listed.map((i) => i.id));
  const recentIds = new Set(records.flatMap((r) => r.instanceIds));
  const members: Instance[] = [];
  for (const record of records) {
    const pool = pools.find((p) => p.name === record.pool);
    if (!pool || record.state === 'failed') continue;
    const label = reservedLabelOf(record, isReserved);
    const tags: Record<string, string> = {
      [TAG_ENVIRONMENT]: environment,
      [TAG_POOL]: record.pool,
      ...(label ? { [TAG_LABEL]: label } : {}),
    };
    const stand = (id: string): Instance => ({
      id,
      region: pool.region,
      state: 'pending',
      launchTime: record.at,
      pool: record.pool,
      tags,
      unlisted: true,
    });
    if (record.state === 'intent') {
      for (let i = 0; i < record.count; i++) members.push(stand(`intent:${record.clientToken}:${i}`));
    } else {
      for (const id of record.instanceIds) if (!listedIds.has(id)) members.push(stand(id));
    }
  }
  return { members, recentIds };
}
