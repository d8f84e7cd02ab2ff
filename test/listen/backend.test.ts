// The runner back end of a scale-set pool over a fake protocol client: the set ensured once with the pool's
// labels plus self-hosted, a taken name reported as a registered runner, a deleted set created again, and
// removals checked right before they are sent.
import { describe, expect, it } from 'vitest';
import { RunnerAlreadyRegistered } from '../../src/github/errors.js';
import { ScaleSetNotFoundError } from '../../src/github/scaleset/errors.js';
import type {
  EnsureScaleSetRequest,
  GenerateJitConfigResult,
  ScaleSetClient,
} from '../../src/github/scaleset/types.js';
import { createScaleSetBackend, scaleSetLabels } from '../../src/listen/backend.js';
import { pool } from '../engine/fixtures.js';

const POOL = pool({ labels: ['linux', 'x64'], scaleSet: { name: 'ci-linux' } });

function fakeClient(jit: (setId: number) => GenerateJitConfigResult | Error) {
  const ensured: EnsureScaleSetRequest[] = [];
  let id = 7;
  const client = {
    async ensureScaleSet(request: EnsureScaleSetRequest) {
      ensured.push(request);
      return {
        action: 'found',
        scaleSet: {
          id,
          name: request.name,
          runnerGroupId: 1,
          runnerGroupName: '',
          labels: [],
          disableUpdate: true,
        },
      };
    },
    async generateJitConfig(setId: number) {
      const answer = jit(setId);
      if (answer instanceof ScaleSetNotFoundError) id += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async removeRunner(_id: number, options?: { beforeSend?: () => Promise<boolean> }) {
      return (await options?.beforeSend?.()) === false ? 'cancelled' : 'busy';
    },
    async findRunner() {
      return {
        id: 4,
        name: 'x',
        scaleSetId: 7,
        status: 'busy',
        hasAssignedJob: true,
        hasCompletedJob: false,
      };
    },
  };
  return { client: client as unknown as ScaleSetClient, ensured };
}

const created = (setId: number): GenerateJitConfigResult => ({
  status: 'created',
  runner: {
    id: 40 + setId,
    name: 'ci-i-1',
    scaleSetId: setId,
    hasAssignedJob: false,
    hasCompletedJob: false,
  },
  encodedJitConfig: `config-${setId}`,
});

describe('the scale-set runner back end', () => {
  it("ensures the set once, with the pool's labels plus self-hosted and the runner group", async () => {
    const { client, ensured } = fakeClient(created);
    const backend = createScaleSetBackend(client, POOL, {
      scope: { kind: 'org', org: 'acme' },
      runnerGroupId: 3,
    });
    await backend.generateJitConfig('ci-i-1', [], 1);
    await backend.generateJitConfig('ci-i-2', [], 1);
    expect(ensured).toEqual([
      { name: 'ci-linux', labels: ['linux', 'x64', 'self-hosted'], runnerGroupId: 3 },
    ]);
    expect(scaleSetLabels(pool({ labels: ['self-hosted', 'gpu'] }))).toEqual(['self-hosted', 'gpu']);
  });

  it('reports a name taken by a busy runner as registered (never replaced)', async () => {
    const exists: GenerateJitConfigResult = {
      status: 'exists',
      runner: {
        id: 41,
        name: 'ci-i-1',
        scaleSetId: 7,
        status: 'busy',
        hasAssignedJob: true,
        hasCompletedJob: false,
      },
    };
    const { client } = fakeClient(() => exists);
    const backend = createScaleSetBackend(client, POOL, {
      scope: { kind: 'org', org: 'acme' },
      runnerGroupId: 1,
    });
    await expect(backend.generateJitConfig('ci-i-1', [], 1)).rejects.toBeInstanceOf(RunnerAlreadyRegistered);
  });

  it('creates the scale set again when GitHub deleted it, and registers there', async () => {
    const { client, ensured } = fakeClient((setId) =>
      setId === 7 ? new ScaleSetNotFoundError({ method: 'POST', path: '/jit', status: 404 }) : created(setId),
    );
    const backend = createScaleSetBackend(client, POOL, {
      scope: { kind: 'org', org: 'acme' },
      runnerGroupId: 1,
    });
    await expect(backend.generateJitConfig('ci-i-1', [], 1)).resolves.toEqual({
      runnerId: 48,
      encodedJitConfig: 'config-8',
    });
    expect(ensured).toHaveLength(2);
  });

  it('passes the evidence check through to the DELETE and maps the answers', async () => {
    const { client } = fakeClient(created);
    const backend = createScaleSetBackend(client, POOL, {
      scope: { kind: 'org', org: 'acme' },
      runnerGroupId: 1,
    });
    await expect(backend.deleteRunner(4, async () => false)).resolves.toBe('cancelled');
    await expect(backend.deleteRunner(4, async () => true)).resolves.toBe('busy');
    await expect(backend.findRunner('x')).resolves.toMatchObject({ id: 4, status: 'online', busy: true });
  });
});
