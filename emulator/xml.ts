// A minimal XML writer for EC2 Query protocol answers.

export type XmlNode = string | number | boolean | XmlElement | undefined | null;

export interface XmlElement {
  name: string;
  children: XmlNode[];
}

export function el(name: string, ...children: XmlNode[]): XmlElement {
  return { name, children };
}

/** An EC2 list: `<name><item>…</item>…</name>`; undefined when the list is empty (EC2 omits empty sets). */
export function itemSet(name: string, items: XmlNode[][]): XmlElement | undefined {
  if (items.length === 0) return undefined;
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

function write(node: XmlNode, out: string[]): void {
  if (node === undefined || node === null) return;
  if (typeof node !== 'object') {
    out.push(escapeXml(String(node)));
    return;
  }
  out.push(`<${node.name}>`);
  for (const child of node.children) write(child, out);
  out.push(`</${node.name}>`);
}

export function renderDocument(root: string, namespace: string | undefined, children: XmlNode[]): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  out.push(namespace ? `<${root} xmlns="${namespace}">` : `<${root}>`);
  for (const child of children) write(child, out);
  out.push(`</${root}>`);
  return out.join('');
}
