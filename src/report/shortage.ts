// A capacity shortage in words: what was short, what is left to try, since when.
import { formatDuration } from '../engine/format.js';
import type { Shortage } from '../types.js';
import { some } from './markdown.js';

export function describeShortage(shortage: Shortage): string {
  const since = new Date(shortage.since).toISOString().slice(11, 16);
  const left = shortage.fallbacks.length
    ? `not found short yet: ${some(shortage.fallbacks, 3)}`
    : 'no launch option left';
  return `short: ${some(shortage.short)}; ${left}; short since ${since} UTC (capacityTimeout ${formatDuration(shortage.timeoutMs)})`;
}
