// Registering runners through the API: a JIT configuration (which pre-registers an offline runner)
// or a registration token for the runner's own config script.
import { randomBytes } from 'node:crypto';
import { jsonResponse, type EmulatorRequest, type EmulatorResponse } from '../context.js';
import type { RouteSpec } from '../router.js';
import { runnerNameKey } from '../state.js';
import { issueToken, randomToken } from './auth.js';
import type { GitHubContext } from './context.js';
import { GitHubError, githubTime, invalid, invalidField, jsonBody, notFound, restRoute } from './http.js';
import { addRunner } from './runners.js';
import { SCOPE_PREFIXES, scopeOf } from './scopes.js';
import { runnerJson } from './views.js';

interface JitConfigRequest {
  name: string;
  groupId: number;
  labels: string[];
  workFolder: string | undefined;
}

/** The body of generate-jitconfig, checked as GitHub does (422 naming the field). */
function jitConfigRequest(request: EmulatorRequest): JitConfigRequest {
  const { name, runner_group_id: groupId, labels, work_folder: workFolder } = jsonBody(request);
  if (typeof name !== 'string' || name.length === 0) invalidField('name', name);
  if (typeof groupId !== 'number' || !Number.isInteger(groupId)) invalidField('runner_group_id', groupId);
  if (!Array.isArray(labels)) invalidField('labels', labels);
  if (workFolder !== undefined && typeof workFolder !== 'string') invalidField('work_folder', workFolder);
  const labelList = labels as unknown[];
  if (labelList.length < 1) throw invalid(`For 'properties/labels', [] has fewer items than 1.`);
  if (labelList.length > 100) throw invalid(`For 'properties/labels', the array has more items than 100.`);
  for (const label of labelList) {
    if (typeof label !== 'string' || label.length === 0 || label.length > 256) {
      throw invalid(`For 'items', ${JSON.stringify(label)} is not a valid label.`);
    }
  }
  return {
    name: name as string,
    groupId: groupId as number,
    labels: labelList as string[],
    workFolder: workFolder as string | undefined,
  };
}

/** The runner's files (`.runner`, `.credentials`, ...) as the base64 JSON map GitHub returns. */
function encodeJitConfig(input: JitConfigRequest): string {
  const runnerFile = {
    agentName: input.name,
    poolId: input.groupId,
    workFolder: input.workFolder ?? '_work',
  };
  return Buffer.from(
    JSON.stringify({
      '.runner': Buffer.from(JSON.stringify(runnerFile)).toString('base64'),
      '.credentials': randomBytes(24).toString('base64'),
      '.credentials_rsaparams': randomBytes(48).toString('base64'),
    }),
  ).toString('base64');
}

function generateJitConfig(
  gh: GitHubContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const scope = scopeOf(gh, params);
  const input = jitConfigRequest(request);
  // Repository runners have only the default group.
  const groups = scope.includes('/') ? [{ id: 1 }] : gh.settings.runnerGroups;
  if (!groups.some((group) => group.id === input.groupId)) throw notFound();
  if (gh.state.runnersByName.has(runnerNameKey(scope, input.name))) {
    throw new GitHubError(409, `Already exists - A runner with the name ${input.name} already exists.`);
  }
  const encodedJitConfig = encodeJitConfig(input);
  const runner = addRunner(gh, {
    scope,
    name: input.name,
    labels: input.labels,
    status: 'offline',
    ephemeral: true,
    runnerGroupId: input.groupId,
    encodedJitConfig,
  });
  gh.emulator.recordSecret(encodedJitConfig);
  return jsonResponse(201, { runner: runnerJson(gh, runner), encoded_jit_config: encodedJitConfig });
}

function registrationToken(gh: GitHubContext, params: Record<string, string>): EmulatorResponse {
  const scope = scopeOf(gh, params);
  const token = randomToken(29, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
  const issued = issueToken(gh, 'registration', token, gh.settings.registrationTokenLifetimeMs, { scope });
  return jsonResponse(201, {
    token: issued.token,
    expires_at: githubTime(gh.clock.toWall(issued.expiresAt)),
  });
}

export function registrationRoutes(gh: GitHubContext): RouteSpec[] {
  return SCOPE_PREFIXES.flatMap((prefix) => [
    restRoute('POST', `${prefix}/actions/runners/generate-jitconfig`, (request, params) =>
      generateJitConfig(gh, request, params),
    ),
    restRoute('POST', `${prefix}/actions/runners/registration-token`, (_request, params) =>
      registrationToken(gh, params),
    ),
  ]);
}
