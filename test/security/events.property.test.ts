// Property tests of the event payload parser: repository_dispatch client_payload shapes, workflow_run payloads,
// payloads of the wrong event, huge lists and hostile values. Each payload gives demand or an Error that names
// the event, the path in the payload, the bad value and what is expected — never a TypeError or RangeError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDemandEvent, type DemandEvent } from '../../src/github/events.js';
import type { QueuedJob } from '../../src/types.js';
import { isCrash, junk, ownProperties, pathsOf, prototypeSnapshot, replaceAt } from './arbitraries.js';

type Path = (string | number)[];

const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const repository = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}\/[A-Za-z0-9_.-]{1,20}$/);
const jobAction = fc.constantFrom('queued', 'queued', 'in_progress', 'completed', 'waiting');

const workflowJob = fc.record({
  action: jobAction,
  workflow_job: fc.record(
    {
      id,
      run_id: id,
      labels: fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 6 }),
      status: fc.constantFrom('queued', 'in_progress', 'completed'),
      name: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
      steps: fc.constant([]),
    },
    { requiredKeys: ['id', 'run_id', 'labels', 'status'] },
  ),
  repository: fc.record({ full_name: repository, id }),
  sender: fc.constant({ login: 'someone' }),
});

const dispatch = fc.oneof(
  workflowJob.map((payload) => ({ action: 'runner-demand', client_payload: payload })),
  fc
    .array(workflowJob, { maxLength: 8 })
    .map((events) => ({ action: 'runner-demand', client_payload: { events } })),
);

const workflowRun = fc.record({
  action: fc.constantFrom('requested', 'in_progress', 'completed'),
  workflow_run: fc.record({ id, name: fc.string({ maxLength: 10 }), status: fc.constant('queued') }),
  repository: fc.record({ full_name: repository }),
});

/** The jobs a dispatch payload announces, by id (the last one wins, as in the parser). */
function expectedJobs(payload: { client_payload: unknown }): QueuedJob[] {
  const client = payload.client_payload as Record<string, unknown>;
  const entries = (Object.hasOwn(client, 'events') ? client.events : [client]) as Record<string, unknown>[];
  const byId = new Map<number, QueuedJob>();
  for (const entry of entries) {
    if (entry.action !== 'queued') continue;
    const job = entry.workflow_job as { id: number; run_id: number; labels: string[]; name?: string | null };
    const repo = (entry.repository as { full_name: string }).full_name;
    byId.set(job.id, {
      id: job.id,
      runId: job.run_id,
      repository: repo,
      labels: job.labels,
      ...(job.name == null ? {} : { name: job.name }),
    });
  }
  return [...byId.values()];
}

function parse(eventName: string, payload: unknown): { event: DemandEvent } | { error: unknown } {
  try {
    return { event: parseDemandEvent(eventName, payload) };
  } catch (error) {
    return { error };
  }
}

