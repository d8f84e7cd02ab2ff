// What every EC2 module works with: the emulator's context and the service's settings.
import type { EmulatorContext } from '../context.js';
import type { Ec2Options, LaunchTemplateDefinition } from './types.js';

export interface Ec2Settings {
  shutdownDelayMs: number;
  retentionMs: number;
  defaultInstanceType: string;
  publicIp: boolean;
  /** See Ec2Options.listingLagMs / lookupLagMs; mutable. */
  listingLagMs: number;
  lookupLagMs: number;
  /** Undefined: any launch template is accepted. */
  templates?: { byId: Map<string, LaunchTemplateDefinition>; byName: Map<string, LaunchTemplateDefinition> };
}

export interface Ec2Context extends EmulatorContext {
  settings: Ec2Settings;
}

export function ec2Settings(options: Ec2Options): Ec2Settings {
  const templates = options.launchTemplates;
  return {
    shutdownDelayMs: options.shutdownDelayMs ?? 5_000,
    retentionMs: options.terminatedRetentionMs ?? 3_600_000,
    defaultInstanceType: options.defaultInstanceType ?? 't3.micro',
    publicIp: options.publicIp ?? true,
    listingLagMs: options.listingLagMs ?? 0,
    lookupLagMs: options.lookupLagMs ?? 0,
    ...(templates
      ? {
          templates: {
            byId: new Map(templates.map((t) => [t.id, t])),
            byName: new Map(templates.map((t) => [t.name, t])),
          },
        }
      : {}),
  };
}
