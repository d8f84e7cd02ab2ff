// Demand carried by the event that triggered the workflow run (GITHUB_EVENT_PATH's payload). Pure: no I/O.
import { z } from 'zod';
import type { QueuedJob } from '../types.js';

export type DemandEvent =
  | { kind: 'none' }
  /** Queued jobs named by the event; empty when every job in it was in another state. */
  | { kind: 'jobs'; jobs: QueuedJob[] }
  /** A workflow run whose queued jobs are to be listed. */
  | { kind: 'run'; repository: string; runId: number };

type Path = (string | number)[];

const MAX_VALUE_CHARS = 80;

const id = z.number().int().positive();
const repositoryName = z.string().regex(/^[^/\s]+\/[^/\s]+$/, { error: 'expected "owner/name"' });

const actionOnly = z.object({ action: z.string() });

/** The parts of a workflow_job webhook payload the scaler reads. */
const workflowJobPayload = z.object({
  action: z.string(),
  workflow_job: z.object({
    id,
    run_id: id,
    labels: z.array(z.string()),
    status: z.string(),
    name: z.string().nullish(),
    created_at: z.string().nullish(),
  }),
  repository: z.object({ full_name: repositoryName }),
});

const repositoryDispatch = z.object({ client_payload: z.looseObject({}) });
const eventList = z.array(z.unknown());

const workflowRunPayload = z.object({
  workflow_run: z.object({ id }),
  repository: z.object({ full_name: repositoryName }),
});

export function parseDemandEvent(eventName: string, payload: unknown): DemandEvent {
  switch (eventName) {
    case 'repository_dispatch':
      return parseRepositoryDispatch(payload);
    case 'workflow_job': {
      const job = parseJobPayload(eventName, payload, []);
      return { kind: 'jobs', jobs: job ? [job] : [] };
    }
    case 'workflow_run': {
      const { action } = parseAt(eventName, actionOnly, payload, []);
      if (action !== 'requested' && action !== 'in_progress') return { kind: 'none' };
      const run = parseAt(eventName, workflowRunPayload, payload, []);
      return { kind: 'run', repository: run.repository.full_name, runId: run.workflow_run.id };
    }
    default:
      return { kind: 'none' };
  }
}

/**
 * client_payload is one workflow_job webhook payload, or `{ events: [payload, …] }` (client_payload
 * allows only 10 top-level properties, so a batch travels under one key).
 */
function parseRepositoryDispatch(payload: unknown): DemandEvent {
  const eventName = 'repository_dispatch';
  const clientPayload = parseAt(eventName, repositoryDispatch, payload, []).client_payload;
  let jobs: (QueuedJob | undefined)[];
  if ('events' in clientPayload) {
    const entries = parseAt(eventName, eventList, clientPayload.events, ['client_payload', 'events']);
    jobs = entries.map((entry, index) =>
      parseJobPayload(eventName, entry, ['client_payload', 'events', index]),
    );
  } else if ('workflow_job' in clientPayload) {
    jobs = [parseJobPayload(eventName, clientPayload, ['client_payload'])];
  } else {
    throw new Error(
      `${eventName} event: client_payload is ${show(clientPayload)}; expected a workflow_job webhook payload ` +
        '({ action, workflow_job, repository }) or { events: [ such payloads ] }',
    );
  }
  const byId = new Map<number, QueuedJob>();
  for (const job of jobs) if (job) byId.set(job.id, job);
  return { kind: 'jobs', jobs: [...byId.values()] };
}

/** The queued job a workflow_job payload announces; undefined for other actions (completed, in_progress…). */
function parseJobPayload(eventName: string, value: unknown, path: Path): QueuedJob | undefined {
  if (parseAt(eventName, actionOnly, value, path).action !== 'queued') return undefined;
  const { workflow_job: job, repository } = parseAt(eventName, workflowJobPayload, value, path);
  return {
    id: job.id,
    runId: job.run_id,
    repository: repository.full_name,
    labels: job.labels,
    ...(job.name == null ? {} : { name: job.name }),
    ...(job.created_at && !Number.isNaN(Date.parse(job.created_at))
      ? { createdAt: new Date(job.created_at) }
      : {}),
  };
}

function parseAt<T>(eventName: string, schema: z.ZodType<T>, value: unknown, path: Path): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new Error(`${eventName} event: ${formatPath(path)} is invalid`);
  const where = formatPath([
    ...path,
    ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)),
  ]);
  const expectation = issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message;
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more problems)` : '';
  throw new Error(`${eventName} event: ${where} is ${show(issue.input)}; ${expectation}${more}`);
}

/** `client_payload.events[3].workflow_job.labels`; `(payload)` for the root. */
function formatPath(path: Path): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(key)}]`;
  }
  return text === '' ? '(payload)' : text;
}

/** The bad value for an error message, cut to a readable length. */
function show(value: unknown): string {
  if (value === undefined) return 'missing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Nested too deep for JSON.stringify, and for String() of nested arrays.
    text = Array.isArray(value) ? 'a deeply nested list' : `a deeply nested ${typeof value}`;
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}
