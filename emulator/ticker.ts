// Time running faster than the wall clock (the demo): a ticker advances emulator time as real time passes.
import type { Scheduler } from './clock.js';

export function startSpeedTicker(
  scheduler: Scheduler,
  speed: number,
  tickMs: number,
  reportError: (error: unknown, where: string) => void,
): NodeJS.Timeout {
  let last = Date.now();
  let advancing = false;
  const ticker = setInterval(() => {
    const now = Date.now();
    const elapsed = now - last;
    last = now;
    if (advancing) return;
    advancing = true;
    scheduler
      .advance((speed - 1) * elapsed)
      .catch((error: unknown) => reportError(error, 'speed ticker'))
      .finally(() => {
        advancing = false;
      });
  }, tickMs);
  ticker.unref();
  return ticker;
}
