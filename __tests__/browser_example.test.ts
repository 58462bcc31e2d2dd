/**
 * End to end in headless chromium: example.html builds a grid network from the layer pickers,
 * trains it with a falling loss, evaluates it, and saves/loads it through localStorage.
 */
import type { Server } from 'http';
import type { Browser, Page } from 'playwright-core';
import { chromiumPath, collectErrors, ensurePagesBuilt, launchBrowser, screenshots, startServer } from './helpers/browser';

const exe = chromiumPath();
const suite = exe ? describe : describe.skip;
if (!exe) console.warn('browser tests skipped: no chromium found (set CHROMIUM_PATH or install Debian chromium)');

jest.setTimeout(300_000);

suite('example.html', () => {
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
    await page.goto(`${url}example.html`);
    await page.locator('#describe tbody tr').first().waitFor({ timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  test('every registered layer kind can be picked', async () => {
    const kinds = await page.locator('#slots select').first().locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(kinds).toEqual(expect.arrayContaining(['dense', 'conv2d', 'multi_head_attention', 'rnn', 'lstm', 'softmax', 'layer_norm', 'residual', 'rms_norm', 'swiglu', 'parallel']));
    expect(await page.locator('#describe tbody tr').count()).toBe(2);
    expect(await page.locator('.grid-layer').count()).toBe(2);
  });

  test('training makes the loss fall, and evaluation reports it', async () => {
    await page.locator('#epochs').fill('120');
    await page.getByTestId('train').click();
    await page.waitForFunction(() => (document.getElementById('train-status') as HTMLElement).dataset['state'] === 'done', null, { timeout: 120_000 });
    const loss = page.getByTestId('loss');
    const first = Number(await loss.getAttribute('data-first'));
    const last = Number(await loss.getAttribute('data-value'));
    expect(first).toBeGreaterThan(0);
    expect(last).toBeLessThan(first * 0.5);
    expect(await page.locator('#eval-table tbody tr').count()).toBe(4);
  });

  test('a network of other layer kinds builds from the pickers', async () => {
    await page.locator('#preset').selectOption('circles');
    await page.locator('#describe tbody tr').nth(3).waitFor();
    const types = await page.locator('#describe tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(['dense', 'layer_norm', 'dense', 'softmax']);
    await page.locator('#epochs').fill('15');
    await page.getByTestId('train').click();
    await page.waitForFunction(() => (document.getElementById('epoch') as HTMLElement).textContent === '15 / 15', null, { timeout: 120_000 });
    await page.waitForFunction(() => (document.getElementById('train-status') as HTMLElement).textContent?.startsWith('done'), null, { timeout: 30_000 });
    const loss = page.getByTestId('loss');
    expect(Number(await loss.getAttribute('data-value'))).toBeLessThan(Number(await loss.getAttribute('data-first')));
  });

  test('save to and load from the browser', async () => {
    await page.getByTestId('save').click();
    await page.locator('#io-status').filter({ hasText: 'saved' }).waitFor();
    await page.locator('#preset').selectOption('xor');
    await page.locator('#describe tbody tr').nth(1).waitFor();
    await page.getByTestId('load').click();
    await page.locator('#io-status').filter({ hasText: 'loaded' }).waitFor();
    const types = await page.locator('#describe tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(['dense', 'layer_norm', 'dense', 'softmax']);
    expect(await page.locator('#dataset').inputValue()).toBe('circles');
    await page.locator('#evaluate').click();
    await page.waitForFunction(() => /%$/.test((document.getElementById('metric') as HTMLElement).textContent ?? ''));
    expect(await page.locator('#error').isHidden()).toBe(true);
  });

  test('no console errors, and screenshots', async () => {
    expect(errors).toEqual([]);
    const ctx = await browser.newContext();
    await screenshots(ctx, `${url}example.html`, 'example', async (p) => {
      await p.locator('#describe tbody tr').first().waitFor({ timeout: 60_000 });
      await p.getByTestId('train').click();
      await p.waitForFunction(() => (document.getElementById('train-status') as HTMLElement).dataset['state'] === 'done', null, { timeout: 120_000 });
    });
    await ctx.close();
  });
});
