// The listen-mode scenarios (reliability/listen.ts) against dist/index.js.
import { describe, expect, it } from 'vitest';
import { LISTEN_SCENARIOS, runListenScenario } from '../../reliability/listen.js';

describe('listen scenarios against dist/index.js', () => {
  for (const scenario of LISTEN_SCENARIOS) {
    it(`${scenario.name} (${scenario.promise})`, async () => {
      const result = await runListenScenario(scenario);
      expect(result.violations).toEqual([]);
    }, 300_000);
  }
});
