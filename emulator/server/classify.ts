// The router by service: AWS requests are `POST /`; SSM and DynamoDB name their operation in `x-amz-target`, EC2 in
// the form body's `Action`. Everything else is GitHub REST.
import type { IncomingMessage } from 'node:http';
import type { EmulatorRequest } from '../context.js';
import type { GitHubService } from '../github/index.js';
import { cloudWatchAction } from '../cloudwatch/index.js';
import { dynamoDbAction } from '../dynamodb/index.js';
import { parseJson, regionOf } from './http.js';

export function classify(
  req: IncomingMessage,
  url: URL,
  body: string,
  defaultRegion: string,
  github: GitHubService,
): EmulatorRequest {
  const method = req.method ?? 'GET';
  const base = {
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    region: regionOf(req.headers.authorization, defaultRegion),
    body,
    form: new URLSearchParams(),
    json: undefined as unknown,
    pathParams: {} as Record<string, string>,
  };
  if (method === 'POST' && url.pathname === '/') {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AmazonSSM.')) {
      return { ...base, service: 'ssm', action: target.slice('AmazonSSM.'.length), json: parseJson(body) };
    }
    const dynamodb = dynamoDbAction(target);
    if (dynamodb !== undefined)
      return { ...base, service: 'dynamodb', action: dynamodb, json: parseJson(body) };
    const cloudwatch = cloudWatchAction(target);
    if (cloudwatch !== undefined)
      return { ...base, service: 'cloudwatch', action: cloudwatch, json: parseJson(body) };
    const form = new URLSearchParams(body);
    return { ...base, service: 'ec2', action: form.get('Action') ?? '', form };
  }
  const route = github.route(method, url.pathname);
  return {
    ...base,
    service: 'github',
    action: route?.action ?? `${method} ${url.pathname}`,
    json: parseJson(body),
    pathParams: route?.params ?? {},
  };
}
