// DescribeInstances: filters, MaxResults/NextToken paging, instances grouped by reservation.
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import type { InstanceRecord } from '../state.js';
import { el } from '../xml.js';
import type { Ec2Context } from './context.js';
import { Ec2Error, ok } from './errors.js';
import { compileFilter } from './filters.js';
import { instanceXml } from './instance-xml.js';
import { checkIds } from './lookups.js';
import { child, integer, members, strings, text, type QueryTree } from './query.js';

/** The page cursor: the launch order of the last instance shown. */
function encodeToken(after: number): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

function decodeToken(raw: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    const after = (parsed as { after?: unknown } | null)?.after;
    if (typeof after === 'number') return after;
  } catch {
    // falls through to the error below
  }
  throw new Ec2Error('InvalidParameterValue', 'Unable to parse pagination token');
}

function checkPaging(ids: string[], maxResults: number | undefined): void {
  if (ids.length > 0 && maxResults !== undefined) {
    throw new Ec2Error(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  }
}

function selectPage(ec2: Ec2Context, request: EmulatorRequest, tree: QueryTree) {
  const ids = strings(tree.InstanceId);
  const maxResults = integer(tree, 'MaxResults', 'maxResults');
  checkPaging(ids, maxResults);
  const offset = ec2.clock.offset();
  const predicates = members(tree.Filter).map((filter) =>
    compileFilter(text(filter, 'Name') ?? '', strings(child(filter, 'Value')), offset),
  );
  const nextToken = text(tree, 'NextToken');
  const after = nextToken ? decodeToken(nextToken) : 0;
  const filters = members(tree.Filter).map((filter) => text(filter, 'Name') ?? '');
  const byId = ids.length > 0 || filters.includes('instance-id');
  const lag = byId
    ? ec2.settings.lookupLagMs
    : filters.some((f) => f.startsWith('tag:'))
      ? ec2.settings.listingLagMs
      : 0;
  // Eventual consistency: too new an instance is not in the answer yet.
  const visible = (instance: InstanceRecord) => lag === 0 || ec2.clock.now() - instance.launchTime >= lag;
  const candidates: Iterable<InstanceRecord> =
    ids.length > 0
      ? checkIds(ec2, ids, request.region).sort((a, b) => a.seq - b.seq)
      : ec2.state.instances.values();
  const page: InstanceRecord[] = [];
  for (const instance of candidates) {
    if (instance.seq <= after || instance.region !== request.region) continue;
    if (!visible(instance) || !predicates.every((matches) => matches(instance))) continue;
    if (maxResults !== undefined && page.length >= maxResults) return { page, more: true };
    page.push(instance);
  }
  return { page, more: false };
}

/** Consecutive instances of one launch share a reservation, as in EC2's answer. */
function byReservation(page: InstanceRecord[]): { id: string; instances: InstanceRecord[] }[] {
  const groups: { id: string; instances: InstanceRecord[] }[] = [];
  for (const instance of page) {
    const group = groups[groups.length - 1];
    if (group && group.id === instance.reservationId) group.instances.push(instance);
    else groups.push({ id: instance.reservationId, instances: [instance] });
  }
  return groups;
}

export function describeInstances(
  ec2: Ec2Context,
  request: EmulatorRequest,
  tree: QueryTree,
): EmulatorResponse {
  const { page, more } = selectPage(ec2, request, tree);
  const last = page[page.length - 1];
  return ok('DescribeInstances', [
    el(
      'reservationSet',
      ...byReservation(page).map((group) =>
        el(
          'item',
          el('reservationId', group.id),
          el('ownerId', ec2.accountId),
          el('groupSet'),
          el('instancesSet', ...group.instances.map((instance) => el('item', ...instanceXml(ec2, instance)))),
        ),
      ),
    ),
    more && last ? el('nextToken', encodeToken(last.seq)) : undefined,
  ]);
}
