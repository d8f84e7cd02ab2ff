// Event payloads the scenarios start runs with, as GitHub delivers them.

export interface QueuedJobRef {
  id: number;
  runId: number;
  labels: string[];
  repository: string;
  name?: string;
}

/** `workflow_job` queued webhook payloads forwarded as one repository_dispatch (`{ events: [...] }`). */
export function dispatchEvent(jobs: QueuedJobRef[]) {
  return {
    name: 'repository_dispatch',
    payload: {
      action: 'workflow_job',
      client_payload: {
        events: jobs.map((job) => ({
          action: 'queued',
          workflow_job: {
            id: job.id,
            run_id: job.runId,
            labels: job.labels,
            status: 'queued',
            ...(job.name ? { name: job.name } : {}),
          },
          repository: { full_name: job.repository },
        })),
      },
    },
  };
}
