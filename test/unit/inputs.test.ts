// Settings derived from the environment rather than from an input.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readSettings } from '../../src/inputs.js';

beforeEach(() => {
  vi.stubEnv('INPUT_MODE', 'reconcile');
  vi.stubEnv('INPUT_GITHUB-TOKEN', 'ghp_example');
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('SSM attempts', () => {
  it('are 8 when AWS_MAX_ATTEMPTS is not set (PutParameter budget shared with other runs)', () => {
    expect(readSettings({ GITHUB_WORKSPACE: '/w' }).ssmMaxAttempts).toBe(8);
  });

  it('are left to the SDK when AWS_MAX_ATTEMPTS is set, as for every other client', () => {
    expect(readSettings({ GITHUB_WORKSPACE: '/w', AWS_MAX_ATTEMPTS: '2' }).ssmMaxAttempts).toBeUndefined();
  });
});
