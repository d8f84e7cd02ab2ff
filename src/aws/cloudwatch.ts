// CloudWatch metrics: the run's data points in one PutMetricData call (CloudWatch takes up to 1000 metrics per call;
// more are split into calls of 1000).
import { CloudWatchClient, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { createSdkLogger } from './sdk-logger.js';
import { withContext } from './ec2.js';

/** One data point: the metric's name, dimensions, value and unit. */
export interface Metric {
  name: string;
  dimensions: Record<string, string>;
  value: number;
  unit: 'Count' | 'Seconds';
}

export interface MetricsGateway {
  publish(namespace: string, metrics: Metric[], timestamp: Date): Promise<void>;
}

export const METRICS_PER_CALL = 1000;

export function createMetricsGateway(options: {
  region: string;
  log?: (message: string) => void;
}): MetricsGateway {
  // Endpoint (AWS_ENDPOINT_URL[_CLOUDWATCH]) and max attempts come from the SDK's own env handling; adaptive mode
  // slows down when CloudWatch throttles.
  const client = new CloudWatchClient({
    region: options.region,
    retryMode: 'adaptive',
    logger: createSdkLogger(options.log),
  });
  return {
    async publish(namespace, metrics, timestamp) {
      for (let start = 0; start < metrics.length; start += METRICS_PER_CALL) {
        const batch = metrics.slice(start, start + METRICS_PER_CALL);
        try {
          await client.send(
            new PutMetricDataCommand({
              Namespace: namespace,
              MetricData: batch.map((metric) => ({
                MetricName: metric.name,
                Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
                Value: metric.value,
                Unit: metric.unit as StandardUnit,
                Timestamp: timestamp,
              })),
            }),
          );
        } catch (error) {
          throw withContext(`PutMetricData (${batch.length} metrics) in ${options.region} failed`, error);
        }
      }
    },
  };
}
