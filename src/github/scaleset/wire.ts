// The service's JSON shapes, checked with zod and turned into the client's types. Fields the Go client
// decodes to zero values when absent get the same zero values here; only ids the protocol cannot work
// without are required.
import { z } from 'zod';
import { BadAnswerError } from './errors.js';
import type {
  JobMessage,
  JobMessageBase,
  RunnerGroup,
  ScaleSet,
  ScaleSetMessage,
  ScaleSetRunner,
} from './types.js';

const count = z
  .number()
  .nullish()
  .transform((value) => value ?? 0);
const text = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

const statisticsSchema = z.object({
  totalAvailableJobs: count,
  totalAcquiredJobs: count,
  totalAssignedJobs: count,
  totalRunningJobs: count,
  totalRegisteredRunners: count,
  totalBusyRunners: count,
  totalIdleRunners: count,
});

const runnerSettingSchema = z.object({ disableUpdate: z.boolean().nullish() }).nullish();

const scaleSetSchema = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  runnerGroupId: count,
  runnerGroupName: text,
  labels: z.array(z.object({ name: z.string(), type: text })).nullish(),
  // The only PascalCase key of the protocol; camelCase accepted too.
  RunnerSetting: runnerSettingSchema,
  runnerSetting: runnerSettingSchema,
  statistics: statisticsSchema.nullish(),
});

export const scaleSetListSchema = z.object({ count, value: z.array(scaleSetSchema).nullish() });

export const runnerGroupListSchema = z.object({
  count,
  value: z
    .array(z.object({ id: z.number().int(), name: text, isDefaultGroup: z.boolean().nullish() }))
    .nullish(),
});

export const sessionSchema = z.object({
  sessionId: text,
  ownerName: text,
  messageQueueUrl: text,
  messageQueueAccessToken: text,
  statistics: statisticsSchema.nullish(),
});

const messageSchema = z.object({
  messageId: z.number().int().nonnegative(),
  messageType: text,
  body: text,
  statistics: statisticsSchema.nullish(),
});

const runnerSchema = z.object({
  id: z.number().int(),
  name: text,
  runnerScaleSetId: count,
  status: z.union([z.string(), z.number()]).nullish(),
  assignedRequest: z.unknown().optional(),
  lastCompletedRequest: z.unknown().optional(),
});

export const runnerListSchema = z.object({ count, value: z.array(runnerSchema).nullish() });

export const jitConfigSchema = z.object({ runner: runnerSchema, encodedJITConfig: z.string().min(1) });

export const acquiredJobsSchema = z.object({ count, value: z.array(z.number()).nullish() });

export { runnerSchema, scaleSetSchema, statisticsSchema };

/** Checks an answer against a schema; the error names the call and the fields, never the values. */
export function parseAnswer<T extends z.ZodType>(
  schema: T,
  body: unknown,
  call: { method: string; path: string; status?: number },
): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
  throw new BadAnswerError(call, `${call.method} ${call.path}: unexpected answer (${issues})`);
}

export function toScaleSet(wire: z.output<typeof scaleSetSchema>): ScaleSet {
  const setting = wire.RunnerSetting ?? wire.runnerSetting;
  return {
    id: wire.id,
    name: wire.name,
    runnerGroupId: wire.runnerGroupId,
    runnerGroupName: wire.runnerGroupName,
    labels: (wire.labels ?? []).map((label) => label.name),
    disableUpdate: setting?.disableUpdate ?? false,
    ...(wire.statistics ? { statistics: wire.statistics } : {}),
  };
}

export function toRunnerGroup(wire: {
  id: number;
  name: string;
  isDefaultGroup?: boolean | null;
}): RunnerGroup {
  return { id: wire.id, name: wire.name, isDefault: wire.isDefaultGroup ?? false };
}

const AGENT_STATUS: Record<number, string> = { 1: 'offline', 2: 'online', 3: 'busy' };

