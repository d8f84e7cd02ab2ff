// How long an answer takes: a fixed latency per service plus a cost per KB of the answer.
import type { Service } from '../state.js';

/**
 * The per-KB default. EC2 builds DescribeInstances answers item by item, so a full page takes longer than
 * an empty one. AWS documents no latency figure: the default is an assumption, that a full page of 1000
 * instances (about 9 MB as EC2 formats its XML, ~9 KB per running instance with a few tags) takes about
 * 2.3 s on the real API on top of the fixed round trip, i.e. 0.25 ms per KB. A page of 10 instances then
 * adds ~22 ms. SSM and GitHub pages stay small (a DescribeParameters page of 50 is ~20 KB, a page of 100
 * runners ~30 KB), so they have no per-KB cost by default. Change it with `latencyPerKbMs`, also while
 * running (`emulator.latencyPerKbMs.ec2 = …`).
 */
export const DEFAULT_LATENCY_PER_KB_MS: Record<Service, number> = {
  ec2: 0.25,
  ssm: 0,
  github: 0,
  dynamodb: 0,
  cloudwatch: 0,
};

export function sizeLatencyMs(perKbMs: number, body: string): number {
  if (!(perKbMs > 0)) return 0;
  return (perKbMs * Buffer.byteLength(body)) / 1024;
}
