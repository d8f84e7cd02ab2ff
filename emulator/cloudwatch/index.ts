// CloudWatch for the emulator: PutMetricData as @aws-sdk/client-cloudwatch 3.1164 sends it (AWS JSON 1.0,
// `x-amz-target: GraniteServiceVersion20100801.PutMetricData`, `x-amzn-query-mode: true`; bodies over 10 KB
// gzipped, which the server inflates), checked against the documented limits, and the data points recorded so that
// tests can read them (`emulator.cloudwatch.metrics()`).
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../context.js';

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const ERROR_NAMESPACE = 'com.amazonaws.cloudwatch';

/** The JSON shape's error name, and the awsQuery code and fault the `x-amzn-query-error` header carries. */
const ERRORS: Record<string, { shape: string; status: number; fault: 'Sender' | 'Receiver' }> = {
  InvalidParameterValue: { shape: 'InvalidParameterValueException', status: 400, fault: 'Sender' },
  MissingParameter: { shape: 'MissingRequiredParameterException', status: 400, fault: 'Sender' },
  InvalidParameterCombination: {
    shape: 'InvalidParameterCombinationException',
    status: 400,
    fault: 'Sender',
  },
  InternalServiceError: { shape: 'InternalServiceFault', status: 500, fault: 'Receiver' },
  Throttling: { shape: 'ThrottlingException', status: 400, fault: 'Sender' },
  AccessDenied: { shape: 'AccessDeniedException', status: 403, fault: 'Sender' },
  UnknownOperationException: { shape: 'UnknownOperationException', status: 400, fault: 'Sender' },
  SerializationException: { shape: 'SerializationException', status: 400, fault: 'Sender' },
};

// Limits from the PutMetricData API reference.
const MAX_METRICS = 1000;
const MAX_DIMENSIONS = 30;
const MAX_VALUES = 150;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_PAST_MS = 14 * 24 * 3_600_000;
const MAX_FUTURE_MS = 2 * 3_600_000;
const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/** One data point as CloudWatch stored it. */
export interface MetricPoint {
  region: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
  unit: string;
  /** The data point's time (wall clock), as sent or when received. */
  timestamp: Date;
  storageResolution: number;
}

export interface MetricFilter {
  namespace?: string;
  name?: string;
  /** Points having these dimensions (and maybe others). */
  dimensions?: Record<string, string>;
  region?: string;
}

export interface CloudWatchService {
  handle(request: EmulatorRequest): EmulatorResponse;
  errorResponse(code: string, message?: string, status?: number): EmulatorResponse;
  /** The recorded data points, oldest first. */
  metrics(filter?: MetricFilter): MetricPoint[];
  /** PutMetricData calls answered 200. */
  putCalls(): number;
}

class CloudWatchError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new CloudWatchError('InvalidParameterValue', message);

export function errorResponse(code: string, message = code, status?: number): EmulatorResponse {
  const known = ERRORS[code];
  return {
    status: status ?? known?.status ?? 400,
    code,
    headers: {
      'content-type': CONTENT_TYPE,
      'x-amzn-requestid': randomUUID(),
      'x-amzn-query-error': `${code};${known?.fault ?? ((status ?? 400) >= 500 ? 'Receiver' : 'Sender')}`,
    },
    body: JSON.stringify({ __type: `${ERROR_NAMESPACE}#${known?.shape ?? code}`, message }),
  };
}

type Json = Record<string, unknown>;

function text(value: unknown, member: string, min: number, max: number): string {
  if (typeof value !== 'string')
    throw new CloudWatchError('MissingParameter', `The parameter ${member} is required.`);
  if (value.length < min || value.length > max) {
    throw invalid(`The value ${value} for parameter ${member} must be between ${min} and ${max} characters.`);
  }
  return value;
}

function dimensionsOf(value: unknown, member: string): Record<string, string> {
  if (value === undefined) return {};
  if (!Array.isArray(value)) throw invalid(`The parameter ${member} must be a list.`);
  if (value.length > MAX_DIMENSIONS)
    throw invalid(`The collection ${member} must not have more than ${MAX_DIMENSIONS} entries.`);
  const dimensions: Record<string, string> = {};
  for (const [i, entry] of value.entries()) {
    const d = (entry ?? {}) as Json;
    const name = text(d.Name, `${member}.member.${i + 1}.Name`, 1, 255);
    if (name in dimensions) throw invalid(`The dimension ${name} is given twice in ${member}.`);
    dimensions[name] = text(d.Value, `${member}.member.${i + 1}.Value`, 1, 1024);
  }
  return dimensions;
}

function timestampOf(value: unknown, member: string, now: number): Date {
  if (value === undefined) return new Date(now);
  // JSON 1.0 sends timestamps as epoch seconds.
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(`The parameter ${member} must be a timestamp.`);
  const at = new Date(value * 1000);
  if (at.getTime() < now - MAX_PAST_MS || at.getTime() > now + MAX_FUTURE_MS) {
    throw invalid(
      `The parameter ${member} must specify a time no more than two weeks in the past or two hours in the future.`,
    );
  }
  return at;
}

