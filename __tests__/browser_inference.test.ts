/**
 * End to end in headless chromium: inference.html loads the built-in model, streams generated
 * names, stops within a token, reports tokens/s, handles chat mode and bad files, logs no errors.
 */
import type { Server } from 'http';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { ROOT, chromiumPath, collectErrors, ensurePagesBuilt, launchBrowser, screenshots, startServer } from './helpers/browser';

const exe = chromiumPath();
const suite = exe ? describe : describe.skip;
if (!exe) console.warn('browser tests skipped: no chromium found (set CHROMIUM_PATH or install Debian chromium)');

jest.setTimeout(300_000);

suite('inference.html', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ensurePagesBuilt();
    ({ server, url } = await startServer());
    browser = await launchBrowser(exe as string);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    errors = collectErrors(page);
    await page.goto(`${url}inference.html`);
    await page.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 120_000 });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  async function generateAndWait(): Promise<string> {
    await page.evaluate(() => {
      delete (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'];
    });
    await page.getByTestId('generate').click();
    await page.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    return (await page.getByTestId('output').textContent()) ?? '';
  }

  test('the built-in model is loaded on a backend from the selector', async () => {
    const options = await page.getByTestId('backend-select').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['wasm', 'cpu']));
    await expect(page.getByTestId('model-status').textContent()).resolves.toMatch(/ready .*llama.*wasm/);
    expect(await page.getByTestId('model-select').inputValue()).toBe('builtin');
  });

  test('streams plausible names with tokens/s', async () => {
    await page.getByTestId('max-new-tokens').fill('60');
    await page.getByTestId('temperature').fill('0.8');
    await page.locator('#ignore-eos').check();
    await page.evaluate(() => {
      const w = window as unknown as { outputUpdates: number };
      w.outputUpdates = 0;
      new MutationObserver(() => w.outputUpdates++).observe(document.getElementById('output') as HTMLElement, { childList: true, subtree: true, characterData: true });
    });
    const text = await generateAndWait();
    const updates = await page.evaluate(() => (window as unknown as { outputUpdates: number }).outputUpdates);
    expect(updates).toBeGreaterThan(5); // streamed token by token, not in one piece
    const names = text.split('\n').map((s) => s.trim()).filter(Boolean);
    expect(names.length).toBeGreaterThanOrEqual(3);
    const plausible = names.filter((n) => /^[A-Z][a-z]+(-[A-Z][a-z]+)?$/.test(n));
    expect(plausible.length / names.length).toBeGreaterThanOrEqual(0.6);
    const tps = Number(await page.getByTestId('tokens-per-second').textContent());
    expect(tps).toBeGreaterThan(0);
    expect(Number((await page.locator('#stat-decode').textContent()) ?? 'x')).toBeGreaterThan(0);
  });

  test('a prompt is completed and generation ends at the end of a name', async () => {
    await page.locator('#ignore-eos').uncheck();
    await page.getByTestId('prompt').fill('Ma');
    const text = await generateAndWait();
    expect(text).toMatch(/^Ma[a-z-]*$/);
    expect(await page.locator('#gen-status').getAttribute('data-finish-reason')).toBe('stop');
    await page.getByTestId('prompt').fill('');
  });

  test('stop halts generation within a token', async () => {
    await page.locator('#ignore-eos').check();
    await page.getByTestId('max-new-tokens').fill('60');
    await page.evaluate(() => {
      delete (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'];
      (document.querySelector('[data-testid=generate]') as HTMLButtonElement).click();
      (document.querySelector('[data-testid=stop]') as HTMLButtonElement).click();
    });
    await page.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    expect(await page.locator('#gen-status').getAttribute('data-finish-reason')).toBe('abort');
    const tokens = (await page.locator('#stat-tokens').textContent()) ?? '';
    const generated = Number(tokens.split('+')[1]);
    expect(generated).toBeLessThanOrEqual(2);
    expect(await page.getByTestId('generate').isEnabled()).toBe(true);
  });

  test('chat mode uses the chat template', async () => {
    await page.locator('#ignore-eos').uncheck();
    await page.locator('label:has(#mode-chat)').click();
    await page.getByTestId('prompt').fill('Jo');
    const text = await generateAndWait();
    expect(text).toContain('you');
    expect(text).toMatch(/Jo/);
    await page.locator('label:has(input[name=mode][value=prompt])').click();
  });

  test('bad files give a clear error, and the built-in model loads again', async () => {
    await page.getByTestId('model-select').selectOption('folder');
    await page.locator('#files-input').setInputFiles([{ name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{"model_type": "llama"}') }]);
    await page.locator('#error').filter({ hasText: 'model.safetensors is missing' }).waitFor({ timeout: 30_000 });
    await page.locator('#files-input').setInputFiles([
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{"model_type": "llama"') },
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a safetensors file') },
      { name: 'tokenizer.json', mimeType: 'application/json', buffer: fs.readFileSync('models/builtin/tokenizer.json') },
    ]);
    await page.locator('#error').filter({ hasText: /config\.json.*JSON/ }).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('model-status').textContent()).toMatch(/failed/);
    await page.getByTestId('model-select').selectOption('builtin');
    await page.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 60_000 });
    await expect(page.locator('#error').isHidden()).resolves.toBe(true);
  });

  test('a model folder from local files and from a URL loads', async () => {
    const dir = path.join(ROOT, 'models', 'builtin');
    await page.getByTestId('model-select').selectOption('folder');
    await page.locator('#files-input').setInputFiles(fs.readdirSync(dir).map((f) => path.join(dir, f)));
    await page.getByTestId('model-status').filter({ hasText: 'ready · local files' }).waitFor({ timeout: 60_000 });
    expect(await generateAndWait()).toMatch(/^[A-Za-z-]+/);
    await page.getByTestId('model-select').selectOption('url');
    await page.locator('#url-input').fill(`${url}models/builtin/`);
    await page.locator('#url-input').press('Enter');
    await page.getByTestId('model-status').filter({ hasText: `ready · ${url}models/builtin/` }).waitFor({ timeout: 60_000 });
    await page.getByTestId('model-select').selectOption('builtin');
    await page.getByTestId('model-status').filter({ hasText: 'ready · built-in' }).waitFor({ timeout: 60_000 });
  });

  test('the cpu backend works too', async () => {
    await page.getByTestId('backend-select').selectOption('cpu');
    await page.getByTestId('model-status').filter({ hasText: /ready .* cpu/ }).waitFor({ timeout: 60_000 });
    expect((await generateAndWait()).length).toBeGreaterThan(0);
    await page.getByTestId('backend-select').selectOption('wasm');
    await page.getByTestId('model-status').filter({ hasText: /ready .* wasm/ }).waitFor({ timeout: 60_000 });
  });

  test('no console errors, and screenshots', async () => {
    expect(errors).toEqual([]);
    const ctx = await browser.newContext();
    await screenshots(ctx, `${url}inference.html`, 'inference', async (p) => {
      await p.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 60_000 });
      await p.locator('#ignore-eos').check();
      await p.getByTestId('generate').click();
      await p.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    });
    await ctx.close();
  });
});
