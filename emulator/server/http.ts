// Reading requests: the body, its JSON, the region of the SigV4 credential scope.
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';

const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** A body that is not JSON; each service answers it in its own error shape. */
export const NOT_JSON = Symbol('not json');

export function regionOf(authorization: string | undefined, fallback: string): string {
  const match = authorization ? /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(authorization) : null;
  return match?.[1] ?? fallback;
}

export function parseJson(body: string): unknown {
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return NOT_JSON;
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      // CloudWatch's client gzips PutMetricData bodies over 10 KB (Content-Encoding: gzip).
      try {
        resolve((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    req.on('error', reject);
  });
}

/** Real-time waits that stop() can cut short all at once. */
export interface Sleeper {
  sleep(ms: number): Promise<void>;
  wakeAll(): void;
}

export function createSleeper(): Sleeper {
  const waiting = new Map<NodeJS.Timeout, () => void>();
  return {
    sleep(ms) {
      if (!(ms > 0)) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(timer);
          resolve();
        }, ms);
        waiting.set(timer, resolve);
      });
    },
    wakeAll() {
      for (const [timer, resolve] of waiting) {
        clearTimeout(timer);
        resolve();
      }
      waiting.clear();
    },
  };
}
