// EC2 Query parameters: `Filter.1.Value.2=x` read as a tree.
import { Ec2Error } from './errors.js';

export type QueryNode = string | { [key: string]: QueryNode };
export type QueryTree = { [key: string]: QueryNode };

/** `Filter.1.Value.2=x` -> { Filter: { '1': { Value: { '2': 'x' } } } } */
export function queryTree(form: URLSearchParams): QueryTree {
  const root: QueryTree = {};
  for (const [key, value] of form) {
    const parts = key.split('.');
    let node: QueryTree = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const next = node[part];
      if (typeof next === 'object') node = next;
      else {
        const created: QueryTree = {};
        node[part] = created;
        node = created;
      }
    }
    node[parts[parts.length - 1]!] = value;
  }
  return root;
}

export function child(node: QueryNode | undefined, key: string): QueryNode | undefined {
  return typeof node === 'object' ? node[key] : undefined;
}

export function text(node: QueryNode | undefined, key?: string): string | undefined {
  const value = key === undefined ? node : child(node, key);
  return typeof value === 'string' ? value : undefined;
}

/** The members of a `.N` list in index order. */
export function members(node: QueryNode | undefined): QueryNode[] {
  if (typeof node !== 'object') return [];
  return Object.keys(node)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => node[key]!);
}

export function strings(node: QueryNode | undefined): string[] {
  return members(node).filter((value): value is string => typeof value === 'string');
}

export function integer(node: QueryNode | undefined, key: string, name: string): number | undefined {
  const raw = text(node, key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) {
    throw new Ec2Error('InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid.`);
  }
  return value;
}

export function isTrue(node: QueryNode | undefined, key: string): boolean {
  return text(node, key)?.toLowerCase() === 'true';
}
