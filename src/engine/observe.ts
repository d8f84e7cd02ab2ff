// Reads only: runners, parameters, instances, demand and the coordination store -> Snapshot. A failed read is
// recorded, not thrown, so that the planner can keep everything it could not see.
import { instanceIdOfParameter, parameterPath } from '../contract.js';
import { httpStatusOf } from '../github/errors.js';
import type { DemandEvent } from '../github/events.js';
import type {
  Config,
  Coordination,
  CoordinationStore,
  DemandGap,
  Gateways,
  Instance,
  Log,
  Parameter,
  QueuedJob,
  Read,
  Runner,
  Snapshot,
} from '../types.js';

export interface ObserveOptions {
  /** Poll the pools' repositories for queued jobs. */
  poll: boolean;
  event: DemandEvent;
  /** The lease as main got it; the store is read in every case it can be (its records are evidence). */
  lease: Coordination['lease'];
  leaseError?: string;
  heldBy?: string;
  now: Date;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
  return String(error);
}

async function read<T>(what: string, log: Log, fn: () => Promise<T[]>): Promise<Read<T>> {
  return fn().then(
    (items) => ({ items, complete: true }),
    (error: unknown) => {
      log.warning(`could not read ${what}: ${errorText(error)}`);
      return { items: [], complete: false, error: errorText(error) };
    },
  );
}

function merge<T>(reads: Read<T>[]): Read<T> {
  const failed = reads.filter((r) => !r.complete);
  return {
    items: reads.flatMap((r) => r.items),
    complete: failed.length === 0,
    error: failed.length ? failed.map((r) => r.error).join('; ') : undefined,
  };
}

function regionsOf(config: Config): string[] {
  return [...new Set(config.pools.map((p) => p.region))];
}

/** The HTTP status of a gateway error (kept as its cause), for telling a bad repository from an outage. */
function statusOf(error: unknown): number | undefined {
  return httpStatusOf(error) ?? (error instanceof Error ? httpStatusOf(error.cause) : undefined);
}

/** Jobs of one source; a failure becomes a gap naming the repository. */
async function readRepository(repository: string, what: string, log: Log, fn: () => Promise<QueuedJob[]>) {
  try {
    return { read: { items: await fn(), complete: true } as Read<QueuedJob> };
  } catch (error) {
    log.warning(`could not read ${what}: ${errorText(error)}`);
    const status = statusOf(error);
    const gap: DemandGap = { repository, error: errorText(error), ...(status ? { status } : {}) };
    return { read: { items: [], complete: false, error: errorText(error) } as Read<QueuedJob>, gap };
  }
}

async function readJobs(gateways: Gateways, config: Config, options: ObserveOptions, log: Log) {
  const { event } = options;
  const reads: Promise<{ read: Read<QueuedJob>; gap?: DemandGap }>[] = [];
  if (event.kind === 'jobs') reads.push(Promise.resolve({ read: { items: event.jobs, complete: true } }));
  if (event.kind === 'run') {
    reads.push(
      readRepository(event.repository, `queued jobs of run ${event.runId}`, log, () =>
        gateways.github.listQueuedJobsOfRun(event.repository, event.runId),
      ),
    );
  }
  if (options.poll) {
    for (const repo of [...new Set(config.pools.flatMap((p) => p.repositories))]) {
      reads.push(
        readRepository(repo, `queued jobs of ${repo}`, log, () => gateways.github.listQueuedJobs(repo)),
      );
    }
  }
  const results = await Promise.all(reads);
  return { jobs: merge(results.map((r) => r.read)), gaps: results.flatMap((r) => (r.gap ? [r.gap] : [])) };
}

