// The SSM service's options and its interface to the rest of the emulator.
import type { EmulatorRequest, EmulatorResponse } from '../context.js';
import type { ParameterRecord } from '../state.js';

export interface SsmOptions {
  /** Answer GetParametersByPath/DescribeParameters with short (even empty) pages while NextToken is set. */
  shortPages?: boolean;
  /**
   * DescribeParameters pages through every parameter of the region and filters each page afterwards, so a
   * filtered listing gets short or empty pages and as many calls as the region has pages of parameters.
   * Users report this of the real service (in the boto3, aws-sdk-ruby and go-cloud issue trackers);
   * AWS documents only that a page may hold "between zero and MaxResults" items. Default false.
   */
  describeFiltersEachPage?: boolean;
  /** Standard parameters per region (10,000 on AWS). */
  maxParameters?: number;
}

export type ParameterType = ParameterRecord['type'];

export interface ParameterView {
  region: string;
  name: string;
  value: string;
  type: ParameterType;
  version: number;
  lastModified: Date;
  tags: Record<string, string>;
}

export interface SsmService {
  handle(request: EmulatorRequest): EmulatorResponse;
  errorResponse(code: string, message: string, status: number): EmulatorResponse;
  /** Writes a parameter directly (seeding, the simulator); no validation. */
  put(
    region: string,
    name: string,
    value: string,
    type?: ParameterType,
    lastModified?: number,
  ): ParameterRecord;
  get(region: string, name: string): ParameterRecord | undefined;
  delete(region: string, name: string): boolean;
  parameters(region?: string): ParameterView[];
  parameter(name: string, region?: string): ParameterView | undefined;
  setShortPages(on: boolean): void;
  setDescribeFiltersEachPage(on: boolean): void;
}
