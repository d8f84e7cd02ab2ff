// NextToken paging over a region's parameters in name order, and path matching.
import { regionParameters, type ParameterRecord } from '../state.js';
import { sortedNames, type SsmContext } from './context.js';
import { SsmError, validation } from './errors.js';

/** Page sizes cycled through in short-page mode; they always make progress eventually. */
const SHORT_PAGE_SIZES = [2, 0, 10, 1, 0, 3];

function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

function decodeToken(raw: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    const after = (parsed as { after?: unknown } | null)?.after;
    if (typeof after === 'string') return after;
  } catch {
    // falls through to the error below
  }
  throw new SsmError('InvalidNextToken', 'The specified token is not valid.');
}

/** First index in `sorted` whose name is greater than `after`. */
function firstAfter(sorted: string[], after: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid]! <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

function pageSize(ssm: SsmContext, maxResults: number): number {
  if (!ssm.paging.shortPages) return maxResults;
  const size = SHORT_PAGE_SIZES[ssm.paging.turn++ % SHORT_PAGE_SIZES.length]!;
  return Math.min(size, maxResults);
}

export interface PageRequest {
  region: string;
  nextToken: string | undefined;
  maxResults: number;
  keep: (parameter: ParameterRecord) => boolean;
  /** The page is a window of the region's names, filtered afterwards (see SsmOptions.describeFiltersEachPage). */
  filterEachPage?: boolean;
}

/** One page of the sorted names that pass `keep`, after the cursor in `nextToken`. */
export function page(
  ssm: SsmContext,
  request: PageRequest,
): { items: ParameterRecord[]; nextToken?: string } {
  const sorted = sortedNames(ssm, request.region);
  const byName = regionParameters(ssm.state, request.region);
  const size = pageSize(ssm, request.maxResults);
  let cursor = request.nextToken === undefined ? undefined : decodeToken(request.nextToken);
  let index = cursor === undefined ? 0 : firstAfter(sorted, cursor);
  const items: ParameterRecord[] = [];
  let seen = 0;
  for (; index < sorted.length; index++) {
    const parameter = byName.get(sorted[index]!);
    const kept = parameter !== undefined && request.keep(parameter);
    if (!kept && !request.filterEachPage) continue;
    if ((request.filterEachPage ? seen : items.length) >= size) {
      return { items, nextToken: encodeToken(cursor ?? '') };
    }
    seen += 1;
    if (kept) items.push(parameter!);
    cursor = sorted[index]!;
  }
  return { items };
}

/** GetParametersByPath's Path: its direct children, or everything below it when recursive. */
export function pathMatcher(rawPath: string, recursive: boolean): (name: string) => boolean {
  if (!rawPath.startsWith('/')) {
    throw validation(
      'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".',
    );
  }
  if (rawPath.split('/').length - 1 > 15)
    throw validation("Parameter path hierarchy can't exceed 15 levels.");
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
  const prefix = path === '/' ? '/' : `${path}/`;
  return (name) => name.startsWith(prefix) && (recursive || !name.slice(prefix.length).includes('/'));
}
