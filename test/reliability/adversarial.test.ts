// The adversarial scenarios (reliability/adversarial.ts): each breaks a promise unless the code defends it.
// `npm run reliability -- --action <older bundle>` shows them failing on a build without the defence.
import { describe, expect, it } from 'vitest';
import { ADVERSARIAL, runAdversarial } from '../../reliability/adversarial.js';

describe('adversarial scenarios against dist/index.js', () => {
  for (const scenario of ADVERSARIAL) {
    it(`${scenario.name} (${scenario.promise})`, async () => {
      const result = await runAdversarial(scenario);
      expect(result.violations).toEqual([]);
    }, 180_000);
  }
});
