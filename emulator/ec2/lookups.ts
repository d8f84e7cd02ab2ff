// What launches and instance calls look up: instance ids, launch templates, ClientTokens.
import type { EmulatorRequest } from '../context.js';
import type { InstanceRecord, LaunchRecord } from '../state.js';
import type { Ec2Context } from './context.js';
import { Ec2Error, notFound } from './errors.js';
import { text, type QueryNode } from './query.js';

const VALID_INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** The instances of `ids` in the region; the whole call fails naming every unknown id, as EC2 does. */
export function checkIds(ec2: Ec2Context, ids: string[], region: string): InstanceRecord[] {
  const malformed = ids.filter((id) => !VALID_INSTANCE_ID.test(id));
  if (malformed.length > 0) {
    throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${malformed[0]}"`);
  }
  const found: InstanceRecord[] = [];
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    const instance = ec2.state.instances.get(id);
    if (instance && instance.region === region) found.push(instance);
    else missing.push(id);
  }
  if (missing.length > 0) throw notFound(missing);
  return found;
}

export interface ResolvedTemplate {
  id?: string;
  name?: string;
  version?: string;
  instanceType?: string;
  imageId?: string;
}

function knownTemplate(ec2: Ec2Context, id: string | undefined, name: string | undefined) {
  const templates = ec2.settings.templates!;
  const template = id ? templates.byId.get(id) : templates.byName.get(name!);
  if (template) return template;
  throw id
    ? new Ec2Error(
        'InvalidLaunchTemplateId.NotFound',
        `The specified launch template, with template ID ${id}, does not exist.`,
      )
    : new Ec2Error(
        'InvalidLaunchTemplateName.NotFoundException',
        `The specified launch template, with template name ${name}, does not exist.`,
      );
}

export function resolveTemplate(ec2: Ec2Context, node: QueryNode | undefined): ResolvedTemplate | undefined {
  if (node === undefined) return undefined;
  const id = text(node, 'LaunchTemplateId');
  const name = text(node, 'LaunchTemplateName');
  const version = text(node, 'Version') ?? '$Default';
  if (!id && !name) {
    throw new Ec2Error(
      'MissingParameter',
      'The request must contain the parameter LaunchTemplateId or LaunchTemplateName',
    );
  }
  if (!ec2.settings.templates) return { ...(id ? { id } : {}), ...(name ? { name } : {}), version };
  if (id && !/^lt-[0-9a-f]{17}$/.test(id) && ec2.settings.templates.byId.size > 0) {
    throw new Ec2Error(
      'InvalidLaunchTemplateId.Malformed',
      `The specified launch template ID ${id} is not valid.`,
    );
  }
  const template = knownTemplate(ec2, id, name);
  return {
    id: template.id,
    name: template.name,
    version,
    instanceType: template.instanceType,
    imageId: template.imageId,
  };
}

export function checkClientToken(token: string | undefined): void {
  if (token !== undefined && (token.length > 64 || !/^[\x20-\x7e]*$/.test(token))) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value (${token}) for parameter clientToken is invalid. The client token must be 64 ASCII characters or fewer.`,
    );
  }
}

/** The request's parameters apart from the token itself: a retry must repeat them exactly. */
export function fingerprint(form: URLSearchParams): string {
  const entries = [...form].filter(([key]) => !['Action', 'Version', 'ClientToken', 'DryRun'].includes(key));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

const ledgerKey = (region: string, token: string) => `${region}\u0000${token}`;

/** The earlier launch made with this ClientToken, when the request repeats its parameters. */
export function replay(
  ec2: Ec2Context,
  request: EmulatorRequest,
  token: string | undefined,
): LaunchRecord | undefined {
  if (!token) return undefined;
  const previous = ec2.state.launches.get(ledgerKey(request.region, token));
  if (!previous) return undefined;
  if (previous.fingerprint !== fingerprint(request.form)) {
    throw new Ec2Error(
      'IdempotentParameterMismatch',
      `The client token '${token}' has already been used with different request parameters.`,
    );
  }
  return previous;
}

export function remember(
  ec2: Ec2Context,
  region: string,
  token: string | undefined,
  launch: LaunchRecord,
): void {
  if (token) ec2.state.launches.set(ledgerKey(region, token), launch);
}
