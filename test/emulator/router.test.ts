import { describe, expect, it } from 'vitest';
import { jsonResponse, type EmulatorRequest } from '../../emulator/context.js';
import { createRouter, NO_AUTH, type RouteGroup } from '../../emulator/router.js';

function request(method: string, path: string, authorization?: string): EmulatorRequest {
  return {
    service: 'github',
    action: '',
    method,
    path,
    query: new URLSearchParams(),
    headers: authorization ? { authorization } : {},
    region: 'us-east-1',
    body: '',
    form: new URLSearchParams(),
    json: undefined,
    pathParams: {},
  };
}

class Rejected extends Error {
  constructor(readonly status: number) {
    super(`rejected with ${status}`);
  }
}

function restGroup(): RouteGroup {
  return {
    name: 'rest',
    authenticators: {
      token: (req) => {
        if (req.headers.authorization !== 'token good') throw new Rejected(401);
      },
    },
    renderError: (error) =>
      error instanceof Rejected ? jsonResponse(error.status, { message: 'rest says no' }) : undefined,
    routes: [
      {
        method: 'GET',
        template: '/orgs/{org}/runners/{runner_id}',
        auth: 'token',
        counted: true,
        handler: (_req, params) => jsonResponse(200, { from: 'rest', params }),
      },
      {
        method: 'GET',
        template: '/rate_limit',
        auth: NO_AUTH,
        counted: false,
        handler: () => jsonResponse(200, { from: 'rest' }),
      },
    ],
  };
}

describe('router', () => {
  it('matches templates: one segment per name, digits for *_id, a trailing slash, decoded values', () => {
    const router = createRouter();
    router.mount(restGroup());
    const found = router.match('GET', '/orgs/my%20org/runners/42/');
    expect(found).toMatchObject({
      action: 'GET /orgs/{org}/runners/{runner_id}',
      params: { org: 'my org', runner_id: '42' },
      counted: true,
    });
    expect(router.match('GET', '/orgs/acme/runners/abc')).toBeUndefined();
    expect(router.match('GET', '/orgs/a/b/runners/1')).toBeUndefined();
    expect(router.match('DELETE', '/orgs/acme/runners/1')).toBeUndefined();
    expect(router.match('GET', '/rate_limit')?.counted).toBe(false);
  });

  it('runs the route’s authenticator before its handler and renders the group’s errors', () => {
    const router = createRouter();
    router.mount(restGroup());
    const route = router.match('GET', '/orgs/acme/runners/7')!;
    const denied = router.dispatch(route, request('GET', '/orgs/acme/runners/7', 'token bad'));
    expect(denied.status).toBe(401);
    expect(JSON.parse(denied.body)).toEqual({ message: 'rest says no' });
    const allowed = router.dispatch(route, request('GET', '/orgs/acme/runners/7', 'token good'));
    expect(JSON.parse(allowed.body)).toEqual({ from: 'rest', params: { org: 'acme', runner_id: '7' } });
    const open = router.match('GET', '/rate_limit')!;
    expect(router.dispatch(open, request('GET', '/rate_limit')).status).toBe(200);
  });

  it('mounts a second group under its prefix with its own credentials and error body', () => {
    const router = createRouter();
    router.mount(restGroup());
    router.mount({
      name: 'actions service',
      prefix: '/tenant/1/_apis',
      authenticators: {
        admin: (req) => {
          if (req.headers.authorization !== 'Bearer admin') throw new Rejected(401);
        },
      },
      renderError: (error) =>
        error instanceof Rejected ? jsonResponse(error.status, { typeName: 'Unauthorized' }) : undefined,
      routes: [
        {
          method: 'GET',
          template: '/runtime/runnerscalesets/{scale_set_id}',
          auth: 'admin',
          counted: false,
          handler: (_req, params) => jsonResponse(200, { from: 'scale sets', params }),
        },
      ],
    });
    const path = '/tenant/1/_apis/runtime/runnerscalesets/3';
    const route = router.match('GET', path)!;
    expect(route.action).toBe('GET /tenant/1/_apis/runtime/runnerscalesets/{scale_set_id}');
    expect(JSON.parse(router.dispatch(route, request('GET', path, 'token good')).body)).toEqual({
      typeName: 'Unauthorized',
    });
    expect(JSON.parse(router.dispatch(route, request('GET', path, 'Bearer admin')).body)).toEqual({
      from: 'scale sets',
      params: { scale_set_id: '3' },
    });
    // The first group still answers with its own credentials and error body.
    const rest = router.match('GET', '/orgs/acme/runners/7')!;
    expect(
      JSON.parse(router.dispatch(rest, request('GET', '/orgs/acme/runners/7', 'Bearer admin')).body),
    ).toEqual({ message: 'rest says no' });
  });

  it('lets errors the group does not render escape', () => {
    const router = createRouter();
    const group = restGroup();
    group.routes[1]!.handler = () => {
      throw new TypeError('a bug');
    };
    router.mount(group);
    const route = router.match('GET', '/rate_limit')!;
    expect(() => router.dispatch(route, request('GET', '/rate_limit'))).toThrow(TypeError);
  });

  it('refuses to mount a route naming an auth kind its group does not have', () => {
    const router = createRouter();
    const group = restGroup();
    group.routes[0]!.auth = 'jwt';
    expect(() => router.mount(group)).toThrow(
      'route GET /orgs/{org}/runners/{runner_id} of rest names auth kind "jwt", expected one of: none, token',
    );
  });
});
