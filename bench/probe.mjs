// Preloaded into the action process by the benchmark (NODE_OPTIONS=--import=<this file>): records the
// process's peak resident set size just before it exits. Plain JavaScript: the action runs without tsx.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const out = process.env.BENCH_PROBE_FILE;
const loadedAtMs = process.uptime() * 1000;

function peakFromProc() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

if (out) {
  process.on('exit', (code) => {
    writeFileSync(
      out,
      JSON.stringify({
        // /proc's high-water mark where there is one; getrusage's maxrss (also kB) everywhere.
        vmHwmKb: peakFromProc(),
        maxRssKb: process.resourceUsage().maxRSS,
        // When the process began (ms since the epoch), for the cold start measured to the first request.
        startedAtMs: performance.timeOrigin,
        probeLoadedAtMs: loadedAtMs,
        exitAtMs: process.uptime() * 1000,
        exitCode: code,
      }),
    );
  });
}
