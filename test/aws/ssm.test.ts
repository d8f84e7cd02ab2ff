import {
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import type { DeleteParametersCommandInput } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSsmGateway, redactValue } from '../../src/aws/ssm.js';
import { parameterName, parameterPath } from '../../src/contract.js';

const ssm = mockClient(SSMClient);
const REGION = 'eu-west-1';
const ENV = 'ci';

beforeEach(() => ssm.reset());
afterEach(() => ssm.reset());

function awsError(name: string, message: string): SSMServiceException {
  return new SSMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

function names(count: number): string[] {
  return Array.from({ length: count }, (_, index) =>
    parameterName(ENV, `i-${index.toString(16).padStart(17, '0')}`),
  );
}

describe('putSecureParameter', () => {
  it('writes a standard SecureString, overwriting', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    await createSsmGateway({ region: REGION }).putSecureParameter('/runner-scaler/ci/i-1', 'c2VjcmV0');
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/runner-scaler/ci/i-1',
      Value: 'c2VjcmV0',
      Type: 'SecureString',
      Overwrite: true,
      Tier: 'Standard',
    });
  });

  it('creates a tagged parameter without Overwrite (SSM refuses Tags with Overwrite)', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    await createSsmGateway({ region: REGION }).putSecureParameter('/runner-scaler/ci/i-1', 'c2VjcmV0', {
      'runner-scaler:instance-id': 'i-1',
    });
    expect(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/runner-scaler/ci/i-1',
      Value: 'c2VjcmV0',
      Type: 'SecureString',
      Overwrite: false,
      Tier: 'Standard',
      Tags: [{ Key: 'runner-scaler:instance-id', Value: 'i-1' }],
    });
  });

  it('overwrites a tagged parameter that already exists, keeping its tags', async () => {
    ssm
      .on(PutParameterCommand)
      .rejectsOnce(awsError('ParameterAlreadyExists', 'The parameter already exists.'))
      .resolves({ Version: 2 });
    await createSsmGateway({ region: REGION }).putSecureParameter('/runner-scaler/ci/i-1', 'c2VjcmV0', {
      'runner-scaler:instance-id': 'i-1',
    });
    const puts = ssm.commandCalls(PutParameterCommand).map((call) => call.args[0].input);
    expect(puts.map((input) => [input.Overwrite, input.Tags])).toEqual([
      [false, [{ Key: 'runner-scaler:instance-id', Value: 'i-1' }]],
      [true, undefined],
    ]);
  });

  it('rethrows other errors of a tagged create, without the value', async () => {
    ssm.on(PutParameterCommand).rejects(awsError('AccessDeniedException', 'not authorized for c2VjcmV0'));
    const error = (await createSsmGateway({ region: REGION })
      .putSecureParameter('/runner-scaler/ci/i-1', 'c2VjcmV0', { 'runner-scaler:instance-id': 'i-1' })
      .catch((caught: unknown) => caught)) as Error & { code?: string };
    expect(error.code).toBe('AccessDeniedException');
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(error.message).not.toContain('c2VjcmV0');
  });

  it('rethrows without the value in the message or anywhere on the error', async () => {
    const secret = 'eyJzZWNyZXQiOiJqaXQtY29uZmlnIn0';
    ssm
      .on(PutParameterCommand)
      .rejects(
        awsError(
          'ValidationException',
          `1 validation error detected: Value '${secret}' at 'value' failed to satisfy constraint: Member must have length less than or equal to 4096`,
        ),
      );
    const error = (await createSsmGateway({ region: REGION })
      .putSecureParameter('/runner-scaler/ci/i-1', secret)
      .catch((caught: unknown) => caught)) as Error & { code?: string };
    expect(error.name).toBe('ValidationException');
    expect(error.code).toBe('ValidationException');
    expect(error.message).toContain('PutParameter /runner-scaler/ci/i-1 failed');
    expect(error.message).not.toContain(secret);
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(secret);
  });

  it('redacts the value and the quoted value of validation messages', () => {
    expect(redactValue('bad s3cr3t-value here', 's3cr3t-value')).toBe('bad *** here');
    expect(redactValue("Value 'abc…' at 'value' failed", 'abcdef')).toBe("Value '***' at 'value' failed");
  });
});

