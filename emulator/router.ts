// A small path-template router for the emulator's HTTP APIs. Routes come in groups: each group has
// its own path prefix, its own authenticators (the route names one by kind) and its own error
// rendering, so an API with other credentials and another error shape can be mounted beside the
// ones already there without changing them.
import type { EmulatorRequest, EmulatorResponse } from './context.js';

export type RouteParams = Record<string, string>;
export type RouteHandler = (request: EmulatorRequest, params: RouteParams) => EmulatorResponse;
/** Throws (an error the group renders) when the request's credentials are not good enough. */
export type Authenticator = (request: EmulatorRequest) => void;

/** The auth kind of routes anyone may call. */
export const NO_AUTH = 'none';

export interface RouteSpec {
  method: string;
  /**
   * `/orgs/{org}/actions/runners/{runner_id}`: a `{name}` matches one path segment; a name ending
   * in `_id` matches digits only. A trailing slash is accepted.
   */
  template: string;
  handler: RouteHandler;
  /** A key of the group's authenticators, or `none`. */
  auth: string;
  /** Whether the request counts against the API's rate limits. */
  counted: boolean;
}

export interface RouteGroup {
  /** Names the group in configuration errors. */
  name: string;
  /** Put in front of every template of the group (e.g. `/api/v3`). Default: none. */
  prefix?: string;
  authenticators: Record<string, Authenticator>;
  /** The answer to an error thrown by an authenticator or handler; undefined lets it escape. */
  renderError(error: unknown): EmulatorResponse | undefined;
  routes: RouteSpec[];
}

export interface RouteMatch {
  /** `METHOD /full/{template}`: the action name in the call log and fault specs. */
  action: string;
  params: RouteParams;
  counted: boolean;
  route: CompiledRoute;
}

interface CompiledRoute {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  spec: RouteSpec;
  group: RouteGroup;
}

export interface Router {
  /** Adds a group's routes after those already mounted (the first match wins). */
  mount(group: RouteGroup): void;
  match(method: string, path: string): RouteMatch | undefined;
  /** Authenticates a matched request and answers it; errors the group renders become its answer. */
  dispatch(match: RouteMatch, request: EmulatorRequest): EmulatorResponse;
}

export function compileTemplate(template: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template.replace(/\{(\w+)\}/g, (_match, name: string) => {
    names.push(name);
    return name.endsWith('_id') ? '(\\d+)' : '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}/?$`), names };
}

function compile(group: RouteGroup, spec: RouteSpec): CompiledRoute {
  if (spec.auth !== NO_AUTH && !Object.hasOwn(group.authenticators, spec.auth)) {
    throw new Error(
      `route ${spec.method} ${spec.template} of ${group.name} names auth kind "${spec.auth}", ` +
        `expected one of: ${[NO_AUTH, ...Object.keys(group.authenticators)].join(', ')}`,
    );
  }
  const template = `${group.prefix ?? ''}${spec.template}`;
  return { method: spec.method, template, ...compileTemplate(template), spec, group };
}

export function createRouter(): Router {
  const routes: CompiledRoute[] = [];
  return {
    mount(group) {
      routes.push(...group.routes.map((spec) => compile(group, spec)));
    },
    match(method, path) {
      for (const route of routes) {
        if (route.method !== method) continue;
        const found = route.pattern.exec(path);
        if (!found) continue;
        const params: RouteParams = {};
        route.names.forEach((name, index) => {
          params[name] = decodeURIComponent(found[index + 1]!);
        });
        return { action: `${method} ${route.template}`, params, counted: route.spec.counted, route };
      }
      return undefined;
    },
    dispatch(match, request) {
      const { spec, group } = match.route;
      try {
        if (spec.auth !== NO_AUTH) group.authenticators[spec.auth]!(request);
        return spec.handler(request, match.params);
      } catch (error) {
        const rendered = group.renderError(error);
        if (rendered) return rendered;
        throw error;
      }
    },
  };
}
