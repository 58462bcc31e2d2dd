/**
 * inference.html with an empty prompt and a tokenizer that adds no BOS (as GPT-2's): the page
 * promises "empty: the model starts from scratch", and generation starts from the config's
 * bos_token_id as transformers does (it failed with "the prompt has no tokens"). The model is the
 * built-in one with its tokenizer's post-processor removed, opened as local files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ROOT, describePage } from './helpers/browser';

describePage('inference.html', (page) => page.getByTestId('model-status').filter({ hasText: 'ready' }).waitFor({ timeout: 120_000 }), (session) => {
  test('an empty prompt generates from BOS when the tokenizer adds none', async () => {
    const dir = path.join(ROOT, 'models', 'builtin');
    const tokenizer = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    tokenizer['post_processor'] = null; // encode('') is now [] (GPT-2 style)
    const files = fs.readdirSync(dir).map((f) =>
      f === 'tokenizer.json'
        ? { name: f, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(tokenizer)) }
        : { name: f, mimeType: 'application/octet-stream', buffer: fs.readFileSync(path.join(dir, f)) },
    );
    await session.page.getByTestId('model-select').selectOption('folder');
    await session.page.locator('#files-input').setInputFiles(files);
    await session.page.getByTestId('model-status').filter({ hasText: 'ready · local files' }).waitFor({ timeout: 60_000 });
    await session.page.getByTestId('prompt').fill('');
    await session.page.getByTestId('generate').click();
    await session.page.waitForFunction(() => (document.getElementById('gen-status') as HTMLElement).dataset['finishReason'] !== undefined, null, { timeout: 60_000 });
    expect(await session.page.locator('#error').isHidden()).toBe(true);
    expect((await session.page.getByTestId('output').textContent())?.trim()).toMatch(/^[A-Za-z]/);
    expect(session.errors).toEqual([]);
  });
});
