import { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createSdkLogger } from '../../src/aws/sdk-logger.js';

describe('createSdkLogger', () => {
  it('has no info or debug, so the SDK builds no filtered copy of each response to log', () => {
    const logger = createSdkLogger() as unknown as Record<string, unknown>;
    expect(logger.info).toBeUndefined();
    expect(logger.debug).toBeUndefined();
    // The client keeps the logger as given (the default NoOpLogger has an info method).
    const client = new EC2Client({ region: 'eu-west-1', logger: createSdkLogger() });
    expect((client.config.logger as unknown as Record<string, unknown>).info).toBeUndefined();
    expect(typeof (new EC2Client({ region: 'eu-west-1' }).config.logger as { info?: unknown }).info).toBe(
      'function',
    );
  });

  it('passes SDK warnings on as debug lines', () => {
    const lines: string[] = [];
    createSdkLogger((line) => lines.push(line)).warn('clock skew detected');
    expect(lines).toEqual(['AWS SDK: clock skew detected']);
  });
});
