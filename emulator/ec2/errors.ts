// EC2's answers: the XML document of an action, and its error shape.
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from '../context.js';
import { el, renderDocument, type XmlNode } from '../xml.js';

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';
/** EC2 indents its answers by four spaces a level; the whitespace counts in the answer's size. */
const EC2_INDENT = 4;

export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function ok(action: string, children: XmlNode[]): EmulatorResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: renderDocument(`${action}Response`, EC2_NAMESPACE, [el('requestId', randomUUID()), ...children], {
      indent: EC2_INDENT,
    }),
  };
}

export function errorResponse(code: string, message: string, status: number): EmulatorResponse {
  return {
    status,
    code,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: renderDocument('Response', undefined, [
      el('Errors', el('Error', el('Code', code), el('Message', message))),
      el('RequestID', randomUUID()),
    ]),
  };
}

export function dryRun(): Ec2Error {
  return new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
}

export function missing(parameter: string): Ec2Error {
  return new Ec2Error('MissingParameter', `The request must contain the parameter ${parameter}`);
}

const quoteIds = (ids: string[]) => `'${ids.join(', ')}'`;

export function notFound(ids: string[]): Ec2Error {
  return ids.length === 1
    ? new Ec2Error('InvalidInstanceID.NotFound', `The instance ID ${quoteIds(ids)} does not exist`)
    : new Ec2Error('InvalidInstanceID.NotFound', `The instance IDs ${quoteIds(ids)} do not exist`);
}

export function insufficient(
  instanceType: string,
  availabilityZone: string,
): { code: string; message: string } {
  return {
    code: 'InsufficientInstanceCapacity',
    message:
      `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested ` +
      `(${availabilityZone}). Our system will be working on provisioning additional capacity.`,
  };
}
