import type { GitHubLog } from '../../src/github/client.js';

/** A GitHubLog that records what it was told. */
export interface RecordingLog extends GitHubLog {
  infos: string[];
  warnings: string[];
  debugs: string[];
  secrets: string[];
  /** Every line written to the log (not the masked secrets). */
  lines(): string[];
}

export function createRecordingLog(): RecordingLog {
  const infos: string[] = [];
  const warnings: string[] = [];
  const debugs: string[] = [];
  const secrets: string[] = [];
  return {
    infos,
    warnings,
    debugs,
    secrets,
    info: (message) => void infos.push(message),
    warning: (message) => void warnings.push(message),
    debug: (message) => void debugs.push(message),
    setSecret: (secret) => void secrets.push(secret),
    lines: () => [...infos, ...warnings, ...debugs],
  };
}
