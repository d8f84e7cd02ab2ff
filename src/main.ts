// inputs -> clients -> observe -> plan -> apply -> report. The only place that catches.
import * as core from '@actions/core';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createMetricsGateway } from './aws/cloudwatch.js';
import { createEc2Gateway } from './aws/ec2.js';
import { createSsmGateway } from './aws/ssm.js';
import { createCoordinationStore } from './aws/store.js';
import { reservedLabel } from './contract.js';
import { ConfigError, validateConfig } from './config.js';
import { apply } from './engine/apply.js';
import { acquireLease, type Lease } from './engine/lease.js';
import { observe } from './engine/observe.js';
import { failedReads, plan } from './engine/plan.js';
import { createOctokit, type GitHubLog } from './github/client.js';
import { parseDemandEvent, type DemandEvent } from './github/events.js';
import { createGitHubGateway } from './github/gateway.js';
import { checkPrivateKey, InputError, readSettings, type Settings } from './inputs.js';
import {
  checkListener,
  createRegistry,
  createScaleSetRunners,
  runListenMode,
  stopSignal,
  watchdogMarkdown,
  type ScaleSetRunners,
} from './listen/run.js';
import { runMetrics } from './report/metrics.js';
import { renderSummary, resultJson, totals, type Notice, type RunTotals } from './report/summary.js';
import type { Config, Ec2Gateway, Gateways, Mode, Outcome, Plan, Snapshot, SsmGateway } from './types.js';

const log: GitHubLog = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  setSecret: (s) => core.setSecret(s),
};

/** Pools file warnings: in the log as annotations, and in the summary. */
function configNotices(warnings: string[], shown: string): Notice[] {
  return warnings.map((warning) => {
    core.warning(`pools file ${shown}: ${warning}`);
    return {
      level: 'warning',
      what: `pools file ${shown}: ${warning}`,
      fix: 'change the pools file as the warning says',
      trouble: 'config',
    };
  });
}

async function loadConfig(settings: Settings): Promise<{ config: Config; notices: Notice[] }> {
  const shown = path.relative(process.cwd(), settings.configPath) || settings.configPath;
  const text = await readFile(settings.configPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`input 'config': cannot read pools file ${shown} (${error.code ?? error.message})`);
  });
  const { config, warnings } = validateConfig(text, shown);
  const pool = config.pools.find((p) => p.name === settings.pool);
  if (settings.pool && !pool) {
    const names = config.pools.map((p) => p.name).join(', ');
    throw new InputError(`input 'pool': got "${settings.pool}", expected a pool of ${shown}: ${names}`);
  }
  if (settings.uniqueLabel && pool?.scaleSet) {
    throw new InputError(
      `input 'unique-label': pool ${pool.name} is a runner scale set, whose runners carry the set's labels only: ` +
        'jobs reach them through the scale set (mode listen), no run-unique label is needed',
    );
  }
  if (settings.mode === 'listen' && !config.pools.some((p) => p.scaleSet && (!pool || p === pool))) {
    throw new InputError(
      `input 'mode': 'listen' needs a scale-set pool${pool ? ` (pool ${pool.name} is not one)` : ''}: add ` +
        `\`scaleSet: true\` to a pool of ${shown}`,
    );
  }
  if (settings.uniqueLabel && pool?.registration === 'token') {
    throw new InputError(
      `input 'unique-label': pool ${pool.name} registers with a token that all its instances share, so its runners ` +
        "cannot carry a label of their own: use 'registration: jit' for pre-job pools",
    );
  }
  return { config, notices: configNotices(warnings, shown) };
}

async function readEvent(settings: Settings): Promise<DemandEvent> {
  const { eventName, eventPath } = settings.run;
  if (!eventPath || settings.count !== undefined) return { kind: 'none' };
  const text = await readFile(eventPath, 'utf8').catch(() => undefined);
  if (text === undefined) return { kind: 'none' };
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new InputError(`GITHUB_EVENT_PATH ${eventPath}: not JSON`);
  }
  return parseDemandEvent(eventName, payload);
}

