// DynamoDB over JSON 1.0 (`x-amz-target: DynamoDB_20120810.<Op>`), for the subset runner-scaler uses:
// tables with TTL, conditional item writes, Query. Expired items stay readable until a sweep deletes them
// (DynamoDB: typically within 48 hours), so readers must filter them, as they must on AWS.
import type { EmulatorResponse } from '../context.js';
import { DEFAULT_MESSAGES, DynamoDbError, ERROR_STATUS, errorResponse, okResponse } from './errors.js';
import {
  deleteItemOperation,
  getItemOperation,
  putItemOperation,
  updateItemOperation,
  type TableLookup,
} from './items.js';
import { MAX_PAGE_BYTES, queryOperation } from './query.js';
import { asObject, type Json } from './requests.js';
import {
  createTableOperation,
  describeTableOperation,
  describeTimeToLiveOperation,
  newTable,
  updateTimeToLiveOperation,
  type TableRegistry,
} from './table-operations.js';
import {
  allItems,
  checkItemKey,
  checkKey,
  deleteItem,
  getItem,
  putItem,
  type KeyAttribute,
  type Table,
} from './tables.js';
import { addNumbers, checkItem, cloneItem, compareValues, type Item } from './values.js';

/** The service name the emulator's server, call log, faults and latency use for DynamoDB. */
export const DYNAMODB_SERVICE = 'dynamodb' as const;
/** Requests carry `x-amz-target: DynamoDB_20120810.<Operation>`. */
export const DYNAMODB_TARGET_PREFIX = 'DynamoDB_20120810.';

/** The emulator clock (see ../clock.ts): emulator time, the offset advance() added, the wall time clients see. */
export interface DynamoDbClock {
  now(): number;
  offset(): number;
  toWall(time: number): number;
}

export interface DynamoDbDeps {
  clock: DynamoDbClock;
  defaultRegion: string;
  accountId: string;
}

/** A number attribute holding a point in time (epoch ms or epoch seconds, client time). */
export interface TimeAttribute {
  name: string;
  unit: 'ms' | 's';
}

export interface DynamoDbTableSpec {
  name: string;
  region?: string;
  /** Default `pk` (S). */
  partitionKey?: KeyAttribute;
  /** Default `sk` (S); `null` for a table without a sort key. */
  sortKey?: KeyAttribute | null;
  /** Enables TTL on this attribute. */
  ttlAttribute?: string;
}

export interface DynamoDbOptions {
  /**
   * How long after its TTL an expired item is deleted, in emulator ms; undefined (the default): never, as
   * DynamoDB's own deletion may come days later. Readers must filter expired items either way.
   */
  ttlDeletionDelayMs?: number;
  /**
   * Number attributes holding points in time. Item values are the client's wall-clock times, which
   * advance() cannot move; these attributes are aged instead (shifted back by the time advance() added),
   * so that a stored expiry passes when emulated time passes it.
   */
  timeAttributes?: readonly TimeAttribute[];
  /** Bytes of items one Query page reads at most (DynamoDB: 1 MB); smaller values force paging. */
  queryPageBytes?: number;
  /** Tables that exist from the start. */
  tables?: DynamoDbTableSpec[];
}

/** What the handler reads of a request (the emulator's EmulatorRequest has these members). */
export interface DynamoDbRequest {
  action: string;
  region: string;
  body: string;
}

export interface DynamoDbFaultSpec {
  /** Operation name, or a RegExp tested against it; default every operation. */
  action?: string | RegExp;
  /** DynamoDB error code, e.g. ThrottlingException, ProvisionedThroughputExceededException, InternalServerError. */
  code: string;
  message?: string;
  /** Default from the code: 500 InternalServerError, 503 ServiceUnavailable, else 400. */
  status?: number;
  /** How many matching calls fail; default every one until removed. */
  times?: number;
  match?: (request: DynamoDbRequest) => boolean;
  /** The call takes effect, then the client gets the error instead of the answer. */
  lostResponse?: boolean;
}

export interface DynamoDbFaultHandle {
  readonly hits: number;
  remove(): void;
}

