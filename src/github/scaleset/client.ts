// createScaleSetClient: the runner scale set protocol over the token chain, the transport and the
// Actions service calls. The listener gets a ScaleSetClient; tests pass fakes of the same interface.
import { createAdminTokens } from './admin-token.js';
import { scaleSetEndpoints } from './config-url.js';
import { createRunnerOps } from './runners.js';
import { createScaleSetOps } from './scale-sets.js';
import { createActionsService } from './service.js';
import { createSessionOps } from './sessions.js';
import { createTransport } from './transport.js';
import type { ScaleSetClient, ScaleSetClientOptions } from './types.js';

/** Long polls hold ~50 s; anything slower than this is a hung connection. */
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
const DEFAULT_RETRIES = 4;

export function createScaleSetClient(options: ScaleSetClientOptions): ScaleSetClient {
  const { log } = options;
  const endpoints = scaleSetEndpoints(options.serverUrl, options.scope, options.forceGhes ?? false);
  const secondMs = options.secondMs ?? 1000;
  const version = options.version ?? 'unknown';
  const transport = createTransport({
    log,
    secondMs,
    timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retries: options.retries ?? DEFAULT_RETRIES,
  });
  const admin = createAdminTokens({
    auth: options.auth,
    apiUrl: options.apiUrl?.replace(/\/+$/, '') ?? endpoints.apiUrl,
    configUrl: endpoints.configUrl,
    scope: options.scope,
    log,
    transport,
    secondMs,
    userAgent: `runner-scaler/${version}`,
    now: options.now ?? Date.now,
  });
  const service = createActionsService({ log, transport, admin, version });
  return {
    configUrl: endpoints.configUrl,
    ...createScaleSetOps(service, endpoints.configUrl),
    ...createSessionOps(service),
    ...createRunnerOps(service),
  };
}