async function createGateways(
  settings: Settings,
  config: Config,
  scaleSets: ScaleSetRunners | undefined,
): Promise<Gateways> {
  const { scope } = config.github;
  const octokit = await createOctokit({ auth: settings.auth, baseUrl: settings.apiUrl, scope, log });
  const ec2 = new Map<string, Ec2Gateway>();
  const ssm = new Map<string, SsmGateway>();
  const once = <T>(cache: Map<string, T>, region: string, create: () => T): T => {
    if (!cache.has(region)) cache.set(region, create());
    return cache.get(region) as T;
  };
  const github = createGitHubGateway({ octokit, scope, log });
  return {
    github,
    // Every mode registers a scale-set pool's runners through its scale set, never as ordinary runners.
    ...(scaleSets ? { runners: (pool: string | undefined) => scaleSets.runners(pool) ?? github } : {}),
    ec2: (region) => once(ec2, region, () => createEc2Gateway({ region, log: (m) => core.debug(m) })),
    ssm: (region) =>
      once(ssm, region, () =>
        createSsmGateway({ region, maxAttempts: settings.ssmMaxAttempts, log: (m) => core.debug(m) }),
      ),
    store: createCoordinationStore({
      ...config.coordination,
      environment: config.environment,
      log: (m) => core.debug(m),
    }),
  };
}

function registrationUrl(settings: Settings, config: Config): string {
  const { scope } = config.github;
  return `${settings.serverUrl}/${scope.kind === 'org' ? scope.org : `${scope.owner}/${scope.repo}`}`;
}

async function report(
  settings: Settings,
  config: Config,
  notices: Notice[],
  thePlan: Plan,
  outcomes?: Outcome[],
  t?: RunTotals,
  extra = '',
) {
  const markdown = renderSummary({
    plan: thePlan,
    outcomes,
    totals: t,
    environment: config.environment,
    dryRun: settings.dryRun,
    serverUrl: settings.serverUrl,
    notices,
    ...(settings.docsUrl ? { docsUrl: settings.docsUrl } : {}),
  });
  core.setOutput('launched', t?.launched ?? 0);
  core.setOutput('removed', t?.removed ?? 0);
  core.setOutput('failed', t?.failed ?? 0);
  core.setOutput('result', resultJson(thePlan, outcomes, t));
  core.info(markdown + extra);
  await core.summary.addRaw(markdown + extra).write();
}

function failureMessage(outcomes: Outcome[], unread: string[], problems: string[]): string {
  const failedItems = outcomes.filter((o) => o.status === 'failed');
  const listed = failedItems
    .slice(0, 10)
    .map((o) => `  ${o.action} ${o.target}: ${o.code ?? 'failed'} ${o.detail ?? ''}`);
  const more = failedItems.length > 10 ? [`  … and ${failedItems.length - 10} more`] : [];
  return [
    ...(failedItems.length ? [`${failedItems.length} planned item(s) failed:`, ...listed, ...more] : []),
    ...(unread.length ? ['A read failed, so what depends on it was kept:', ...unread] : []),
    ...problems.map((p) => `  ${p}`),
  ].join('\n');
}

/** The reads that failed, each with what to do about it when it is a configuration error. */
function unreadLines(snapshot: Snapshot): string[] {
  const lines = failedReads(snapshot)
    .filter((r) => !r.startsWith('jobs:') || snapshot.demandGaps.length === 0)
    .map((read) => `  ${read}`);
  for (const gap of snapshot.demandGaps) {
    const fix =
      gap.status === 404 || gap.status === 403
        ? ` (HTTP ${gap.status}: renamed, deleted, or the GitHub App is not installed there: fix or remove it in the pools' repositories)`
        : '';
    lines.push(`  queued jobs of repository ${gap.repository}${fix}: ${gap.error}`);
  }
  return lines;
}

