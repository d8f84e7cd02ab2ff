// Warm-pool schedules, table-driven: the min at a time, until when it holds, across DST changes.
import { describe, expect, it } from 'vitest';
import {
  describeMin,
  parseCron,
  parseDays,
  parseHours,
  scheduledMin,
  type MinSchedule,
  type ScheduleWindow,
} from '../../src/engine/schedule.js';

const window = (spec: { days?: string; hours?: string; cron?: string; min: number }): ScheduleWindow => ({
  ...(spec.days ? { days: parseDays(spec.days) } : {}),
  ...(spec.hours ? { hours: parseHours(spec.hours) } : {}),
  ...(spec.cron ? { cron: parseCron(spec.cron) } : {}),
  min: spec.min,
  text: spec.cron ?? `${spec.days ?? ''} ${spec.hours ?? ''}`.trim(),
});
const schedule = (timeZone: string, ...windows: Parameters<typeof window>[0][]): MinSchedule => ({
  timeZone,
  windows: windows.map(window),
});

const OFFICE = schedule('Europe/Berlin', { days: 'mon-fri', hours: '08:00-18:00', min: 4 });
// Berlin 2026: summer time from 29 March 01:00 UTC (02:00 -> 03:00) to 25 October 01:00 UTC (03:00 -> 02:00).
const SPRING = schedule('Europe/Berlin', { days: 'sun', hours: '02:30-04:00', min: 2 });
const FALL = schedule('Europe/Berlin', { days: 'sun', hours: '02:00-02:30', min: 3 });
// New York 2026: standard time from 1 November 06:00 UTC.
const OVERNIGHT = schedule('America/New_York', { days: 'fri', hours: '22:00-06:00', min: 1 });
const KOLKATA = schedule('Asia/Kolkata', { cron: '* 9-17 * * 1-5', min: 2 });
const LAYERED = schedule(
  'UTC',
  { days: 'mon-fri', hours: '08:00-18:00', min: 4 },
  { days: 'wed', hours: '12:00-14:00', min: 6 },
);
const ALWAYS = schedule('UTC', { days: 'mon-sun', hours: '00:00-24:00', min: 3 });
const FIRST_OR_MONDAY = schedule('UTC', { cron: '* 12 1 * mon', min: 5 });

