/**
 * End to end in headless chromium: all_layers_test.html loads LOOM files (uploaded and bundled),
 * runs them, shows every layer's output, and its self-check matches LOOM's stored outputs for
 * every layer type.
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

const SAMPLES = path.join(ROOT, 'examples', 'web', 'samples');

suite('all_layers_test.html', () => {
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
    await page.goto(`${url}all_layers_test.html`);
    await page.locator('#sample option').nth(5).waitFor({ state: 'attached', timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  test('an uploaded LOOM model bundle runs and shows every layer', async () => {
    const sample = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'dense_mlp.json'), 'utf8')) as { model_json: string };
    await page.getByTestId('loom-file').setInputFiles({ name: 'dense_mlp.json', mimeType: 'application/json', buffer: Buffer.from(sample.model_json) });
    await page.locator('#model-info').filter({ hasText: 'LOOM model bundle' }).waitFor();
    await page.getByTestId('run').click();
    await page.getByTestId('result').filter({ hasText: 'outputs' }).waitFor();
    expect(await page.getByTestId('result').getAttribute('data-verdict')).toBe('ran');
    expect(await page.locator('.layer-out').count()).toBe(3);
  });

  test('a reference sample file matches LOOM, layer by layer', async () => {
    await page.getByTestId('loom-file').setInputFiles(path.join(SAMPLES, 'conv2d.json'));
    await page.locator('#model-info').filter({ hasText: 'reference sample' }).waitFor();
    await page.getByTestId('run').click();
    await page.getByTestId('result').filter({ hasText: 'PASS' }).waitFor();
    const diffs = await page.locator('.layer-out .status').allTextContents();
    expect(diffs.length).toBeGreaterThan(1);
    for (const d of diffs) expect(d).toMatch(/vs LOOM \d/);
  });

  test('a file that is not a LOOM model gives a clear error', async () => {
    await page.getByTestId('loom-file').setInputFiles({ name: 'nope.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
    await page.locator('#error').filter({ hasText: 'not a LOOM file' }).waitFor();
  });

  test('the self-check passes for every layer type', async () => {
    await page.locator('#self-check').click();
    await page.waitForFunction(() => (document.getElementById('self-check-summary') as HTMLElement).dataset['failed'] !== undefined, null, { timeout: 120_000 });
    const summary = page.locator('#self-check-summary');
    expect(await summary.getAttribute('data-failed')).toBe('0');
    expect(Number(await summary.getAttribute('data-passed'))).toBeGreaterThanOrEqual(25);
    const text = (await summary.textContent()) ?? '';
    for (const t of ['dense', 'conv2d', 'multi_head_attention', 'rnn', 'lstm', 'softmax', 'layer_norm', 'residual', 'rms_norm', 'swiglu', 'parallel']) expect(text).toContain(t);
  });

  test('no console errors, and screenshots', async () => {
    expect(errors).toEqual([]);
    const ctx = await browser.newContext();
    await screenshots(ctx, `${url}all_layers_test.html`, 'all_layers_test', async (p) => {
      await p.locator('#sample option').nth(5).waitFor({ state: 'attached', timeout: 60_000 });
      await p.locator('#sample').selectOption('multi_head_attention.json');
      await p.getByTestId('run').click();
      await p.getByTestId('result').filter({ hasText: 'PASS' }).waitFor();
      await p.locator('#self-check').click();
      await p.waitForFunction(() => (document.getElementById('self-check-summary') as HTMLElement).dataset['failed'] !== undefined, null, { timeout: 120_000 });
    });
    await ctx.close();
  });
});
