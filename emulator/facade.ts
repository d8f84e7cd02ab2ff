// The Emulator handle's views of the three services, for tests and scenarios.
import { TAG_ENVIRONMENT } from '../src/contract.js';
import type { Emulator } from './api.js';
import type { Clock } from './clock.js';
import type { Ec2Service } from './ec2/index.js';
import type { GitHubService } from './github/index.js';
import type { SsmService } from './ssm/index.js';
import type { EmulatorState } from './state.js';

export function ec2Facade(ec2: Ec2Service): Emulator['ec2'] {
  return {
    instances(filter) {
      return ec2.instances().filter((instance) => {
        if (filter?.state && instance.state !== filter.state) return false;
        if (filter?.environment && instance.tags[TAG_ENVIRONMENT] !== filter.environment) return false;
        return true;
      });
    },
    instance: (id) => ec2.instance(id),
    setCapacity: (limit, market) => ec2.setCapacity(limit, market),
    setListingLag: (listingMs, lookupMs) => ec2.setListingLag(listingMs, lookupMs),
  };
}

export function ssmFacade(ssm: SsmService, region: string, clock: Clock): Emulator['ssm'] {
  return {
    parameters: (parameterRegion) => ssm.parameters(parameterRegion),
    parameter: (name, parameterRegion) => ssm.parameter(name, parameterRegion),
    put(name, value, putOptions) {
      // A wall-clock modification time is kept in emulator time, so that advance() ages it too.
      const modified = putOptions?.lastModified
        ? putOptions.lastModified.getTime() + clock.offset()
        : undefined;
      ssm.put(putOptions?.region ?? region, name, value, putOptions?.type ?? 'SecureString', modified);
    },
    delete: (name, parameterRegion) => ssm.delete(parameterRegion ?? region, name),
    setShortPages: (on) => ssm.setShortPages(on),
    setDescribeFiltersEachPage: (on) => ssm.setDescribeFiltersEachPage(on),
  };
}

export function githubFacade(github: GitHubService, state: EmulatorState): Emulator['github'] {
  return {
    addOrg: (login) => github.addOrg(login),
    addRepo: (fullName) => github.addRepo(fullName),
    queueRun: (spec) => github.queueRun(spec),
    cancelRun: (runId) => github.cancelRun(runId),
    addRunner(spec) {
      const runner = github.addRunner(spec);
      return github.runner(runner.id)!;
    },
    removeRunner(id) {
      const runner = state.runners.get(id);
      if (runner) github.removeRunner(runner);
      return runner !== undefined;
    },
    runners: (scope) => github.runners(scope),
    runner: (nameOrId) => github.runner(nameOrId),
    runs: () => github.runs(),
    jobs: (filter) => github.jobs(filter),
    setBusyLag: (ms) => github.setBusyLag(ms),
    setDeleteDuringBusyLag: (mode) => github.setDeleteDuringBusyLag(mode),
    expireInstallationTokens: () => github.expireInstallationTokens(),
    killedJobs: () => state.killedJobs.map((killed) => ({ ...killed })),
  };
}
