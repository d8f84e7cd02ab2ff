import { describe, expect, it } from 'vitest';
import {
  ASSUMED_DESCRIBE_PARAMETERS_BUCKET,
  createEc2Budget,
  createGitHubBudget,
  createSsmBudget,
} from '../../emulator/budgets.js';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, tick: (ms: number) => (now += ms) };
}

function count(times: number, take: () => boolean): number {
  let allowed = 0;
  for (let n = 0; n < times; n++) if (take()) allowed += 1;
  return allowed;
}

describe('EC2 token buckets (real defaults)', () => {
  it('allows 5 RunInstances at once and 2 more per second', () => {
    const clock = fakeClock();
    const budget = createEc2Budget({}, clock.now)!;
    expect(count(10, () => budget.take('RunInstances', 1))).toBe(5);
    clock.tick(1_000);
    expect(count(10, () => budget.take('RunInstances', 1))).toBe(2);
  });

  it('keeps separate buckets per API class', () => {
    const clock = fakeClock();
    const budget = createEc2Budget({}, clock.now)!;
    expect(count(150, () => budget.take('DescribeInstances'))).toBe(100);
    expect(count(60, () => budget.take('CreateTags'))).toBe(50);
    expect(count(120, () => budget.take('TerminateInstances', 1))).toBe(100);
    clock.tick(1_000);
    expect(count(50, () => budget.take('DescribeInstances'))).toBe(20);
    expect(count(50, () => budget.take('DeleteTags'))).toBe(5);
    expect(count(50, () => budget.take('TerminateInstances', 1))).toBe(5);
  });

  it('limits launched instances with the resource bucket (1000, refilling 2/s)', () => {
    const clock = fakeClock();
    const budget = createEc2Budget({}, clock.now)!;
    expect(budget.take('CreateFleet', 900)).toBe(true);
    expect(budget.take('RunInstances', 200)).toBe(false);
    clock.tick(50_000);
    expect(budget.take('RunInstances', 200)).toBe(true);
  });
});

describe('SSM transactions per second (real defaults)', () => {
  it('allows 3 PutParameter and DeleteParameters per second and 40 GetParametersByPath', () => {
    const clock = fakeClock();
    const budget = createSsmBudget({}, clock.now)!;
    expect(count(10, () => budget.take('PutParameter'))).toBe(3);
    expect(count(10, () => budget.take('DeleteParameters'))).toBe(3);
    expect(count(60, () => budget.take('GetParametersByPath'))).toBe(40);
    clock.tick(1_000);
    expect(count(10, () => budget.take('PutParameter'))).toBe(3);
  });

  it('assumes a burst of 20 DescribeParameters refilling at 5 a second (undocumented), and takes other figures', () => {
    const clock = fakeClock();
    expect(ASSUMED_DESCRIBE_PARAMETERS_BUCKET).toEqual({ capacity: 20, refillPerSecond: 5 });
    const budget = createSsmBudget({}, clock.now)!;
    expect(count(30, () => budget.take('DescribeParameters'))).toBe(20);
    clock.tick(1_000);
    expect(count(30, () => budget.take('DescribeParameters'))).toBe(5);
    const configured = createSsmBudget({ tps: { DescribeParameters: 2 } }, clock.now)!;
    expect(count(10, () => configured.take('DescribeParameters'))).toBe(2);
    // Calls AWS documents no limit for are not throttled.
    expect(count(100, () => budget.take('AddTagsToResource'))).toBe(100);
  });
});

describe('GitHub limits (real defaults)', () => {
  it('allows 900 points per rolling minute: 180 writes, or 900 reads', () => {
    const clock = fakeClock();
    const budget = createGitHubBudget({}, clock.now);
    expect(count(200, () => budget.charge('POST', true).allowed)).toBe(180);
    const refused = budget.charge('DELETE', true);
    expect(refused).toMatchObject({ allowed: false, kind: 'secondary', status: 403 });
    expect(refused.retryAfterSeconds).toBe(60);
    clock.tick(60_000);
    expect(count(1000, () => budget.charge('GET', true).allowed)).toBe(900);
  });

  it('allows 5000 requests per hour and reports them in the headers', () => {
    const clock = fakeClock();
    const budget = createGitHubBudget({ secondary: false }, clock.now);
    expect(count(5001, () => budget.charge('GET', true).allowed)).toBe(5000);
    const refused = budget.charge('GET', true);
    expect(refused).toMatchObject({ allowed: false, kind: 'primary', status: 403 });
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-ratelimit-used']).toBe('5000');
    clock.tick(3_600_000);
    expect(budget.charge('GET', true).headers['x-ratelimit-remaining']).toBe('4999');
  });

  it('counts but never refuses when no budget is configured', () => {
    const clock = fakeClock();
    const budget = createGitHubBudget(undefined, clock.now);
    expect(count(6000, () => budget.charge('POST', true).allowed)).toBe(6000);
  });
});
