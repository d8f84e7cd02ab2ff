// `GET /rate_limit`: the primary limit's budget as GitHub reports it. The x-ratelimit-* headers
// on every answer come from the same budget (budgets.ts), added by the server.
import type { GitHubBudget } from '../budgets.js';
import { jsonResponse } from '../context.js';
import { NO_AUTH, type RouteSpec } from '../router.js';
import { restRoute } from './http.js';

export type RateLimitBudget = Pick<GitHubBudget, 'snapshot'>;

/** The core budget now; without a budget, an untouched hourly 5000 that resets in an hour. */
export function coreRateLimit(budget: RateLimitBudget | undefined): ReturnType<GitHubBudget['snapshot']> {
  return (
    budget?.snapshot() ?? {
      limit: 5000,
      used: 0,
      remaining: 5000,
      reset: Math.ceil(Date.now() / 1000) + 3600,
    }
  );
}

export function rateLimitRoutes(budget: RateLimitBudget | undefined): RouteSpec[] {
  return [
    restRoute(
      'GET',
      '/rate_limit',
      () => {
        const core = { ...coreRateLimit(budget), resource: 'core' };
        return jsonResponse(200, { resources: { core }, rate: core });
      },
      { auth: NO_AUTH, counted: false },
    ),
  ];
}
