import { describe, expect, it } from 'vitest';
import { parseDemandEvent } from '../../src/github/events.js';

function jobPayload(
  overrides: { action?: string; id?: number; labels?: unknown; name?: string | null } = {},
): Record<string, unknown> {
  return {
    action: overrides.action ?? 'queued',
    workflow_job: {
      id: overrides.id ?? 101,
      run_id: 7,
      status: overrides.action === undefined || overrides.action === 'queued' ? 'queued' : 'completed',
      labels: overrides.labels ?? ['self-hosted', 'linux'],
      ...(overrides.name === undefined ? { name: 'build' } : { name: overrides.name }),
      steps: [],
    },
    repository: { full_name: 'acme/app', id: 1 },
    sender: { login: 'someone' },
  };
}

function dispatch(clientPayload: unknown): Record<string, unknown> {
  return { action: 'runner-demand', branch: 'main', client_payload: clientPayload };
}

const job101 = { id: 101, runId: 7, repository: 'acme/app', labels: ['self-hosted', 'linux'], name: 'build' };

describe('parseDemandEvent', () => {
  it.each([
    ['repository_dispatch with one payload', 'repository_dispatch', dispatch(jobPayload()), [job101]],
    [
      'repository_dispatch with a list',
      'repository_dispatch',
      dispatch({ events: [jobPayload(), jobPayload({ id: 102, labels: ['gpu'] })] }),
      [job101, { ...job101, id: 102, labels: ['gpu'] }],
    ],
    [
      'non-queued entries are ignored',
      'repository_dispatch',
      dispatch({
        events: [
          jobPayload({ action: 'completed', id: 1 }),
          jobPayload(),
          jobPayload({ action: 'in_progress' }),
        ],
      }),
      [job101],
    ],
    [
      'a job listed twice counts once',
      'repository_dispatch',
      dispatch({ events: [jobPayload(), jobPayload()] }),
      [job101],
    ],
    [
      'ignored entries are not validated beyond their action',
      'repository_dispatch',
      dispatch({ events: [{ action: 'completed' }] }),
      [],
    ],
    ['an empty list', 'repository_dispatch', dispatch({ events: [] }), []],
    ['a single non-queued payload', 'repository_dispatch', dispatch(jobPayload({ action: 'completed' })), []],
    [
      'a job without a name',
      'repository_dispatch',
      dispatch(jobPayload({ name: null })),
      [{ id: 101, runId: 7, repository: 'acme/app', labels: ['self-hosted', 'linux'] }],
    ],
    ['workflow_job payload given directly', 'workflow_job', jobPayload(), [job101]],
    ['workflow_job payload not queued', 'workflow_job', jobPayload({ action: 'completed' }), []],
  ])('%s', (_title, eventName, payload, jobs) => {
    expect(parseDemandEvent(eventName, payload)).toEqual({ kind: 'jobs', jobs });
  });

  it.each(['requested', 'in_progress'])('workflow_run %s → the run', (action) => {
    const payload = { action, workflow_run: { id: 555, name: 'ci' }, repository: { full_name: 'acme/app' } };
    expect(parseDemandEvent('workflow_run', payload)).toEqual({
      kind: 'run',
      repository: 'acme/app',
      runId: 555,
    });
  });

  it.each([
    ['workflow_run completed', 'workflow_run', { action: 'completed', workflow_run: {}, repository: {} }],
    ['schedule', 'schedule', { schedule: '*/5 * * * *' }],
    ['workflow_dispatch', 'workflow_dispatch', { inputs: {} }],
    ['push', 'push', { ref: 'refs/heads/main' }],
  ])('%s → none', (_title, eventName, payload) => {
    expect(parseDemandEvent(eventName, payload)).toEqual({ kind: 'none' });
  });

  it.each([
    [
      'labels of the fourth listed event',
      'repository_dispatch',
      dispatch({
        events: [jobPayload(), jobPayload({ id: 2 }), jobPayload({ id: 3 }), jobPayload({ labels: 'linux' })],
      }),
      'repository_dispatch event: client_payload.events[3].workflow_job.labels is "linux"; expected array',
    ],
    [
      'one label that is not a string',
      'repository_dispatch',
      dispatch(jobPayload({ labels: ['linux', 42] })),
      'repository_dispatch event: client_payload.workflow_job.labels[1] is 42; expected string',
    ],
    [
      'a missing job id',
      'workflow_job',
      { ...jobPayload(), workflow_job: { run_id: 7, status: 'queued', labels: [] } },
      'workflow_job event: workflow_job.id is missing; expected number',
    ],
    [
      'a repository that is not owner/name',
      'repository_dispatch',
      dispatch({ events: [{ ...jobPayload(), repository: { full_name: 'app' } }] }),
      'repository_dispatch event: client_payload.events[0].repository.full_name is "app"; expected "owner/name"',
    ],
    [
      'an entry without an action',
      'repository_dispatch',
      dispatch({ events: ['queued'] }),
      'repository_dispatch event: client_payload.events[0] is "queued"; expected object',
    ],
    [
      'events that is not a list',
      'repository_dispatch',
      dispatch({ events: { a: 1 } }),
      'repository_dispatch event: client_payload.events is {"a":1}; expected array',
    ],
    [
      'client_payload of neither shape',
      'repository_dispatch',
      dispatch({ jobs: [1, 2] }),
      'repository_dispatch event: client_payload is {"jobs":[1,2]}; expected a workflow_job webhook payload',
    ],
    [
      'no client_payload',
      'repository_dispatch',
      { action: 'x' },
      'repository_dispatch event: client_payload is missing; expected object',
    ],
    [
      'workflow_run without a run id',
      'workflow_run',
      { action: 'requested', workflow_run: { id: 'abc' }, repository: { full_name: 'acme/app' } },
      'workflow_run event: workflow_run.id is "abc"; expected number',
    ],
    [
      'a payload that is not an object',
      'workflow_job',
      null,
      'workflow_job event: (payload) is null; expected object',
    ],
  ])('rejects %s, naming the path', (_title, eventName, payload, message) => {
    expect(() => parseDemandEvent(eventName, payload)).toThrow(message);
  });

  it('cuts a long bad value short in the message', () => {
    const labels = 'x'.repeat(500);
    let message = '';
    try {
      parseDemandEvent('repository_dispatch', dispatch(jobPayload({ labels })));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('client_payload.workflow_job.labels is "xxx');
    expect(message).not.toContain('x'.repeat(100));
    expect(message.length).toBeLessThan(200);
  });
});
