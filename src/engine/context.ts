// What apply and its parts act through: the gateways, the config, the job log, and a clock for the age of
// the evidence a removal acts on.
import type { Config, Gateways, Log } from '../types.js';

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
