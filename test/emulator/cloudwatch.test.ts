// The emulator's CloudWatch, through the real @aws-sdk/client-cloudwatch: what it sends (AWS JSON 1.0, gzip above
// 10 KB), the limits it is held to, errors in the shape the client reads, and the recorded data points.
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorRequest } from '../../emulator/index.js';
import { createMetricsGateway } from '../../src/aws/cloudwatch.js';

let emulator: Emulator;
let client: CloudWatchClient;
const requests: EmulatorRequest[] = [];

beforeEach(async () => {
  emulator = await startEmulator({ region: 'eu-west-1' });
  requests.length = 0;
  emulator.onCall((request) => {
    if (request.service === 'cloudwatch') requests.push(request);
  });
  client = new CloudWatchClient({
    region: 'eu-west-1',
    endpoint: emulator.url,
    credentials: { accessKeyId: 'AKIAEMULATOR', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  expect(emulator.errors).toEqual([]);
  await emulator.stop();
});

const datum = (name: string, value: number, extra: Partial<MetricDatum> = {}): MetricDatum => ({
  MetricName: name,
  Dimensions: [{ Name: 'Pool', Value: 'linux' }],
  Value: value,
  Unit: 'Count',
  Timestamp: new Date(),
  ...extra,
});

const failure = async (input: ConstructorParameters<typeof PutMetricDataCommand>[0]) =>
  client.send(new PutMetricDataCommand(input)).then(
    () => undefined,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => ({
      name: error.name,
      status: error.$metadata?.httpStatusCode,
      message: error.message,
    }),
  );

describe('CloudWatch PutMetricData', () => {
  it('records the data points the client sends, over the AWS JSON 1.0 protocol', async () => {
    const at = new Date(Date.now() - 60_000);
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'RunnerScaler',
        MetricData: [
          datum('IdleRunners', 3, { Timestamp: at }),
          datum('OldestQueuedJobWait', 42, { Unit: 'Seconds' }),
        ],
      }),
    );
    expect(requests[0]?.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(requests[0]?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(requests[0]?.headers['x-amzn-query-mode']).toBe('true');
    expect(emulator.cloudwatch.metrics({ namespace: 'RunnerScaler', dimensions: { Pool: 'linux' } })).toEqual(
      [
        {
          region: 'eu-west-1',
          namespace: 'RunnerScaler',
          name: 'IdleRunners',
          dimensions: { Pool: 'linux' },
          value: 3,
          unit: 'Count',
          timestamp: at,
          storageResolution: 60,
        },
        expect.objectContaining({ name: 'OldestQueuedJobWait', value: 42, unit: 'Seconds' }),
      ],
    );
    expect(emulator.cloudwatch.putCalls()).toBe(1);
  });

  it('inflates a body the client gzipped (over 10 KB)', async () => {
    const data = Array.from({ length: 300 }, (_, i) =>
      datum('IdleRunners', i, { Dimensions: [{ Name: 'Pool', Value: `pool-${i}` }] }),
    );
    await client.send(new PutMetricDataCommand({ Namespace: 'RunnerScaler', MetricData: data }));
    expect(requests[0]?.headers['content-encoding']).toBe('gzip');
    expect(emulator.cloudwatch.metrics({ name: 'IdleRunners' })).toHaveLength(300);
  });

  it.each<[string, ConstructorParameters<typeof PutMetricDataCommand>[0], RegExp]>([
    ['an AWS/ namespace', { Namespace: 'AWS/EC2', MetricData: [datum('X', 1)] }, /Namespace is invalid/],
    [
      'more than 1000 metrics',
      { Namespace: 'N', MetricData: Array.from({ length: 1001 }, () => datum('X', 1)) },
      /not have more than 1000/,
    ],
    [
      'a timestamp three weeks old',
      { Namespace: 'N', MetricData: [datum('X', 1, { Timestamp: new Date(Date.now() - 21 * 86_400_000) })] },
      /two weeks in the past/,
    ],
    [
      '31 dimensions',
      {
        Namespace: 'N',
        MetricData: [
          datum('X', 1, {
            Dimensions: Array.from({ length: 31 }, (_, i) => ({ Name: `d${i}`, Value: 'v' })),
          }),
        ],
      },
      /more than 30/,
    ],
    [
      'a unit that is none',
      { Namespace: 'N', MetricData: [datum('X', 1, { Unit: 'Hours' as never })] },
      /not a unit/,
    ],
  ])('refuses %s as InvalidParameterValue, storing nothing', async (_name, input, message) => {
    expect(await failure(input)).toMatchObject({ status: 400, message: expect.stringMatching(message) });
    expect((await failure(input))?.name).toMatch(/^InvalidParameterValue(Exception)?$/);
    expect(emulator.cloudwatch.metrics()).toEqual([]);
  });

  it('answers a missing namespace as MissingParameter, and injected faults in the shape the client reads', async () => {
    expect((await failure({ MetricData: [datum('X', 1)] } as never))?.name).toMatch(
      /MissingParameter|MissingRequiredParameter/,
    );
    emulator.faults.inject({
      service: 'cloudwatch',
      action: 'PutMetricData',
      code: 'AccessDenied',
      status: 403,
      times: 1,
    });
    expect(await failure({ Namespace: 'N', MetricData: [datum('X', 1)] })).toMatchObject({ status: 403 });
  });
});

describe('the metrics gateway', () => {
  it('publishes in calls of at most 1000 metrics', async () => {
    process.env.AWS_ENDPOINT_URL_CLOUDWATCH = emulator.url;
    process.env.AWS_ACCESS_KEY_ID = 'AKIAEMULATOR';
    process.env.AWS_SECRET_ACCESS_KEY = 'x';
    try {
      const gateway = createMetricsGateway({ region: 'eu-west-1' });
      const metrics = Array.from({ length: 2500 }, (_, i) => ({
        name: 'IdleRunners',
        dimensions: { Environment: 'ci', Pool: `p${i}` },
        value: 1,
        unit: 'Count' as const,
      }));
      const at = new Date();
      await gateway.publish('RunnerScaler', metrics, at);
      expect(emulator.cloudwatch.putCalls()).toBe(3);
      expect(emulator.cloudwatch.metrics()).toHaveLength(2500);
      expect(emulator.cloudwatch.metrics()[0]?.timestamp).toEqual(at);
      await expect(gateway.publish('AWS/Bad', metrics.slice(0, 1), at)).rejects.toThrow(
        /PutMetricData \(1 metrics\) in eu-west-1 failed: InvalidParameterValue.*Namespace is invalid/,
      );
    } finally {
      delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH;
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
