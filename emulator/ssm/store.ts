// Parameters as stored: writes without validation (seeding, the simulator), ARNs, views.
import { regionParameters, type ParameterRecord } from '../state.js';
import type { SsmContext } from './context.js';
import type { ParameterType, ParameterView } from './types.js';

export function parameterArn(ssm: SsmContext, region: string, name: string): string {
  return `arn:aws:ssm:${region}:${ssm.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** Creates the parameter or writes a new version of it; an existing parameter keeps its tags. */
export function putParameter(
  ssm: SsmContext,
  region: string,
  name: string,
  value: string,
  type: ParameterType = 'SecureString',
  lastModified?: number,
): ParameterRecord {
  const byName = regionParameters(ssm.state, region);
  const existing = byName.get(name);
  const parameter: ParameterRecord = {
    region,
    name,
    value,
    type,
    version: (existing?.version ?? 0) + 1,
    lastModified: lastModified ?? ssm.clock.now(),
    tags: existing?.tags ?? new Map(),
  };
  byName.set(name, parameter);
  if (!existing) ssm.sortedNames.delete(region);
  return parameter;
}

export function removeParameter(ssm: SsmContext, region: string, name: string): boolean {
  const removed = regionParameters(ssm.state, region).delete(name);
  if (removed) ssm.sortedNames.delete(region);
  return removed;
}

export function parameterView(ssm: SsmContext, parameter: ParameterRecord): ParameterView {
  return {
    region: parameter.region,
    name: parameter.name,
    value: parameter.value,
    type: parameter.type,
    version: parameter.version,
    lastModified: new Date(ssm.clock.toWall(parameter.lastModified)),
    tags: Object.fromEntries(parameter.tags),
  };
}
