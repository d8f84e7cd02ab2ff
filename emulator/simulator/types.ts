// The instance simulator's options and interface.
import type { LifecycleHooks } from '../context.js';
import type { InstanceView } from '../ec2/index.js';
import type { InstanceRecord, RunnerRecord } from '../state.js';

export interface SimulatorOptions {
  /** Run the instance-side bootstrap (config, registration, jobs). Instances still boot without it. Default true. */
  bootstrap?: boolean;
  /** pending -> running. Default 20 s. */
  bootDelayMs?: number;
  /** How often a booted instance looks for its parameter. Default 5 s. */
  configPollMs?: number;
  /** How long it looks before it shuts down. Default 10 min. */
  configWaitMs?: number;
  /** From reading the config to the runner being online. Default 3 s. */
  runnerStartMs?: number;
  /** From the runner exiting (its registration deleted) to the instance shutting down. Default 1 s. */
  runnerExitMs?: number;
  /** An idle runner that got no job for this long stops and its instance shuts down. Default: never. */
  idleShutdownMs?: number;
  /** The job-started hook tags the instance when a job starts. Default true; false shows what the tag prevents. */
  reportJobStart?: boolean;
}

export type AgentPhase = 'booting' | 'waiting-config' | 'starting' | 'idle' | 'busy' | 'exited' | 'inert';

export interface NeverBootSpec {
  /** How many of the next launched (matching) instances fail; default every one. */
  count?: number;
  match?: (instance: InstanceView) => boolean;
  /** `pending`: stuck in pending; `running`: boots but its bootstrap never runs. Default `running`. */
  mode?: 'pending' | 'running';
}

export interface Simulator {
  readonly hooks: LifecycleHooks;
  setBootstrap(on: boolean): void;
  neverBoot(spec?: NeverBootSpec): { remove(): void; readonly hits: number };
  /** Spot interruption: the instance terminates, its runner goes offline, a running job fails. */
  interrupt(instanceId: string): void;
  /** Takes over a seeded instance in the given phase. */
  adopt(instance: InstanceRecord, phase: AgentPhase, runner?: RunnerRecord, busyForMs?: number): void;
  phase(instanceId: string): AgentPhase | undefined;
}