export interface DynamoDbFaults {
  inject(spec: DynamoDbFaultSpec): DynamoDbFaultHandle;
  /** Throttles matching calls (ThrottlingException unless another code is given). */
  throttle(
    options?: Omit<DynamoDbFaultSpec, 'code'> & {
      code?: 'ThrottlingException' | 'ProvisionedThroughputExceededException';
    },
  ): DynamoDbFaultHandle;
  /** Answers matching calls 500 InternalServerError. */
  serverError(options?: Omit<DynamoDbFaultSpec, 'code'>): DynamoDbFaultHandle;
  /** Every call is answered 503 ServiceUnavailable for this long (emulator time). */
  unavailableFor(ms: number): DynamoDbFaultHandle;
  clear(): void;
}

export interface DynamoDbService {
  readonly service: typeof DYNAMODB_SERVICE;
  handle(request: DynamoDbRequest): EmulatorResponse;
  errorResponse(code: string, message?: string, status?: number): EmulatorResponse;
  faults: DynamoDbFaults;
  createTable(spec: DynamoDbTableSpec): void;
  tables(region?: string): string[];
  /** A table's items (copies), in key order. */
  items(table: string, region?: string): Item[];
  item(table: string, key: Item, region?: string): Item | undefined;
  /** Writes an item directly (seeding): no condition, no capacity. */
  putItem(table: string, item: Item, region?: string): void;
  deleteItem(table: string, key: Item, region?: string): boolean;
  /** Capacity units the table consumed so far (on-demand billing charges these). */
  capacity(table: string, region?: string): { readUnits: number; writeUnits: number };
  /** Deletes every item whose TTL has passed, now, whatever the deletion delay; returns how many. */
  sweepExpired(): number;
  setTtlDeletionDelay(ms: number | undefined): void;
  setQueryPageBytes(bytes: number): void;
  /** Calls answered so far, per `Operation` and per `Operation:ErrorCode`. */
  counts(): Record<string, number>;
}

interface ActiveFault {
  spec: DynamoDbFaultSpec;
  remaining: number;
  hits: number;
  until?: number;
}

interface Registry extends TableRegistry, TableLookup {
  tables: Map<string, Table>;
  /** A table for the views: a missing one is the caller's mistake. */
  lookup(table: string, region?: string): Table;
}

function createRegistry(deps: DynamoDbDeps): Registry {
  const tables = new Map<string, Table>();
  const id = (region: string, name: string) => `${region}\u0000${name}`;
  return {
    tables,
    accountId: deps.accountId,
    now: () => deps.clock.now(),
    toWall: (time) => deps.clock.toWall(time),
    find: (region, name) => tables.get(id(region, name)),
    add: (table) => void tables.set(id(table.region, table.name), table),
    table(region, name) {
      const table = tables.get(id(region, name));
      if (!table) throw new DynamoDbError('ResourceNotFoundException', 'Requested resource not found');
      return table;
    },
    lookup(name, region = deps.defaultRegion) {
      const table = tables.get(id(region, name));
      if (!table) throw new Error(`no DynamoDB table ${name} in ${region}`);
      return table;
    },
  };
}

/** Time passing for the items: aging after advance(), TTL deletion after the configured delay. */
function createTimeKeeping(clock: DynamoDbClock, tables: Map<string, Table>, options: DynamoDbOptions) {
  const timeAttributes = options.timeAttributes ?? [];
  let agedOffset = clock.offset();
  let deletionDelayMs = options.ttlDeletionDelayMs;

  /** Ages the time attributes by what advance() added since the last call. */
  function age(): void {
    const shiftMs = clock.offset() - agedOffset;
    agedOffset = clock.offset();
    if (shiftMs <= 0 || timeAttributes.length === 0) return;
    for (const table of tables.values()) {
      const keys = new Set([table.partitionKey.name, table.sortKey?.name]);
      for (const item of allItems(table)) {
        for (const { name, unit } of timeAttributes) {
          const value = item[name]?.N;
          // 0 and below mean "none" (a closed breaker's openUntilMs), not a time.
          if (value === undefined || keys.has(name) || Number(value) <= 0) continue;
          item[name] = {
            N: addNumbers(value, unit === 'ms' ? String(shiftMs) : String(shiftMs / 1000), true),
          };
        }
      }
    }
  }

  function sweep(delayMs: number): number {
    const wallNow = clock.toWall(clock.now());
    let deleted = 0;
    for (const table of tables.values()) {
      const attribute = table.ttl.enabled ? table.ttl.attributeName : undefined;
      if (attribute === undefined) continue;
      for (const item of allItems(table)) {
        const ttl = item[attribute]?.N;
        if (ttl !== undefined && Number(ttl) * 1000 + delayMs <= wallNow && deleteItem(table, item))
          deleted++;
      }
    }
    return deleted;
  }

  return {
    catchUp(): void {
      age();
      if (deletionDelayMs !== undefined) sweep(deletionDelayMs);
    },
    sweepNow(): number {
      age();
      return sweep(0);
    },
    setDeletionDelay(ms: number | undefined): void {
      deletionDelayMs = ms;
    },
  };
}

