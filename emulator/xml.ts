// A minimal XML writer for EC2 Query protocol answers.

export type XmlNode = string | number | boolean | XmlElement | undefined | null;

export interface XmlElement {
  name: string;
  children: XmlNode[];
  /** Written into the opening tag as is (the root's `xmlns="…"`). */
  attributes?: string;
}

export function el(name: string, ...children: XmlNode[]): XmlElement {
  return { name, children };
}

/** An EC2 list: `<name><item>…</item>…</name>`; undefined when the list is empty (EC2 omits empty sets). */
export function itemSet(name: string, items: XmlNode[][]): XmlElement | undefined {
  if (items.length === 0) return undefined;
  return el(name, ...items.map((children) => el('item', ...children)));
}

/** An EC2 list that EC2 sends even when empty, as `<name/>` (productCodes, blockDeviceMapping, …). */
export function alwaysSet(name: string, items: XmlNode[][]): XmlElement {
  return el(name, ...items.map((children) => el('item', ...children)));
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const present = (node: XmlNode): boolean => node !== undefined && node !== null;

function write(node: XmlNode, out: string[], depth: number, indent: number): void {
  if (!present(node)) return;
  if (typeof node !== 'object') {
    out.push(escapeXml(String(node)));
    return;
  }
  const children = node!.children.filter(present);
  const open = node!.attributes ? `${node!.name} ${node!.attributes}` : node!.name;
  if (children.length === 0) {
    out.push(`<${open}/>`);
    return;
  }
  const nested = indent > 0 && children.some((child) => typeof child === 'object');
  out.push(`<${open}>`);
  for (const child of children) {
    if (nested) out.push(`\n${' '.repeat(indent * (depth + 1))}`);
    write(child, out, depth + 1, indent);
  }
  if (nested) out.push(`\n${' '.repeat(indent * depth)}`);
  out.push(`</${node!.name}>`);
}

export interface RenderOptions {
  /** Spaces per nesting level, as EC2 formats its answers; 0 writes everything on one line. */
  indent?: number;
}

export function renderDocument(
  root: string,
  namespace: string | undefined,
  children: XmlNode[],
  options: RenderOptions = {},
): string {
  const indent = options.indent ?? 0;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  const attributes = namespace ? `xmlns="${namespace}"` : undefined;
  write({ name: root, children, ...(attributes ? { attributes } : {}) }, out, 0, indent);
  return out.join('');
}
