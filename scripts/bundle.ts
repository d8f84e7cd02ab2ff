// `npm run bundle`: builds dist/index.js, the one file the Actions runner starts, and dist/licenses.txt.
//
// An ES module bundle lets esbuild keep only what is used from the SDKs' `dist-es` modules: of the EC2
// client's schemas, only the shapes of the six operations the action calls. That is less code to load on
// every run (see docs/benchmarks.md for the measured load time and memory).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OUT_DIR = 'dist';

// Bundled CommonJS modules call require() for Node's built-ins; an ES module has no require of its own.
const REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);";

const result = await build({
  entryPoints: ['src/index.ts'],
  outfile: path.join(OUT_DIR, 'index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The action declares node24; the tests and the demo also run it on Node 20.
  target: 'node20',
  // The SDKs' ES module builds are the ones that can be tree-shaken.
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'none',
  banner: { js: REQUIRE_BANNER },
  metafile: true,
  logLevel: 'warning',
});

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
}

/** The package directory (node_modules/…/name) a bundled input file belongs to. */
function packageDirOf(input: string): string | undefined {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const scoped = parts[at + 1]?.startsWith('@');
  return parts.slice(0, at + (scoped ? 3 : 2)).join('/');
}

function licenseText(dir: string): string {
  const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
  return file ? readFileSync(path.join(dir, file), 'utf8').trim() : '';
}

/** One entry per bundled package (name, license, license file), sorted so that the file is reproducible. */
function licenses(inputs: string[]): string {
  const dirs = [...new Set(inputs.map(packageDirOf).filter((dir): dir is string => dir !== undefined))];
  const entries = new Map<string, string>();
  for (const dir of dirs) {
    const manifest = path.join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as PackageJson;
    if (!pkg.name) continue;
    const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN');
    const key = `${pkg.name}@${pkg.version ?? ''}`;
    entries.set(key, `${pkg.name}\n${license}\n${licenseText(dir)}`);
  }
  return (
    [...entries.keys()]
      .sort()
      .map((key) => entries.get(key))
      .join('\n\n') + '\n'
  );
}

mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(path.join(OUT_DIR, 'licenses.txt'), licenses(Object.keys(result.metafile.inputs)));
writeFileSync(path.join(OUT_DIR, 'package.json'), '{\n  "type": "module"\n}\n');