export function toRunner(wire: z.output<typeof runnerSchema>): ScaleSetRunner {
  const status =
    typeof wire.status === 'number'
      ? AGENT_STATUS[wire.status]
      : wire.status
        ? wire.status.toLowerCase()
        : undefined;
  return {
    id: wire.id,
    name: wire.name,
    scaleSetId: wire.runnerScaleSetId,
    ...(status === undefined ? {} : { status }),
    hasAssignedJob: wire.assignedRequest !== undefined && wire.assignedRequest !== null,
    hasCompletedJob: wire.lastCompletedRequest !== undefined && wire.lastCompletedRequest !== null,
  };
}

export const JOB_MESSAGES_TYPE = 'RunnerScaleSetJobMessages';

/**
 * A queue message. Its `body` is a JSON string holding the array of job messages, so it is parsed a
 * second time; job messages of unknown types are skipped and listed.
 */
export function toMessage(body: unknown, call: { method: string; path: string }): ScaleSetMessage {
  const wire = parseAnswer(messageSchema, body, call);
  const message: ScaleSetMessage = {
    messageId: wire.messageId,
    messageType: wire.messageType,
    ...(wire.statistics ? { statistics: wire.statistics } : {}),
    jobs: [],
    ignoredTypes: [],
  };
  if (wire.messageType !== JOB_MESSAGES_TYPE || wire.body.trim() === '') return message;
  let batch: unknown;
  try {
    batch = JSON.parse(wire.body.replace(/^\uFEFF/, ''));
  } catch {
    throw new BadAnswerError(
      call,
      `${call.method} ${call.path}: message ${wire.messageId} has a body that is not JSON`,
    );
  }
  if (!Array.isArray(batch)) {
    throw new BadAnswerError(
      call,
      `${call.method} ${call.path}: message ${wire.messageId} has a body that is not a list`,
    );
  }
  for (const item of batch) {
    const job = toJobMessage(item);
    if (job) message.jobs.push(job);
    else message.ignoredTypes.push(jobMessageType(item));
  }
  return message;
}

function jobMessageType(item: unknown): string {
  const type =
    typeof item === 'object' && item !== null ? (item as { messageType?: unknown }).messageType : undefined;
  return typeof type === 'string' ? type : '(none)';
}

const time = z
  .string()
  .nullish()
  .transform((value) => parseTime(value));

const jobBaseSchema = z.object({
  runnerRequestId: count,
  repositoryName: text,
  ownerName: text,
  jobId: z
    .union([z.string(), z.number()])
    .nullish()
    .transform((value) => (value === null || value === undefined ? '' : String(value))),
  jobWorkflowRef: text,
  jobDisplayName: text,
  workflowRunId: count,
  eventName: text,
  requestLabels: z
    .array(z.string())
    .nullish()
    .transform((value) => value ?? []),
  queueTime: time,
  scaleSetAssignTime: time,
  runnerAssignTime: time,
  finishTime: time,
});

const jobExtraSchemas = {
  JobAvailable: z.object({ acquireJobUrl: text }),
  JobAssigned: z.object({}),
  JobStarted: z.object({ runnerId: count, runnerName: text }),
  JobCompleted: z.object({ result: text, runnerId: count, runnerName: text }),
} as const;

function toJobMessage(item: unknown): JobMessage | undefined {
  const type = jobMessageType(item);
  if (!Object.hasOwn(jobExtraSchemas, type)) return undefined;
  const messageType = type as keyof typeof jobExtraSchemas;
  const base = jobBaseSchema.safeParse(item);
  const extra = jobExtraSchemas[messageType].safeParse(item);
  if (!base.success || !extra.success) return undefined;
  const fields: JobMessageBase = base.data;
  return { ...fields, ...extra.data, messageType } as JobMessage;
}

/** RFC 3339 -> Date; the zero time Go writes for "never" (year 1) and garbage -> undefined. */
function parseTime(value: string | null | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() <= 1) return undefined;
  return date;
}
