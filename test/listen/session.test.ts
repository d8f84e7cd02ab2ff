// One scale set's session loop with a fake protocol client: ack first, JobAvailable acquired, conflicts waited
// out, lost sessions and deleted scale sets created again, transient failures retried, and on stop the
// session deleted. Waits are a few milliseconds here (the production ones are seconds).
import { describe, expect, it } from 'vitest';
import {
  ActionsServiceError,
  ScaleSetNotFoundError,
  SessionConflictError,
  SessionGoneError,
} from '../../src/github/scaleset/errors.js';
import type {
  ScaleSetClient,
  ScaleSetMessage,
  ScaleSetSession,
  ScaleSetStatistics,
} from '../../src/github/scaleset/types.js';
import type { ScaleSetBackend } from '../../src/listen/backend.js';
import { listenToPool, type SessionEvents } from '../../src/listen/session.js';
import { createRecordingLog } from '../github/fake-log.js';
import { pool } from '../engine/fixtures.js';

const POOL = pool({ max: 7, scaleSet: { name: 'ci-linux' } });
const RETRY = { minMs: 1, maxMs: 5, conflictMaxMs: 2, stopMs: 100 };

const stats = (assigned: number): ScaleSetStatistics => ({
  totalAvailableJobs: 0,
  totalAcquiredJobs: assigned,
  totalAssignedJobs: assigned,
  totalRunningJobs: 0,
  totalRegisteredRunners: 0,
  totalBusyRunners: 0,
  totalIdleRunners: 0,
});

type Step = ScaleSetMessage | undefined | Error;

/** A client whose queue answers `steps` in order (then holds until aborted), recording every call. */
function fakeClient(options: { creates?: Error[]; steps?: Step[]; acks?: Error[] } = {}) {
  const calls: string[] = [];
  const creates = [...(options.creates ?? [])];
  const steps = [...(options.steps ?? [])];
  const acks = [...(options.acks ?? [])];
  let sessions = 0;
  const client = {
    async createSession(scaleSetId: number) {
      calls.push(`create ${scaleSetId}`);
      const failure = creates.shift();
      if (failure) throw failure;
      sessions += 1;
      return { sessionId: `s${sessions}`, scaleSetId, ownerName: 'test', statistics: stats(sessions) };
    },
    async getMessage(
      session: ScaleSetSession,
      lastMessageId: number,
      max: number,
      o?: { signal?: AbortSignal },
    ) {
      calls.push(`get ${session.sessionId} after ${lastMessageId} max ${max}`);
      if (steps.length === 0) {
        return new Promise<undefined>((_, reject) =>
          o?.signal?.addEventListener('abort', () => reject(o.signal?.reason)),
        );
      }
      const step = steps.shift();
      if (step instanceof Error) throw step;
      return step;
    },
    async deleteMessage(session: ScaleSetSession, id: number) {
      calls.push(`ack ${id}`);
      const failure = acks.shift();
      if (failure) throw failure;
    },
    async acquireJobs(_session: ScaleSetSession, ids: number[]) {
      calls.push(`acquire ${ids.join(',')}`);
      return ids;
    },
    async deleteSession(session: ScaleSetSession) {
      calls.push(`delete ${session.sessionId}`);
      return 'deleted' as const;
    },
  };
  return { client: client as unknown as ScaleSetClient, calls };
}

function fakeBackend() {
  let id = 7;
  const ensured: number[] = [];
  const backend = {
    async scaleSet() {
      ensured.push(id);
      return {
        id,
        name: 'ci-linux',
        runnerGroupId: 1,
        runnerGroupName: 'Default',
        labels: [],
        disableUpdate: true,
      };
    },
    forget() {
      id += 1;
    },
  };
  return { backend: backend as unknown as ScaleSetBackend, ensured };
}

function recordEvents() {
  const seen: string[] = [];
  const events: SessionEvents = {
    statistics: (_p, s, source) => seen.push(`stats ${source} ${s?.totalAssignedJobs ?? '-'}`),
    jobs: (_p, jobs) => seen.push(`jobs ${jobs.map((j) => j.messageType).join(',')}`),
    session: (_p, held) => seen.push(held ? 'held' : 'lost'),
    error: (_p, kind) => seen.push(`error ${kind}`),
  };
  return { events, seen };
}

const message = (id: number, assigned: number, jobs: ScaleSetMessage['jobs'] = []): ScaleSetMessage => ({
  messageId: id,
  messageType: 'RunnerScaleSetJobMessages',
  statistics: stats(assigned),
  jobs,
  ignoredTypes: [],
});

