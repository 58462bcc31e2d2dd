/**
 * dist/loom.js beside a page's own tfjs script tag, in headless chromium, in both orders:
 * - tf.min.js first: loom.js uses the page's `tf` (no kernel registered twice, `loom.tf === tf`),
 *   and a LOOM layer goes into the page's `tf.sequential` next to `tf.layers.dense` and trains.
 * - loom.js first: loom.js runs on its own tfjs, `loom.tf` holds it, and the same model trains there.
 * Builds dist/loom.js (webpack, development mode) when it is missing or older than its sources.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { Browser } from 'playwright-core';
import { chromiumPath, launchBrowser } from './helpers/browser';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist', 'loom.js');
const TF_MIN = path.join(path.dirname(require.resolve('@tensorflow/tfjs/package.json')), 'dist', 'tf.min.js');
const exe = chromiumPath();
if (!exe) console.warn('dropin_tfjs_global.test: skipped: no chromium');

function newest(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...fs.readdirSync(p).map((e) => newest(path.join(p, e))));
}

function ensureBundle(): void {
  const sources = Math.max(...['src', 'layers', 'loaders', 'scripts/webpack', 'webpack.config.js'].map((d) => newest(path.join(ROOT, d))));
  if (fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= sources) return;
  execFileSync(process.execPath, [require.resolve('webpack-cli/bin/cli.js'), '--config-name', 'loom'], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'development' }, stdio: 'pipe', timeout: 10 * 60_000 });
}

/** The page's script: a tf.layers.dense then a LoomRMSNorm in `tf.sequential`, fit for 3 epochs. */
const BODY = `<script>
(async () => {
  try {
    await loomReady;
    const t = window.loom.tf;
    const rms = loom.RMSNormLayer.record({ type: 'rms_norm', normSize: 4, epsilon: 1e-6, activation: 0 }, new Float32Array(4).fill(1));
    const model = t.sequential({ layers: [t.layers.dense({ units: 4, inputShape: [3] }), new loom.LoomRMSNorm({ record: rms })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h = await model.fit(t.ones([8, 3]), t.ones([8, 4]), { epochs: 3, verbose: 0 });
    window.__result = { losses: h.history.loss, sameTf: typeof tf !== 'undefined' && t.sequential === tf.sequential && t.engine() === tf.engine(), pageTfVersion: typeof tf !== 'undefined' ? tf.version.tfjs : null, facade: typeof NewNetwork };
  } catch (e) { window.__result = { error: String((e && e.stack) || e) }; }
})();
</script>`;

const PAGES: Record<string, string> = {
  '/tf-first.html': `<!doctype html><html><head><script src="tf.min.js"></script><script src="loom.js"></script></head><body>${BODY}</body></html>`,
  '/loom-first.html': `<!doctype html><html><head><script src="loom.js"></script></head><body>${BODY}</body></html>`,
};

interface Result {
  losses?: number[];
  sameTf?: boolean;
  pageTfVersion?: string | null;
  facade?: string;
  error?: string;
}

(exe ? describe : describe.skip)('dist/loom.js with the page tfjs', () => {
  jest.setTimeout(600_000);
  let server: http.Server;
  let base = '';
  let browser: Browser;
  const missing: string[] = [];

  beforeAll(async () => {
    ensureBundle();
    server = http.createServer((req, res) => {
      const name = (req.url ?? '/').split('?')[0] as string;
      const page = PAGES[name];
      if (page) return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      if (name === '/favicon.ico') return void res.writeHead(204).end();
      const file = name === '/tf.min.js' ? TF_MIN : path.join(ROOT, 'dist', path.basename(name));
      if (!fs.existsSync(file)) {
        missing.push(name);
        return void res.writeHead(404).end('not found');
      }
      res.writeHead(200, { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser(exe as string);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function open(file: string): Promise<{ r: Result; warnings: string[]; errors: string[] }> {
    const page = await browser.newPage();
    const warnings: string[] = [];
    const errors: string[] = [];
    page.on('console', (m) => (m.type() === 'warning' ? warnings : m.type() === 'error' ? errors : []).push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}${file}`);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 120_000 });
    const r = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as Result;
    await page.close();
    return { r, warnings, errors };
  }

  function expectTrained(r: Result): void {
    expect(r.error).toBeUndefined();
    expect(r.losses).toHaveLength(3);
    for (const l of r.losses ?? []) expect(Number.isFinite(l)).toBe(true);
    expect(r.facade).toBe('function');
  }

  test('tf.min.js then loom.js: one tfjs, no kernel registered twice, LOOM layer trains in the page tf.sequential', async () => {
    const { r, warnings, errors } = await open('/tf-first.html');
    expectTrained(r);
    expect(r.sameTf).toBe(true);
    expect(r.pageTfVersion).toBe('4.22.0');
    expect(warnings.filter((w) => /already registered/.test(w))).toEqual([]);
    expect(errors).toEqual([]);
    expect(missing).toEqual([]);
  });

  test('loom.js alone: loom.tf is its own tfjs and the same model trains there', async () => {
    const { r, warnings, errors } = await open('/loom-first.html');
    expectTrained(r);
    expect(r.pageTfVersion).toBeNull();
    expect(warnings.filter((w) => /already registered/.test(w))).toEqual([]);
    expect(errors).toEqual([]);
  });
});
