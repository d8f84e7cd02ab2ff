// The summary's status line and alert blocks: for every kind of trouble, what happened, why, what was held back
// because of it, and the fix (a link to the README's Troubleshooting row).
import { describeShortage } from './shortage.js';
import { alert, code, plainError, some } from './markdown.js';
import { troubleForFailure, troubleshootingLink, type Trouble } from './troubleshooting.js';
import type { Outcome, Plan } from '../types.js';

export type Status = 'ok' | 'warnings' | 'failed';

/** Something the run reports besides the plan and its outcomes: a pools file warning, metrics not published. */
export interface Notice {
  level: 'caution' | 'warning';
  what: string;
  why?: string;
  heldBack?: string;
  fix: string;
  trouble: Trouble;
}

/** An alert block: the plan's and outcomes' own troubles take the shape of a notice. */
type Block = Notice;

const ACTION_WORDS: Record<string, string> = {
  launch: 'launch',
  register: 'runner registration',
  unregister: 'unregister',
  remove: 'removal',
  terminate: 'termination',
  'delete-parameter': 'parameter deletion',
  record: 'coordination record',
  breaker: 'boot-failure breaker',
};

function heldBackBy(action: string, count: number): string {
  switch (action) {
    case 'launch':
      return 'the queued jobs these runners were for wait: the next run retries the shortfall';
    case 'register':
      return 'the new instances got no runner config: they were taken back, or leave at bootTimeout';
    case 'unregister':
    case 'remove':
      return `${count} runner(s) and their instances stay until the next run`;
    case 'terminate':
      return `${count} instance(s) keep running (and cost) until the next run retries`;
    case 'delete-parameter':
      return 'the parameters stay until the next run';
    case 'record':
      return 'the next run may count these launches only once EC2 lists them';
    case 'breaker':
      return 'launches into the pool stop until the breaker closes';
    default:
      return 'the next run retries';
  }
}

