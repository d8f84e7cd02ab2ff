// Acquiring jobs where the service offers them first (JobAvailable): `acquirejobs` (with the
// session's queue token, not the admin token) and the older `acquirablejobs` listing.
import type { EmulatorRequest, EmulatorResponse } from '../../context.js';
import type { RouteSpec } from '../../router.js';
import type { ScaleSetContext } from './context.js';
import { actionsJson, actionsRoute, badArgument, noContent } from './http.js';
import { acquire, acquireJobUrl, jobMessage } from './jobs.js';
import { scaleSetOf } from './scale-sets.js';
import { queueSession } from './tokens.js';

function acquireJobs(sc: ScaleSetContext, request: EmulatorRequest, params: Record<string, string>) {
  const { set } = scaleSetOf(sc, request, params);
  const session = queueSession(sc, request);
  if (session.scaleSetId !== set.id) throw badArgument(`The session does not belong to scale set ${set.id}.`);
  const ids = request.json;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'number' && Number.isInteger(id))) {
    throw badArgument(
      `The body must be a JSON array of runnerRequestId numbers, got ${request.body || 'nothing'}`,
    );
  }
  const acquired = acquire(sc, set, ids as number[]);
  return actionsJson(sc.settings, 200, { count: acquired.length, value: acquired });
}

function acquirableJobs(
  sc: ScaleSetContext,
  request: EmulatorRequest,
  params: Record<string, string>,
): EmulatorResponse {
  const { set } = scaleSetOf(sc, request, params);
  const value = [...set.jobs.values()]
    .filter((entry) => entry.state === 'available')
    .map((entry) => jobMessage(sc, entry, 'JobAvailable', { acquireJobUrl: acquireJobUrl(sc, set) }));
  if (value.length === 0) return noContent();
  return actionsJson(sc.settings, 200, { count: value.length, value });
}

export function acquireRoutes(sc: ScaleSetContext): RouteSpec[] {
  const one = '/runtime/runnerscalesets/{scale_set_id}';
  return [
    actionsRoute(sc, 'POST', `${one}/acquirejobs`, 'queue', (request, params) =>
      acquireJobs(sc, request, params),
    ),
    actionsRoute(sc, 'GET', `${one}/acquirablejobs`, 'admin', (request, params) =>
      acquirableJobs(sc, request, params),
    ),
  ];
}