function createOperations(registry: Registry, pageBytes: () => number) {
  const operations: Record<string, (region: string, input: Json) => Json> = {
    CreateTable: (region, input) => createTableOperation(registry, region, input),
    DescribeTable: (region, input) => describeTableOperation(registry, region, input),
    UpdateTimeToLive: (region, input) => updateTimeToLiveOperation(registry, region, input),
    DescribeTimeToLive: (region, input) => describeTimeToLiveOperation(registry, region, input),
    PutItem: (region, input) => putItemOperation(registry, region, input),
    GetItem: (region, input) => getItemOperation(registry, region, input),
    UpdateItem: (region, input) => updateItemOperation(registry, region, input),
    DeleteItem: (region, input) => deleteItemOperation(registry, region, input),
    Query: (region, input) => queryOperation(registry, region, input, pageBytes()),
  };
  /** The answer to one request; errors other than DynamoDB's own are the emulator's and are thrown. */
  return function answer(request: DynamoDbRequest): EmulatorResponse {
    try {
      const operation = Object.hasOwn(operations, request.action) ? operations[request.action] : undefined;
      if (!operation) throw new DynamoDbError('UnknownOperationException', '');
      let json: unknown;
      try {
        json = request.body.trim() === '' ? {} : JSON.parse(request.body);
      } catch {
        throw new DynamoDbError('SerializationException', 'Request body is not valid JSON');
      }
      return okResponse(operation(request.region, asObject(json)));
    } catch (error) {
      if (error instanceof DynamoDbError)
        return errorResponse(error.code, error.message, error.status, error.extra);
      throw error;
    }
  };
}

function createTableFromSpec(registry: Registry, deps: DynamoDbDeps, spec: DynamoDbTableSpec): void {
  const region = spec.region ?? deps.defaultRegion;
  if (registry.find(region, spec.name))
    throw new Error(`DynamoDB table ${spec.name} exists already in ${region}`);
  const sortKey = spec.sortKey === undefined ? { name: 'sk', type: 'S' as const } : spec.sortKey;
  const table = newTable(
    {
      name: spec.name,
      region,
      partitionKey: spec.partitionKey ?? { name: 'pk', type: 'S' },
      ...(sortKey ? { sortKey } : {}),
      ...(spec.ttlAttribute ? { ttlAttribute: spec.ttlAttribute } : {}),
    },
    deps.clock.now(),
  );
  registry.add(table);
}

