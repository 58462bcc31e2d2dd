/**
 * WebGPU in headless Chromium (Debian's chromium, SwiftShader adapter) driven by playwright-core:
 * the ops the transformer decode path uses agree between tfjs's webgpu and cpu backends in the
 * browser. Skips with a message when chromium or an adapter is missing.
 * The page is served from a fake https origin (WebGPU needs a secure context).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const CHROMIUM = process.env.LOOM_CHROMIUM ?? '/usr/bin/chromium';
const NM = path.join(__dirname, '..', 'node_modules');
const SCRIPTS: Record<string, string> = {
  'tf.min.js': path.join(NM, '@tensorflow', 'tfjs', 'dist', 'tf.min.js'),
  'tf-backend-webgpu.min.js': path.join(NM, '@tensorflow', 'tfjs-backend-webgpu', 'dist', 'tf-backend-webgpu.min.js'),
};

interface PageResult {
  adapter: boolean;
  error?: string;
  results?: Record<string, { cpu: number[]; webgpu: number[] }>;
}

/** Runs in the page: a decode-step-shaped op chain (matMul, RMSNorm, RoPE-style rotation, softmax, gelu, silu) on both backends. */
const PAGE_SCRIPT = `(async () => {
  if (!navigator.gpu || !(await navigator.gpu.requestAdapter())) return { adapter: false };
  try {
    const seeded = (n, seed) => { let s = seed >>> 0; return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; }); };
    const graphs = {
      matMul: () => tf.matMul(tf.tensor2d(seeded(3 * 16, 1), [3, 16]), tf.tensor2d(seeded(16 * 24, 2), [16, 24])),
      rmsNorm: () => { const x = tf.tensor2d(seeded(2 * 32, 3), [2, 32]); return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-5))); },
      softmax: () => tf.softmax(tf.mul(tf.tensor2d(seeded(4 * 20, 4), [4, 20]), 6)),
      silu: () => { const x = tf.mul(tf.tensor1d(seeded(64, 5)), 4); return tf.mul(x, tf.sigmoid(x)); },
      geluTanh: () => { const x = tf.mul(tf.tensor1d(seeded(64, 6)), 4); return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))))); },
      attention: () => { const q = tf.tensor4d(seeded(1 * 2 * 3 * 8, 7), [1, 2, 3, 8]); const k = tf.tensor4d(seeded(1 * 2 * 5 * 8, 8), [1, 2, 5, 8]); const v = tf.tensor4d(seeded(1 * 2 * 5 * 8, 9), [1, 2, 5, 8]); return tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), v); },
    };
    const results = {};
    for (const backend of ['cpu', 'webgpu']) {
      await tf.setBackend(backend);
      await tf.ready();
      for (const [name, f] of Object.entries(graphs)) {
        const t = tf.tidy(f);
        (results[name] ??= {})[backend] = Array.from(await t.data());
        t.dispose();
      }
    }
    return { adapter: true, results };
  } catch (e) {
    return { adapter: true, error: String(e && e.stack || e) };
  }
})()`;

const haveChromium = fs.existsSync(CHROMIUM) && Object.values(SCRIPTS).every((p) => fs.existsSync(p));

(haveChromium ? describe : describe.skip)('webgpu in headless chromium', () => {
  test('decode-path ops agree with cpu within 1e-4 relative (skips without an adapter)', async () => {
    const { chromium } = await import('playwright-core');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-chromium-'));
    const ctx = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await ctx.newPage();
      await page.route('https://loom.test/**', (route) => {
        const file = route.request().url().split('/').pop() ?? '';
        const p = SCRIPTS[file];
        return p
          ? route.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(p, 'utf8') })
          : route.fulfill({ contentType: 'text/html', body: '<!doctype html><html><body></body></html>' });
      });
      await page.goto('https://loom.test/');
      await page.addScriptTag({ url: 'https://loom.test/tf.min.js' });
      await page.addScriptTag({ url: 'https://loom.test/tf-backend-webgpu.min.js' });
      const r = (await page.evaluate(PAGE_SCRIPT)) as PageResult;
      if (!r.adapter) {
        // CI sets LOOM_REQUIRE_WEBGPU=1 where SwiftShader is installed: there a missing adapter is a failure
        if (process.env.LOOM_REQUIRE_WEBGPU) throw new Error('LOOM_REQUIRE_WEBGPU is set but headless chromium has no WebGPU adapter');
        console.log('webgpu (chromium) skipped: no WebGPU adapter in headless chromium');
        return;
      }
      expect(r.error).toBeUndefined();
      for (const [name, { cpu, webgpu }] of Object.entries(r.results ?? {})) {
        let diff = 0;
        let scale = 1e-6;
        for (let i = 0; i < cpu.length; i++) {
          diff = Math.max(diff, Math.abs(cpu[i]! - webgpu[i]!));
          scale = Math.max(scale, Math.abs(cpu[i]!));
        }
        expect({ name, n: webgpu.length, ok: diff / scale <= 1e-4 }).toEqual({ name, n: cpu.length, ok: true });
      }
    } finally {
      await ctx.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
