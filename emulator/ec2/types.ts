// The EC2 service's options and its interface to the rest of the emulator.
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import type { Ec2InstanceState, InstanceRecord, TagValue } from '../state.js';

export interface LaunchTemplateDefinition {
  id: string;
  name: string;
  instanceType?: string;
  imageId?: string;
}

export interface Ec2Options {
  /** shutting-down -> terminated (emulator time). Default 5 s. */
  shutdownDelayMs?: number;
  /** How long terminated instances stay visible. Default 1 h, as EC2 does. */
  terminatedRetentionMs?: number;
  defaultInstanceType?: string;
  /** When given, launches must name one of these templates (by id or name). */
  launchTemplates?: LaunchTemplateDefinition[];
  /** Instances that can still be launched, in total or per instance type; unlimited when absent. */
  capacity?: number | Record<string, number>;
  /** The same for spot capacity. */
  spotCapacity?: number | Record<string, number>;
  /** Instances get a public IPv4 address (a default VPC's subnets map one). Default true. */
  publicIp?: boolean;
  /**
   * DescribeInstances is eventually consistent: a new instance is missing from a listing filtered by tag for this
   * long after its launch (emulator time). Default 0. EC2 documents no figure; seconds are typical, minutes seen.
   */
  listingLagMs?: number;
  /** The same for lookups by id (InstanceIds, or the instance-id filter). Default 0. */
  lookupLagMs?: number;
}

export type Market = 'spot' | 'on-demand';

export interface InstanceView {
  id: string;
  region: string;
  state: Ec2InstanceState;
  launchTime: Date;
  instanceType: string;
  lifecycle: Market;
  subnetId: string;
  tags: Record<string, string>;
  stateReason?: { code: string; message: string };
}

export interface LaunchSpec {
  region: string;
  count: number;
  instanceType: string;
  market: Market;
  tags: Map<string, TagValue>;
  subnetId?: string;
  imageId?: string;
  clientToken?: string;
  launchTemplate?: { id?: string; name?: string; version?: string };
  reservationId?: string;
  launchTime?: number;
  state?: Ec2InstanceState;
}

export interface Ec2Service {
  /** See Ec2Options.listingLagMs and lookupLagMs. */
  setListingLag(listingMs: number, lookupMs?: number): void;
  handle(request: EmulatorRequest): EmulatorResponse;
  /** Units of the action's resource budget (instances launched or terminated). */
  resourceUnits(request: EmulatorRequest): number;
  errorResponse(code: string, message: string, status: number): EmulatorResponse;
  launch(spec: LaunchSpec): InstanceRecord[];
  /** The instance starts shutting down and terminates after `shutdownDelayMs`. */
  shutDown(instance: InstanceRecord, reason: { code: string; message: string }): void;
  setTag(instance: InstanceRecord, key: string, wallValue: string): void;
  setCapacity(limit: number | Record<string, number> | undefined, market?: Market): void;
  instances(): InstanceView[];
  instance(id: string): InstanceView | undefined;
  view(instance: InstanceRecord): InstanceView;
}
