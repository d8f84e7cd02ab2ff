// One HTTP server for the three services. AWS requests are `POST /`: SSM names its operation in
// `x-amz-target`, EC2 in the form body's `Action`. Everything else is GitHub REST.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { AwsBudget, GitHubBudget } from './budgets.js';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from './context.js';
import type { Ec2Service } from './ec2.js';
import type { FaultError, Faults } from './faults.js';
import type { GitHubService } from './github/index.js';
import type { SsmService } from './ssm.js';
import type { Service } from './state.js';

/** Sees every call of the action once it was handled, before it is answered. */
export type CallObserver = (request: EmulatorRequest, answer: { status: number; code?: string }) => void;

export interface ServerDeps {
  ctx: EmulatorContext;
  ec2: Ec2Service;
  ssm: SsmService;
  github: GitHubService;
  faults: Faults;
  budgets: { github: GitHubBudget; ec2: AwsBudget | undefined; ssm: AwsBudget | undefined };
  /** Added to every answer of the service (real time); mutable. */
  latencyMs: Record<Service, number>;
  /** Called for every logged call; mutable. */
  observers?: Set<CallObserver>;
  /** Requests under /_emulator/ (the standalone emulator's control API); not logged. */
  control?: (method: string, path: string, json: unknown) => Promise<EmulatorResponse | undefined>;
}

export interface EmulatorServer {
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const NOT_JSON = Symbol('not json');

function regionOf(authorization: string | undefined, fallback: string): string {
  const match = authorization ? /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(authorization) : null;
  return match?.[1] ?? fallback;
}

function parseJson(body: string): unknown {
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return NOT_JSON;
  }
}