export function createDynamoDbService(deps: DynamoDbDeps, options: DynamoDbOptions = {}): DynamoDbService {
  const registry = createRegistry(deps);
  const time = createTimeKeeping(deps.clock, registry.tables, options);
  let queryPageBytes = options.queryPageBytes ?? MAX_PAGE_BYTES;
  const answer = createOperations(registry, () => queryPageBytes);
  const faults = createFaultList(deps.clock);
  const counts: Record<string, number> = {};
  const createTable = (spec: DynamoDbTableSpec) => createTableFromSpec(registry, deps, spec);
  for (const spec of options.tables ?? []) createTable(spec);

  function handle(request: DynamoDbRequest): EmulatorResponse {
    time.catchUp();
    const fault = faults.take(request);
    let response = fault && !fault.lostResponse ? faultResponse(fault) : answer(request);
    if (fault?.lostResponse) response = faultResponse(fault);
    const key = response.code ? `${request.action}:${response.code}` : request.action;
    counts[key] = (counts[key] ?? 0) + 1;
    return response;
  }

  return {
    service: DYNAMODB_SERVICE,
    handle,
    errorResponse: (code, message, status) => errorResponse(code, message, status),
    faults: faults.api,
    createTable,
    tables: (region) =>
      [...registry.tables.values()]
        .filter((table) => !region || table.region === region)
        .map((table) => table.name),
    items(table, region) {
      time.catchUp();
      return sortedItems(registry.lookup(table, region)).map(cloneItem);
    },
    item(table, key, region) {
      time.catchUp();
      const found = registry.lookup(table, region);
      const item = getItem(found, checkKey(found, checkItem(key)));
      return item ? cloneItem(item) : undefined;
    },
    putItem(table, item, region) {
      const found = registry.lookup(table, region);
      const checked = checkItem(item);
      checkItemKey(found, checked);
      putItem(found, checked);
    },
    deleteItem(table, key, region) {
      const found = registry.lookup(table, region);
      return deleteItem(found, checkKey(found, checkItem(key))) !== undefined;
    },
    capacity(table, region) {
      const { readUnits, writeUnits } = registry.lookup(table, region);
      return { readUnits, writeUnits };
    },
    sweepExpired: () => time.sweepNow(),
    setTtlDeletionDelay: (ms) => time.setDeletionDelay(ms),
    setQueryPageBytes(bytes) {
      queryPageBytes = bytes;
    },
    counts: () => ({ ...counts }),
  };
}

function sortedItems(table: Table): Item[] {
  const partition = table.partitionKey.name;
  const sort = table.sortKey?.name;
  return allItems(table).sort(
    (a, b) =>
      (compareValues(a[partition]!, b[partition]!) ?? 0) ||
      (sort ? (compareValues(a[sort]!, b[sort]!) ?? 0) : 0),
  );
}

function faultResponse(spec: DynamoDbFaultSpec): EmulatorResponse {
  return errorResponse(
    spec.code,
    spec.message ?? DEFAULT_MESSAGES[spec.code] ?? `Injected ${spec.code}`,
    spec.status ?? ERROR_STATUS[spec.code] ?? 400,
  );
}

function createFaultList(clock: DynamoDbClock) {
  const active: ActiveFault[] = [];
  const remove = (fault: ActiveFault) => {
    const index = active.indexOf(fault);
    if (index >= 0) active.splice(index, 1);
  };
  const add = (fault: ActiveFault): DynamoDbFaultHandle => {
    active.push(fault);
    return {
      get hits() {
        return fault.hits;
      },
      remove: () => remove(fault),
    };
  };
  const api: DynamoDbFaults = {
    inject: (spec) => add({ spec, remaining: spec.times ?? Number.POSITIVE_INFINITY, hits: 0 }),
    throttle: (options = {}) => api.inject({ ...options, code: options.code ?? 'ThrottlingException' }),
    serverError: (options = {}) => api.inject({ ...options, code: 'InternalServerError' }),
    unavailableFor: (ms) =>
      add({
        spec: { code: 'ServiceUnavailable' },
        remaining: Number.POSITIVE_INFINITY,
        hits: 0,
        until: clock.now() + ms,
      }),
    clear: () => void active.splice(0),
  };
  /** The fault that applies to this request, if any (counts a hit). */
  function take(request: DynamoDbRequest): DynamoDbFaultSpec | undefined {
    for (const fault of [...active]) {
      const { spec } = fault;
      if (fault.until !== undefined && clock.now() >= fault.until) {
        remove(fault);
        continue;
      }
      if (typeof spec.action === 'string' && spec.action !== request.action) continue;
      if (spec.action instanceof RegExp && !spec.action.test(request.action)) continue;
      if (spec.match && !spec.match(request)) continue;
      fault.hits += 1;
      fault.remaining -= 1;
      if (fault.remaining <= 0) remove(fault);
      return spec;
    }
    return undefined;
  }
  return { api, take };
}
