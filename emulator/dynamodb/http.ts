// A small HTTP server for the DynamoDB handler alone: tests and tools that need DynamoDB without the whole
// emulator. The emulator's own server routes `x-amz-target: DynamoDB_20120810.*` to the same handler.
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { errorResponse } from './errors.js';
import { DYNAMODB_TARGET_PREFIX, type DynamoDbService } from './service.js';

export interface DynamoDbServer {
  url: string;
  close(): Promise<void>;
}

export interface DynamoDbServerOptions {
  host?: string;
  port?: number;
  /** Region of requests without a SigV4 credential scope. */
  region?: string;
  /** Failures of the handler itself (answered 500 InternalServerError). */
  onError?: (error: unknown) => void;
}

/** The region of a SigV4 `Authorization` header's credential scope. */
export function regionOfAuthorization(authorization: string | undefined, fallback: string): string {
  const match = authorization ? /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(authorization) : null;
  return match?.[1] ?? fallback;
}

/** The operation a request names, or undefined when it is not a DynamoDB request. */
export function dynamoDbAction(target: string | string[] | undefined): string | undefined {
  return typeof target === 'string' && target.startsWith(DYNAMODB_TARGET_PREFIX)
    ? target.slice(DYNAMODB_TARGET_PREFIX.length)
    : undefined;
}

export function serveDynamoDb(
  service: DynamoDbService,
  options: DynamoDbServerOptions = {},
): Promise<DynamoDbServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const action = dynamoDbAction(req.headers['x-amz-target']);
      let response;
      try {
        response =
          req.method === 'POST' && action !== undefined
            ? service.handle({
                action,
                region: regionOfAuthorization(req.headers.authorization, options.region ?? 'us-east-1'),
                body: Buffer.concat(chunks).toString('utf8'),
              })
            : errorResponse(
                'UnknownOperationException',
                `Unknown operation ${String(req.headers['x-amz-target'])}`,
              );
      } catch (error) {
        options.onError?.(error);
        response = errorResponse('InternalServerError');
      }
      res.writeHead(response.status, response.headers).end(response.body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
