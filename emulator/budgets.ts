// The real API budgets: GitHub's points per minute and hourly primary limit, EC2's token buckets
// per API class and SSM's transactions per second. They run on the real clock, because they bound
// how fast the action may call, not how fast the fleet ages.

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export interface GitHubBudgetOptions {
  /** Secondary limit: points per rolling minute (900 on github.com). */
  pointsPerMinute?: number;
  readPoints?: number;
  writePoints?: number;
  /** Primary limit per hour (5000 for an app installation). */
  primaryPerHour?: number;
  /** Status of a primary-limit answer: GitHub uses 403 or 429. */
  primaryStatus?: 403 | 429;
  /** Set to false to enforce only the primary limit. */
  secondary?: boolean;
  /** Set to false to enforce only the secondary limit. */
  primary?: boolean;
}

export type Ec2ApiClass = 'non-mutating' | 'mutating' | 'RunInstances' | 'TerminateInstances';
export type Ec2ResourceClass = 'RunInstances-resource' | 'TerminateInstances-resource';

export interface Ec2BudgetOptions {
  buckets?: Partial<Record<Ec2ApiClass | Ec2ResourceClass, BucketSpec>>;
}

export interface SsmBudgetOptions {
  /** Transactions per second per operation (bucket capacity = refill per second = TPS). */
  tps?: Record<string, number>;
  /** Explicit buckets per operation, e.g. a burst with a slow refill for a deterministic test. */
  buckets?: Record<string, BucketSpec>;
}

export interface BudgetOptions {
  github?: boolean | GitHubBudgetOptions;
  ec2?: boolean | Ec2BudgetOptions;
  ssm?: boolean | SsmBudgetOptions;
}

export const DEFAULT_EC2_BUCKETS: Record<Ec2ApiClass | Ec2ResourceClass, BucketSpec> = {
  'non-mutating': { capacity: 100, refillPerSecond: 20 },
  mutating: { capacity: 50, refillPerSecond: 5 },
  RunInstances: { capacity: 5, refillPerSecond: 2 },
  TerminateInstances: { capacity: 100, refillPerSecond: 5 },
  'RunInstances-resource': { capacity: 1000, refillPerSecond: 2 },
  'TerminateInstances-resource': { capacity: 1000, refillPerSecond: 20 },
};

export const DEFAULT_SSM_TPS: Record<string, number> = {
  PutParameter: 3,
  DeleteParameter: 3,
  DeleteParameters: 3,
  GetParameter: 40,
  GetParameters: 40,
  GetParametersByPath: 40,
  DescribeParameters: 40,
};

export function ec2ApiClass(action: string): Ec2ApiClass {
  if (action === 'RunInstances' || action === 'TerminateInstances') return action;
  if (action.startsWith('Describe') || action.startsWith('Get')) return 'non-mutating';
  return 'mutating';
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly spec: BucketSpec,
    private readonly now: () => number,
  ) {
    this.tokens = spec.capacity;
    this.last = now();
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.spec.capacity, this.tokens + elapsed * this.spec.refillPerSecond);
    this.last = now;
  }

  /** Takes `count` tokens when available; false (and nothing taken) otherwise. */
  take(count = 1): boolean {
    this.refill();
    if (this.tokens + 1e-9 < count) return false;
    this.tokens -= count;
    return true;
  }

  available(): number {
    this.refill();
    return this.tokens;
  }
}

export interface GitHubVerdict {
  allowed: boolean;
  kind?: 'secondary' | 'primary';
  status?: number;
  retryAfterSeconds?: number;
  headers: Record<string, string>;
}

export interface GitHubBudget {
  /** Charges one request and says whether it may proceed, with the rate-limit headers to send. */
  charge(method: string, counted: boolean): GitHubVerdict;
  /** The /rate_limit view. */
  snapshot(): { limit: number; used: number; remaining: number; reset: number };
}

