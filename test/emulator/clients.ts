// Real SDK and Octokit clients pointed at an emulator, for the emulator's tests.
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GitHub } from '@actions/github/lib/utils';
import type { Emulator } from '../../emulator/index.js';

interface AwsClientOptions {
  region?: string;
  /** Default 1, so that a test sees the first error instead of the SDK's retries. */
  maxAttempts?: number;
}

function awsConfig(emulator: Emulator, options: AwsClientOptions = {}) {
  return {
    endpoint: emulator.url,
    region: options.region ?? emulator.region,
    credentials: {
      accessKeyId: emulator.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: emulator.env.AWS_SECRET_ACCESS_KEY!,
    },
    maxAttempts: options.maxAttempts ?? 1,
  };
}

export function ec2Client(emulator: Emulator, options?: AwsClientOptions): EC2Client {
  return new EC2Client(awsConfig(emulator, options));
}

export function ssmClient(emulator: Emulator, options?: AwsClientOptions): SSMClient {
  return new SSMClient(awsConfig(emulator, options));
}

export function octokit(emulator: Emulator, token = 'ghp_emulatortesttoken'): InstanceType<typeof GitHub> {
  return new GitHub({ baseUrl: emulator.url, auth: `token ${token}` });
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}
