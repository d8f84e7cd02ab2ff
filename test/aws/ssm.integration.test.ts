// The SSM gateway against the emulator's SSM with its real 3 TPS PutParameter budget, through the real SDK
// client and its adaptive retry mode: the budget is the account's, so other runs' writes eat into it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { createSsmGateway } from '../../src/aws/ssm.js';

const REGION = 'eu-west-1';
let emulator: Emulator;
let saved: NodeJS.ProcessEnv;

beforeEach(async () => {
  // A bucket of 1 refilled at 3 a second: the first write of a burst passes, the others must wait their turn.
  emulator = await startEmulator({
    region: REGION,
    simulator: false,
    budgets: { ssm: { buckets: { PutParameter: { capacity: 1, refillPerSecond: 3 } } } },
  });
  saved = { ...process.env };
  Object.assign(process.env, emulator.env);
  delete process.env.AWS_MAX_ATTEMPTS;
});

afterEach(async () => {
  process.env = saved;
  await emulator.stop();
});

/** Six runs at once, each pacing its own writes as the action does: together far above 3 TPS. */
async function putFromSixRuns(maxAttempts: number | undefined) {
  const runs = Array.from({ length: 6 }, () => createSsmGateway({ region: REGION, maxAttempts }));
  return Promise.allSettled(
    runs.flatMap((gateway, run) =>
      [0, 1].map((index) => gateway.putSecureParameter(`/runner-scaler/ci/i-run${run}-${index}`, 'jit')),
    ),
  );
}

describe('PutParameter throttled by writes of other runs', () => {
  it("fails some writes with the SDK's default 3 attempts", async () => {
    const results = await putFromSixRuns(undefined);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toContain('ThrottlingException');
  });

  it('writes every parameter with the attempts the action gives SSM', async () => {
    const results = await putFromSixRuns(8);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(emulator.ssm.parameters(REGION)).toHaveLength(12);
  });
});
