/**
 * End to end in headless chromium: all_layers_test.html loads LOOM files (uploaded and bundled),
 * runs them, shows every layer's output, and its self-check matches LOOM's stored outputs for
 * every layer type.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { ROOT, describePage, screenshots } from './helpers/browser';
import { GOLDEN, goldenNames } from './helpers/fixtures';

const SAMPLES = path.join(ROOT, 'examples', 'web', 'samples');

/** The page has listed the bundled reference samples. */
const ready = (page: Page): Promise<void> => page.locator('#sample option').nth(5).waitFor({ state: 'attached', timeout: 60_000 });

describePage('all_layers_test.html', ready, (session) => {
  test('an uploaded LOOM model bundle runs and shows every layer', async () => {
    const sample = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'dense_mlp.json'), 'utf8')) as { model_json: string };
    await session.page.getByTestId('loom-file').setInputFiles({ name: 'dense_mlp.json', mimeType: 'application/json', buffer: Buffer.from(sample.model_json) });
    await session.page.locator('#model-info').filter({ hasText: 'LOOM model bundle' }).waitFor();
    await session.page.getByTestId('run').click();
    await session.page.getByTestId('result').filter({ hasText: 'outputs' }).waitFor();
    expect(await session.page.getByTestId('result').getAttribute('data-verdict')).toBe('ran');
    expect(await session.page.locator('.layer-out').count()).toBe(3);
  });

  test('a reference sample file matches LOOM, layer by layer', async () => {
    await session.page.getByTestId('loom-file').setInputFiles(path.join(SAMPLES, 'conv2d.json'));
    await session.page.locator('#model-info').filter({ hasText: 'reference sample' }).waitFor();
    await session.page.getByTestId('run').click();
    await session.page.getByTestId('result').filter({ hasText: 'PASS' }).waitFor();
    const diffs = await session.page.locator('.layer-out .status').allTextContents();
    expect(diffs.length).toBeGreaterThan(1);
    for (const d of diffs) expect(d).toMatch(/vs LOOM \d/);
  });

  test('every Go-written LOOM golden file opens, runs and matches LOOM (outputs stored as "output")', async () => {
    const names = goldenNames();
    expect(names.length).toBeGreaterThanOrEqual(25);
    for (const name of names) {
      await session.page.getByTestId('loom-file').setInputFiles(path.join(GOLDEN, `${name}.json`));
      await session.page.locator('#model-info').filter({ hasText: `${name}.json (reference sample)` }).waitFor({ timeout: 10_000 });
      await session.page.getByTestId('run').click();
      await session.page.getByTestId('result').filter({ hasText: 'outputs' }).waitFor({ timeout: 10_000 });
      const verdict = await session.page.getByTestId('result').getAttribute('data-verdict');
      // Gumbel softmax draws fresh noise on every run (LOOM uses Go's global PRNG): it runs, it cannot match
      expect(`${name}: ${verdict}`).toBe(`${name}: ${name === 'softmax_gumbel' ? 'fail' : 'pass'}`);
      expect(await session.page.locator('#error').textContent()).toBe('');
    }
  });

  test('a file that is not a LOOM model gives a clear error', async () => {
    await session.page.getByTestId('loom-file').setInputFiles({ name: 'nope.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
    await session.page.locator('#error').filter({ hasText: 'not a LOOM file' }).waitFor();
  });

  test('the self-check passes for every layer type', async () => {
    await session.page.locator('#self-check').click();
    await session.page.waitForFunction(() => (document.getElementById('self-check-summary') as HTMLElement).dataset['failed'] !== undefined, null, { timeout: 120_000 });
    const summary = session.page.locator('#self-check-summary');
    expect(await summary.getAttribute('data-failed')).toBe('0');
    expect(Number(await summary.getAttribute('data-passed'))).toBeGreaterThanOrEqual(25);
    const text = (await summary.textContent()) ?? '';
    for (const t of ['dense', 'conv2d', 'multi_head_attention', 'rnn', 'lstm', 'softmax', 'layer_norm', 'residual', 'rms_norm', 'swiglu', 'parallel']) expect(text).toContain(t);
  });

  test('no console errors, and screenshots', async () => {
    expect(session.errors).toEqual([]);
    const ctx = await session.browser.newContext();
    await screenshots(ctx, `${session.url}all_layers_test.html`, 'all_layers_test', async (p) => {
      await ready(p);
      await p.locator('#sample').selectOption('multi_head_attention.json');
      await p.getByTestId('run').click();
      await p.getByTestId('result').filter({ hasText: 'PASS' }).waitFor();
      await p.locator('#self-check').click();
      await p.waitForFunction(() => (document.getElementById('self-check-summary') as HTMLElement).dataset['failed'] !== undefined, null, { timeout: 120_000 });
    });
    await ctx.close();
  });
});