const available = (runnerRequestId: number) =>
  ({
    messageType: 'JobAvailable',
    runnerRequestId,
    acquireJobUrl: '',
  }) as unknown as ScaleSetMessage['jobs'][number];

/** Runs the loop until `done` holds, then stops it. */
async function runUntil(fake: ReturnType<typeof fakeClient>, done: () => boolean, backend = fakeBackend()) {
  const { events, seen } = recordEvents();
  const stop = new AbortController();
  const loop = listenToPool(
    {
      client: fake.client,
      backend: backend.backend,
      pool: POOL,
      ownerName: 'test',
      log: createRecordingLog(),
      retry: RETRY,
      events,
    },
    stop.signal,
  );
  const started = Date.now();
  while (!done() && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 2));
  stop.abort('SIGTERM');
  await loop;
  return { seen, ensured: backend.ensured };
}

describe('the session loop', () => {
  it('acknowledges first, acquires JobAvailable, hands on jobs and statistics, polls with the max', async () => {
    const fake = fakeClient({ steps: [undefined, message(100, 2, [available(11), available(12)])] });
    const { seen } = await runUntil(fake, () => fake.calls.some((c) => c.startsWith('get s1 after 100')));
    expect(fake.calls).toEqual([
      'create 7',
      'get s1 after 0 max 7',
      'get s1 after 0 max 7',
      'ack 100',
      'acquire 11,12',
      'get s1 after 100 max 7',
      'delete s1',
    ]);
    expect(seen).toEqual([
      'held',
      'stats session 1',
      'stats idle -',
      'jobs JobAvailable,JobAvailable',
      'stats message 2',
      'lost',
    ]);
  });

  it('waits out a session conflict, then listens', async () => {
    const conflict = new SessionConflictError({ method: 'POST', path: '/sessions', status: 409 });
    const fake = fakeClient({ creates: [conflict, conflict, conflict] });
    const { seen } = await runUntil(fake, () => fake.calls.includes('get s1 after 0 max 7'));
    expect(fake.calls.filter((c) => c.startsWith('create'))).toHaveLength(4);
    expect(seen.filter((s) => s === 'error session-conflict')).toHaveLength(3);
  });

  it('creates a new session when the service evicted the old one', async () => {
    const gone = new SessionGoneError({ method: 'PATCH', path: '/sessions/s1', status: 404 });
    const fake = fakeClient({ steps: [message(100, 1), gone] });
    const { seen } = await runUntil(fake, () => fake.calls.includes('get s2 after 0 max 7'));
    expect(seen).toContain('error session-gone');
    expect(seen.filter((s) => s === 'held')).toHaveLength(2);
    // The old session is not deleted (it is gone); the new one is, on stop.
    expect(fake.calls.filter((c) => c.startsWith('delete'))).toEqual(['delete s2']);
  });

  it('ensures the scale set again when GitHub deleted it', async () => {
    const notFound = new ScaleSetNotFoundError({ method: 'POST', path: '/sessions', status: 404 });
    const fake = fakeClient({ creates: [notFound] });
    const { ensured } = await runUntil(fake, () => fake.calls.includes('get s1 after 0 max 7'));
    expect(fake.calls.slice(0, 2)).toEqual(['create 7', 'create 8']);
    expect(ensured).toEqual([7, 8]);
  });

  it('retries transient failures of the queue with the same session, and never exits on them', async () => {
    const storm = () =>
      new ActionsServiceError({ method: 'GET', path: '/messages', status: 503, transient: true });
    const fake = fakeClient({ steps: [storm(), storm(), storm(), storm(), storm(), message(100, 1)] });
    const { seen } = await runUntil(fake, () => fake.calls.includes('get s1 after 100 max 7'));
    expect(seen.filter((s) => s === 'error HTTP 503')).toHaveLength(5);
    expect(fake.calls.filter((c) => c.startsWith('create'))).toHaveLength(1);
  });

  it('a failed acknowledgement that breaks the session leads to a new one', async () => {
    const gone = new SessionGoneError({ method: 'DELETE', path: '/messages/100', status: 404 });
    const fake = fakeClient({ steps: [message(100, 1)], acks: [gone] });
    await runUntil(fake, () => fake.calls.some((c) => c.startsWith('get s2')));
    expect(fake.calls.slice(0, 4)).toEqual(['create 7', 'get s1 after 0 max 7', 'ack 100', 'create 7']);
  });
});
