// Insufficient capacity without alarm fatigue. Pure.
//
// EC2 runs out of an instance type in a zone now and then, for minutes. A launch that falls short only for lack of
// capacity is a warning while the pool has launch options not found short (other instance types, subnets, on-demand
// after spot) or until the shortage has lasted the pool's capacityTimeout; then the run fails, so that someone
// widens the pool. The coordination store remembers since when the pool is short and which options were short
// meanwhile (each run finds some; together they tell whether any option is left).
import type { LaunchError, PoolConfig, Shortage, ShortageRecord } from '../types.js';
import { formatDuration } from './format.js';

/** Error codes (and our Shortfall: EC2 launched fewer than asked, with no error) that mean "no capacity now". */
export const CAPACITY_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacity',
  'UnfulfillableCapacity',
  'Shortfall',
]);
export const DEFAULT_CAPACITY_TIMEOUT_MS = 30 * 60_000;
/** A shortage not seen again for this long is over; the next one starts a new count. */
export const SHORTAGE_MEMORY_MS = 60 * 60_000;

type Market = 'spot' | 'on-demand';

interface LaunchOption {
  type?: string;
  subnet?: string;
  market: Market;
  key: string;
}

/** Every instance type × subnet × market the pool may launch with (the template's own when none are listed). */
export function launchOptions(pool: PoolConfig): LaunchOption[] {
  const types = pool.instanceTypes.length ? pool.instanceTypes : [undefined];
  const subnets = pool.subnets.length ? pool.subnets : [undefined];
  const markets: Market[] =
    pool.market === 'spot-with-fallback'
      ? ['spot', 'on-demand']
      : [pool.market === 'spot' ? 'spot' : 'on-demand'];
  return markets.flatMap((market) =>
    types.flatMap((type) =>
      subnets.map((subnet) => ({
        ...(type ? { type } : {}),
        ...(subnet ? { subnet } : {}),
        market,
        key: `${type ?? "the template's type"} in ${subnet ?? "the template's subnet"} (${market})`,
      })),
    ),
  );
}

export function isCapacityShortfall(errors: LaunchError[]): boolean {
  return errors.length > 0 && errors.every((e) => CAPACITY_CODES.has(e.code));
}

/**
 * A launch call that failed as a whole, as a LaunchError when it is a capacity error. EC2's message names the type
 * and the zone: "We currently do not have sufficient m7i.large capacity in the Availability Zone you requested
 * (eu-west-1a). …".
 */
export function capacityErrorOf(code: string, message: string, market: Market): LaunchError | undefined {
  if (!CAPACITY_CODES.has(code)) return undefined;
  const named = /sufficient (\S+) capacity in the Availability Zone you requested \(([a-z0-9-]+)\)/.exec(
    message,
  );
  return {
    code,
    message,
    market,
    ...(named ? { instanceType: named[1] as string, zone: named[2] as string } : {}),
  };
}

/** An option matches an error when the error names nothing that differs from it. */
function matches(error: LaunchError, option: LaunchOption): boolean {
  return (
    (error.instanceType === undefined || option.type === undefined || error.instanceType === option.type) &&
    (error.subnet === undefined || option.subnet === undefined || error.subnet === option.subnet) &&
    (error.market === undefined || error.market === option.market)
  );
}

/** What EC2 said was short, as people read it: `m7i.large in eu-west-1a (spot)`. */
function describe(error: LaunchError): string {
  const where = error.zone ?? error.subnet;
  return `${error.instanceType ?? 'instances'}${where ? ` in ${where}` : ''}${error.market ? ` (${error.market})` : ''}`;
}

export interface ShortageVerdict {
  status: 'warning' | 'failed';
  shortage: Shortage;
  /** The pool's shortage as it stands after this run, for the coordination store. */
  record: ShortageRecord;
  /** Why it is a warning, or why it now fails. */
  why: string;
}

export function judgeShortage(
  pool: PoolConfig,
  errors: LaunchError[],
  current: ShortageRecord | undefined,
  now: Date,
): ShortageVerdict {
  const options = launchOptions(pool);
  const shortNow = options.filter((option) => errors.some((error) => matches(error, option)));
  const shortKeys = new Set([
    ...(current?.short ?? []),
    ...(shortNow.length ? shortNow : options).map((o) => o.key),
  ]);
  const fallbacks = options.map((o) => o.key).filter((key) => !shortKeys.has(key));
  const since = current?.since ?? now;
  const timeoutMs = pool.capacityTimeoutMs ?? DEFAULT_CAPACITY_TIMEOUT_MS;
  const lasted = now.getTime() - since.getTime();
  const failed = lasted >= timeoutMs && fallbacks.length === 0;
  const why = failed
    ? `short of capacity for ${formatDuration(lasted)} (capacityTimeout ${formatDuration(timeoutMs)}) with no launch option left`
    : fallbacks.length
      ? `short of capacity for ${formatDuration(lasted)}; ${fallbacks.length} launch option(s) not found short yet`
      : `short of capacity for ${formatDuration(lasted)}; a failure after capacityTimeout ${formatDuration(timeoutMs)}`;
  return {
    status: failed ? 'failed' : 'warning',
    shortage: { short: [...new Set(errors.map(describe))], fallbacks, since, timeoutMs },
    record: {
      pool: pool.name,
      since,
      lastAt: now,
      short: [...shortKeys],
      expiresAt: new Date(now.getTime() + SHORTAGE_MEMORY_MS),
    },
    why,
  };
}