export function createGitHubBudget(
  options: GitHubBudgetOptions | undefined,
  now: () => number,
): GitHubBudget {
  const enforced = options !== undefined;
  const pointsPerMinute = options?.pointsPerMinute ?? 900;
  const readPoints = options?.readPoints ?? 1;
  const writePoints = options?.writePoints ?? 5;
  const primaryLimit = options?.primaryPerHour ?? 5000;
  const primaryStatus = options?.primaryStatus ?? 403;
  const secondaryOn = enforced && options?.secondary !== false;
  const primaryOn = enforced && options?.primary !== false;

  // Rolling minute of charged points: parallel arrays used as a queue.
  const times: number[] = [];
  const points: number[] = [];
  let head = 0;
  let pointsInWindow = 0;
  let windowStart = now();
  let used = 0;

  function expire(at: number): void {
    while (head < times.length && times[head]! <= at - 60_000) {
      pointsInWindow -= points[head]!;
      head += 1;
    }
    if (head > 1024 && head * 2 > times.length) {
      times.splice(0, head);
      points.splice(0, head);
      head = 0;
    }
  }

  function rollPrimary(at: number): void {
    if (at >= windowStart + 3_600_000) {
      windowStart = at;
      used = 0;
    }
  }

  function headers(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(primaryLimit),
      'x-ratelimit-remaining': String(Math.max(0, primaryLimit - used)),
      'x-ratelimit-reset': String(Math.ceil((windowStart + 3_600_000) / 1000)),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': 'core',
    };
  }

  return {
    charge(method, counted) {
      const at = now();
      rollPrimary(at);
      expire(at);
      if (!counted) return { allowed: true, headers: headers() };
      if (primaryOn && used >= primaryLimit) {
        return {
          allowed: false,
          kind: 'primary',
          status: primaryStatus,
          retryAfterSeconds: Math.max(1, Math.ceil((windowStart + 3_600_000 - at) / 1000)),
          headers: headers(),
        };
      }
      const cost = method === 'GET' || method === 'HEAD' ? readPoints : writePoints;
      if (secondaryOn && pointsInWindow + cost > pointsPerMinute) {
        // Wait until enough of the oldest points leave the rolling minute.
        let freed = 0;
        let until = at + 60_000;
        for (let i = head; i < times.length; i++) {
          freed += points[i]!;
          if (pointsInWindow - freed + cost <= pointsPerMinute) {
            until = times[i]! + 60_000;
            break;
          }
        }
        return {
          allowed: false,
          kind: 'secondary',
          status: 403,
          retryAfterSeconds: Math.max(1, Math.ceil((until - at) / 1000)),
          headers: headers(),
        };
      }
      times.push(at);
      points.push(cost);
      pointsInWindow += cost;
      used += 1;
      return { allowed: true, headers: headers() };
    },
    snapshot() {
      rollPrimary(now());
      return {
        limit: primaryLimit,
        used,
        remaining: Math.max(0, primaryLimit - used),
        reset: Math.ceil((windowStart + 3_600_000) / 1000),
      };
    },
  };
}

export interface AwsBudget {
  /** True when the call (and `resources` units of its resource bucket) may proceed. */
  take(action: string, resources?: number): boolean;
}

export function createEc2Budget(
  options: Ec2BudgetOptions | undefined,
  now: () => number,
): AwsBudget | undefined {
  if (!options) return undefined;
  const buckets = new Map<string, TokenBucket>();
  for (const [name, spec] of Object.entries({ ...DEFAULT_EC2_BUCKETS, ...options.buckets })) {
    buckets.set(name, new TokenBucket(spec, now));
  }
  return {
    take(action, resources = 0) {
      const request = buckets.get(ec2ApiClass(action));
      const launch = action === 'RunInstances' || action === 'CreateFleet';
      const resource =
        resources > 0
          ? buckets.get(
              launch
                ? 'RunInstances-resource'
                : action === 'TerminateInstances'
                  ? 'TerminateInstances-resource'
                  : '',
            )
          : undefined;
      if (resource && resource.available() + 1e-9 < resources) return false;
      if (request && !request.take()) return false;
      resource?.take(resources);
      return true;
    },
  };
}

export function createSsmBudget(
  options: SsmBudgetOptions | undefined,
  now: () => number,
): AwsBudget | undefined {
  if (!options) return undefined;
  const buckets = new Map<string, TokenBucket>();
  for (const [action, tps] of Object.entries({ ...DEFAULT_SSM_TPS, ...options.tps })) {
    buckets.set(action, new TokenBucket({ capacity: tps, refillPerSecond: tps }, now));
  }
  for (const [action, spec] of Object.entries(options.buckets ?? {}))
    buckets.set(action, new TokenBucket(spec, now));
  return {
    take: (action) => buckets.get(action)?.take() ?? true,
  };
}
