// A stand-in for GitHub and AWS that records every request and answers 400 (which neither the Octokit nor
// the AWS SDK retries): an empty record proves a run made no API call.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

export interface RecordingServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The environment the runner gives a step whose workspace is `dir`, with GitHub and AWS pointed at
 * `endpoint`; creates the empty summary and output files it names.
 */
export function stepEnvironment(dir: string, endpoint: string): Record<string, string> {
  writeFileSync(path.join(dir, 'summary.md'), '');
  writeFileSync(path.join(dir, 'output'), '');
  return {
    GITHUB_WORKSPACE: dir,
    GITHUB_API_URL: endpoint,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md'),
    GITHUB_OUTPUT: path.join(dir, 'output'),
  };
}
