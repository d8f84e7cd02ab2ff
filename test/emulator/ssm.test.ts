import {
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  type Parameter,
} from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parameterName, poolParameterName } from '../../src/contract.js';
import { rejection, ssmClient } from './clients.js';
import { startEmulator, type Emulator } from '../../emulator/index.js';

let emulator: Emulator;
let ssm: SSMClient;

beforeEach(async () => {
  emulator = await startEmulator({ simulator: false });
  ssm = ssmClient(emulator);
});

afterEach(async () => {
  ssm.destroy();
  await emulator.stop();
  expect(emulator.errors).toEqual([]);
});

function instanceId(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

async function byPath(
  path: string,
  recursive: boolean,
  maxResults = 10,
): Promise<{ pageSizes: number[]; parameters: Parameter[] }> {
  const pageSizes: number[] = [];
  const parameters: Parameter[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(
      new GetParametersByPathCommand({
        Path: path,
        Recursive: recursive,
        MaxResults: maxResults,
        WithDecryption: true,
        NextToken: nextToken,
      }),
    );
    pageSizes.push(page.Parameters?.length ?? 0);
    parameters.push(...(page.Parameters ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return { pageSizes, parameters };
}

describe('parameters', () => {
  it('stores SecureStrings, decrypts on request and maps errors to the SDK exceptions', async () => {
    const name = parameterName('prod', instanceId(1));
    const put = await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'jit-config', Type: 'SecureString' }),
    );
    expect(put.Version).toBe(1);

    const plain = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(plain.Parameter).toMatchObject({
      Name: name,
      Type: 'SecureString',
      Value: 'jit-config',
      Version: 1,
    });
    expect(plain.Parameter!.LastModifiedDate).toBeInstanceOf(Date);
    expect(Math.abs(plain.Parameter!.LastModifiedDate!.getTime() - Date.now())).toBeLessThan(5_000);
    const encrypted = await ssm.send(new GetParameterCommand({ Name: name }));
    expect(encrypted.Parameter!.Value).not.toBe('jit-config');

    const exists = await rejection(
      ssm.send(new PutParameterCommand({ Name: name, Value: 'other', Type: 'SecureString' })),
    );
    expect(exists).toBeInstanceOf(ParameterAlreadyExists);
    const overwritten = await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'other', Type: 'SecureString', Overwrite: true }),
    );
    expect(overwritten.Version).toBe(2);

    const tooLong = await rejection(
      ssm.send(new PutParameterCommand({ Name: `${name}-x`, Value: 'x'.repeat(4097), Type: 'SecureString' })),
    );
    expect(tooLong.name).toBe('ValidationException');
    expect(tooLong.message).toContain('4096');
    await ssm.send(
      new PutParameterCommand({ Name: `${name}-y`, Value: 'x'.repeat(4096), Type: 'SecureString' }),
    );

    await ssm.send(new DeleteParameterCommand({ Name: name }));
    const missing = await rejection(ssm.send(new GetParameterCommand({ Name: name })));
    expect(missing).toBeInstanceOf(ParameterNotFound);
    expect(missing.name).toBe('ParameterNotFound');
    expect((missing.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
    expect(emulator.calls.filter((call) => call.code).map((call) => `${call.action} ${call.code}`)).toEqual([
      'PutParameter ParameterAlreadyExists',
      'PutParameter ValidationException',
      'GetParameter ParameterNotFound',
    ]);
  });

  it('ages LastModifiedDate with advance()', async () => {
    emulator.ssm.put('/runner-scaler/prod/x', 'v');
    const before = emulator.ssm.parameter('/runner-scaler/prod/x')!.lastModified.getTime();
    await emulator.advance(7_200_000);
    const answer = await ssm.send(new GetParameterCommand({ Name: '/runner-scaler/prod/x' }));
    expect(answer.Parameter!.LastModifiedDate!.getTime()).toBe(before - 7_200_000);
  });
});

