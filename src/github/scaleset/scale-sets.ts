// Runner groups and scale sets: looked up by name or id, created when absent, PATCHed when they drift.
import { ActionsServiceError, BadAnswerError, ScaleSetNotFoundError } from './errors.js';
import type { ActionsService } from './service.js';
import type {
  EnsureScaleSetRequest,
  EnsureScaleSetResult,
  RunnerGroup,
  ScaleSet,
  ScaleSetClient,
} from './types.js';
import {
  parseAnswer,
  runnerGroupListSchema,
  scaleSetListSchema,
  scaleSetSchema,
  toRunnerGroup,
  toScaleSet,
} from './wire.js';

export const SCALE_SETS_PATH = '_apis/runtime/runnerscalesets';
const RUNNER_GROUPS_PATH = '_apis/runtime/runnergroups/';
/** GitHub's default runner group always has id 1; GitHub's own clients skip the lookup for it. */
const DEFAULT_RUNNER_GROUP: RunnerGroup = { id: 1, name: 'Default', isDefault: true };

type ScaleSetOps = Pick<
  ScaleSetClient,
  'findRunnerGroup' | 'ensureScaleSet' | 'getScaleSet' | 'findScaleSet' | 'deleteScaleSet'
>;

interface ScaleSetBody {
  name: string;
  runnerGroupId: number;
  labels: string[];
  disableUpdate: boolean;
}

export function createScaleSetOps(service: ActionsService, configUrl: string): ScaleSetOps {
  return {
    findRunnerGroup: (name) => findRunnerGroup(service, configUrl, name),
    ensureScaleSet: (request) => ensureScaleSet(service, configUrl, request),
    getScaleSet: (id) => getScaleSet(service, id),
    findScaleSet: (name, runnerGroupId) => findScaleSet(service, name, runnerGroupId),
    deleteScaleSet: (id) => deleteScaleSet(service, id),
  };
}

async function findRunnerGroup(
  service: ActionsService,
  configUrl: string,
  name: string,
): Promise<RunnerGroup> {
  const response = await service.call('GET', RUNNER_GROUPS_PATH, { query: { groupName: name } });
  const groups = parseAnswer(runnerGroupListSchema, response.body, response).value ?? [];
  const [group] = groups;
  if (groups.length === 1 && group) return toRunnerGroup(group);
  const found = groups.length === 0 ? 'none' : `${groups.length}`;
  throw new Error(
    `runner group ${JSON.stringify(name)} in ${configUrl}: found ${found}, expected exactly one`,
  );
}

