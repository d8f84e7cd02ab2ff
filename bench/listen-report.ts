// The listen benchmark's markdown: latency beside the 5-minute scheduler, the burst, the listener's cost.
import type { LatencyFigures, ListenBenchReport } from './listen.js';

const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
const triple = (t: LatencyFigures['queueToLaunchMs']) => `${s(t.p50)} / ${s(t.p95)} / ${s(t.max)}`;

function latencyRow(name: string, f: LatencyFigures): string {
  return `| ${name} | ${f.jobs} | ${f.launched} | ${f.launchCalls} | ${triple(f.queueToLaunchMs)} | ${triple(f.queueToOnlineMs)} |`;
}

export function renderListenMarkdown(report: ListenBenchReport, command: string, when: Date): string {
  const { settings, trickle, burst, cost } = report;
  const l = settings.latency;
  const every = settings.trickleEveryMs / 1000;
  const during = Math.round(settings.trickleForMs / 1000);
  const goal = trickle.listener.queueToLaunchMs.p95;
  const first = burst.firstLaunchAfterQueueMs;
  const per = (record: Record<string, number>, digits = 0) =>
    Object.entries(record)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v.toFixed(digits)}`)
      .join(', ') || 'none';
  return [
    `## listen: a runner for a queued job within seconds`,
    '',
    `Run ${when.toISOString()} with \`${command}\`. Emulated latency per answer: GitHub ${l.github} ms, EC2 ${l.ec2} ms, ` +
      `SSM ${l.ssm} ms; real API budgets; boot ${s(settings.bootDelayMs)} + runner start ${s(settings.runnerStartMs)} ` +
      `(emulated); long polls held 50 s. The scheduler runs a reconcile every ${settings.cronMs / 60_000} minutes; ` +
      `the arrivals start ${s(settings.cronPhaseMs)} after a tick (its average wait; GitHub's own cron delays are not modelled).`,
    '',
    `Trickle: a job every ${every} s for ${during} s. Burst: ${settings.burst} jobs at once. Job i is counted as served by ` +
      'the i-th instance launched and the i-th runner online.',
    '',
    '| run | jobs | instances launched | launch calls | queue → launch call p50 / p95 / max | queue → runner online p50 / p95 / max |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    latencyRow('trickle, listener', trickle.listener),
    latencyRow('trickle, 5-minute scheduler', trickle.scheduler),
    latencyRow(`burst of ${settings.burst}, listener`, burst.listener),
    '',
    `Goals: p95 queue → launch ≤ 2 s for the trickle: ${s(goal)} (${goal !== undefined && goal <= 2000 ? 'met' : 'missed'}); ` +
      `the burst's launch call within 2 s of its assignment messages: first call ${s(first)} after the jobs were queued, ` +
      `${burst.listener.launchCalls} launch call(s) (${first !== undefined && first <= 2000 ? 'met' : 'missed'}); ` +
      `launches = demand: ${trickle.listener.launched}/${trickle.listener.jobs} (trickle), ${burst.listener.launched}/${burst.listener.jobs} (burst).`,
    '',
    `The listener's cost, measured idle for ${Math.round(cost.idleMs / 1000)} s and extrapolated: per idle hour ${per(cost.perIdleHour)}; ` +
      `GitHub REST points per idle hour ${cost.githubPointsPerIdleHour}. Per job (10 at once, less the idle rate): ${per(cost.perJob, 1)}.`,
    '',
  ].join('\n');
}
