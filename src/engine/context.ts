// What apply and its parts act through: the gateways, the config, the job log, and a clock for the age of
// the evidence a removal acts on.
import type { Config, Gateways, Log, RunnerBackend } from '../types.js';

/** Where the runners of a pool register and leave: the scale set's API for scale-set pools, REST otherwise. */
export function runnerBackend(gateways: Gateways, pool: string | undefined): RunnerBackend {
  return gateways.runners?.(pool) ?? gateways.github;
}

export interface ApplyContext {
  gateways: Gateways;
  config: Config;
  log: Log;
  /** Where token-registered runners register: https://github.com/<org> or /<owner>/<repo>. */
  registrationUrl: string;
  /** Milliseconds now; default Date.now. Tests pass their own. */
  now?: () => number;
  /** The run, in launch records: `<run id>/<attempt>`. */
  runKey?: string;
  /** Called once every launch call was answered and recorded (main releases the lease there). */
  onLaunched?: () => Promise<void>;
}
