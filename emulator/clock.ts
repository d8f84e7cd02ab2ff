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

/** The scheduler's state; the functions below work on it. */
interface SchedulerCore {
  clock: SchedulerClock;
  onError: (error: unknown, label: string) => void;
  heap: EventHeap;
  seq: number;
  /** Scheduled events not yet run or cancelled. */
  live: number;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

function runEvent(core: SchedulerCore, event: QueuedEvent): void {
  // Marked done first, so a late cancel() of an event that already ran is a no-op.
  event.cancelled = true;
  core.live -= 1;
  try {
    event.run();
  } catch (error) {
    core.onError(error, event.label);
  }
}

function dropCancelled(core: SchedulerCore): void {
  while (core.heap.peek()?.cancelled) core.heap.pop();
}

function fireDue(core: SchedulerCore): void {
  for (;;) {
    dropCancelled(core);
    const next = core.heap.peek();
    if (!next || next.time > core.clock.now()) break;
    core.heap.pop();
    runEvent(core, next);
  }
}

/** A real timer for the next event, so that events also fire as real time passes. */
function arm(core: SchedulerCore): void {
  if (core.timer) clearTimeout(core.timer);
  core.timer = undefined;
  if (core.stopped) return;
  dropCancelled(core);
  const next = core.heap.peek();
  if (!next) return;
  const delay = Math.min(MAX_TIMER_MS, Math.max(0, next.time - core.clock.now()));
  core.timer = setTimeout(() => {
    core.timer = undefined;
    fireDue(core);
    arm(core);
  }, delay);
  core.timer.unref();
}

function schedule(core: SchedulerCore, time: number, label: string, run: () => void): ScheduledEvent {
  const event: QueuedEvent = {
    time,
    label,
    seq: core.seq++,
    run,
    cancelled: false,
    cancel() {
      if (event.cancelled) return;
      event.cancelled = true;
      core.live -= 1;
    },
  };
  if (core.stopped) {
    event.cancelled = true;
    return event;
  }
  core.live += 1;
  const wasFirst = core.heap.peek();
  core.heap.push(event);
  if (!wasFirst || before(event, wasFirst) || !core.timer) arm(core);
  return event;
}

/**
 * Time stands still at each event while it runs, so an event scheduled `d` after another fires exactly
 * `d` later, however busy the machine is. Every stored timestamp then moves back by exactly `ms`.
 */
async function advance(core: SchedulerCore, ms: number): Promise<void> {
  if (core.stopped || !(ms > 0)) return;
  let current = core.clock.now();
  const target = current + ms;
  try {
    for (;;) {
      dropCancelled(core);
      const next = core.heap.peek();
      if (!next || next.time > target) break;
      core.heap.pop();
      current = Math.max(current, next.time);
      core.clock.pin(current);
      runEvent(core, next);
    }
  } finally {
    core.clock.release(ms);
  }
  arm(core);
}

export function createScheduler(
  clock: SchedulerClock,
  onError: (error: unknown, label: string) => void,
): Scheduler {
  const core: SchedulerCore = {
    clock,
    onError,
    heap: new EventHeap(),
    seq: 0,
    live: 0,
    timer: undefined,
    stopped: false,
  };
  return {
    at: (time, label, run) => schedule(core, time, label, run),
    after: (delayMs, label, run) => schedule(core, clock.now() + Math.max(0, delayMs), label, run),
    advance: (ms) => advance(core, ms),
    pending: () => core.live,
    stop() {
      core.stopped = true;
      if (core.timer) clearTimeout(core.timer);
      core.timer = undefined;
      core.heap.clear();
      core.live = 0;
    },
  };
}
