// Per service: its budget gate, its handler, and its error shapes for faults and internal failures.
import { randomUUID } from 'node:crypto';
import type { AwsBudget, GitHubBudget } from '../budgets.js';
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import type { CloudWatchService } from '../cloudwatch/index.js';
import type { Ec2Service } from '../ec2/index.js';
import type { FaultError } from '../faults.js';
import type { DynamoDbService } from '../dynamodb/index.js';
import type { GitHubService } from '../github/index.js';
import type { SsmService } from '../ssm/index.js';
import type { Service } from '../state.js';
import { NOT_JSON } from './http.js';

export interface ServiceRoute {
  /** The budget's refusal, if any, and headers every answer of the call carries (GitHub's rate limit). */
  gate(request: EmulatorRequest): { refusal?: EmulatorResponse; headers: Record<string, string> };
  handle(request: EmulatorRequest): EmulatorResponse;
  fault(error: FaultError): EmulatorResponse;
  internalError(): EmulatorResponse;
  /** Headers the service adds to every answer (its request id, GitHub's rate limit). */
  finish(headers: Record<string, string>, gateHeaders: Record<string, string>, fault?: FaultError): void;
}

export interface RouteServices {
  ec2: Ec2Service;
  ssm: SsmService;
  github: GitHubService;
  dynamodb: DynamoDbService;
  cloudwatch: CloudWatchService;
  budgets: { github: GitHubBudget; ec2: AwsBudget | undefined; ssm: AwsBudget | undefined };
}

const awsFinish: ServiceRoute['finish'] = (headers) => {
  headers['x-amzn-requestid'] ??= randomUUID();
};

function ec2Route({ ec2, budgets }: RouteServices): ServiceRoute {
  return {
    gate(request) {
      const allowed = !budgets.ec2 || budgets.ec2.take(request.action, ec2.resourceUnits(request));
      const refusal = allowed
        ? undefined
        : ec2.errorResponse('RequestLimitExceeded', 'Request limit exceeded.', 503);
      return { ...(refusal ? { refusal } : {}), headers: {} };
    },
    handle: (request) => ec2.handle(request),
    fault: (error) => ec2.errorResponse(error.code, error.message, error.status),
    internalError: () => ec2.errorResponse('InternalError', 'An internal error has occurred', 500),
    finish: awsFinish,
  };
}

function ssmRoute({ ssm, budgets }: RouteServices): ServiceRoute {
  return {
    gate(request) {
      const allowed = !budgets.ssm || budgets.ssm.take(request.action);
      const refusal = allowed ? undefined : ssm.errorResponse('ThrottlingException', 'Rate exceeded', 400);
      return { ...(refusal ? { refusal } : {}), headers: {} };
    },
    handle: (request) =>
      request.json === NOT_JSON
        ? ssm.errorResponse('SerializationException', 'Request body is not valid JSON', 400)
        : ssm.handle(request),
    fault: (error) => ssm.errorResponse(error.code, error.message, error.status),
    internalError: () => ssm.errorResponse('InternalServerError', 'An internal error has occurred', 500),
    finish: awsFinish,
  };
}

function limitMessage(kind: 'secondary' | 'primary' | undefined, requestId: string): string {
  return kind === 'secondary'
    ? `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`
    : `API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`;
}

function githubRoute({ github, budgets }: RouteServices): ServiceRoute {
  return {
    gate(request) {
      const counted = github.route(request.method, request.path)?.counted ?? true;
      const verdict = budgets.github.charge(request.method, counted);
      if (verdict.allowed) return { headers: verdict.headers };
      const refusal = {
        ...github.errorResponse(verdict.status ?? 403, limitMessage(verdict.kind, randomUUID()), {
          'retry-after': String(verdict.retryAfterSeconds ?? 60),
        }),
        code: verdict.kind === 'secondary' ? 'secondary_rate_limit' : 'rate_limit',
      };
      return { refusal, headers: verdict.headers };
    },
    handle: (request) =>
      request.json === NOT_JSON ? github.errorResponse(400, 'Problems parsing JSON') : github.handle(request),
    fault: (error) => ({ ...github.errorResponse(error.status, error.message), code: error.code }),
    internalError: () => github.errorResponse(500, 'Server Error'),
    finish(headers, gateHeaders, fault) {
      Object.assign(
        headers,
        Object.keys(gateHeaders).length > 0 ? gateHeaders : budgets.github.charge('GET', false).headers,
        // A fault's own rate-limit headers (an exhausted primary limit) win over the budget's.
        fault?.headers,
      );
      headers['x-github-request-id'] = randomUUID();
      headers['x-github-api-version-selected'] = '2022-11-28';
    },
  };
}

/** DynamoDB: no budget (on-demand tables take far more than a run sends); its own fault hooks run first. */
function dynamoDbRoute({ dynamodb }: RouteServices): ServiceRoute {
  return {
    gate: () => ({ headers: {} }),
    handle: (request) =>
      request.json === NOT_JSON
        ? dynamodb.errorResponse('SerializationException', 'Request body is not valid JSON', 400)
        : dynamodb.handle(request),
    fault: (error) => dynamodb.errorResponse(error.code, error.message, error.status),
    internalError: () => dynamodb.errorResponse('InternalServerError'),
    finish: awsFinish,
  };
}

/** CloudWatch: no budget (PutMetricData takes 500 TPS; a run sends one call). */
function cloudWatchRoute({ cloudwatch }: RouteServices): ServiceRoute {
  return {
    gate: () => ({ headers: {} }),
    handle: (request) =>
      request.json === NOT_JSON
        ? cloudwatch.errorResponse('SerializationException', 'Request body is not valid JSON', 400)
        : cloudwatch.handle(request),
    fault: (error) => cloudwatch.errorResponse(error.code, error.message, error.status),
    internalError: () => cloudwatch.errorResponse('InternalServiceError', 'Internal service error', 500),
    finish: awsFinish,
  };
}

export function createRoutes(services: RouteServices): Record<Service, ServiceRoute> {
  return {
    ec2: ec2Route(services),
    ssm: ssmRoute(services),
    github: githubRoute(services),
    dynamodb: dynamoDbRoute(services),
    cloudwatch: cloudWatchRoute(services),
  };
}