/**
 * The run's metrics in one PutMetricData call, when the pools file asks for them. A failure is a warning: the run did
 * its work; the dashboard misses one point.
 */
async function publishMetrics(
  config: Config,
  input: Omit<Parameters<typeof runMetrics>[0], 'environment'>,
): Promise<Notice[]> {
  if (!config.metrics) return [];
  const { namespace, region } = config.metrics;
  const metrics = runMetrics({ ...input, environment: config.environment });
  try {
    await createMetricsGateway({ region, log: (m) => core.debug(m) }).publish(
      namespace,
      metrics,
      input.plan.now,
    );
    core.info(`published ${metrics.length} metrics to CloudWatch namespace ${namespace} in ${region}`);
    return [];
  } catch (error) {
    const message = `metrics not published: ${error instanceof Error ? error.message : String(error)}`;
    core.warning(message);
    return [
      {
        level: 'warning',
        what: message,
        fix: `allow cloudwatch:PutMetricData for the namespace ${namespace} (examples/iam/runner-scaler-policy.json)`,
        trouble: 'metrics',
      },
    ];
  }
}

/** Launching modes take the environment's lease before they observe; the others only read the store. */
async function takeLease(settings: Settings, gateways: Gateways): Promise<Lease | undefined> {
  const launching = settings.mode === 'scale-up' || settings.mode === 'reconcile';
  if (!launching || settings.dryRun || !gateways.store) return undefined;
  const holder = `${settings.run.repository}#${settings.run.id}/${settings.run.attempt}/${randomUUID().slice(0, 8)}`;
  return acquireLease(gateways.store, holder, { log });
}

/** The reconcile run is the listener's watchdog: output `listener` says whether to start one. */
async function watchListener(settings: Settings, config: Config, now: Date): Promise<string> {
  if (settings.mode !== 'reconcile' || settings.dryRun || !config.pools.some((p) => p.scaleSet)) return '';
  const holder = `${settings.run.repository}#${settings.run.id}/${settings.run.attempt}`;
  try {
    const verdict = await checkListener(
      config,
      createRegistry(config, (m) => core.debug(m)),
      holder,
      now,
    );
    core.setOutput('listener', verdict.listener);
    for (const warning of verdict.warnings) core.warning(warning);
    return watchdogMarkdown(verdict);
  } catch (error) {
    // Unknown is not "missing": no listener is started on a failed read.
    core.setOutput('listener', 'unknown');
    core.warning(
      `could not read the listener records: ${error instanceof Error ? error.message : String(error)}`,
    );
    return '';
  }
}

