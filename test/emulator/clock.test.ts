import { describe, expect, it } from 'vitest';
import { createClock, createScheduler } from '../../emulator/clock.js';

/** A wall clock that moves 7 ms every time it is read: a slow, busy machine. */
function slowWallClock(start = 1_000_000) {
  let now = start;
  return () => (now += 7);
}

describe('scheduler', () => {
  it('fires due events in time order and chains follow-ups at exact offsets, however slow the machine', async () => {
    const clock = createClock(slowWallClock());
    const errors: unknown[] = [];
    const scheduler = createScheduler(clock, (error) => errors.push(error));
    const start = clock.now();
    const fired: string[] = [];
    /** Each event records whether it saw exactly the time it was due. */
    const onTime: boolean[] = [];
    const schedule = (delayMs: number, label: string, then?: () => void) => {
      const event = scheduler.after(delayMs, label, () => {
        fired.push(label);
        onTime.push(clock.now() === event.time);
        then?.();
      });
      return event;
    };
    schedule(30_000, 'c');
    schedule(10_000, 'a', () => schedule(5_000, 'a+5s'));
    schedule(10_000, 'b');
    schedule(20_000, 'x').cancel();
    schedule(90_000, 'later');

    await scheduler.advance(60_000);

    expect(fired).toEqual(['a', 'b', 'a+5s', 'c']);
    expect(onTime).toEqual([true, true, true, true]);
    expect(scheduler.pending()).toBe(1);
    expect(clock.now() - start).toBeGreaterThanOrEqual(60_000);
    expect(clock.offset()).toBeGreaterThanOrEqual(60_000 - 100);
    expect(errors).toEqual([]);
    scheduler.stop();
  });

  it('reports a failing event and goes on with the next', async () => {
    const clock = createClock();
    const errors: string[] = [];
    const scheduler = createScheduler(clock, (_error, label) => errors.push(label));
    let after = false;
    scheduler.after(1_000, 'boom', () => {
      throw new Error('boom');
    });
    scheduler.after(2_000, 'next', () => {
      after = true;
    });
    await scheduler.advance(5_000);
    expect(errors).toEqual(['boom']);
    expect(after).toBe(true);
    scheduler.stop();
  });

  it('fires events in real time too, and schedules nothing once stopped', async () => {
    const clock = createClock();
    const scheduler = createScheduler(clock, () => undefined);
    const fired = await new Promise<boolean>((resolve) => {
      scheduler.after(20, 'soon', () => resolve(true));
      setTimeout(() => resolve(false), 2_000);
    });
    expect(fired).toBe(true);
    scheduler.stop();
    scheduler.after(1, 'never', () => {
      throw new Error('fired after stop');
    });
    await scheduler.advance(1_000);
    expect(scheduler.pending()).toBe(0);
  });
});
