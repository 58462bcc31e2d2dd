/**
 * End to end in headless chromium: inference.html loads the built-in model, streams generated
 * names, stops within a token, reports tokens/s, handles chat mode and bad files, logs no errors.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ROOT, describePage, screenshots } from './helpers/browser';

describePage('inference.html', (page) => page.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 120_000 }), (session) => {
  async function generateAndWait(): Promise<string> {
    await session.page.evaluate(() => {
      delete (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'];
    });
    await session.page.getByTestId('generate').click();
    await session.page.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    return (await session.page.getByTestId('output').textContent()) ?? '';
  }

  test('the built-in model is loaded on a backend from the selector', async () => {
    const options = await session.page.getByTestId('backend-select').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(expect.arrayContaining(['wasm', 'cpu']));
    await expect(session.page.getByTestId('model-status').textContent()).resolves.toMatch(/ready .*llama.*wasm/);
    expect(await session.page.getByTestId('model-select').inputValue()).toBe('builtin');
  });

  test('streams plausible names with tokens/s', async () => {
    await session.page.getByTestId('max-new-tokens').fill('60');
    await session.page.getByTestId('temperature').fill('0.8');
    await session.page.locator('#ignore-eos').check();
    await session.page.evaluate(() => {
      const w = window as unknown as { outputUpdates: number };
      w.outputUpdates = 0;
      new MutationObserver(() => w.outputUpdates++).observe(document.getElementById('output') as HTMLElement, { childList: true, subtree: true, characterData: true });
    });
    const text = await generateAndWait();
    const updates = await session.page.evaluate(() => (window as unknown as { outputUpdates: number }).outputUpdates);
    expect(updates).toBeGreaterThan(5); // streamed token by token, not in one piece
    const names = text.split('\n').map((s) => s.trim()).filter(Boolean);
    expect(names.length).toBeGreaterThanOrEqual(3);
    const plausible = names.filter((n) => /^[A-Z][a-z]+(-[A-Z][a-z]+)?$/.test(n));
    expect(plausible.length / names.length).toBeGreaterThanOrEqual(0.6);
    const tps = Number(await session.page.getByTestId('tokens-per-second').textContent());
    expect(tps).toBeGreaterThan(0);
    expect(Number((await session.page.locator('#stat-decode').textContent()) ?? 'x')).toBeGreaterThan(0);
  });

  test('a prompt is completed and generation ends at the end of a name', async () => {
    await session.page.locator('#ignore-eos').uncheck();
    await session.page.getByTestId('prompt').fill('Ma');
    const text = await generateAndWait();
    expect(text).toMatch(/^Ma[a-z-]*$/);
    expect(await session.page.locator('#gen-status').getAttribute('data-finish-reason')).toBe('stop');
    await session.page.getByTestId('prompt').fill('');
  });

  test('stop halts generation within a token', async () => {
    await session.page.locator('#ignore-eos').check();
    await session.page.getByTestId('max-new-tokens').fill('60');
    await session.page.evaluate(() => {
      delete (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'];
      (document.querySelector('[data-testid=generate]') as HTMLButtonElement).click();
      (document.querySelector('[data-testid=stop]') as HTMLButtonElement).click();
    });
    await session.page.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    expect(await session.page.locator('#gen-status').getAttribute('data-finish-reason')).toBe('abort');
    const tokens = (await session.page.locator('#stat-tokens').textContent()) ?? '';
    const generated = Number(tokens.split('+')[1]);
    expect(generated).toBeLessThanOrEqual(2);
    expect(await session.page.getByTestId('generate').isEnabled()).toBe(true);
  });

  test('chat mode uses the chat template', async () => {
    await session.page.locator('#ignore-eos').uncheck();
    await session.page.locator('label:has(#mode-chat)').click();
    await session.page.getByTestId('prompt').fill('Jo');
    const text = await generateAndWait();
    expect(text).toContain('you');
    expect(text).toMatch(/Jo/);
    await session.page.locator('label:has(input[name=mode][value=prompt])').click();
  });

  test('bad files give a clear error, and the built-in model loads again', async () => {
    await session.page.getByTestId('model-select').selectOption('folder');
    await session.page.locator('#files-input').setInputFiles([{ name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{"model_type": "llama"}') }]);
    await session.page.locator('#error').filter({ hasText: 'model.safetensors is missing' }).waitFor({ timeout: 30_000 });
    await session.page.locator('#files-input').setInputFiles([
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{"model_type": "llama"') },
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a safetensors file') },
      { name: 'tokenizer.json', mimeType: 'application/json', buffer: fs.readFileSync('models/builtin/tokenizer.json') },
    ]);
    await session.page.locator('#error').filter({ hasText: /config\.json.*JSON/ }).waitFor({ timeout: 30_000 });
    expect(await session.page.getByTestId('model-status').textContent()).toMatch(/failed/);
    await session.page.getByTestId('model-select').selectOption('builtin');
    await session.page.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 60_000 });
    await expect(session.page.locator('#error').isHidden()).resolves.toBe(true);
  });

  test('a model folder from local files and from a URL loads', async () => {
    const dir = path.join(ROOT, 'models', 'builtin');
    await session.page.getByTestId('model-select').selectOption('folder');
    await session.page.locator('#files-input').setInputFiles(fs.readdirSync(dir).map((f) => path.join(dir, f)));
    await session.page.getByTestId('model-status').filter({ hasText: 'ready · local files' }).waitFor({ timeout: 60_000 });
    expect(await generateAndWait()).toMatch(/^[A-Za-z-]+/);
    await session.page.getByTestId('model-select').selectOption('url');
    await session.page.locator('#url-input').fill(`${session.url}models/builtin/`);
    await session.page.locator('#url-input').press('Enter');
    await session.page.getByTestId('model-status').filter({ hasText: `ready · ${session.url}models/builtin/` }).waitFor({ timeout: 60_000 });
    await session.page.getByTestId('model-select').selectOption('builtin');
    await session.page.getByTestId('model-status').filter({ hasText: 'ready · built-in' }).waitFor({ timeout: 60_000 });
  });

  test('the cpu backend works too', async () => {
    await session.page.getByTestId('backend-select').selectOption('cpu');
    await session.page.getByTestId('model-status').filter({ hasText: /ready .* cpu/ }).waitFor({ timeout: 60_000 });
    expect((await generateAndWait()).length).toBeGreaterThan(0);
    await session.page.getByTestId('backend-select').selectOption('wasm');
    await session.page.getByTestId('model-status').filter({ hasText: /ready .* wasm/ }).waitFor({ timeout: 60_000 });
  });

  test('no console errors, and screenshots', async () => {
    expect(session.errors).toEqual([]);
    const ctx = await session.browser.newContext();
    await screenshots(ctx, `${session.url}inference.html`, 'inference', async (p) => {
      await p.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 60_000 });
      await p.locator('#ignore-eos').check();
      await p.getByTestId('generate').click();
      await p.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    });
    await ctx.close();
  });
});