describe('listParameters', () => {
  it('pages DescribeParameters (one level of the path, 50 a page) until NextToken is absent, through short and empty pages', async () => {
    const date = new Date('2026-11-01T10:00:00Z');
    ssm
      .on(DescribeParametersCommand)
      .resolvesOnce({
        Parameters: [
          { Name: '/runner-scaler/ci/i-1', LastModifiedDate: date, Type: 'SecureString' },
          { Name: '/runner-scaler/ci/i-2', Type: 'SecureString' },
        ],
        NextToken: 't1',
      })
      .resolvesOnce({ Parameters: [], NextToken: 't2' })
      .resolvesOnce({ NextToken: 't3' })
      .resolvesOnce({ Parameters: [{ Name: '/runner-scaler/ci/i-3', LastModifiedDate: date }] });

    const result = await createSsmGateway({ region: REGION }).listParameters(parameterPath(ENV));

    expect(result).toEqual([
      { name: '/runner-scaler/ci/i-1', lastModified: date },
      { name: '/runner-scaler/ci/i-2' },
      { name: '/runner-scaler/ci/i-3', lastModified: date },
    ]);
    const calls = ssm.commandCalls(DescribeParametersCommand);
    expect(calls.map((call) => call.args[0].input.NextToken)).toEqual([undefined, 't1', 't2', 't3']);
    for (const call of calls) {
      expect(call.args[0].input).toMatchObject({
        ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: ['/runner-scaler/ci'] }],
        MaxResults: 50,
      });
    }
  });

  it('rethrows errors with the operation and path', async () => {
    ssm
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [{ Name: '/runner-scaler/ci/i-1' }], NextToken: 't1' })
      .rejectsOnce(awsError('AccessDeniedException', 'not authorized to perform ssm:DescribeParameters'));
    const error = (await createSsmGateway({ region: REGION })
      .listParameters('/runner-scaler/ci')
      .catch((caught: unknown) => caught)) as Error;
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain('DescribeParameters /runner-scaler/ci');
  });

  it('stops instead of looping when the same NextToken comes back', async () => {
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [], NextToken: 'stuck' });
    await expect(createSsmGateway({ region: REGION }).listParameters('/runner-scaler/ci')).rejects.toThrow(
      /same NextToken/,
    );
    expect(ssm.commandCalls(DescribeParametersCommand)).toHaveLength(2);
  });
});

describe('deleteParameters', () => {
  it('deletes 25 names in calls of 10, 10 and 5 and reports missing ones as invalid', async () => {
    const all = names(25);
    const gone = new Set([all[3], all[17]]);
    ssm.on(DeleteParametersCommand).callsFake((input: DeleteParametersCommandInput) => ({
      DeletedParameters: (input.Names ?? []).filter((name) => !gone.has(name)),
      InvalidParameters: (input.Names ?? []).filter((name) => gone.has(name)),
    }));

    const result = await createSsmGateway({ region: REGION }).deleteParameters(all);

    const calls = ssm.commandCalls(DeleteParametersCommand);
    expect(calls.map((call) => call.args[0].input.Names)).toEqual([
      all.slice(0, 10),
      all.slice(10, 20),
      all.slice(20),
    ]);
    expect(result.invalid).toEqual([all[3], all[17]]);
    expect(result.deleted).toEqual(all.filter((name) => !gone.has(name)));
    expect(result.failed).toEqual([]);
  });

  it('reports a failing chunk as failed while the other chunks are deleted', async () => {
    const all = names(25);
    ssm
      .on(DeleteParametersCommand)
      .resolvesOnce({ DeletedParameters: all.slice(0, 10) })
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .resolvesOnce({ DeletedParameters: all.slice(20) });

    const result = await createSsmGateway({ region: REGION }).deleteParameters(all);

    expect(result.deleted).toEqual([...all.slice(0, 10), ...all.slice(20)]);
    expect(result.failed.map((entry) => entry.name)).toEqual(all.slice(10, 20));
    expect(result.failed.every((entry) => entry.code === 'ThrottlingException')).toBe(true);
    expect(result.invalid).toEqual([]);
  });

  it('makes no call for no names', async () => {
    expect(await createSsmGateway({ region: REGION }).deleteParameters([])).toEqual({
      deleted: [],
      invalid: [],
      failed: [],
    });
    expect(ssm.calls()).toHaveLength(0);
  });
});

describe('write pacing', () => {
  it('sends writes one at a time, however many are asked for at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow = async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return {};
    };
    ssm.on(PutParameterCommand).callsFake(slow);
    const gateway = createSsmGateway({ region: 'eu-west-1', writeTps: 1000 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => gateway.putSecureParameter(`/p/${i}`, 'v')));
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(6);
    expect(peak).toBe(1);
  });
});
