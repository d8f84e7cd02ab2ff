// inputs -> clients -> observe -> plan -> apply -> report. The only place that catches.
import * as core from '@actions/core';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createEc2Gateway } from './aws/ec2.js';
import { createSsmGateway } from './aws/ssm.js';
import { ConfigError, parseConfig } from './config.js';
import { apply } from './engine/apply.js';
import { observe } from './engine/observe.js';
import { failedReads, plan } from './engine/plan.js';
import { createOctokit, type GitHubLog } from './github/client.js';
import { parseDemandEvent, type DemandEvent } from './github/events.js';
import { createGitHubGateway } from './github/gateway.js';
import { checkPrivateKey, InputError, readSettings, type Settings } from './inputs.js';
import { renderSummary, resultJson, totals, type RunTotals } from './report/summary.js';
import type { Config, Ec2Gateway, Gateways, Outcome, Plan, SsmGateway } from './types.js';

const log: GitHubLog = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  setSecret: (s) => core.setSecret(s),
};

async function loadConfig(settings: Settings): Promise<Config> {
  const shown = path.relative(process.cwd(), settings.configPath) || settings.configPath;
  const text = await readFile(settings.configPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`input 'config': cannot read pools file ${shown} (${error.code ?? error.message})`);
  });
  const config = parseConfig(text, shown);
  if (settings.pool && !config.pools.some((p) => p.name === settings.pool)) {
    const names = config.pools.map((p) => p.name).join(', ');
    throw new InputError(`input 'pool': got "${settings.pool}", expected a pool of ${shown}: ${names}`);
  }
  return config;
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

async function createGateways(settings: Settings, config: Config): Promise<Gateways> {
  const { scope } = config.github;
  const octokit = await createOctokit({ auth: settings.auth, baseUrl: settings.apiUrl, scope, log });
  const ec2 = new Map<string, Ec2Gateway>();
  const ssm = new Map<string, SsmGateway>();
  const once = <T>(cache: Map<string, T>, region: string, create: () => T): T => {
    if (!cache.has(region)) cache.set(region, create());
    return cache.get(region) as T;
  };
  return {
    github: createGitHubGateway({ octokit, scope, log }),
    ec2: (region) => once(ec2, region, () => createEc2Gateway({ region, log: (m) => core.debug(m) })),
    ssm: (region) => once(ssm, region, () => createSsmGateway({ region, log: (m) => core.debug(m) })),
  };
}

function registrationUrl(settings: Settings, config: Config): string {
  const { scope } = config.github;
  return `${settings.serverUrl}/${scope.kind === 'org' ? scope.org : `${scope.owner}/${scope.repo}`}`;
}

async function report(
  settings: Settings,
  config: Config,
  thePlan: Plan,
  outcomes?: Outcome[],
  t?: RunTotals,
) {
  const markdown = renderSummary({
    plan: thePlan,
    outcomes,
    totals: t,
    environment: config.environment,
    dryRun: settings.dryRun,
  });
  core.setOutput('launched', t?.launched ?? 0);
  core.setOutput('removed', t?.removed ?? 0);
  core.setOutput('failed', t?.failed ?? 0);
  core.setOutput('result', resultJson(thePlan, outcomes, t));
  core.info(markdown);
  await core.summary.addRaw(markdown).write();
}

function failureMessage(outcomes: Outcome[], unread: string[]): string {
  const failedItems = outcomes.filter((o) => o.status === 'failed');
  if (failedItems.length === 0) {
    return ['A read failed, so nothing was removed:', ...unread].join('\n');
  }
  const listed = failedItems
    .slice(0, 10)
    .map((o) => `  ${o.action} ${o.target}: ${o.code ?? 'failed'} ${o.detail ?? ''}`);
  const more = failedItems.length > 10 ? [`  … and ${failedItems.length - 10} more`] : [];
  const reads = unread.length ? ['A read failed, so nothing was removed:', ...unread] : [];
  return [`${failedItems.length} planned item(s) failed:`, ...listed, ...more, ...reads].join('\n');
}

export async function run(): Promise<void> {
  try {
    // Everything is validated before the first API call: bad input changes nothing.
    const settings = readSettings();
    checkPrivateKey(settings.auth);
    const config = await loadConfig(settings);
    const event = await readEvent(settings);
    const label = settings.uniqueLabel
      ? `runner-scaler-${settings.run.id}-${settings.run.attempt}`
      : undefined;
    if (label) core.setOutput('label', label);

    const gateways = await createGateways(settings, config);
    core.startGroup('Observe');
    const poll =
      settings.mode === 'reconcile' ||
      settings.mode === 'scale-down' ||
      (settings.mode === 'scale-up' && settings.count === undefined && event.kind === 'none');
    const snapshot = await observe(gateways, config, { poll, event }, log);
    core.info(
      `${snapshot.instances.items.length} instance(s), ${snapshot.runners.items.length} runner(s), ` +
        `${snapshot.parameters.items.length} parameter(s), ${snapshot.jobs.items.length} queued job(s)`,
    );
    core.endGroup();

    const thePlan = plan(snapshot, config, {
      mode: settings.mode,
      now: new Date(),
      pool: settings.pool,
      count: settings.count,
      runKey: `${settings.run.id}/${settings.run.attempt}`,
      extraLabels: label ? [label] : [],
    });
    // The run kept everything it could not see, but must not look green.
    const unread = failedReads(snapshot).map((read) => `  ${read}`);
    if (settings.dryRun) {
      await report(settings, config, thePlan);
      if (unread.length) throw new Error(failureMessage([], unread));
      return;
    }

    core.startGroup('Apply');
    const result = await apply(thePlan, {
      gateways,
      config,
      log,
      registrationUrl: registrationUrl(settings, config),
    });
    core.endGroup();
    const t = totals(result.outcomes, result.launched);
    await report(settings, config, thePlan, result.outcomes, t);
    if (t.failed > 0 || unread.length) throw new Error(failureMessage(result.outcomes, unread));
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
