/**
 * The dependency lint (`npm run lint:deps`, part of `npm test`) fails on an import cycle and on an
 * upward import: both are planted in a scratch tree checked with the project's own
 * .dependency-cruiser.cjs, next to a clean tree that passes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

/** Writes `files` (path -> source) into a fresh scratch tree and runs the lint there. */
function lint(files: Record<string, string>): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-lint-'));
  try {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'commonjs' } }));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    const r = spawnSync(DEPCRUISE, ['src', 'layers', '--config', CONFIG], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    // depcruise colours its report where CI=true (supports-color): compare the plain text
    return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/\u001b\[[0-9;]*m/g, '') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const CLEAN = {
  'src/core/errors.ts': 'export const E = 1;\n',
  'src/ops/norm.ts': "import { E } from '../core/errors';\nexport const N = E;\n",
  'layers/dense.ts': "import { N } from '../src/ops/norm';\nexport const D = N;\n",
};

test('a tree that follows the direction passes', () => {
  const r = lint(CLEAN);
  expect(r.output).toContain('no dependency violations');
  expect(r.status).toBe(0);
});

test('an upward import (src/ops -> layers/) fails the lint', () => {
  const r = lint({ ...CLEAN, 'src/ops/norm.ts': "import { D } from '../../layers/dense';\nexport const N = D;\n" });
  expect(r.output).toMatch(/level-1-imports-upward: src\/ops\/norm\.ts → layers\/dense\.ts/);
  expect(r.status).not.toBe(0);
});

test('an import cycle inside one level fails the lint', () => {
  const r = lint({
    ...CLEAN,
    'layers/a.ts': "import { B } from './b';\nexport const A = () => B;\n",
    'layers/b.ts': "import { A } from './a';\nexport const B = () => A;\n",
  });
  expect(r.output).toContain('no-circular');
  expect(r.status).not.toBe(0);
});
