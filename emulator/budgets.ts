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

/** SSM's documented default throughput (Parameter Store quotas); higher throughput raises some of them. */
export const DEFAULT_SSM_TPS: Record<string, number> = {
  PutParameter: 3,
  DeleteParameter: 3,
  DeleteParameters: 3,
  GetParameter: 40,
  GetParameters: 40,
  GetParametersByPath: 40,
};

/**
 * DescribeParameters' throughput is not documented: the Parameter Store quotas name GetParameter(s),
 * GetParametersByPath, PutParameter and DeleteParameter(s) only. Users report ThrottlingException after
 * about 20 calls in a row (in the issue trackers of chamber and serverless-secrets). The emulator assumes a
 * burst of 20 refilling at 5 a second; override it with `budgets.ssm.tps` or `budgets.ssm.buckets`.
 */
export const ASSUMED_DESCRIBE_PARAMETERS_BUCKET: BucketSpec = { capacity: 20, refillPerSecond: 5 };

/** Every SSM bucket the emulator enforces by default: the documented TPS, and the assumption above. */
export const DEFAULT_SSM_BUCKETS: Record<string, BucketSpec> = {
  ...Object.fromEntries(
    Object.entries(DEFAULT_SSM_TPS).map(([action, tps]) => [action, { capacity: tps, refillPerSecond: tps }]),
  ),
  DescribeParameters: ASSUMED_DESCRIBE_PARAMETERS_BUCKET,
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

/** Points charged in the last 60 s (GitHub's secondary limit), as a queue of (time, points). */
function createRollingMinute() {
  const times: number[] = [];
  const points: number[] = [];
  let head = 0;
  let total = 0;
  return {
    total: () => total,
    expire(at: number): void {
      while (head < times.length && times[head]! <= at - 60_000) {
        total -= points[head]!;
        head += 1;
      }
      if (head > 1024 && head * 2 > times.length) {
        times.splice(0, head);
        points.splice(0, head);
        head = 0;
      }
    },
    add(at: number, cost: number): void {
      times.push(at);
      points.push(cost);
      total += cost;
    },
    /** When enough of the oldest points leave the window for `cost` more to fit under `limit`. */
    fitsAt(at: number, cost: number, limit: number): number {
      let freed = 0;
      for (let i = head; i < times.length; i++) {
        freed += points[i]!;
        if (total - freed + cost <= limit) return times[i]! + 60_000;
      }
      return at + 60_000;
    },
  };
}

/** Requests counted in the current hour (GitHub's primary limit) and the headers that report them. */
function createHourlyCount(limit: number) {
  let windowStart: number | undefined;
  let used = 0;
  const reset = () => windowStart! + 3_600_000;
  return {
    used: () => used,
    reset,
    roll(at: number): void {
      if (windowStart === undefined || at >= reset()) {
        windowStart = at;
        used = 0;
      }
    },
    count(): void {
      used += 1;
    },
    headers: (): Record<string, string> => ({
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - used)),
      'x-ratelimit-reset': String(Math.ceil(reset() / 1000)),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': 'core',
    }),
  };
}

export function createGitHubBudget(
  options: GitHubBudgetOptions | undefined,
  now: () => number,
): GitHubBudget {
  const enforced = options !== undefined;
  const pointsPerMinute = options?.pointsPerMinute ?? 900;
  const primaryLimit = options?.primaryPerHour ?? 5000;
  const secondaryOn = enforced && options?.secondary !== false;
  const primaryOn = enforced && options?.primary !== false;
  const minute = createRollingMinute();
  const hour = createHourlyCount(primaryLimit);
  hour.roll(now());

  function refuse(kind: 'primary' | 'secondary', at: number, until: number): GitHubVerdict {
    const status = kind === 'primary' ? (options?.primaryStatus ?? 403) : 403;
    const retryAfterSeconds = Math.max(1, Math.ceil((until - at) / 1000));
    return { allowed: false, kind, status, retryAfterSeconds, headers: hour.headers() };
  }

  return {
    charge(method, counted) {
      const at = now();
      hour.roll(at);
      minute.expire(at);
      if (!counted) return { allowed: true, headers: hour.headers() };
      if (primaryOn && hour.used() >= primaryLimit) return refuse('primary', at, hour.reset());
      const read = method === 'GET' || method === 'HEAD';
      const cost = read ? (options?.readPoints ?? 1) : (options?.writePoints ?? 5);
      if (secondaryOn && minute.total() + cost > pointsPerMinute)
        return refuse('secondary', at, minute.fitsAt(at, cost, pointsPerMinute));
      minute.add(at, cost);
      hour.count();
      return { allowed: true, headers: hour.headers() };
    },
    snapshot() {
      hour.roll(now());
      return {
        limit: primaryLimit,
        used: hour.used(),
        remaining: Math.max(0, primaryLimit - hour.used()),
        reset: Math.ceil(hour.reset() / 1000),
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
  const specs: Record<string, BucketSpec> = { ...DEFAULT_SSM_BUCKETS };
  for (const [action, tps] of Object.entries(options.tps ?? {}))
    specs[action] = { capacity: tps, refillPerSecond: tps };
  Object.assign(specs, options.buckets);
  const buckets = new Map(
    Object.entries(specs).map(([action, spec]) => [action, new TokenBucket(spec, now)]),
  );
  return {
    take: (action) => buckets.get(action)?.take() ?? true,
  };
}
