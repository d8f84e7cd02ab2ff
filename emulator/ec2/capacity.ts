// Launch capacity per market and instance type (partial launches, InsufficientInstanceCapacity).
import type { EmulatorState } from '../state.js';
import type { Market } from './types.js';

export function setCapacity(
  state: EmulatorState,
  limit: number | Record<string, number> | undefined,
  market?: Market,
): void {
  const markets: Market[] = market ? [market] : ['on-demand', 'spot'];
  for (const m of markets) {
    for (const key of [...state.capacity.keys()]) if (key.startsWith(`${m}:`)) state.capacity.delete(key);
    if (limit === undefined) continue;
    if (typeof limit === 'number') state.capacity.set(`${m}:*`, limit);
    else for (const [type, count] of Object.entries(limit)) state.capacity.set(`${m}:${type}`, count);
  }
}

function capacityKey(state: EmulatorState, instanceType: string, market: Market): string | undefined {
  if (state.capacity.has(`${market}:${instanceType}`)) return `${market}:${instanceType}`;
  if (state.capacity.has(`${market}:*`)) return `${market}:*`;
  return undefined;
}

export function availableCapacity(state: EmulatorState, instanceType: string, market: Market): number {
  const key = capacityKey(state, instanceType, market);
  return key === undefined ? Number.POSITIVE_INFINITY : Math.max(0, state.capacity.get(key)!);
}

export function consumeCapacity(
  state: EmulatorState,
  instanceType: string,
  market: Market,
  count: number,
): void {
  const key = capacityKey(state, instanceType, market);
  if (key !== undefined) state.capacity.set(key, state.capacity.get(key)! - count);
}
