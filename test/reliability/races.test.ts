// Races: two runs of one environment at once, and a job that starts between observe and apply.
import { describe, expect, it } from 'vitest';
import { CONTROL, RACES, runRace } from '../../reliability/races.js';

describe.concurrent('races', () => {
  it.each(RACES.map((r) => [r.name, r] as const))(
    '%s',
    async (_name, race) => {
      const result = await runRace(race);
      expect(result.violations).toEqual([]);
    },
    180_000,
  );

  it('control: without the job-started hook the same DELETE kills the job (the check can fail)', async () => {
    const result = await runRace(CONTROL);
    expect(result.violations).toEqual([]);
    expect(result.facts['jobs killed']).toBe(1);
  });
});