describe('GetParametersByPath', () => {
  beforeEach(() => {
    for (let n = 1; n <= 23; n++) emulator.ssm.put(parameterName('prod', instanceId(n)), `value-${n}`);
    emulator.ssm.put(poolParameterName('prod', 'linux'), '{"token":"t"}', { type: 'SecureString' });
    emulator.ssm.put(parameterName('staging', instanceId(99)), 'other env');
  });

  it('returns only direct children unless Recursive, at most 10 per page', async () => {
    const direct = await byPath('/runner-scaler/prod', false);
    expect(direct.parameters).toHaveLength(23);
    expect(direct.pageSizes).toEqual([10, 10, 3]);
    expect(direct.parameters.map((p) => p.Value)).toContain('value-23');

    const recursive = await byPath('/runner-scaler/prod/', true);
    expect(recursive.parameters.map((p) => p.Name)).toContain(poolParameterName('prod', 'linux'));
    expect(recursive.parameters).toHaveLength(24);

    const tooMany = await rejection(
      ssm.send(new GetParametersByPathCommand({ Path: '/runner-scaler/prod', MaxResults: 11 })),
    );
    expect(tooMany.name).toBe('ValidationException');
  });

  it('can answer short and empty pages while NextToken is still set, and still return everything', async () => {
    emulator.ssm.setShortPages(true);
    const { pageSizes, parameters } = await byPath('/runner-scaler/prod', false);
    expect(pageSizes.length).toBeGreaterThan(3);
    expect(pageSizes.slice(0, -1)).toContain(0);
    expect(pageSizes.some((size) => size > 0 && size < 10)).toBe(true);
    expect(new Set(parameters.map((p) => p.Name)).size).toBe(23);
  });

  it('lists metadata with DescribeParameters and a Path filter', async () => {
    const answer = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: ['/runner-scaler/staging'] }],
      }),
    );
    expect(answer.Parameters?.map((p) => p.Name)).toEqual([parameterName('staging', instanceId(99))]);
    expect(answer.Parameters?.[0]?.LastModifiedDate).toBeInstanceOf(Date);
  });
});

describe('DeleteParameters', () => {
  it('rejects more than 10 names with a ValidationException and reports missing names as InvalidParameters', async () => {
    const names = Array.from({ length: 11 }, (_, n) => parameterName('prod', instanceId(n + 1)));
    for (const name of names) emulator.ssm.put(name, 'v');

    const tooMany = await rejection(ssm.send(new DeleteParametersCommand({ Names: names })));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.message).toContain('less than or equal to 10');
    expect(emulator.ssm.parameters()).toHaveLength(11);

    const missing = parameterName('prod', instanceId(500));
    const answer = await ssm.send(new DeleteParametersCommand({ Names: [names[0]!, missing, names[1]!] }));
    expect(answer.DeletedParameters).toEqual([names[0], names[1]]);
    expect(answer.InvalidParameters).toEqual([missing]);
    expect(emulator.ssm.parameters()).toHaveLength(9);

    const empty = await rejection(ssm.send(new DeleteParametersCommand({ Names: [] })));
    expect(empty.name).toBe('ValidationException');
  });
});

describe('budgets', () => {
  it('throttles PutParameter beyond its TPS with ThrottlingException (HTTP 400)', async () => {
    await emulator.stop();
    // PutParameter's burst of 3 with a slow refill, for a deterministic test; budgets.test.ts checks 3 TPS.
    emulator = await startEmulator({
      simulator: false,
      budgets: { ssm: { buckets: { PutParameter: { capacity: 3, refillPerSecond: 0.001 } } } },
    });
    ssm.destroy();
    ssm = ssmClient(emulator);
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, n) =>
        ssm
          .send(
            new PutParameterCommand({ Name: `/runner-scaler/prod/p${n}`, Value: 'v', Type: 'SecureString' }),
          )
          .then(
            () => 'ok',
            (error: Error & { $metadata: { httpStatusCode: number } }) =>
              `${error.name} ${error.$metadata.httpStatusCode}`,
          ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'ThrottlingException 400')).toHaveLength(2);
    expect(emulator.calls.filter((call) => call.code === 'ThrottlingException')).toHaveLength(2);
    // Reads have their own, larger budget.
    await ssm.send(new GetParametersByPathCommand({ Path: '/runner-scaler/prod' }));
  });

  it('answers injected faults in the JSON 1.1 error shape', async () => {
    emulator.faults.inject({ service: 'ssm', action: /^Delete/, code: 'InternalServerError', times: 1 });
    const error = await rejection(ssm.send(new DeleteParametersCommand({ Names: ['/a'] })));
    expect(error.name).toBe('InternalServerError');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(500);
    const answer = await ssm.send(new DeleteParametersCommand({ Names: ['/a'] }));
    expect(answer.InvalidParameters).toEqual(['/a']);
  });
});
