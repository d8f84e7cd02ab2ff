// Virtual time by shifting. The action under test reads the real wall clock, so the emulator keeps
// every timestamp in "emulator time" (wall clock + offset) and shows it to clients as
// `time - offset`. advance(ms) grows the offset: every stored timestamp looks `ms` older to the
// action, and the scheduled events due within `ms` fire in order.

export interface Clock {
  /** Emulator time in ms (the frame every stored timestamp uses). */
  now(): number;
  /** How far advance() has moved so far, in ms. */
  offset(): number;
  /** The wall-clock time the action sees for an emulator timestamp. */
  toWall(time: number): number;
  /** The emulator timestamp for a wall-clock time given by a client or a test. */
  fromWall(wallMs: number): number;
}

export interface ScheduledEvent {
  readonly time: number;
  readonly label: string;
  cancel(): void;
}

export interface Scheduler {
  /** Runs `run` when emulator time reaches `time` (by real time passing or by advance()). */
  at(time: number, label: string, run: () => void): ScheduledEvent;
  after(delayMs: number, label: string, run: () => void): ScheduledEvent;
  /** Moves time forward by `ms`, firing due events in time order. */
  advance(ms: number): Promise<void>;
  pending(): number;
  stop(): void;
}

interface QueuedEvent extends ScheduledEvent {
  seq: number;
  run: () => void;
  cancelled: boolean;
}

/** setTimeout cannot wait longer than 2^31-1 ms; re-arming after an hour is cheaper anyway. */
const MAX_TIMER_MS = 3_600_000;

/** The clock the scheduler drives: advance() pins time while it fires events, so that their effects are exact. */
export interface SchedulerClock extends Clock {
  pin(time: number): void;
  /** Ends a pin: time flows with the wall clock again, `shiftMs` further ahead than before. */
  release(shiftMs: number): void;
}

export function createClock(realNow: () => number = Date.now): SchedulerClock {
  let offset = 0;
  let pinned: number | undefined;
  return {
    now: () => pinned ?? realNow() + offset,
    offset: () => offset,
    toWall: (time) => time - offset,
    fromWall: (wallMs) => wallMs + offset,
    pin(time) {
      pinned = time;
    },
    release(shiftMs) {
      pinned = undefined;
      offset += Math.max(0, shiftMs);
    },
  };
}

/** A binary min-heap ordered by (time, seq), so events at the same time fire in scheduling order. */
class EventHeap {
  private items: QueuedEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): QueuedEvent | undefined {
    return this.items[0];
  }

  push(event: QueuedEvent): void {
    const items = this.items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): QueuedEvent | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export function createScheduler(
  clock: SchedulerClock,
  onError: (error: unknown, label: string) => void,
): Scheduler {
  const heap = new EventHeap();
  let seq = 0;
  let live = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function runEvent(event: QueuedEvent): void {
    // Marked done first, so a late cancel() of an event that already ran is a no-op.
    event.cancelled = true;
    live -= 1;
    try {
      event.run();
    } catch (error) {
      onError(error, event.label);
    }
  }

  function dropCancelled(): void {
    while (heap.peek()?.cancelled) heap.pop();
  }

  function fireDue(): void {
    for (;;) {
      dropCancelled();
      const next = heap.peek();
      if (!next || next.time > clock.now()) break;
      heap.pop();
      runEvent(next);
    }
  }

  function arm(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    dropCancelled();
    const next = heap.peek();
    if (!next) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next.time - clock.now()));
    timer = setTimeout(() => {
      timer = undefined;
      fireDue();
      arm();
    }, delay);
    timer.unref();
  }

  function at(time: number, label: string, run: () => void): ScheduledEvent {
    const event: QueuedEvent = {
      time,
      label,
      seq: seq++,
      run,
      cancelled: false,
      cancel() {
        if (event.cancelled) return;
        event.cancelled = true;
        live -= 1;
      },
    };
    if (stopped) {
      event.cancelled = true;
      return event;
    }
    live += 1;
    const wasFirst = heap.peek();
    heap.push(event);
    if (!wasFirst || before(event, wasFirst) || !timer) arm();
    return event;
  }

  return {
    at,
    after: (delayMs, label, run) => at(clock.now() + Math.max(0, delayMs), label, run),
    async advance(ms: number): Promise<void> {
      if (stopped || !(ms > 0)) return;
      // Time stands still at each event while it runs, so an event scheduled `d` after another
      // fires exactly `d` later, however busy the machine is. Every stored timestamp then moves
      // back by exactly `ms`.
      let current = clock.now();
      const target = current + ms;
      try {
        for (;;) {
          dropCancelled();
          const next = heap.peek();
          if (!next || next.time > target) break;
          heap.pop();
          current = Math.max(current, next.time);
          clock.pin(current);
          runEvent(next);
        }
      } finally {
        clock.release(ms);
      }
      arm();
    },
    pending: () => live,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      heap.clear();
      live = 0;
    },
  };
}