/** One block per kind of failure (action and error code), its targets named. */
function failureBlocks(outcomes: Outcome[]): Block[] {
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes.filter((x) => x.status === 'failed')) {
    const key = `${o.action}\u0000${o.code ?? 'failed'}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Outcome;
    const errorCode = first.code ?? 'failed';
    const { trouble, fix } = troubleForFailure(first.action, errorCode);
    const word = ACTION_WORDS[first.action] ?? first.action;
    const capacity = first.shortage ? ` (${describeShortage(first.shortage)})` : '';
    return {
      level: 'caution',
      what: `${group.length} ${word}(s) failed with ${code(errorCode)}: ${some(group.map((o) => code(o.target)))}`,
      why: `${first.reason}${first.detail ? `: ${plainError(first.detail).slice(0, 300)}` : ''}${capacity}`,
      heldBack: heldBackBy(first.action, group.length),
      fix,
      trouble,
    };
  });
}

function readTrouble(error: string): Trouble {
  if (/CredentialsProviderError/.test(error)) return 'awsCredentials';
  if (/HTTP 40[13]/.test(error)) return 'githubPermissions';
  if (/Unauthorized|AccessDenied/.test(error)) return 'awsDenied';
  return 'readFailed';
}

function readBlocks(plan: Plan): Block[] {
  const kept = (reason: string) => plan.pools.flatMap((p) => p.kept ?? []).filter((g) => g.reason === reason);
  const count = (reason: string) => kept(reason).reduce((n, g) => n + g.count, 0);
  const gaps = plan.demandGaps ?? [];
  const reads = (plan.unread ?? []).filter((r) => r.what !== 'jobs' || gaps.length === 0);
  const launchBlocked = reads.some((r) => r.what === 'instances' || r.what === 'runners');
  const blocks: Block[] = reads.map((read) => ({
    level: 'caution',
    what: `the ${read.what} read failed`,
    why: plainError(read.error).slice(0, 300),
    heldBack: [
      ...(read.what === 'jobs' ? ['idle runners kept: the demand is not known'] : []),
      ...(read.what !== 'jobs' ? [`nothing removed (${count('read-failed')} kept)`] : []),
      ...(launchBlocked && read.what !== 'jobs' ? ['nothing launched'] : []),
    ].join('; '),
    fix: 'the run keeps everything it could not see; fix the access, and the next run catches up',
    trouble: readTrouble(read.error),
  }));
  for (const gap of gaps) {
    const pools = plan.pools.filter((p) => p.demandKnown === false).map((p) => p.pool);
    const badRepository = gap.status === 404 || gap.status === 403;
    blocks.push({
      level: 'caution',
      what: `the queued jobs of ${code(gap.repository)} could not be read${gap.status ? ` (HTTP ${gap.status})` : ''}`,
      why: plainError(gap.error).slice(0, 300),
      heldBack: pools.length
        ? `the demand of ${some(pools.map(code))} is not known: their idle runners are kept (${count('demand-unknown')} now)`
        : 'launches for that repository wait for a run that reads it',
      fix: badRepository
        ? "renamed, deleted, or the GitHub App is not installed there: fix or remove it in the pools' repositories"
        : 'the next run reads it again',
      trouble: badRepository ? 'repository' : 'readFailed',
    });
  }
  return blocks;
}

function problemBlocks(plan: Plan): Block[] {
  return plan.problems.map((problem): Block => {
    if (/held the coordination lease/.test(problem))
      return {
        level: 'caution',
        what: problem,
        heldBack: 'nothing launched by this run',
        fix: 'usually nothing: the holder or the next run serves the demand; if it repeats, look for a run that hangs',
        trouble: 'lease',
      };
    if (/coordination store is unavailable/.test(problem))
      return {
        level: 'caution',
        what: problem,
        heldBack: 'launches capped at a quarter of max per pool',
        fix: 'check the table, its region and the role’s DynamoDB permissions',
        trouble: 'store',
      };
    if (/launches stopped until/.test(problem))
      return {
        level: 'caution',
        what: problem,
        heldBack: 'no launches into the pool until then',
        fix: "read an instance's console output; change the pool's settings to resume",
        trouble: 'breaker',
      };
    return { level: 'caution', what: problem, fix: 'see the job log', trouble: 'failedItems' };
  });
}

function warningBlocks(plan: Plan, outcomes: Outcome[]): Block[] {
  const blocks: Block[] = outcomes
    .filter((o) => o.status === 'warning')
    .map((o) => ({
      level: 'warning',
      what: `pool ${code(o.pool ?? o.target)}: ${o.count ?? '?'} instance(s) not launched, short of EC2 capacity`,
      why: o.shortage ? describeShortage(o.shortage) : (o.detail ?? o.reason),
      heldBack: 'the runners wait for the next run, which retries the shortfall',
      fix: 'add instance types or subnets, or use spot-with-fallback; it fails only if it lasts capacityTimeout with no option left',
      trouble: 'capacity',
    }));
  const flagged = plan.flagged ?? [];
  const outdated = flagged.filter((f) => f.kind === 'runner-outdated');
  if (outdated.length) {
    blocks.push({
      level: 'warning',
      what: `${outdated.length} instance(s) ran a runner too old to start: ${some(outdated.map((f) => code(f.instanceId)))}`,
      why: 'the runner exited with "this runner version is deprecated": GitHub sends such a runner no job',
      heldBack: 'their pools serve no job from these instances; they leave at bootTimeout',
      fix: 'build the AMI with a current runner (npm run runner-version, examples/ami)',
      trouble: 'runnerOutdated',
    });
  }
  const interrupted = flagged.filter((f) => f.kind === 'spot-interruption');
  if (interrupted.length) {
    blocks.push({
      level: 'warning',
      what: `${interrupted.length} spot instance(s) announced an interruption: ${some(interrupted.map((f) => `${code(f.instanceId)} (${f.value})`))}`,
      why: 'EC2 takes spot capacity back with two minutes’ notice: a job running there is cancelled',
      fix: 'use on-demand (or spot-with-fallback) for jobs that must not be interrupted',
      trouble: 'spotInterruption',
    });
  }
  return [...blocks, ...demandWarnings(plan)];
}

function demandWarnings(plan: Plan): Block[] {
  const blocks: Block[] = [];
  const unserved = plan.unserved ?? [];
  if (unserved.length) {
    const labelSets = [...new Set(unserved.map((j) => `[${j.labels.join(', ')}]`))];
    blocks.push({
      level: 'warning',
      what: `${unserved.length} queued job(s) match no pool (listed below)`,
      why: `they ask for ${some(labelSets.map(code), 3)}`,
      heldBack: 'they wait: no runner of this deployment can take them',
      fix: "add a pool with these labels, or fix the jobs' runs-on",
      trouble: 'unserved',
    });
  }
  for (const p of plan.pools.filter((x) => (x.heldByMax ?? 0) > 0)) {
    blocks.push({
      level: 'warning',
      what: `pool ${code(p.pool)}: ${p.heldByMax} more runner(s) wanted, but max ${p.max ?? '?'} reached`,
      heldBack: 'queued jobs wait until runners of the pool free up',
      fix: 'raise max if the account’s limits allow',
      trouble: 'maxReached',
    });
  }
  return blocks;
}

export function runStatus(plan: Plan, outcomes: Outcome[], notices: Notice[]): Status {
  const failed =
    outcomes.some((o) => o.status === 'failed') ||
    (plan.unread ?? []).length > 0 ||
    (plan.demandGaps ?? []).length > 0 ||
    plan.problems.length > 0 ||
    notices.some((n) => n.level === 'caution');
  if (failed) return 'failed';
  const warned =
    outcomes.some((o) => o.status === 'warning') ||
    notices.length > 0 ||
    (plan.flagged ?? []).length > 0 ||
    (plan.unserved ?? []).length > 0 ||
    plan.pools.some((p) => (p.heldByMax ?? 0) > 0);
  return warned ? 'warnings' : 'ok';
}

/** At most this many blocks; the rest are counted (each kind is one block, so this is rarely reached). */
const MAX_BLOCKS = 12;

export function alertBlocks(plan: Plan, outcomes: Outcome[], notices: Notice[], docsUrl?: string): string[] {
  const blocks: Block[] = [
    ...failureBlocks(outcomes),
    ...readBlocks(plan),
    ...problemBlocks(plan),
    ...notices.filter((n) => n.level === 'caution'),
    ...warningBlocks(plan, outcomes),
    ...notices.filter((n) => n.level === 'warning'),
  ];
  const lines = blocks
    .slice(0, MAX_BLOCKS)
    .flatMap((b) =>
      alert(b.level === 'caution' ? 'CAUTION' : 'WARNING', [
        `**${b.what}**`,
        ...(b.why ? [`**Why:** ${b.why}`] : []),
        ...(b.heldBack ? [`**Held back:** ${b.heldBack}`] : []),
        `**Fix:** ${b.fix} (${troubleshootingLink(docsUrl, b.trouble)})`,
      ]),
    );
  const more =
    blocks.length > MAX_BLOCKS ? [`… and ${blocks.length - MAX_BLOCKS} more (see the tables below)`, ''] : [];
  return [...lines, ...more];
}
