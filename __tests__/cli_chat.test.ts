/** `loom chat` with piped stdin: one reply per line, history kept, /reset and /exit. */
import { Readable } from 'stream';
import { chatCommand } from '../src/cli/cmd_chat';
import { runCli } from '../src/cli/main';
import { bufferIO, ensureRegistered } from './helpers/cli_io';
import { TINY_GPT2 } from './helpers/fixtures';

ensureRegistered(chatCommand);

const TINY = TINY_GPT2;

test('replies to each piped line; every turn renders the whole history with the chat template', async () => {
  const c = bufferIO();
  const stdin = Readable.from(['hello there\n', 'and again\n', '/reset\n', 'fresh\n', '/exit\n', 'never read\n']);
  const code = await chatCommand.run(['--model', TINY, '--max-new-tokens', '4', '--seed', '1', '--system', 'Be brief.', '--backend', 'cpu', '--show-prompt'], { ...c.io, stdin } as never);
  expect(code).toBe(0);
  expect(c.stdout().split('\n').filter((l) => l !== '')).toHaveLength(3);
  const prompts = c.stderr().split('\n').filter((l) => l.startsWith('[prompt] ')).map((l) => JSON.parse(l.slice(9)) as string);
  expect(prompts).toHaveLength(3);
  expect(prompts[0]).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n');
  expect(prompts[1]?.startsWith(prompts[0] as string)).toBe(true); // history: first turn + its reply + the new message
  expect(prompts[1]).toContain('<|im_start|>user\nand again<|im_end|>');
  expect(prompts[2]).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nfresh<|im_end|>\n<|im_start|>assistant\n');
  expect(c.stderr()).toContain('(history cleared)');
});

test('usage errors exit 2', async () => {
  let c = bufferIO();
  expect(await runCli(['chat', '--model', '/no/such/dir'], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/--model \/no\/such\/dir: no such directory/);
  c = bufferIO();
  expect(await runCli(['chat', '--model', TINY, '--temperature', 'hot'], c.io)).toBe(2);
  c = bufferIO();
  expect(await runCli(['chat', '--model', TINY, '--backend', 'tpu'], c.io)).toBe(2);
});
