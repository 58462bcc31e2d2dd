/**
 * LOOM's demo page pattern in headless Chromium: a static page loads `loom.js` (instead of
 * `wasm_exec.js`), runs LOOM's Go boot code unchanged, then uses the globals: NewNetwork,
 * CallLayerInit, SetLayer, ForwardCPU, and save/load through localStorage. Skips when chromium
 * or dist/loom.js (`npx webpack`) is missing.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';

const ROOT = path.resolve(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BUNDLE = path.join(ROOT, 'dist', 'loom.js');
const missing = !fs.existsSync(CHROMIUM) ? `chromium not found at ${CHROMIUM}` : !fs.existsSync(BUNDLE) ? 'dist/loom.js not built (npx webpack)' : '';
if (missing) console.warn(`dropin_browser.test: skipped: ${missing}`);

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><script src="loom.js"></script></head><body><pre id="log"></pre>
<script>
  const go = new Go();
  WebAssembly.instantiateStreaming(fetch('loom.wasm'), go.importObject).then((result) => {
    go.run(result.instance);
    try {
      const network = NewNetwork(784, 1, 1, 2);
      const layer0Config = CallLayerInit("InitDenseLayer", JSON.stringify([784, 392, 0]));
      const layer1Config = CallLayerInit("InitDenseLayer", JSON.stringify([392, 10, 1]));
      network.SetLayer(JSON.stringify([0, 0, 0, JSON.parse(layer0Config)]));
      network.SetLayer(JSON.stringify([0, 0, 1, JSON.parse(layer1Config)]));
      const input = new Array(784).fill(0).map((_, i) => (i % 13) / 13);
      const output = JSON.parse(network.ForwardCPU(JSON.stringify([input])))[0];
      const modelJSON = network.SaveModelToString(JSON.stringify(["my_model"]));
      const model = JSON.parse(JSON.parse(modelJSON)[0]);
      localStorage.setItem("loom_model", JSON.stringify(model));
      const savedModel = JSON.parse(localStorage.getItem("loom_model"));
      const loadedNetwork = LoadModelFromString(JSON.stringify(savedModel), "my_model");
      const again = JSON.parse(loadedNetwork.ForwardCPU(JSON.stringify([input])))[0];
      window.__result = { raw: network.ForwardCPU(JSON.stringify([input])).slice(0, 200), output, again, layers: model.models[0].cfg.layers.length, methods: JSON.parse(network.ListMethods()).length };
    } catch (e) {
      window.__result = { error: String(e && e.stack || e) };
    }
  });
</script></body></html>`;

(missing ? describe.skip : describe)('LOOM drop-in page in headless Chromium', () => {
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const name = (req.url ?? '/').split('?')[0] as string;
      if (name === '/' || name === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      const file = path.join(ROOT, 'dist', path.basename(name));
      if (!fs.existsSync(file)) {
        res.writeHead(404).end('not found'); // loom.wasm: the page's old binary is gone
        return;
      }
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
      res.writeHead(200, { 'content-type': type }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('script tag + Go boot code + globals + localStorage save/load', async () => {
    const { chromium } = await import('playwright-core');
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-chromium-'));
    const ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(base);
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 90_000 });
      const r = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as { output?: number[]; again?: number[]; layers?: number; methods?: number; error?: string };
      expect(r.error).toBeUndefined();
      if (!r.output) throw new Error(`ForwardCPU gave no output: ${JSON.stringify(r).slice(0, 600)}`);
      expect(errors).toEqual([]);
      expect(r.output).toHaveLength(10);
      expect(r.again).toEqual(r.output);
      expect(r.layers).toBe(2);
      expect(r.methods).toBe(27);
    } finally {
      await ctx.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
