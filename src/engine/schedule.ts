// Warm-pool schedules: a pool's `min` by time of day and day of week, in a time zone. Pure: the time is a
// parameter, time zones come from Intl.
//
// A window is `days` + `hours` (e.g. mon-fri, 08:00-18:00; an end at or before the start runs past midnight into
// the next day) or a five-field `cron` expression (minute hour day-of-month month day-of-week), active during
// every minute it matches. Inside windows the pool keeps the largest `min` of the windows that match; outside
// every window, the pool's own `min`.

export interface ScheduleWindow {
  /** Days of week, 0 = Sunday. */
  days?: number[];
  /** Minutes after local midnight: [start, end); end <= start runs past midnight. */
  hours?: { start: number; end: number };
  cron?: CronSpec;
  min: number;
  /** The window as written, for messages. */
  text: string;
}

export interface MinSchedule {
  timeZone: string;
  windows: ScheduleWindow[];
}

export interface CronSpec {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  /** Whether day-of-month and day-of-week were restricted (cron matches either when both are). */
  domRestricted: boolean;
  dowRestricted: boolean;
}

/** Wall-clock time in a zone, minute precision. */
export interface LocalTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday */
  weekday: number;
}

export interface ScheduledMin {
  min: number;
  /** The window that sets `min` now; undefined outside every window (the pool's own min). */
  window?: string;
  timeZone: string;
  /** Local wall-clock time the effective min next changes ("18:00", or "Mon 08:00" on another day). */
  until?: string;
  /** The min from then on. */
  next?: number;
}

export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// ---------------------------------------------------------------- parsing (throws Error with what is expected)