async function getScaleSet(service: ActionsService, id: number): Promise<ScaleSet | undefined> {
  try {
    const response = await service.call('GET', `${SCALE_SETS_PATH}/${id}`, { scaleSetId: id });
    return toScaleSet(parseAnswer(scaleSetSchema, response.body, response));
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

async function findScaleSet(
  service: ActionsService,
  name: string,
  runnerGroupId: number,
): Promise<ScaleSet | undefined> {
  const response = await service.call('GET', SCALE_SETS_PATH, {
    query: { runnerGroupId: String(runnerGroupId), name },
  });
  const sets = parseAnswer(scaleSetListSchema, response.body, response).value ?? [];
  if (sets.length > 1) {
    throw new BadAnswerError(
      response,
      `${sets.length} scale sets named ${JSON.stringify(name)} in group ${runnerGroupId}`,
    );
  }
  return sets[0] ? toScaleSet(sets[0]) : undefined;
}

async function writeScaleSet(
  service: ActionsService,
  method: 'POST' | 'PATCH',
  path: string,
  body: ScaleSetBody,
): Promise<ScaleSet> {
  const response = await service.call(method, path, {
    body: {
      name: body.name,
      runnerGroupId: body.runnerGroupId,
      labels: body.labels.map((name) => ({ name, type: 'System' })),
      RunnerSetting: { disableUpdate: body.disableUpdate },
    },
  });
  return toScaleSet(parseAnswer(scaleSetSchema, response.body, response));
}

async function createScaleSet(service: ActionsService, body: ScaleSetBody): Promise<EnsureScaleSetResult> {
  try {
    const scaleSet = await writeScaleSet(service, 'POST', SCALE_SETS_PATH, body);
    service.log.info(
      `Created runner scale set ${scaleSet.name} (id ${scaleSet.id}) in runner group ${body.runnerGroupId}`,
    );
    return { scaleSet, action: 'created' };
  } catch (error) {
    // Another listener may have created it a moment ago: names are unique in a group.
    if (!(error instanceof ActionsServiceError) || error.transient || error.kind === 'bad-answer')
      throw error;
    const existing = await findScaleSet(service, body.name, body.runnerGroupId);
    if (!existing) throw error;
    return { scaleSet: existing, action: 'found' };
  }
}

async function ensureScaleSet(
  service: ActionsService,
  configUrl: string,
  request: EnsureScaleSetRequest,
): Promise<EnsureScaleSetResult> {
  const name = request.name.trim();
  if (name === '') throw new Error('scale set name: got "", expected a name');
  const groupName = request.runnerGroup?.trim();
  const byId =
    groupName === undefined && request.runnerGroupId !== undefined && request.runnerGroupId !== 1
      ? { id: request.runnerGroupId, name: '', isDefault: false }
      : undefined;
  const group =
    byId ??
    (groupName === undefined || groupName.toLowerCase() === 'default'
      ? DEFAULT_RUNNER_GROUP
      : await findRunnerGroup(service, configUrl, groupName));
  const wanted: ScaleSetBody = {
    name,
    runnerGroupId: group.id,
    labels: uniqueLabels(request.labels.length > 0 ? request.labels : [name]),
    disableUpdate: request.disableUpdate ?? true,
  };
  let existing = request.knownId === undefined ? undefined : await getScaleSet(service, request.knownId);
  if (existing && existing.name.toLowerCase() !== name.toLowerCase()) existing = undefined;
  existing ??= await findScaleSet(service, name, group.id);
  if (!existing) return createScaleSet(service, wanted);
  if (
    sameLabels(existing.labels, wanted.labels) &&
    existing.runnerGroupId === wanted.runnerGroupId &&
    existing.disableUpdate === wanted.disableUpdate
  ) {
    return { scaleSet: existing, action: 'found' };
  }
  const scaleSet = await writeScaleSet(service, 'PATCH', `${SCALE_SETS_PATH}/${existing.id}`, wanted);
  service.log.info(
    `Updated runner scale set ${name} (id ${existing.id}): labels ${wanted.labels.join(', ')}, runner group ${group.id}`,
  );
  return { scaleSet, action: 'updated' };
}

async function deleteScaleSet(service: ActionsService, id: number): Promise<'deleted' | 'not-found'> {
  try {
    await service.call('DELETE', `${SCALE_SETS_PATH}/${id}`, { scaleSetId: id });
    return 'deleted';
  } catch (error) {
    if (isGone(error)) return 'not-found';
    throw error;
  }
}

function isGone(error: unknown): boolean {
  return (
    error instanceof ScaleSetNotFoundError ||
    (error instanceof ActionsServiceError && error.kind === 'http' && error.status === 404)
  );
}

/** Labels in order, without blanks or case-insensitive duplicates. */
function uniqueLabels(labels: string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const label of labels.map((value) => value.trim())) {
    if (label === '' || seen.has(label.toLowerCase())) continue;
    seen.add(label.toLowerCase());
    result.push(label);
  }
  return result;
}

function sameLabels(a: string[], b: string[]): boolean {
  const left = new Set(a.map((label) => label.toLowerCase()));
  const right = new Set(b.map((label) => label.toLowerCase()));
  return left.size === right.size && [...left].every((label) => right.has(label));
}
