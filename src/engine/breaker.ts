// The boot-failure circuit breaker of a pool. Pure.
//
// When a pool's instances keep dying at bootTimeout with no runner ever online (a bootTimeout shorter than the
// boot, a broken AMI, no route to GitHub, an instance role that cannot read its parameter), launching again
// only churns: each instance is billed and every run looks green. After BREAKER_THRESHOLD such failures in a
// row the pool stops launching for BREAKER_COOLDOWN_MS, and every run fails saying why, until the cool-down ends
// (then the next failure opens it again at once, and a boot closes it) or the pool's settings change.
import { createHash } from 'node:crypto';
import type { BreakerRecord, PoolConfig } from '../types.js';
import { formatDuration } from './format.js';

export const BREAKER_THRESHOLD = 3;
export const BREAKER_COOLDOWN_MS = 30 * 60_000;

/** The settings a boot depends on: a change to any of them resets the breaker. */
export function settingsHash(pool: PoolConfig): string {
  const { launchTemplate, instanceTypes, subnets, market, registration, region, labels, bootTimeoutMs } =
    pool;
  const settings = {
    launchTemplate,
    instanceTypes,
    subnets,
    market,
    registration,
    region,
    labels,
    bootTimeoutMs,
  };
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
}

export function breakerMessage(pool: PoolConfig, record: BreakerRecord): string {
  return (
    `pool ${pool.name}: launches stopped until ${record.openUntil?.toISOString() ?? '?'}: ` +
    `${record.failures} instances in a row died at bootTimeout (${formatDuration(pool.bootTimeoutMs)}) with no runner ` +
    `ever online (last: ${record.instanceIds.slice(-3).join(', ')}). Likely causes: bootTimeout shorter than the ` +
    'instance takes to boot and start its runner; a broken AMI or bootstrap; no route to GitHub from the subnet; ' +
    'an instance role that cannot read its parameter (see the instance console output). To resume now, change the ' +
    "pool's settings (any of launchTemplate, instanceTypes, subnets, bootTimeout, labels) or delete the breaker item " +
    `breaker#${pool.name} from the coordination table`
  );
}

/** The breaker's reason to hold launches into the pool now, or undefined. A record of other settings is void. */
export function breakerHold(
  pool: PoolConfig,
  record: BreakerRecord | undefined,
  now: Date,
): string | undefined {
  if (!record || record.settingsHash !== settingsHash(pool)) return undefined;
  if (!record.openUntil || record.openUntil <= now) return undefined;
  return breakerMessage(pool, record);
}

/** The record after this run's evidence: boot failures add up (each instance once), a boot resets them. */
export function nextBreaker(
  current: BreakerRecord | undefined,
  update: { pool: string; settingsHash: string; failedBoots: string[]; booted: boolean },
  now: Date,
): BreakerRecord {
  const fresh = !current || current.settingsHash !== update.settingsHash;
  const base: BreakerRecord = fresh
    ? {
        pool: update.pool,
        failures: 0,
        instanceIds: [],
        settingsHash: update.settingsHash,
        version: current?.version ?? 0,
      }
    : { ...current };
  if (update.booted && update.failedBoots.length === 0) {
    return { ...base, failures: 0, instanceIds: [], openUntil: undefined, reason: 'an instance booted' };
  }
  const counted = new Set(base.instanceIds);
  const added = update.failedBoots.filter((id) => !counted.has(id));
  if (added.length === 0) return base;
  const failures = base.failures + added.length;
  const instanceIds = [...base.instanceIds, ...added].slice(-20);
  // Open at the threshold, and again at once after a cool-down that ended without a boot (half-open).
  const opens = failures >= BREAKER_THRESHOLD;
  return {
    ...base,
    failures,
    instanceIds,
    lastFailureAt: now,
    openUntil: opens ? new Date(now.getTime() + BREAKER_COOLDOWN_MS) : base.openUntil,
    reason: `${failures} boot failure(s) in a row`,
  };
}