/** `mon-fri`, `sat,sun`, `fri-mon` (wraps), or a list of those. */
export function parseDays(value: string | string[]): number[] {
  const parts = (Array.isArray(value) ? value : [value]).flatMap((p) => p.split(','));
  const days = new Set<number>();
  for (const raw of parts) {
    const part = raw.trim().toLowerCase();
    const range = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(part);
    const from = range ? DAY_NAMES.indexOf(range[1] as string) : -1;
    const to = range?.[2] === undefined ? from : DAY_NAMES.indexOf(range[2]);
    if (from < 0 || to < 0) {
      throw new Error(`expected days such as mon-fri or sat,sun (mon tue wed thu fri sat sun), got "${raw}"`);
    }
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === to) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

function clockMinutes(text: string, allow24: boolean): number | undefined {
  const match = /^(\d{1,2})(?::(\d{2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const hour = Number(match[1]);
  const minute = Number(match[2] ?? 0);
  if (minute > 59 || hour > 24 || (hour === 24 && (!allow24 || minute > 0))) return undefined;
  return hour * 60 + minute;
}

/** `08:00-18:00`, `8-18`, `22:00-06:00` (past midnight), `00:00-24:00`. */
export function parseHours(text: string): { start: number; end: number } {
  const [from, to, ...rest] = text.split('-');
  const start = from === undefined ? undefined : clockMinutes(from, false);
  const end = to === undefined ? undefined : clockMinutes(to, true);
  if (start === undefined || end === undefined || rest.length > 0 || start === end) {
    throw new Error(`expected hours such as 08:00-18:00 (start-end, local time), got "${text}"`);
  }
  return { start, end };
}

function cronField(text: string, min: number, max: number, names: string[] = []): Set<number> {
  const values = new Set<number>();
  const value = (token: string): number => {
    const named = names.indexOf(token.toLowerCase());
    const n = named >= 0 ? named + min : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (!(n >= min && n <= max)) throw new Error(`"${token}" is not in ${min}-${max}`);
    return n;
  };
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step "${stepText}"`);
    const [a = '', b] = range.split('-');
    const start = range === '*' ? min : value(a);
    const end = range === '*' ? max : b !== undefined ? value(b) : stepText !== undefined ? max : start;
    if (end < start) throw new Error(`range "${range}" runs backwards`);
    for (let n = start; n <= end; n += step) values.add(n);
  }
  return values;
}

/** Five fields: minute hour day-of-month month day-of-week (0 or 7 = Sunday; names allowed). */
export function parseCron(text: string): CronSpec {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new Error(
      `expected five cron fields (minute hour day-of-month month day-of-week) such as "* 8-17 * * mon-fri", got "${text}"`,
    );
  }
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  try {
    const daysOfWeek = cronField(dow, 0, 7, DAY_NAMES);
    if (daysOfWeek.delete(7)) daysOfWeek.add(0);
    return {
      minutes: cronField(minute, 0, 59),
      hours: cronField(hour, 0, 23),
      daysOfMonth: cronField(dom, 1, 31),
      months: cronField(month, 1, 12, MONTH_NAMES),
      daysOfWeek,
      domRestricted: dom !== '*',
      dowRestricted: dow !== '*',
    };
  } catch (error) {
    throw new Error(
      `expected a cron expression such as "* 8-17 * * mon-fri" (${(error as Error).message}), got "${text}"`,
      { cause: error },
    );
  }
}

/** The zone's canonical name, or undefined when Intl does not know it. */
export function canonicalTimeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- evaluation

/** Wall-clock time of an instant in a zone; one formatter serves many instants. */
export function zonedClock(timeZone: string): (at: Date) => LocalTime {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  return (at) => {
    const parts = format.formatToParts(at);
    const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
    return {
      year: Number(get('year')),
      month: Number(get('month')),
      day: Number(get('day')),
      hour: Number(get('hour')),
      minute: Number(get('minute')),
      weekday: DAY_NAMES.indexOf(get('weekday').toLowerCase()),
    };
  };
}

export function localTime(at: Date, timeZone: string): LocalTime {
  return zonedClock(timeZone)(at);
}

function cronMatches(cron: CronSpec, t: LocalTime): boolean {
  if (!cron.minutes.has(t.minute) || !cron.hours.has(t.hour) || !cron.months.has(t.month)) return false;
  const dom = cron.daysOfMonth.has(t.day);
  const dow = cron.daysOfWeek.has(t.weekday);
  // Vixie cron: when both day fields are restricted, either one matching is enough.
  if (cron.domRestricted && cron.dowRestricted) return dom || dow;
  return dom && dow;
}

function windowMatches(window: ScheduleWindow, t: LocalTime): boolean {
  if (window.cron) return cronMatches(window.cron, t);
  const days = window.days ?? [0, 1, 2, 3, 4, 5, 6];
  const { start, end } = window.hours ?? { start: 0, end: 24 * 60 };
  const now = t.hour * 60 + t.minute;
  if (start < end) return days.includes(t.weekday) && now >= start && now < end;
  // Past midnight: the window belongs to the day it starts on.
  const yesterday = (t.weekday + 6) % 7;
  return (days.includes(t.weekday) && now >= start) || (days.includes(yesterday) && now < end);
}

function minAt(schedule: MinSchedule, base: number, t: LocalTime): { min: number; window?: string } {
  let best: { min: number; window?: string } = { min: base };
  for (const window of schedule.windows) {
    if (!windowMatches(window, t)) continue;
    if (best.window === undefined || window.min > best.min) best = { min: window.min, window: window.text };
  }
  return best;
}

/** The wall-clock time of a UTC instant shifted by the zone's offset. */
function naiveLocal(shiftedMs: number): LocalTime {
  const d = new Date(shiftedMs);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    weekday: d.getUTCDay(),
  };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const pad = (n: number) => String(n).padStart(2, '0');
/** Looks this far ahead for the next change; a schedule that does not change within it has no `until`. */
const LOOKAHEAD_HOURS = 8 * 24;

/**
 * Every minute of the next LOOKAHEAD_HOURS as wall-clock time, in real time (a DST change skips or repeats wall-clock
 * times, as it does for the people who read them). The zone's offset is looked up once an hour, and every minute of
 * an hour in which it changes.
 */
function* wallClockMinutes(start: number, clock: (at: Date) => LocalTime): Generator<LocalTime> {
  const offset = (at: number) => {
    const t = clock(new Date(at));
    return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute) - at;
  };
  let hourOffset = offset(start);
  for (let hour = 0; hour < LOOKAHEAD_HOURS; hour++) {
    const hourStart = start + hour * HOUR;
    const nextOffset = offset(hourStart + HOUR);
    for (let minute = hour === 0 ? 1 : 0; minute < 60; minute++) {
      const at = hourStart + minute * MINUTE;
      yield naiveLocal(at + (nextOffset === hourOffset ? hourOffset : offset(at)));
    }
    hourOffset = nextOffset;
  }
}

/** The pool's min at `now` under its schedule, and until when it holds. */
export function scheduledMin(schedule: MinSchedule, baseMin: number, now: Date): ScheduledMin {
  const clock = zonedClock(schedule.timeZone);
  const startMs = Math.floor(now.getTime() / MINUTE) * MINUTE;
  const start = clock(new Date(startMs));
  const current = minAt(schedule, baseMin, start);
  const result: ScheduledMin = {
    min: current.min,
    ...(current.window !== undefined ? { window: current.window } : {}),
    timeZone: schedule.timeZone,
  };
  for (const t of wallClockMinutes(startMs, clock)) {
    const next = minAt(schedule, baseMin, t);
    if (next.min === current.min) continue;
    const sameDay = t.year === start.year && t.month === start.month && t.day === start.day;
    const day = DAY_NAMES[t.weekday] as string;
    const clockText = `${pad(t.hour)}:${pad(t.minute)}`;
    return {
      ...result,
      until: sameDay ? clockText : `${day[0]?.toUpperCase()}${day.slice(1)} ${clockText}`,
      next: next.min,
    };
  }
  return result;
}

/** "min 4 until 18:00 Europe/Berlin (then 0)", "min 0 until Mon 08:00 Europe/Berlin (then 4)", or "min 2". */
export function describeMin(min: ScheduledMin | undefined, fallback: number): string {
  if (!min) return `min ${fallback}`;
  if (min.until === undefined) return `min ${min.min} (${min.timeZone} schedule)`;
  return `min ${min.min} until ${min.until} ${min.timeZone} (then ${min.next ?? '?'})`;
}