describe('scheduledMin', () => {
  it.each<[string, MinSchedule, number, string, { min: number; until?: string; next?: number }]>([
    ['office hours, winter', OFFICE, 0, '2026-11-25T10:00:00Z', { min: 4, until: '18:00', next: 0 }],
    [
      'after hours: until the next morning',
      OFFICE,
      0,
      '2026-11-25T17:30:00Z',
      { min: 0, until: 'Thu 08:00', next: 4 },
    ],
    [
      'Friday evening: until Monday',
      OFFICE,
      0,
      '2026-11-27T18:00:00Z',
      { min: 0, until: 'Mon 08:00', next: 4 },
    ],
    ['06:30 UTC is 08:30 in summer', OFFICE, 0, '2026-07-15T06:30:00Z', { min: 4, until: '18:00', next: 0 }],
    ['06:30 UTC is 07:30 in winter', OFFICE, 0, '2026-11-25T06:30:00Z', { min: 0, until: '08:00', next: 4 }],
    [
      'over the fall-back weekend: Monday 08:00 local',
      OFFICE,
      0,
      '2026-10-23T16:30:00Z',
      { min: 0, until: 'Mon 08:00', next: 4 },
    ],
    [
      'the base min outside windows',
      OFFICE,
      1,
      '2026-11-25T20:00:00Z',
      { min: 1, until: 'Thu 08:00', next: 4 },
    ],
    [
      'spring forward: 02:30 never comes, the window opens at 03:00',
      SPRING,
      0,
      '2026-03-29T00:59:00Z',
      { min: 0, until: '03:00', next: 2 },
    ],
    [
      'spring forward: inside the window',
      SPRING,
      0,
      '2026-03-29T01:00:00Z',
      { min: 2, until: '04:00', next: 0 },
    ],
    ['fall back: first 02:10', FALL, 0, '2026-10-25T00:10:00Z', { min: 3, until: '02:30', next: 0 }],
    ['fall back: 02:00 comes again', FALL, 0, '2026-10-25T00:45:00Z', { min: 0, until: '02:00', next: 3 }],
    [
      'overnight window, its first evening',
      OVERNIGHT,
      0,
      '2026-11-28T03:00:00Z',
      { min: 1, until: 'Sat 06:00', next: 0 },
    ],
    [
      'overnight window, the next morning',
      OVERNIGHT,
      0,
      '2026-11-28T10:00:00Z',
      { min: 1, until: '06:00', next: 0 },
    ],
    [
      'overnight window, a week ahead',
      OVERNIGHT,
      0,
      '2026-11-28T12:00:00Z',
      { min: 0, until: 'Fri 22:00', next: 1 },
    ],
    ['a half-hour zone, cron', KOLKATA, 0, '2026-11-25T03:30:00Z', { min: 2, until: '18:00', next: 0 }],
    [
      'overlapping windows: the largest min',
      LAYERED,
      1,
      '2026-11-25T12:30:00Z',
      { min: 6, until: '14:00', next: 4 },
    ],
    ['before every window', LAYERED, 1, '2026-11-25T07:00:00Z', { min: 1, until: '08:00', next: 4 }],
    ['never changes', ALWAYS, 0, '2026-11-25T07:00:00Z', { min: 3 }],
    [
      'cron: day-of-month or day-of-week (a Tuesday the 1st)',
      FIRST_OR_MONDAY,
      0,
      '2026-12-01T12:00:00Z',
      { min: 5, until: '13:00', next: 0 },
    ],
    [
      'cron: day-of-month or day-of-week (a Monday)',
      FIRST_OR_MONDAY,
      0,
      '2026-11-30T12:59:00Z',
      { min: 5, until: '13:00', next: 0 },
    ],
    ['cron: neither', FIRST_OR_MONDAY, 0, '2026-12-02T12:00:00Z', { min: 0, until: 'Mon 12:00', next: 5 }],
  ])('%s', (_name, theSchedule, base, now, expected) => {
    const result = scheduledMin(theSchedule, base, new Date(now));
    expect({ min: result.min, until: result.until, next: result.next }).toEqual({
      until: undefined,
      next: undefined,
      ...expected,
    });
  });

  it('names the window and reads as the summary shows it', () => {
    const result = scheduledMin(OFFICE, 0, new Date('2026-11-25T10:00:00Z'));
    expect(result.window).toBe('mon-fri 08:00-18:00');
    expect(describeMin(result, 0)).toBe('min 4 until 18:00 Europe/Berlin (then 0)');
    expect(describeMin(undefined, 2)).toBe('min 2');
  });
});

describe('parsing', () => {
  it.each([
    ['mon-fri', [1, 2, 3, 4, 5]],
    ['sat,sun', [0, 6]],
    ['fri-mon', [0, 1, 5, 6]],
    ['SUN', [0]],
  ])('days %s', (text, days) => expect(parseDays(text)).toEqual(days));

  it.each([
    ['08:00-18:00', { start: 480, end: 1080 }],
    ['8-18', { start: 480, end: 1080 }],
    ['22:00-06:00', { start: 1320, end: 360 }],
    ['00:00-24:00', { start: 0, end: 1440 }],
  ])('hours %s', (text, hours) => expect(parseHours(text)).toEqual(hours));

  it.each(['24:00-08:00', '8', '08:60-09:00', '9-9', 'nine-five'])('refuses hours %s', (text) =>
    expect(() => parseHours(text)).toThrow(/expected hours such as 08:00-18:00/),
  );

  it.each(['weekdays', 'mo-fr', ''])('refuses days %s', (text) =>
    expect(() => parseDays(text)).toThrow(/expected days such as mon-fri/),
  );

  it('reads cron fields: steps, ranges, names, 7 for Sunday', () => {
    const cron = parseCron('*/20 8-10/2 * jan,jul 7');
    expect([...cron.minutes]).toEqual([0, 20, 40]);
    expect([...cron.hours]).toEqual([8, 10]);
    expect([...cron.months]).toEqual([1, 7]);
    expect([...cron.daysOfWeek]).toEqual([0]);
    expect(cron.domRestricted).toBe(false);
  });

  it.each(['* * * *', '60 * * * *', '* * 0 * *', '* * * 13 *', '5-1 * * * *', '*/0 * * * *'])(
    'refuses cron %s',
    (text) => expect(() => parseCron(text)).toThrow(/expected (five cron fields|a cron expression)/),
  );
});
