// SSM Parameter Store over JSON 1.1 (`x-amz-target: AmazonSSM.<Op>`).
import type { EmulatorContext } from '../context.js';
import { regionParameters } from '../state.js';
import { sortedNames, ssmContext, type SsmContext } from './context.js';
import { describeParameters } from './describe.js';
import { errorResponse, okResponse, SsmError } from './errors.js';
import { asObject, type Json } from './input.js';
import { PARAMETER_OPERATIONS, type Operation } from './parameters.js';
import { parameterView, putParameter, removeParameter } from './store.js';
import { TAG_OPERATIONS } from './tags.js';
import type { SsmOptions, SsmService } from './types.js';

export type * from './types.js';

const OPERATIONS: Record<string, Operation> = {
  ...PARAMETER_OPERATIONS,
  DescribeParameters: describeParameters,
  ...TAG_OPERATIONS,
};

function run(ssm: SsmContext, action: string, region: string, input: unknown): Json {
  const operation = OPERATIONS[action];
  if (!operation) throw new SsmError('UnknownOperationException', `Unknown operation ${action}`);
  return operation(ssm, region, asObject(input));
}

export function createSsmService(ctx: EmulatorContext, options: SsmOptions = {}): SsmService {
  const ssm = ssmContext(ctx, options);
  return {
    handle(request) {
      try {
        return okResponse(run(ssm, request.action, request.region, request.json));
      } catch (error) {
        if (error instanceof SsmError) return errorResponse(error.code, error.message, error.status);
        throw error;
      }
    },
    errorResponse,
    put: (region, name, value, type, lastModified) =>
      putParameter(ssm, region, name, value, type, lastModified),
    get: (region, name) => regionParameters(ctx.state, region).get(name),
    delete: (region, name) => removeParameter(ssm, region, name),
    parameters(region) {
      const regions = region ? [region] : [...ctx.state.parameters.keys()];
      return regions.flatMap((r) =>
        sortedNames(ssm, r).map((name) => parameterView(ssm, regionParameters(ctx.state, r).get(name)!)),
      );
    },
    parameter(name, region = ctx.defaultRegion) {
      const parameter = regionParameters(ctx.state, region).get(name);
      return parameter ? parameterView(ssm, parameter) : undefined;
    },
    setShortPages(on) {
      ssm.paging.shortPages = on;
    },
    setDescribeFiltersEachPage(on) {
      ssm.paging.describeFiltersEachPage = on;
    },
  };
}
