/**
 * Hub ids in headless Chromium with the real Cache API: a page loads `loom.js` and calls
 * `loomTfjs.loadCausalLM('loom/names')` against the fake hub (same origin, redirects to blob URLs):
 * the first load fetches with progress events, the second makes no request at all,
 * `localFilesOnly` loads from the cache, listCachedModels/clearCache see it; files of
 * `env.largeFileBytes` and more go to the Origin Private File System instead. Reference: the logits
 * of the same model loaded from its folder in Node. Skips when chromium or dist/loom.js
 * (`npx webpack --config-name loom`) is missing.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { chromium, type Browser } from 'playwright-core';
import { loadCausalLM } from '../loaders/pretrained';
import { builtinModelPath, BUILTIN_MODEL_FILES } from '../src/builtin_model';
import { startFakeHub, type FakeHub } from './helpers/hub_server';

const ROOT = path.resolve(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BUNDLE = path.join(ROOT, 'dist', 'loom.js');
const missing = !fs.existsSync(CHROMIUM) ? `chromium not found at ${CHROMIUM}` : !fs.existsSync(BUNDLE) ? 'dist/loom.js not built (npx webpack --config-name loom)' : '';
if (missing) console.warn(`browser_hub_cache.test: skipped: ${missing}`);

const IDS = [1, 5, 9, 14, 20, 7];
const PAGE = '<!doctype html><html><head><meta charset="utf-8"><script src="/loom.js"></script></head><body></body></html>';

(missing ? describe.skip : describe)('hub ids in headless Chromium (Cache API)', () => {
  let hub: FakeHub;
  let server: http.Server;
  let origin = '';
  let browser: Browser;
  let reference: number[];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const model = await loadCausalLM(builtinModelPath());
    const out = model.forward([IDS], { allPositions: true }); // (1, S, V)
    reference = Array.from(out.dataSync());
    out.dispose();
    model.dispose();
    const files = new Map(BUILTIN_MODEL_FILES.map((f) => [f, new Uint8Array(fs.readFileSync(path.join(builtinModelPath(), f)))]));
    hub = await startFakeHub({ 'loom/names': { commit: 'c'.repeat(40), files } });
    // The page and loom.js come from this server; everything else is proxied to the fake hub (same origin, no CORS).
    server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      if (url === '/loom.js' || url.endsWith('.wasm')) {
        const file = path.join(ROOT, 'dist', path.basename(url));
        if (!fs.existsSync(file)) return void res.writeHead(404).end();
        return void res.writeHead(200, { 'content-type': url.endsWith('.js') ? 'text/javascript' : 'application/wasm' }).end(fs.readFileSync(file));
      }
      const proxied = http.request(new URL(url, hub.url), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(proxied);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await hub?.close();
  });

  test('first load downloads with progress, the second makes no request, offline and clearCache work', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(origin + '/');
    await page.waitForFunction(() => (globalThis as { loomTfjs?: unknown }).loomTfjs !== undefined);
    const run = (options: Record<string, unknown>) =>
      page.evaluate(
        async ({ ids, options }) => {
          const api = (globalThis as unknown as { loomTfjs: typeof import('../src/index') }).loomTfjs;
          await api.useBackend('cpu');
          api.env.remoteHost = location.origin + '/';
          const events: { status: string; file: string }[] = [];
          const model = await api.loadCausalLM('loom/names', { ...options, onProgress: (e) => events.push({ status: e.status, file: e.file }) });
          const out = model.forward([ids], { allPositions: true });
          const logits = Array.from(out.dataSync());
          out.dispose();
          model.dispose();
          return { logits, events, cacheNames: await caches.keys(), cached: (await api.listCachedModels()).map((m) => m.id) };
        },
        { ids: IDS, options },
      );
    const first = await run({});
    expect(first.logits.length).toBe(reference.length);
    first.logits.forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-5));
    expect(first.events).toEqual(expect.arrayContaining([{ status: 'download', file: 'model.safetensors' }, { status: 'progress', file: 'model.safetensors' }, { status: 'ready', file: '' }]));
    expect(first.cacheNames).toContain('loom-tfjs-hub');
    expect(first.cached).toEqual(['loom/names']);
    expect(hub.requests.some((r) => r.startsWith('GET /cdn/'))).toBe(true);

    hub.requests.length = 0;
    const second = await run({});
    expect(second.logits).toEqual(first.logits);
    expect(second.events.some((e) => e.status === 'download')).toBe(false);
    expect(hub.requests).toEqual([]);
    expect((await run({ localFilesOnly: true })).logits).toEqual(first.logits);

    const cleared = await page.evaluate(async () => {
      const api = (globalThis as unknown as { loomTfjs: typeof import('../src/index') }).loomTfjs;
      const removed = await api.clearCache('loom/names');
      const err = await api.loadCausalLM('loom/names', { localFilesOnly: true }).then(() => null, (e: { name: string; kind: string }) => ({ name: e.name, kind: e.kind }));
      return { removed, left: (await api.listCachedModels()).length, err };
    });
    expect(cleared).toEqual({ removed: ['loom/names'], left: 0, err: { name: 'HubError', kind: 'offline' } });
    expect(errors).toEqual([]);
    await page.close();
  });

  test('files of env.largeFileBytes and more go to OPFS: stored there, not in the Cache API, loaded again with no request', async () => {
    const page = await browser.newPage();
    await page.goto(origin + '/');
    await page.waitForFunction(() => (globalThis as { loomTfjs?: unknown }).loomTfjs !== undefined);
    hub.requests.length = 0;
    const load = () =>
      page.evaluate(async (ids) => {
        const api = (globalThis as unknown as { loomTfjs: typeof import('../src/index') }).loomTfjs;
        await api.useBackend('cpu');
        api.env.remoteHost = location.origin + '/';
        api.env.largeFileBytes = 100_000; // model.safetensors (417 KB) goes to OPFS, the JSON files to the Cache API
        const model = await api.loadCausalLM('loom/names');
        const out = model.forward([ids], { allPositions: true });
        const logits = Array.from(out.dataSync());
        out.dispose();
        model.dispose();
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('loom-tfjs-hub');
        const opfs: string[] = [];
        for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) opfs.push(decodeURIComponent(name));
        const cached = (await (await caches.open('loom-tfjs-hub')).keys()).map((r) => r.url);
        return { logits, opfs, cached, list: await api.listCachedModels() };
      }, IDS);
    const first = await load();
    first.logits.forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-5));
    expect(first.opfs.map((u) => u.replace(origin, ''))).toEqual(['/loom/names/resolve/main/model.safetensors']);
    expect(first.cached.some((u) => u.endsWith('/model.safetensors'))).toBe(false);
    expect(first.cached.some((u) => u.endsWith('/config.json'))).toBe(true);
    expect(first.list[0]!.snapshots.main).toContain('model.safetensors');
    hub.requests.length = 0;
    expect((await load()).logits).toEqual(first.logits);
    expect(hub.requests).toEqual([]);
    const left = await page.evaluate(async () => {
      const api = (globalThis as unknown as { loomTfjs: typeof import('../src/index') }).loomTfjs;
      await api.clearCache();
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('loom-tfjs-hub');
      const names: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    });
    expect(left).toEqual([]);
    await page.close();
  });
});
