/**
 * End to end in headless chromium: example.html builds a grid network from the layer pickers,
 * trains it with a falling loss, evaluates it, and saves/loads it through localStorage.
 */
import type { Page } from 'playwright-core';
import { describePage, screenshots } from './helpers/browser';

/** The page has built its first network. */
const ready = (page: Page): Promise<void> => page.locator('#describe tbody tr').first().waitFor({ timeout: 60_000 });

describePage('example.html', ready, (session) => {
  test('every registered layer kind can be picked', async () => {
    const kinds = await session.page.locator('#slots select').first().locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(kinds).toEqual(expect.arrayContaining(['dense', 'conv2d', 'multi_head_attention', 'rnn', 'lstm', 'softmax', 'layer_norm', 'residual', 'rms_norm', 'swiglu', 'parallel']));
    expect(await session.page.locator('#describe tbody tr').count()).toBe(2);
    expect(await session.page.locator('.grid-layer').count()).toBe(2);
  });

  test('training makes the loss fall, and evaluation reports it', async () => {
    await session.page.locator('#epochs').fill('120');
    await session.page.getByTestId('train').click();
    await session.page.waitForFunction(() => (document.getElementById('train-status') as HTMLElement).dataset['state'] === 'done', null, { timeout: 120_000 });
    const loss = session.page.getByTestId('loss');
    const first = Number(await loss.getAttribute('data-first'));
    const last = Number(await loss.getAttribute('data-value'));
    expect(first).toBeGreaterThan(0);
    expect(last).toBeLessThan(first * 0.5);
    expect(await session.page.locator('#eval-table tbody tr').count()).toBe(4);
  });

  test('a network of other layer kinds builds from the pickers', async () => {
    await session.page.locator('#preset').selectOption('circles');
    await session.page.locator('#describe tbody tr').nth(3).waitFor();
    const types = await session.page.locator('#describe tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(['dense', 'layer_norm', 'dense', 'softmax']);
    await session.page.locator('#epochs').fill('15');
    await session.page.getByTestId('train').click();
    await session.page.waitForFunction(() => (document.getElementById('epoch') as HTMLElement).textContent === '15 / 15', null, { timeout: 120_000 });
    await session.page.waitForFunction(() => (document.getElementById('train-status') as HTMLElement).textContent?.startsWith('done'), null, { timeout: 30_000 });
    const loss = session.page.getByTestId('loss');
    expect(Number(await loss.getAttribute('data-value'))).toBeLessThan(Number(await loss.getAttribute('data-first')));
  });

  test('save to and load from the browser', async () => {
    await session.page.getByTestId('save').click();
    await session.page.locator('#io-status').filter({ hasText: 'saved' }).waitFor();
    await session.page.locator('#preset').selectOption('xor');
    await session.page.locator('#describe tbody tr').nth(1).waitFor();
    await session.page.getByTestId('load').click();
    await session.page.locator('#io-status').filter({ hasText: 'loaded' }).waitFor();
    const types = await session.page.locator('#describe tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(['dense', 'layer_norm', 'dense', 'softmax']);
    expect(await session.page.locator('#dataset').inputValue()).toBe('circles');
    await session.page.locator('#evaluate').click();
    await session.page.waitForFunction(() => /%$/.test((document.getElementById('metric') as HTMLElement).textContent ?? ''));
    expect(await session.page.locator('#error').isHidden()).toBe(true);
  });

  test('no console errors, and screenshots', async () => {
    expect(session.errors).toEqual([]);
    const ctx = await session.browser.newContext();
    await screenshots(ctx, `${session.url}example.html`, 'example', async (p) => {
      await ready(p);
      await p.getByTestId('train').click();
      await p.waitForFunction(() => (document.getElementById('train-status') as HTMLElement).dataset['state'] === 'done', null, { timeout: 120_000 });
    });
    await ctx.close();
  });
});
