// What main needs for scale-set pools: their runner back ends (every mode launches a scale-set pool's runners
// through its scale set), mode listen from start to summary, and the scheduler's watchdog check.
import { hostname } from 'node:os';
import type { GitHubAuth, GitHubLog } from '../github/client.js';
import type { ListenTimings } from '../inputs.js';
import { DEFAULT_RETRY } from './session.js';
import { createScaleSetClient } from '../github/scaleset/client.js';
import type { ScaleSetClient } from '../github/scaleset/types.js';
import type { Config, Gateways, PoolConfig, RunnerBackend } from '../types.js';
import { createScaleSetBackend, type ScaleSetBackend } from './backend.js';
import { listen, type ListenResult } from './listener.js';
import {
  createListenerRegistry,
  REQUESTED_ID,
  watchdogVerdict,
  type ListenerRegistry,
  type WatchdogVerdict,
} from './registry.js';
import { renderListenSummary } from './summary.js';

export interface ScaleSetRunners {
  client: ScaleSetClient;
  backends: Map<string, ScaleSetBackend>;
  /** Gateways.runners: the scale set's back end for its pools. */
  runners(pool: string | undefined): RunnerBackend | undefined;
}

export interface ScaleSetRunnersOptions {
  config: Config;
  auth: GitHubAuth;
  serverUrl: string;
  apiUrl: string;
  log: GitHubLog;
  version?: string;
}

/** The scale set client and back ends, when the pools file has scale-set pools. */
export function createScaleSetRunners(options: ScaleSetRunnersOptions): ScaleSetRunners | undefined {
  const { config } = options;
  const pools = config.pools.filter((p) => p.scaleSet);
  if (pools.length === 0) return undefined;
  const client = createScaleSetClient({
    auth: options.auth,
    serverUrl: options.serverUrl,
    apiUrl: options.apiUrl,
    scope: config.github.scope,
    log: options.log,
    ...(options.version ? { version: options.version } : {}),
  });
  const backends = new Map(pools.map((p) => [p.name, createScaleSetBackend(client, p, config.github)]));
  return { client, backends, runners: (pool) => (pool === undefined ? undefined : backends.get(pool)) };
}

export function createRegistry(config: Config, log: (message: string) => void): ListenerRegistry {
  return createListenerRegistry({ ...config.coordination, environment: config.environment, log });
}

/** The stop signal of a listener: its deadline, SIGINT or SIGTERM (cancelling a job sends both). */
export function stopSignal(
  deadline: Date,
  processLike: Pick<NodeJS.Process, 'once' | 'removeListener'>,
): { signal: AbortSignal; reason(): string; dispose(): void } {
  const controller = new AbortController();
  const stop = (why: string) => () => controller.abort(why);
  const onInt = stop('SIGINT');
  const onTerm = stop('SIGTERM');
  processLike.once('SIGINT', onInt);
  processLike.once('SIGTERM', onTerm);
  const timer = setTimeout(stop('deadline'), Math.max(0, deadline.getTime() - Date.now()));
  return {
    signal: controller.signal,
    reason: () => String(controller.signal.reason ?? 'deadline'),
    dispose() {
      clearTimeout(timer);
      processLike.removeListener('SIGINT', onInt);
      processLike.removeListener('SIGTERM', onTerm);
    },
  };
}

export interface ListenModeOptions {
  config: Config;
  pools: PoolConfig[];
  gateways: Gateways;
  scaleSets: ScaleSetRunners;
  registry?: ListenerRegistry;
  log: GitHubLog;
  holder: string;
  registrationUrl: string;
  deadline: Date;
  stop: AbortSignal;
  stopReason(): string;
  timings?: ListenTimings;
}

export interface ListenModeResult {
  result: ListenResult;
  markdown: string;
  launched: number;
}

export async function runListenMode(options: ListenModeOptions): Promise<ListenModeResult> {
  const { config, pools, scaleSets, log } = options;
  log.info(
    `Listening to ${pools.map((p) => `${p.name} (scale set ${p.scaleSet?.name})`).join(', ')} ` +
      `until ${options.deadline.toISOString()}`,
  );
  const result = await listen(
    {
      config,
      pools,
      client: scaleSets.client,
      backends: scaleSets.backends,
      gateways: options.gateways,
      ...(options.registry ? { registry: options.registry } : {}),
      log,
      holder: options.holder,
      ownerName: `${hostname()} ${options.holder}`.slice(0, 200),
      registrationUrl: options.registrationUrl,
      deadline: options.deadline,
      ...timingOptions(options.timings ?? {}),
    },
    options.stop,
  );
  const markdown = renderListenSummary({
    environment: config.environment,
    pools,
    metrics: result.metrics,
    decisions: result.scaler.decisions,
    demand: result.demand,
    stoppedAt: result.stoppedAt,
    reason: result.yielded ?? options.stopReason(),
    unsettled: result.unsettled,
  });
  const launched = Object.values(result.metrics.pools).reduce((n, p) => n + p.instances, 0);
  return { result, markdown, launched };
}

function timingOptions(timings: ListenTimings) {
  return {
    ...(timings.reconcileEveryMs ? { reconcileEveryMs: timings.reconcileEveryMs } : {}),
    ...(timings.heartbeatEveryMs ? { heartbeatEveryMs: timings.heartbeatEveryMs } : {}),
    ...(timings.staleAfterMs ? { staleAfterMs: timings.staleAfterMs } : {}),
    ...(timings.conflictMaxMs ? { retry: { ...DEFAULT_RETRY, conflictMaxMs: timings.conflictMaxMs } } : {}),
  };
}

/**
 * The scheduler's watchdog: whether a listener must be started (none alive, or the live one's deadline is
 * near), recorded as asked-for so that the next runs do not ask again while it starts.
 */
export async function checkListener(
  config: Config,
  registry: ListenerRegistry,
  holder: string,
  now: Date,
): Promise<WatchdogVerdict> {
  const verdict = watchdogVerdict(await registry.list(), config.pools, now);
  if (verdict.listener === 'start') {
    await registry.write({
      id: REQUESTED_ID,
      state: 'requested',
      holder,
      heartbeat: now,
      deadline: new Date(now.getTime() + 30 * 60_000),
      pools: config.pools.filter((p) => p.scaleSet).map((p) => p.name),
      warnings: [],
    });
  }
  return verdict;
}

/** The watchdog's lines for the scheduler's job summary. */
export function watchdogMarkdown(verdict: WatchdogVerdict): string {
  if (verdict.listener === 'none') return '';
  const action = verdict.listener === 'start' ? 'start one (output listener=start)' : 'nothing to do';
  return [
    '',
    '### Listener',
    '',
    `${verdict.reason}: ${action}.`,
    ...verdict.warnings.map((w) => `- ${w}`),
    '',
  ].join('\n');
}