export function createEmulatorServer(deps: ServerDeps): EmulatorServer {
  const { ctx, ec2, ssm, github, faults, budgets, latencyMs } = deps;
  const sockets = new Set<Socket>();
  const delays = new Map<NodeJS.Timeout, () => void>();
  let stopped = false;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.set(timer, resolve);
    });
  }

  function readBody(req: IncomingMessage): Promise<string> {
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
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function faultResponse(service: Service, error: FaultError): EmulatorResponse {
    let response: EmulatorResponse;
    if (service === 'ec2') response = ec2.errorResponse(error.code, error.message, error.status);
    else if (service === 'ssm') response = ssm.errorResponse(error.code, error.message, error.status);
    else response = { ...github.errorResponse(error.status, error.message), code: error.code };
    return { ...response, headers: { ...response.headers, ...error.headers } };
  }

  function classify(req: IncomingMessage, url: URL, body: string): EmulatorRequest {
    const method = req.method ?? 'GET';
    const base = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      region: regionOf(req.headers.authorization, ctx.defaultRegion),
      body,
      form: new URLSearchParams(),
      json: undefined as unknown,
      pathParams: {} as Record<string, string>,
    };
    if (method === 'POST' && url.pathname === '/') {
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith('AmazonSSM.')) {
        return { ...base, service: 'ssm', action: target.slice('AmazonSSM.'.length), json: parseJson(body) };
      }
      const form = new URLSearchParams(body);
      return { ...base, service: 'ec2', action: form.get('Action') ?? '', form };
    }
    const route = github.route(method, url.pathname);
    return {
      ...base,
      service: 'github',
      action: route?.action ?? `${method} ${url.pathname}`,
      json: parseJson(body),
      pathParams: route?.params ?? {},
    };
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = Date.now();
    const started = performance.now();
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://emulator');

    if (url.pathname.startsWith('/_emulator/') && deps.control) {
      const answer = await deps.control(req.method ?? 'GET', url.pathname, parseJson(body));
      const out = answer ?? { status: 404, headers: {}, body: '' };
      res.writeHead(out.status, out.headers).end(out.body);
      return;
    }

    const request = classify(req, url, body);
    const fault = faults.take(request);
    const delay = latencyMs[request.service] + (fault?.delayMs ?? 0);
    if (delay > 0) await sleep(delay);
    if (stopped) {
      res.destroy();
      return;
    }

    let response: EmulatorResponse | undefined;
    let rateHeaders: Record<string, string> = {};
    fault?.beforeCall?.(request);
    if (fault?.error && !fault.lostResponse) {
      response = faultResponse(request.service, fault.error);
    } else if (request.service === 'github') {
      const counted = github.route(request.method, request.path)?.counted ?? true;
      const verdict = budgets.github.charge(request.method, counted);
      rateHeaders = verdict.headers;
      if (!verdict.allowed) {
        const requestId = randomUUID();
        const message =
          verdict.kind === 'secondary'
            ? `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`
            : 'API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID ' +
              `${requestId}.`;
        response = {
          ...github.errorResponse(verdict.status ?? 403, message, {
            'retry-after': String(verdict.retryAfterSeconds ?? 60),
          }),
          code: verdict.kind === 'secondary' ? 'secondary_rate_limit' : 'rate_limit',
        };
      }
    } else if (request.service === 'ec2') {
      if (budgets.ec2 && !budgets.ec2.take(request.action, ec2.resourceUnits(request))) {
        response = ec2.errorResponse('RequestLimitExceeded', 'Request limit exceeded.', 503);
      }
    } else if (budgets.ssm && !budgets.ssm.take(request.action)) {
      response = ssm.errorResponse('ThrottlingException', 'Rate exceeded', 400);
    }

    if (!response) {
      try {
        if (request.service === 'ec2') response = ec2.handle(request);
        else if (request.service === 'ssm') {
          response =
            request.json === NOT_JSON
              ? ssm.errorResponse('SerializationException', 'Request body is not valid JSON', 400)
              : ssm.handle(request);
        } else {
          response =
            request.json === NOT_JSON
              ? github.errorResponse(400, 'Problems parsing JSON')
              : github.handle(request);
          if (response.deferred) response = await response.deferred;
        }
      } catch (error) {
        ctx.reportError(error, `${request.service} ${request.action}`);
        response =
          request.service === 'ec2'
            ? ec2.errorResponse('InternalError', 'An internal error has occurred', 500)
            : request.service === 'ssm'
              ? ssm.errorResponse('InternalServerError', 'An internal error has occurred', 500)
              : github.errorResponse(500, 'Server Error');
      }
    }

    fault?.afterCall?.(request);
    if (fault?.error && fault.lostResponse) response = faultResponse(request.service, fault.error);

    const headers: Record<string, string> = { ...response.headers };
    if (request.service === 'github') {
      Object.assign(
        headers,
        Object.keys(rateHeaders).length > 0 ? rateHeaders : budgets.github.charge('GET', false).headers,
        // A fault's own rate-limit headers (an exhausted primary limit) win over the budget's.
        fault?.error?.headers,
      );
      headers['x-github-request-id'] = randomUUID();
      headers['x-github-api-version-selected'] = '2022-11-28';
    } else {
      headers['x-amzn-requestid'] ??= randomUUID();
    }
    ctx.log({
      service: request.service,
      action: request.action,
      status: response.status,
      ...(response.code ? { code: response.code } : {}),
      latencyMs: Math.round((performance.now() - started) * 100) / 100,
      caller: 'action',
      ...(request.service !== 'github' ? { region: request.region } : {}),
      at: arrived,
    });
    for (const observer of deps.observers ?? []) {
      observer(request, { status: response.status, ...(response.code ? { code: response.code } : {}) });
    }
    res.writeHead(response.status, headers).end(response.body);
  }

  const server: Server = createServer((req, res) => {
    respond(req, res).catch((error: unknown) => {
      ctx.reportError(error, `${req.method} ${req.url}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('emulator error');
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(`http://${host}:${address.port}`);
        });
      });
    },
    close() {
      stopped = true;
      for (const [timer, resolve] of delays) {
        clearTimeout(timer);
        resolve();
      }
      delays.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
