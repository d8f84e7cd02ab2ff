// Reads only: runners, parameters, instances and demand -> Snapshot. A failed read is recorded, not thrown,
// so that the planner can keep everything it could not see.
import { instanceIdOfParameter, parameterPath } from '../contract.js';
import type { DemandEvent } from '../github/events.js';
import type {
  Config,
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

async function readJobs(gateways: Gateways, config: Config, options: ObserveOptions, log: Log) {
  const reads: Promise<Read<QueuedJob>>[] = [];
  const { event } = options;
  if (event.kind === 'jobs') reads.push(Promise.resolve({ items: event.jobs, complete: true }));
  if (event.kind === 'run') {
    reads.push(
      read(`queued jobs of run ${event.runId}`, log, () =>
        gateways.github.listQueuedJobsOfRun(event.repository, event.runId),
      ),
    );
  }
  if (options.poll) {
    const repositories = [...new Set(config.pools.flatMap((p) => p.repositories))];
    for (const repo of repositories) {
      reads.push(read(`queued jobs of ${repo}`, log, () => gateways.github.listQueuedJobs(repo)));
    }
  }
  return merge(await Promise.all(reads));
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
  const instances = merge(
    await Promise.all(
      regions.map((region) =>
        read<Instance>(`instances in ${region}`, log, () =>
          gateways.ec2(region).listOwnedInstances(environment),
        ),
      ),
    ),
  );
  return { instances, runners, parameters, jobs: await jobs };
}
