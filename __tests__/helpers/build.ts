/**
 * Makes sure `dist/` (what `npm run build` writes) is newer than the TypeScript sources, building
 * once if not, so tests that spawn the built scripts run what the sources say.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';

export const ROOT = path.resolve(__dirname, '..', '..');

function newest(dir: string, ext: string): number {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Builds with `tsc -p tsconfig.build.json` when any of `outputs` is missing or older than the sources. */
export function ensureBuilt(outputs: readonly string[]): void {
  const src = Math.max(...['src', 'layers', 'loaders', 'examples'].map((d) => newest(path.join(ROOT, d), '.ts')));
  const stale = outputs.some((o) => {
    const p = path.join(ROOT, o);
    return !fs.existsSync(p) || fs.statSync(p).mtimeMs < src;
  });
  if (stale) execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}