/** The store's records, read after the lease was taken (so the previous holder's launches are in them). */
async function readCoordination(
  store: CoordinationStore | undefined,
  options: ObserveOptions,
  log: Log,
): Promise<Coordination> {
  const base = { lease: options.lease, launches: [], breakers: [], read: false };
  const extra = { ...(options.heldBy ? { heldBy: options.heldBy } : {}) };
  if (!store) return { ...base, ...extra, error: 'no coordination store' };
  if (options.lease === 'unavailable') return { ...base, ...extra, error: options.leaseError };
  try {
    const state = await store.read(options.now);
    return {
      ...base,
      ...extra,
      launches: state.launches,
      breakers: state.breakers,
      shortages: state.shortages,
      read: true,
    };
  } catch (error) {
    log.warning(`could not read the coordination store: ${errorText(error)}`);
    const lease = options.lease === 'held' ? 'unavailable' : options.lease;
    return { ...base, ...extra, lease, error: errorText(error) };
  }
}

/**
 * Instances a launch record names that the listing missed: looked up by id. Those alive join the listing (a
 * lagging tag filter); those terminated or leaving are dropped from the ledger's stand-ins; those EC2 does not
 * know yet stay stand-ins.
 */
async function resolveUnlisted(
  gateways: Gateways,
  config: Config,
  coordination: Coordination,
  instances: Read<Instance>,
) {
  const listed = new Set(instances.items.map((i) => i.id));
  const unlisted = coordination.launches.flatMap((r) =>
    r.instanceIds.filter((id) => !listed.has(id)).map((id) => ({ id, pool: r.pool })),
  );
  if (unlisted.length === 0 || !instances.complete) return { instances, gone: new Set<string>() };
  const regionOf = new Map(config.pools.map((p) => [p.name, p.region]));
  const gone = new Set<string>();
  const found: Instance[] = [];
  const byRegion = new Map<string, string[]>();
  for (const { id, pool } of unlisted) {
    const region = regionOf.get(pool);
    if (region) byRegion.set(region, [...(byRegion.get(region) ?? []), id]);
  }
  for (const [region, ids] of byRegion) {
    const fresh = await gateways
      .ec2(region)
      .describeInstances(ids)
      .catch(() => []);
    for (const instance of fresh) {
      if (instance.tags['runner-scaler:environment'] !== config.environment) continue;
      if (instance.state === 'terminated' || instance.state === 'shutting-down') gone.add(instance.id);
      else found.push(instance);
    }
  }
  return { instances: { ...instances, items: [...instances.items, ...found] }, gone };
}

export async function observe(
  gateways: Gateways,
  config: Config,
  options: ObserveOptions,
  log: Log,
): Promise<Snapshot> {
  const { environment } = config;
  const regions = regionsOf(config);
  const jobs = readJobs(gateways, config, options, log);
  const coordination = readCoordination(gateways.store, options, log);
  // Runners and parameters are read before instances: anything registered or written before these reads
  // belongs to an instance launched earlier still, which the instance read then cannot miss.
  const [runners, parameters] = await Promise.all([
    read<Runner>('runners', log, () => gateways.github.listRunners()),
    Promise.all(
      regions.map((region) =>
        read<Parameter>(`parameters in ${region}`, log, async () =>
          (await gateways.ssm(region).listParameters(parameterPath(environment))).map((p) => ({
            ...p,
            region,
            instanceId: instanceIdOfParameter(environment, p.name),
          })),
        ),
      ),
    ).then(merge),
  ]);
  const listed = merge(
    await Promise.all(
      regions.map((region) =>
        read<Instance>(`instances in ${region}`, log, () =>
          gateways.ec2(region).listOwnedInstances(environment),
        ),
      ),
    ),
  );
  const store = await coordination;
  const resolved = await resolveUnlisted(gateways, config, store, listed);
  const launches = store.launches.map((r) => ({
    ...r,
    instanceIds: r.instanceIds.filter((id) => !resolved.gone.has(id)),
  }));
  const demand = await jobs;
  return {
    instances: resolved.instances,
    runners,
    parameters,
    jobs: demand.jobs,
    demandGaps: demand.gaps,
    coordination: { ...store, launches },
  };
}