/** The parser's way of writing a path: `client_payload.events[3].workflow_job.labels`. */
function formatPath(path: Path): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(key)}]`;
  }
  return text === '' ? '(payload)' : text;
}

/** A plain Error naming the event, a path at or below `path`, and what was expected. */
function expectClearError(error: unknown, eventName: string, path: Path): void {
  if (isCrash(error) || (error as Error).name !== 'Error') throw error;
  const message = (error as Error).message;
  expect(message.startsWith(`${eventName} event: `), message).toBe(true);
  const named = message.slice(`${eventName} event: `.length);
  const prefix = formatPath(path);
  if (prefix !== '(payload)') {
    expect(
      named.startsWith(prefix) || (path.length === 0 && named.startsWith('(payload)')),
      `expected a path under ${prefix}: ${message}`,
    ).toBe(true);
  }
  // `s`: a shown value may hold U+2028/U+2029, which JSON.stringify leaves as they are.
  expect(message).toMatch(/ is .*; .*expected/s);
}

/** Every accepted job is well formed: a mutation never smuggles a bad value into the demand. */
function expectSaneJobs(event: DemandEvent): void {
  if (event.kind === 'run') {
    expect(Number.isSafeInteger(event.runId) && event.runId > 0).toBe(true);
    expect(event.repository).toMatch(/^[^/\s]+\/[^/\s]+$/);
  }
  if (event.kind !== 'jobs') return;
  const ids = new Set<number>();
  for (const job of event.jobs) {
    expect(Number.isSafeInteger(job.id) && job.id > 0).toBe(true);
    expect(Number.isSafeInteger(job.runId) && job.runId > 0).toBe(true);
    expect(job.repository).toMatch(/^[^/\s]+\/[^/\s]+$/);
    expect(Array.isArray(job.labels) && job.labels.every((l) => typeof l === 'string')).toBe(true);
    expect(ids.has(job.id)).toBe(false);
    ids.add(job.id);
  }
}

describe('event payloads', () => {
  it('well-formed repository_dispatch payloads give exactly their queued jobs', () => {
    fc.assert(
      fc.property(dispatch, (payload) => {
        const result = parse('repository_dispatch', payload);
        if ('error' in result) throw result.error;
        expect(result.event).toEqual({ kind: 'jobs', jobs: expectedJobs(payload) });
      }),
      { numRuns: 200 },
    );
  });

  it('junk anywhere in a repository_dispatch payload gives sane demand or names the path', () => {
    fc.assert(
      fc.property(
        dispatch.chain((payload) => fc.tuple(fc.constant(payload), fc.constantFrom(...pathsOf(payload)))),
        junk,
        ([payload, path], value) => {
          const before = prototypeSnapshot();
          const result = parse('repository_dispatch', replaceAt(payload, path, value));
          expect(prototypeSnapshot()).toBe(before);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          if ('event' in result) expectSaneJobs(result.event);
          else expectClearError(result.error, 'repository_dispatch', path);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('junk anywhere in a workflow_run payload gives the run, nothing, or names the path', () => {
    fc.assert(
      fc.property(
        workflowRun.chain((payload) => fc.tuple(fc.constant(payload), fc.constantFrom(...pathsOf(payload)))),
        junk,
        ([payload, path], value) => {
          const result = parse('workflow_run', replaceAt(payload, path, value));
          if ('event' in result) expectSaneJobs(result.event);
          else expectClearError(result.error, 'workflow_run', path);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a payload of the wrong event is ignored or refused with the event named, never a crash', () => {
    const anyPayload = fc.oneof(dispatch, workflowRun, workflowJob, junk);
    const eventName = fc.oneof(
      fc.constantFrom(
        'repository_dispatch',
        'workflow_run',
        'workflow_job',
        'push',
        'schedule',
        'workflow_dispatch',
        'pull_request_target',
        'WORKFLOW_RUN',
        '',
        '__proto__',
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(eventName, anyPayload, (name, payload) => {
        const result = parse(name, payload);
        if ('event' in result) {
          expectSaneJobs(result.event);
          if (!['repository_dispatch', 'workflow_run', 'workflow_job'].includes(name)) {
            expect(result.event).toEqual({ kind: 'none' });
          }
        } else expectClearError(result.error, name, []);
      }),
      { numRuns: 300 },
    );
  });

  it('a repository_dispatch carrying a workflow_run payload is refused, naming client_payload', () => {
    fc.assert(
      fc.property(workflowRun, (payload) => {
        const result = parse('repository_dispatch', payload);
        expect('error' in result).toBe(true);
        if ('error' in result) expectClearError(result.error, 'repository_dispatch', ['client_payload']);
      }),
      { numRuns: 50 },
    );
  });

  it('a huge list is parsed whole; one bad entry in it is named by its index', () => {
    fc.assert(
      fc.property(
        fc.array(workflowJob, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2_000, max: 5_000 }),
        fc.nat(),
        junk.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
        (templates, size, at, bad) => {
          const events = Array.from({ length: size }, (_, i) => {
            const template = templates[i % templates.length] as { workflow_job: object };
            return { ...template, action: 'queued', workflow_job: { ...template.workflow_job, id: i + 1 } };
          });
          const good = parse('repository_dispatch', { client_payload: { events } });
          expect('event' in good && good.event.kind === 'jobs' && good.event.jobs.length).toBe(size);
          const index = at % size;
          events[index] = bad as never;
          const result = parse('repository_dispatch', { client_payload: { events } });
          expect('error' in result).toBe(true);
          if ('error' in result)
            expectClearError(result.error, 'repository_dispatch', ['client_payload', 'events', index]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('__proto__ keys never turn into demand or pollute the prototype', () => {
    const job = {
      action: 'queued',
      workflow_job: { id: 1, run_id: 2, labels: ['x'], status: 'queued' },
      repository: { full_name: 'a/b' },
    };
    const cases: unknown[] = [
      { client_payload: ownProperties([['__proto__', { events: [job] }]]) },
      { client_payload: ownProperties([['__proto__', job]]) },
      { client_payload: { events: [ownProperties([['__proto__', job]])] } },
      JSON.parse(`{"client_payload": {"__proto__": ${JSON.stringify(job)}}}`),
    ];
    for (const payload of cases) {
      const before = prototypeSnapshot();
      const result = parse('repository_dispatch', payload);
      expect(prototypeSnapshot()).toBe(before);
      expect(({} as Record<string, unknown>).workflow_job).toBeUndefined();
      expect('error' in result, JSON.stringify(result)).toBe(true);
    }
  });

  it('a payload nested 10,000 levels deep is named, not a stack overflow', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    for (const payload of [{ client_payload: { events: [deep] } }, { client_payload: deep }, deep]) {
      const result = parse('repository_dispatch', payload);
      expect('error' in result).toBe(true);
      if ('error' in result) expectClearError(result.error, 'repository_dispatch', []);
    }
  });
});
