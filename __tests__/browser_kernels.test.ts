/**
 * loom-tfjs's wasm kernels in headless chromium, on the production (minified) pages that `npm start`
 * serves. Served by scripts/serve.js (COOP/COEP: cross-origin isolated), inference.html runs the
 * built-in model on the kernels with the machine's threads (capped at 4); served by a plain static
 * server without those headers it runs 1 thread, says why, and falls back to the tfjs op chain.
 * Reference: greedy generation of the same model on the tfjs op chain (`kernels: false`) in Node.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'playwright-core';
import { generate, loadCausalLM, loadTokenizer } from '../src/index';
import { ROOT, WEB_PRODUCTION_DIR, chromiumPath, collectErrors, ensurePagesBuilt, launchBrowser } from './helpers/browser';

const PROMPTS = ['Ma', 'Jo'];
const MAX_NEW = 24;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** A static server of `root` on 127.0.0.1 without COOP/COEP headers (what a plain file host sends). */
function plainServer(root: string): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const file = path.join(root, rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })));
}

/** Greedy completions of PROMPTS on the tfjs op chain (cpu backend, `kernels: false`). */
async function opChainCompletions(): Promise<string[]> {
  const dir = path.join(ROOT, 'models', 'builtin');
  const before = tf.memory().numTensors;
  const model = await loadCausalLM(dir, { kernels: false });
  const tokenizer = await loadTokenizer(dir);
  expect(model.kernelsActive).toBe(false);
  const out: string[] = [];
  for (const p of PROMPTS) out.push(p + (await generate(model, tokenizer, p, { greedy: true, maxNewTokens: MAX_NEW })).text);
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

interface ShownInfo {
  threads: string;
  simd: string;
  crossOriginIsolated: string;
  kernels: string;
  text: string;
}

async function shownInfo(page: Page): Promise<ShownInfo> {
  return page.getByTestId('backend-info').evaluate((e) => {
    const d = (e as HTMLElement).dataset;
    return { threads: d['threads'] ?? '', simd: d['simd'] ?? '', crossOriginIsolated: d['crossOriginIsolated'] ?? '', kernels: d['kernels'] ?? '', text: e.textContent ?? '' };
  });
}

/** Greedy (temperature 0) completion of `prompt` on the page, ending at the end of text or MAX_NEW tokens. */
async function pageCompletion(page: Page, prompt: string): Promise<string> {
  await page.getByTestId('temperature').fill('0');
  await page.getByTestId('max-new-tokens').fill(String(MAX_NEW));
  await page.locator('#ignore-eos').uncheck();
  await page.getByTestId('prompt').fill(prompt);
  await page.evaluate(() => {
    delete (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'];
  });
  await page.getByTestId('generate').click();
  await page.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
  return (await page.getByTestId('output').textContent()) ?? '';
}

async function openInference(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors = collectErrors(page);
  await page.goto(`${url}inference.html`);
  await page.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 120_000 });
  return { page, errors };
}

const exe = chromiumPath();
if (!exe) console.warn('browser tests skipped: no chromium found (set CHROMIUM_PATH or install Debian chromium)');
jest.setTimeout(600_000);

(exe ? describe : describe.skip)('wasm kernels in the browser (production build)', () => {
  let browser: Browser | undefined;
  const servers: http.Server[] = [];
  let isolatedUrl = '';
  let plainUrl = '';
  let reference: string[] = [];

  beforeAll(async () => {
    ensurePagesBuilt({ production: true });
    const { serve } = require(path.join(ROOT, 'scripts', 'serve.js')) as { serve: (o: { root: string; port: number; quiet: boolean }) => Promise<http.Server & { url: string }> };
    const s = await serve({ root: WEB_PRODUCTION_DIR, port: 0, quiet: true });
    servers.push(s);
    isolatedUrl = s.url;
    const p = await plainServer(fs.realpathSync(WEB_PRODUCTION_DIR));
    servers.push(p.server);
    plainUrl = p.url;
    reference = await opChainCompletions();
    browser = await launchBrowser(exe as string);
  });

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) s.close();
  });

  test('served by scripts/serve.js: cross-origin isolated, the kernels on the machine\'s threads, output equal to the op chain', async () => {
    const { page, errors } = await openInference(browser as Browser, isolatedUrl);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const info = await shownInfo(page);
    expect(info.crossOriginIsolated).toBe('true');
    expect(info.kernels).toBe('true');
    expect(info.simd).toBe('true');
    // useBackend's default: the cores the engine reports, at most 4 (2 on the 2-core CI machine)
    expect(Number(info.threads)).toBe(Math.min(4, cores));
    expect(Number(info.threads)).toBeGreaterThanOrEqual(2);
    expect(info.text).toMatch(new RegExp(`^${info.threads} threads · SIMD on · cross-origin isolated: yes · wasm kernels on`));
    for (let i = 0; i < PROMPTS.length; i++) expect(await pageCompletion(page, PROMPTS[i] as string)).toBe(reference[i]);
    expect(errors).toEqual([]);
    await page.close();
  });

  test('served without COOP/COEP: 1 thread and why, the op chain, the same output', async () => {
    const { page, errors } = await openInference(browser as Browser, plainUrl);
    const info = await shownInfo(page);
    expect(info.crossOriginIsolated).toBe('false');
    expect(info.threads).toBe('1');
    expect(info.kernels).toBe('false');
    expect(info.text).toMatch(/^1 thread: this page is not cross-origin isolated \(the server sent no Cross-Origin-Opener-Policy \/ Cross-Origin-Embedder-Policy headers\)/);
    for (let i = 0; i < PROMPTS.length; i++) expect(await pageCompletion(page, PROMPTS[i] as string)).toBe(reference[i]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
