// One HTTP server for the three services: classify the request, apply faults, latency and budgets, let the
// service answer, log the call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse } from '../context.js';
import type { FaultOutcome, Faults } from '../faults.js';
import type { Service } from '../state.js';
import { classify } from './classify.js';
import { createSleeper, parseJson, readBody, type Sleeper } from './http.js';
import { sizeLatencyMs } from './latency.js';
import { createRoutes, type RouteServices, type ServiceRoute } from './routes.js';

export { DEFAULT_LATENCY_PER_KB_MS } from './latency.js';

/** Sees every call of the action once it was handled, before it is answered. */
export type CallObserver = (request: EmulatorRequest, answer: { status: number; code?: string }) => void;

export interface ServerDeps extends RouteServices {
  ctx: EmulatorContext;
  faults: Faults;
  /** Added to every answer of the service (real time); mutable. */
  latencyMs: Record<Service, number>;
  /** Added per KB of the answer's body (real time); mutable. */
  latencyPerKbMs: Record<Service, number>;
  /** Called for every logged call; mutable. */
  observers?: Set<CallObserver>;
  /** Requests under /_emulator/ (the standalone emulator's control API); not logged. */
  control?: (method: string, path: string, json: unknown) => Promise<EmulatorResponse | undefined>;
}

export interface EmulatorServer {
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

interface Pipeline {
  deps: ServerDeps;
  routes: Record<Service, ServiceRoute>;
  sleeper: Sleeper;
  stopped: () => boolean;
}

/** The call's answer: a fault, a budget's refusal, or the service's own (also when a fault loses it). */
async function answer(p: Pipeline, request: EmulatorRequest, fault: FaultOutcome | undefined) {
  const route = p.routes[request.service];
  let gateHeaders: Record<string, string> = {};
  let response: EmulatorResponse | undefined;
  fault?.beforeCall?.(request);
  if (fault?.error && !fault.lostResponse) response = route.fault(fault.error);
  else {
    const gate = route.gate(request);
    gateHeaders = gate.headers;
    response = gate.refusal;
  }
  if (!response) {
    try {
      response = route.handle(request);
      // A long poll (the scale set message queue) answers later.
      if (response.deferred) response = await response.deferred;
    } catch (error) {
      p.deps.ctx.reportError(error, `${request.service} ${request.action}`);
      response = route.internalError();
    }
  }
  fault?.afterCall?.(request);
  if (fault?.error && fault.lostResponse) response = route.fault(fault.error);
  if (fault?.error) response = { ...response, headers: { ...response.headers, ...fault.error.headers } };
  return { response, gateHeaders };
}

async function respond(p: Pipeline, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { deps } = p;
  const arrived = Date.now();
  const started = performance.now();
  const body = await readBody(req);
  const url = new URL(req.url ?? '/', 'http://emulator');
  if (url.pathname.startsWith('/_emulator/') && deps.control) {
    const out = (await deps.control(req.method ?? 'GET', url.pathname, parseJson(body))) ?? {
      status: 404,
      headers: {},
      body: '',
    };
    res.writeHead(out.status, out.headers).end(out.body);
    return;
  }
  const request = classify(req, url, body, deps.ctx.defaultRegion, deps.github);
  const fault = deps.faults.take(request);
  await p.sleeper.sleep(deps.latencyMs[request.service] + (fault?.delayMs ?? 0));
  if (p.stopped()) return void res.destroy();
  const { response, gateHeaders } = await answer(p, request, fault);
  const outcome = { status: response.status, ...(response.code ? { code: response.code } : {}) };
  for (const observer of deps.observers ?? []) observer(request, outcome);
  // A larger answer takes longer: the per-KB cost comes on top, once the answer's size is known.
  await p.sleeper.sleep(sizeLatencyMs(deps.latencyPerKbMs[request.service], response.body));
  if (p.stopped()) return void res.destroy();
  const headers: Record<string, string> = { ...response.headers };
  p.routes[request.service].finish(headers, gateHeaders, fault?.error);
  deps.ctx.log({
    service: request.service,
    action: request.action,
    ...outcome,
    latencyMs: Math.round((performance.now() - started) * 100) / 100,
    caller: 'action',
    ...(request.service !== 'github' ? { region: request.region } : {}),
    at: arrived,
  });
  res.writeHead(response.status, headers).end(response.body);
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      resolve(`http://${host}:${address.port}`);
    });
  });
}

export function createEmulatorServer(deps: ServerDeps): EmulatorServer {
  const sockets = new Set<Socket>();
  let stopped = false;
  const p: Pipeline = { deps, routes: createRoutes(deps), sleeper: createSleeper(), stopped: () => stopped };
  const server: Server = createServer((req, res) => {
    respond(p, req, res).catch((error: unknown) => {
      deps.ctx.reportError(error, `${req.method} ${req.url}`);
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
    listen: (host, port) => listen(server, host, port),
    close() {
      stopped = true;
      p.sleeper.wakeAll();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
