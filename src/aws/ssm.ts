import {
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import Bottleneck from 'bottleneck/light.js';
import type { DeleteParametersResult, SsmGateway } from '../types.js';
import { createSdkLogger } from './sdk-logger.js';

/** DeleteParameters accepts 1..10 names per call. */
const DELETE_BATCH_SIZE = 10;
/**
 * The listing needs the names and last-modified dates of one level of `/runner-scaler/<env>/`, never the
 * values. It uses DescribeParameters (a Path filter, OneLevel) rather than GetParametersByPath:
 * - 50 names a page instead of 10 (API reference: MaxResults 1..50 vs 1..10): 1000 leaked parameters
 *   take 20 calls instead of 100;
 * - GetParametersByPath shares the documented 40 TPS "Get*" quota with GetParameter(s), which every
 *   booting instance calls for its JIT config, so a listing during a burst competes with the instances;
 *   DescribeParameters has its own throttle (undocumented; users report throttling after ~20 calls in a
 *   row, which 20 pages of 50 stay within), and the SDK's adaptive retry mode paces it;
 * - it returns metadata only: no value, not even ciphertext, reaches the scaler.
 * Neither call promises full pages or read-after-write consistency ("between zero and MaxResults" items
 * per page): paging goes on until NextToken is absent, and a listing alone never proves a parameter gone.
 * Users report that DescribeParameters filters each page of the region's whole listing, so in an account
 * with many other parameters it takes more (short or empty) pages: at most 10,000 / 50 = 200 calls.
 * The price in IAM: DescribeParameters has no resource-level permissions (Resource "*"), so the role can
 * read the names and metadata, not the values, of every parameter in the account.
 */
const LIST_PAGE_SIZE = 50;

/** SSM's default limit for PutParameter and for DeleteParameter(s): 3 transactions a second each. */
export const WRITE_TPS = 3;

export interface SsmGatewayOptions {
  region: string;
  /** Debug lines (SDK warnings). */
  log?: (message: string) => void;
  /** Calls per second for each write API; the default is SSM's standard throughput. */
  writeTps?: number;
  /** Attempts of each call (the SDK's own default, or AWS_MAX_ATTEMPTS, when absent). */
  maxAttempts?: number;
}

export function createSsmGateway(options: SsmGatewayOptions): SsmGateway {
  const { region } = options;
  // Endpoint (AWS_ENDPOINT_URL[_SSM]) comes from the SDK's own env handling; adaptive mode paces the calls
  // when SSM answers ThrottlingException (3 TPS for puts and deletes, shared with every other run).
  const client = new SSMClient({
    region,
    retryMode: 'adaptive',
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    logger: createSdkLogger(options.log),
  });
  // Paced below the limit rather than throttled and retried: a refused call costs a round trip and a backoff.
  const pace = () =>
    new Bottleneck({ maxConcurrent: 1, minTime: Math.ceil(1000 / (options.writeTps ?? WRITE_TPS)) });
  const puts = pace();
  const deletes = pace();

  /** One paced PutParameter; its error is rethrown without the value (validation messages can quote it). */
  async function put(name: string, value: string, options: { tags?: Record<string, string> }): Promise<void> {
    const tags = Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    try {
      await puts.schedule(() =>
        client.send(
          new PutParameterCommand({
            Name: name,
            Value: value,
            Type: 'SecureString',
            Tier: 'Standard',
            // SSM refuses Tags together with Overwrite: a tagged parameter is created, never overwritten.
            ...(tags.length > 0 ? { Tags: tags, Overwrite: false } : { Overwrite: true }),
          }),
        ),
      );
    } catch (error) {
      // No `cause`: the original error's message may echo the value (validation errors do).
      const { code, message } = describeError(error);
      const wrapped = new Error(`PutParameter ${name} failed: ${code}: ${redactValue(message, value)}`);
      wrapped.name = code;
      Object.assign(wrapped, { code });
      throw wrapped;
    }
  }

  async function putSecureParameter(
    name: string,
    value: string,
    tags?: Record<string, string>,
  ): Promise<void> {
    if (!tags || Object.keys(tags).length === 0) return put(name, value, {});
    try {
      return await put(name, value, { tags });
    } catch (error) {
      if (describeError(error).code !== 'ParameterAlreadyExists') throw error;
    }
    // Left by an earlier attempt (a retried request, another run serving the same launch): it was created with
    // the same name, so with the same tags. Overwriting keeps them.
    await put(name, value, {});
  }

  async function listParameters(path: string): Promise<{ name: string; lastModified?: Date }[]> {
    const result: { name: string; lastModified?: Date }[] = [];
    let nextToken: string | undefined;
    // Pages may be short or empty while NextToken is set: only an absent token ends the listing.
    do {
      const previousToken = nextToken;
      let page;
      try {
        page = await client.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: [path] }],
            MaxResults: LIST_PAGE_SIZE,
            NextToken: nextToken,
          }),
        );
      } catch (error) {
        throw withContext(`DescribeParameters ${path} in ${region} failed`, error);
      }
      for (const parameter of page.Parameters ?? []) {
        if (!parameter.Name) continue;
        const entry: { name: string; lastModified?: Date } = { name: parameter.Name };
        if (parameter.LastModifiedDate) entry.lastModified = new Date(parameter.LastModifiedDate);
        result.push(entry);
      }
      nextToken = page.NextToken || undefined;
      if (nextToken !== undefined && nextToken === previousToken) {
        throw new Error(
          `DescribeParameters ${path} in ${region} failed: the same NextToken was returned twice`,
        );
      }
    } while (nextToken !== undefined);
    return result;
  }

  async function deleteParameters(names: string[]): Promise<DeleteParametersResult> {
    const result: DeleteParametersResult = { deleted: [], invalid: [], failed: [] };
    // Sequential and paced at SSM's 3 deletes a second; the adaptive retry mode covers what is left.
    for (const batch of chunks([...new Set(names)], DELETE_BATCH_SIZE)) {
      try {
        const response = await deletes.schedule(() =>
          client.send(new DeleteParametersCommand({ Names: batch })),
        );
        const deleted = new Set(response.DeletedParameters ?? []);
        const invalid = new Set(response.InvalidParameters ?? []);
        for (const name of batch) {
          if (deleted.has(name)) result.deleted.push(name);
          else if (invalid.has(name)) result.invalid.push(name);
          else {
            result.failed.push({
              name,
              code: 'NotInResponse',
              message: 'DeleteParameters succeeded but did not list this parameter',
            });
          }
        }
      } catch (error) {
        const { code, message } = describeError(error);
        for (const name of batch)
          result.failed.push({ name, code, message: `DeleteParameters failed: ${message}` });
      }
    }
    return result;
  }

  return { putSecureParameter, listParameters, deleteParameters };
}

/** Hides a secret value, and the value the AWS validation messages quote, from an error message. */
export function redactValue(message: string, value: string): string {
  let redacted = value ? message.split(value).join('***') : message;
  redacted = redacted.replace(/Value '[\s\S]*?' at 'value'/g, "Value '***' at 'value'");
  return redacted;
}

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) return { code: error.name || 'Error', message: error.message };
  return { code: 'Error', message: String(error) };
}

function withContext(operation: string, error: unknown): Error {
  const { code, message } = describeError(error);
  const wrapped = new Error(`${operation}: ${code}: ${message}`, { cause: error });
  wrapped.name = code;
  Object.assign(wrapped, { code });
  return wrapped;
}

function chunks<T>(values: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < values.length; start += size) result.push(values.slice(start, start + size));
  return result;
}
