/**
 * The published package holds what the docs tell users to load: `npm pack` (dry run, file list
 * only) must list the script-tag bundle and its wasm files (docs/from-loom.md), our kernel module,
 * the CLI, the built-in model and the compiled library. The bundle itself is built by `prepack`
 * (`npm run build && webpack --config-name loom`), so a real `npm pack` always has it; this test
 * reads the list for the files as they are now, after `.ci/run`'s webpack step.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const bundleBuilt = fs.existsSync(path.join(root, 'dist', 'loom.js'));

interface PackEntry {
  files: { path: string }[];
}

function packedFiles(): Set<string> {
  // --ignore-scripts: list only (prepack's build is what `npm pack` runs for real).
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [entry] = JSON.parse(out) as PackEntry[];
  return new Set((entry?.files ?? []).map((f) => f.path));
}

test('prepack builds the library and the script-tag bundle', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.prepack).toMatch(/npm run build/);
  expect(pkg.scripts.prepack).toMatch(/webpack .*--config-name loom/);
});

(bundleBuilt ? test : test.skip)('npm pack ships the files the docs name', () => {
  const files = packedFiles();
  const docs = fs.readFileSync(path.join(root, 'docs', 'from-loom.md'), 'utf8');
  // every node_modules/loom-tfjs/<file> the LOOM guide names is in the package
  const named = [...docs.matchAll(/node_modules\/loom-tfjs\/([\w./-]+\.(?:js|wasm))/g)].map((m) => m[1]!);
  expect(named).toContain('dist/loom.js');
  for (const f of named) expect(files).toContain(f);
  for (const f of [
    'dist/loom.js',
    'dist/tfjs-backend-wasm.wasm',
    'dist/tfjs-backend-wasm-simd.wasm',
    'dist/loom_kernels.wasm',
    'src/kernels/loom_kernels.wasm',
    'dist/src/index.js',
    'dist/src/compat/index.js',
    'bin/loom.js',
    'models/builtin/config.json',
    'models/builtin/model.safetensors',
    'models/builtin/tokenizer.json',
  ]) {
    expect(files).toContain(f);
  }
  // nothing from the tests or the sources' fixtures
  expect([...files].some((f) => f.startsWith('__tests__/'))).toBe(false);
});