async function decideAndApply(
  settings: Settings & { mode: Mode },
  { config, notices }: { config: Config; notices: Notice[] },
  gateways: Gateways,
  event: DemandEvent,
  lease: Lease | undefined,
) {
  const label = settings.uniqueLabel
    ? reservedLabel(config.environment, settings.pool as string, settings.run.id, settings.run.attempt)
    : undefined;
  if (label) core.setOutput('label', label);

  core.startGroup('Observe');
  const poll =
    settings.mode === 'reconcile' ||
    settings.mode === 'scale-down' ||
    (settings.mode === 'scale-up' && settings.count === undefined && event.kind === 'none');
  const now = new Date();
  const snapshot = await observe(
    gateways,
    config,
    {
      poll,
      event,
      lease: lease?.state ?? (settings.dryRun ? 'held' : 'none'),
      ...(lease?.error ? { leaseError: lease.error } : {}),
      ...(lease?.heldBy ? { heldBy: lease.heldBy } : {}),
      now,
    },
    log,
  );
  core.info(
    `${snapshot.instances.items.length} instance(s), ${snapshot.runners.items.length} runner(s), ` +
      `${snapshot.parameters.items.length} parameter(s), ${snapshot.jobs.items.length} queued job(s), ` +
      `${snapshot.coordination.launches.length} recent launch record(s)`,
  );
  core.endGroup();

  const thePlan = plan(snapshot, config, {
    mode: settings.mode,
    now,
    pool: settings.pool,
    count: settings.count,
    runKey: `${settings.run.id}/${settings.run.attempt}`,
    ...(label ? { reservedLabel: label } : {}),
  });
  // The run kept everything it could not see, but must not look green.
  const unread = unreadLines(snapshot);
  if (settings.dryRun) {
    await report(settings, config, notices, thePlan);
    if (unread.length || thePlan.problems.length)
      throw new Error(failureMessage([], unread, thePlan.problems));
    return;
  }

  core.startGroup('Apply');
  const result = await apply(thePlan, {
    gateways,
    config,
    log,
    registrationUrl: registrationUrl(settings, config),
    runKey: `${settings.run.id}/${settings.run.attempt}`,
    onLaunched: async () => lease?.release(),
  });
  core.endGroup();
  const t = totals(result.outcomes, result.launched);
  const failed = t.failed > 0 || unread.length > 0 || thePlan.problems.length > 0;
  const metrics = await publishMetrics(config, {
    plan: thePlan,
    outcomes: result.outcomes,
    polled: poll,
    failed,
  });
  const listener = await watchListener(settings, config, now);
  await report(settings, config, [...notices, ...metrics], thePlan, result.outcomes, t, listener);
  if (failed) {
    throw new Error(failureMessage(result.outcomes, unread, thePlan.problems));
  }
}

/** mode listen: until the deadline, SIGINT or SIGTERM; then a green exit with the period's summary. */
async function listenMode(
  settings: Settings,
  config: Config,
  gateways: Gateways,
  scaleSets: ScaleSetRunners | undefined,
): Promise<void> {
  if (!scaleSets) throw new InputError("input 'mode': 'listen' needs a scale-set pool");
  if (
    settings.auth.kind === 'token' &&
    settings.auth.token.startsWith('ghs_') &&
    settings.listenMinutes > 55
  ) {
    core.warning(
      "input 'github-token' is an installation token, which expires within an hour: give the GitHub App's key " +
        '(github-app-id, github-app-private-key) so that the listener mints its own, or set listen-minutes below 55',
    );
  }
  const deadline = new Date(Date.now() + settings.listenMinutes * 60_000);
  const stop = stopSignal(deadline, process);
  try {
    const { markdown, launched } = await runListenMode({
      config,
      pools: config.pools.filter((p) => p.scaleSet && (!settings.pool || p.name === settings.pool)),
      gateways,
      scaleSets,
      registry: createRegistry(config, (m) => core.debug(m)),
      log,
      holder: `${settings.run.repository}#${settings.run.id}/${settings.run.attempt}`,
      registrationUrl: registrationUrl(settings, config),
      deadline,
      stop: stop.signal,
      stopReason: stop.reason,
      timings: settings.listenTimings,
    });
    core.setOutput('launched', launched);
    core.info(markdown);
    await core.summary.addRaw(markdown).write();
  } finally {
    stop.dispose();
  }
}

export async function run(): Promise<void> {
  let lease: Lease | undefined;
  try {
    // Everything is validated before the first API call: bad input changes nothing.
    const settings = readSettings();
    checkPrivateKey(settings.auth);
    const loaded = await loadConfig(settings);
    const event = await readEvent(settings);
    const { config } = loaded;
    const scaleSets = createScaleSetRunners({
      config,
      auth: settings.auth,
      serverUrl: settings.serverUrl,
      apiUrl: settings.apiUrl,
      log,
    });
    const gateways = await createGateways(settings, config, scaleSets);
    if (settings.mode === 'listen') return await listenMode(settings, config, gateways, scaleSets);
    lease = await takeLease(settings, gateways);
    await decideAndApply({ ...settings, mode: settings.mode }, loaded, gateways, event, lease);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  } finally {
    await lease?.release();
  }
}