function datumOf(
  raw: unknown,
  i: number,
  base: { region: string; namespace: string; now: number },
): MetricPoint {
  const member = `MetricData.member.${i + 1}`;
  const datum = (raw ?? {}) as Json;
  const name = text(datum.MetricName, `${member}.MetricName`, 1, 255);
  const hasValue = datum.Value !== undefined;
  const values = datum.Values as unknown[] | undefined;
  if (hasValue && (values !== undefined || datum.StatisticValues !== undefined)) {
    throw new CloudWatchError(
      'InvalidParameterCombination',
      `The parameters ${member}.Value and ${member}.Values or ${member}.StatisticValues are mutually exclusive.`,
    );
  }
  if (hasValue && (typeof datum.Value !== 'number' || !Number.isFinite(datum.Value))) {
    throw invalid(`The value ${String(datum.Value)} for parameter ${member}.Value is invalid.`);
  }
  if (values !== undefined && (!Array.isArray(values) || values.length > MAX_VALUES)) {
    throw invalid(`The collection ${member}.Values must have at most ${MAX_VALUES} entries.`);
  }
  const unit = datum.Unit === undefined ? 'None' : String(datum.Unit);
  if (!UNITS.has(unit)) throw invalid(`The value ${unit} for parameter ${member}.Unit is not a unit.`);
  const resolution = datum.StorageResolution === undefined ? 60 : Number(datum.StorageResolution);
  if (resolution !== 1 && resolution !== 60)
    throw invalid(`The value ${resolution} for parameter ${member}.StorageResolution must be 1 or 60.`);
  return {
    region: base.region,
    namespace: base.namespace,
    name,
    dimensions: dimensionsOf(datum.Dimensions, `${member}.Dimensions`),
    value: hasValue ? (datum.Value as number) : Number.NaN,
    unit,
    timestamp: timestampOf(datum.Timestamp, `${member}.Timestamp`, base.now),
    storageResolution: resolution,
  };
}

function putMetricData(request: EmulatorRequest, now: number): MetricPoint[] {
  if (Buffer.byteLength(request.body) > MAX_BODY_BYTES) {
    throw invalid('The request body is larger than 1 MB.');
  }
  const input = (request.json ?? {}) as Json;
  const namespace = text(input.Namespace, 'Namespace', 1, 255);
  if (namespace.startsWith('AWS/') || namespace.startsWith(':') || !/\S/.test(namespace)) {
    throw invalid(`The value ${namespace} for parameter Namespace is invalid.`);
  }
  const data = input.MetricData;
  if (!Array.isArray(data) || data.length === 0) {
    throw new CloudWatchError('MissingParameter', 'The parameter MetricData is required.');
  }
  if (data.length > MAX_METRICS) {
    throw invalid(`The collection MetricData must not have more than ${MAX_METRICS} entries.`);
  }
  return data.map((raw, i) => datumOf(raw, i, { region: request.region, namespace, now }));
}

export function createCloudWatchService(now: () => number = Date.now): CloudWatchService {
  const points: MetricPoint[] = [];
  let calls = 0;
  return {
    handle(request) {
      try {
        if (request.action !== 'PutMetricData') {
          throw new CloudWatchError(
            'UnknownOperationException',
            `The emulator does not implement ${request.action}.`,
          );
        }
        if (request.json === undefined || typeof request.json !== 'object' || request.json === null) {
          throw new CloudWatchError('SerializationException', 'The request body is not a JSON object.');
        }
        // Every data point is checked before any is stored: a bad one refuses the whole call.
        points.push(...putMetricData(request, now()));
        calls += 1;
        return {
          status: 200,
          headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
          body: '{}',
        };
      } catch (error) {
        if (error instanceof CloudWatchError) return errorResponse(error.code, error.message);
        throw error;
      }
    },
    errorResponse,
    metrics(filter = {}) {
      return points.filter(
        (p) =>
          (filter.namespace === undefined || p.namespace === filter.namespace) &&
          (filter.name === undefined || p.name === filter.name) &&
          (filter.region === undefined || p.region === filter.region) &&
          Object.entries(filter.dimensions ?? {}).every(([k, v]) => p.dimensions[k] === v),
      );
    },
    putCalls: () => calls,
  };
}

/** The CloudWatch operation named in an `x-amz-target` header, or undefined. */
export function cloudWatchAction(target: string | string[] | undefined): string | undefined {
  return typeof target === 'string' && target.startsWith(CLOUDWATCH_TARGET_PREFIX)
    ? target.slice(CLOUDWATCH_TARGET_PREFIX.length)
    : undefined;
}
