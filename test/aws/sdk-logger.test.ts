import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../emulator/index.js';
import { createEc2Gateway } from '../../src/aws/ec2.js';
import { createSdkLogger } from '../../src/aws/sdk-logger.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ region: 'eu-west-1', simulator: false });
});
afterAll(() => emulator.stop());

describe('createSdkLogger', () => {
  it('has no info, so the SDK builds no filtered copy of each response to log', () => {
    const logger = createSdkLogger() as unknown as Record<string, unknown>;
    expect(logger.info).toBeUndefined();
    // The client keeps the logger as given (the default NoOpLogger has an info method).
    const client = new EC2Client({ region: 'eu-west-1', logger: createSdkLogger() });
    expect((client.config.logger as unknown as Record<string, unknown>).info).toBeUndefined();
    expect(typeof (new EC2Client({ region: 'eu-west-1' }).config.logger as { info?: unknown }).info).toBe(
      'function',
    );
  });

  it('works through the default credential chain and a whole request', async () => {
    emulator.seedInstance({ environment: 'ci', pool: 'linux' });
    const saved = { ...process.env };
    Object.assign(process.env, emulator.env);
    try {
      const client = new EC2Client({ region: 'eu-west-1', logger: createSdkLogger(), maxAttempts: 1 });
      const page = await client.send(new DescribeInstancesCommand({}));
      expect(page.Reservations?.flatMap((r) => r.Instances ?? [])).toHaveLength(1);
      const gateway = createEc2Gateway({ region: 'eu-west-1' });
      expect(await gateway.listOwnedInstances('ci')).toHaveLength(1);
    } finally {
      process.env = saved;
    }
  });

  it('passes SDK warnings on as debug lines', () => {
    const lines: string[] = [];
    createSdkLogger((line) => lines.push(line)).warn('clock skew detected');
    expect(lines).toEqual(['AWS SDK: clock skew detected']);
  });
});
