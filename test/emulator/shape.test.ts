// The emulator stays made of small parts: no function-like node under emulator/ spans more than
// MAX_LINES lines (a factory closure counts as one function, with everything nested in it).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 80;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EMULATOR = path.join(ROOT, 'emulator');

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typescriptFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function describeNode(node: ts.Node, source: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(source);
  // An anonymous function: name it after what it is assigned to or passed as.
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  if (ts.isCallExpression(parent)) return `callback of ${parent.expression.getText(source).slice(0, 40)}`;
  return ts.SyntaxKind[node.kind];
}

/** `file:line name (N lines)` for every function-like node with a body over MAX_LINES lines. */
function longFunctions(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclarationBase).body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      const lines = end - start + 1;
      if (lines > MAX_LINES)
        found.push(`${fileName}:${start} ${describeNode(node, source)} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const relative = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');
const offendersIn = (file: string) => longFunctions(relative(file), readFileSync(file, 'utf8'));

describe('emulator shape', () => {
  const files = typescriptFiles(EMULATOR);

  it('walks the emulator’s sources, in folders too', () => {
    expect(files.map(relative)).toEqual(
      expect.arrayContaining([
        'emulator/index.ts',
        'emulator/ec2/index.ts',
        'emulator/ssm/index.ts',
        'emulator/github/index.ts',
        'emulator/dynamodb/index.ts',
      ]),
    );
  });

  it(`has no function over ${MAX_LINES} lines`, () => {
    const offenders = files.flatMap(offendersIn);
    expect(offenders).toEqual([]);
  });

  it('names long functions, nested ones and closures included (the check can fail)', () => {
    const lines = (count: number) =>
      Array.from({ length: count }, (_, i) => `    const v${i} = ${i};`).join('\n');
    const text = [
      'export function createThing() {',
      '  const inner = () => {',
      lines(MAX_LINES),
      '  };',
      '  return inner;',
      '}',
      `function small() {\n${lines(MAX_LINES - 2)}\n}`,
    ].join('\n');
    expect(longFunctions('x.ts', text)).toEqual([
      `x.ts:1 createThing (${MAX_LINES + 5} lines)`,
      `x.ts:2 inner (${MAX_LINES + 2} lines)`,
    ]);
  });
});
