// Durations as people write them in the pools file (90s, 10m, 12h).

const MS = { s: 1000, m: 60_000, h: 3_600_000 };

export function formatDuration(ms: number): string {
  if (ms >= MS.h && ms % MS.h === 0) return `${ms / MS.h}h`;
  if (ms >= MS.m && ms % MS.m === 0) return `${ms / MS.m}m`;
  if (ms >= MS.h) return `${(ms / MS.h).toFixed(1)}h`;
  if (ms >= MS.m) return `${Math.floor(ms / MS.m)}m${Math.round((ms % MS.m) / MS.s)}s`;
  return `${Math.round(ms / MS.s)}s`;
}
