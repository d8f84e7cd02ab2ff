// The environment's launch lease: launch decisions (observe -> plan -> launch -> record) are made by one run at
// a time, whatever repository or trigger it comes from. Short, renewed while held, released as soon as every
// launch is recorded, and expiring on its own if its holder dies.
import type { CoordinationStore, Log } from '../types.js';
import { errorMessage } from './settle.js';

export const LEASE_TTL_MS = 60_000;
export const LEASE_RENEW_MS = 20_000;
/** Longer than a lease: the lease of a holder that died expires while a run waits. */
export const LEASE_WAIT_MS = 90_000;
export const LEASE_POLL_MS = 2_000;

export interface Lease {
  state: 'held' | 'busy' | 'unavailable';
  /** The holder this run waited for, when busy. */
  heldBy?: string;
  error?: string;
  /** Releases the lease (once; later calls do nothing). */
  release(): Promise<void>;
}

export interface LeaseOptions {
  log: Log;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  waitMs?: number;
  pollMs?: number;
  ttlMs?: number;
  renewMs?: number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function holding(store: CoordinationStore, holder: string, options: LeaseOptions): Lease {
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const now = options.now ?? Date.now;
  let released = false;
  const timer = setInterval(() => {
    store.renewLease(holder, ttlMs, new Date(now())).then(
      (kept) => {
        if (!kept && !released)
          options.log.warning('the coordination lease was lost (it expired before it was renewed)');
      },
      (error: unknown) =>
        options.log.warning(`renewing the coordination lease failed: ${errorMessage(error)}`),
    );
  }, options.renewMs ?? LEASE_RENEW_MS);
  timer.unref();
  return {
    state: 'held',
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await store.releaseLease(holder).catch((error: unknown) => {
        // It expires by itself within a lease time: the next run waits that long at most.
        options.log.warning(`releasing the coordination lease failed: ${errorMessage(error)}`);
      });
    },
  };
}

/** Takes the lease, waiting for another holder up to `waitMs`; never throws. */
export async function acquireLease(
  store: CoordinationStore,
  holder: string,
  options: LeaseOptions,
): Promise<Lease> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepFor;
  const deadline = now() + (options.waitMs ?? LEASE_WAIT_MS);
  let heldBy: string | undefined;
  for (;;) {
    let result;
    try {
      result = await store.tryAcquireLease(holder, options.ttlMs ?? LEASE_TTL_MS, new Date(now()));
    } catch (error) {
      return { state: 'unavailable', error: errorMessage(error), release: async () => {} };
    }
    if (result.acquired) return holding(store, holder, options);
    if (heldBy !== result.heldBy.holder) {
      heldBy = result.heldBy.holder;
      options.log.info(
        `waiting for the coordination lease, held by ${heldBy} until ${result.heldBy.expiresAt.toISOString()}`,
      );
    }
    if (now() >= deadline) return { state: 'busy', heldBy, release: async () => {} };
    await sleep(Math.min(options.pollMs ?? LEASE_POLL_MS, Math.max(0, deadline - now())));
  }
}
