// What every SSM module works with: the emulator's context, the service's settings and paging state.
import type { EmulatorContext } from '../context.js';
import { regionParameters } from '../state.js';
import type { SsmOptions } from './types.js';

export interface SsmContext extends EmulatorContext {
  maxParameters: number;
  paging: {
    shortPages: boolean;
    /** Position in the cycle of short page sizes. */
    turn: number;
    describeFiltersEachPage: boolean;
  };
  /** region -> parameter names in sorted order, rebuilt after names were added or removed */
  sortedNames: Map<string, string[]>;
}

export function ssmContext(ctx: EmulatorContext, options: SsmOptions): SsmContext {
  // The context's objects are shared, not copied: the simulator's hooks are set on ctx.hooks later.
  return Object.assign(Object.create(ctx) as EmulatorContext, {
    maxParameters: options.maxParameters ?? 10_000,
    paging: {
      shortPages: options.shortPages ?? false,
      turn: 0,
      describeFiltersEachPage: options.describeFiltersEachPage ?? false,
    },
    sortedNames: new Map<string, string[]>(),
  });
}

export function sortedNames(ssm: SsmContext, region: string): string[] {
  let sorted = ssm.sortedNames.get(region);
  if (!sorted) {
    sorted = [...regionParameters(ssm.state, region).keys()].sort();
    ssm.sortedNames.set(region, sorted);
  }
  return sorted;
}
