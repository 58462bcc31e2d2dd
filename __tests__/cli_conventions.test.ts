/**
 * CLI rough edges: `--version`, a bare `loom` (help on stderr, exit 2), `--backend` on info and
 * tokenize, `--model /nonexistent` named as a missing directory, `chat` on the built-in model by
 * default, and no tfjs "running TensorFlow.js in Node.js" banner. References: package.json, the
 * built-in tokenizer's own encode, the file system.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as tf from '@tensorflow/tfjs';
import '../src/backends';
import { chatCommand } from '../src/cli/cmd_chat';
import { runCli } from '../src/cli/main';
import { loadTokenizer } from '../loaders/tokenizer';
import { builtinModelPath } from '../src/builtin_model';
import { bufferIO, ensureRegistered } from './helpers/cli_io';

ensureRegistered(chatCommand);
jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..');

test('no tfjs Node.js banner on the first cpu op', () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    tf.setBackend('cpu');
    tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync());
    expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => /running TensorFlow\.js in Node\.js/.test(m))).toEqual([]);
  } finally {
    warn.mockRestore();
  }
});

test('--version prints the package version; bare loom prints help on stderr and exits 2', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  let c = bufferIO();
  expect(await runCli(['--version'], c.io)).toBe(0);
  expect(c.stdout()).toBe(`loom-tfjs ${pkg.version}\n`);
  c = bufferIO();
  expect(await runCli([], c.io)).toBe(2);
  expect(c.stdout()).toBe('');
  expect(c.stderr()).toMatch(/^usage: loom <command>/m);
});

test('info and tokenize accept --backend', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-cli-'));
  try {
    const sample = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'web', 'samples', 'dense_mlp.json'), 'utf8')) as { model_json: string };
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, sample.model_json);
    let c = bufferIO();
    expect(await runCli(['info', file, '--backend', 'cpu'], c.io)).toBe(0);
    expect(c.stdout()).toMatch(/^grid: /m);
    c = bufferIO();
    expect(await runCli(['tokenize', '--tokenizer', builtinModelPath(), '--text', 'Ma', '--backend', 'cpu'], c.io)).toBe(0);
    const tok = await loadTokenizer(builtinModelPath());
    expect(JSON.parse(c.stdout())).toEqual({ ids: tok.encode('Ma') });
    c = bufferIO();
    expect(await runCli(['tokenize', '--tokenizer', builtinModelPath(), '--text', 'Ma', '--backend', 'tpu'], c.io)).toBe(2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('info --model prints text, and JSON only with --json', async () => {
  let c = bufferIO();
  expect(await runCli(['info', '--model', builtinModelPath()], c.io)).toBe(0);
  expect(c.stdout()).toMatch(/^modelType: llama$/m);
  expect(c.stdout()).not.toMatch(/^\{/);
  c = bufferIO();
  expect(await runCli(['info', '--model', builtinModelPath(), '--json'], c.io)).toBe(0);
  expect(JSON.parse(c.stdout())).toMatchObject({ modelType: 'llama' });
});

test('generate / info --model on a missing folder say "no such directory"', async () => {
  let c = bufferIO();
  expect(await runCli(['generate', '--model', '/nonexistent', '--prompt', 'a'], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/^loom generate: --model \/nonexistent: no such directory/);
  expect(c.stderr().split('\n')[0]).not.toMatch(/tokenizer/);
  c = bufferIO();
  expect(await runCli(['info', '--model', './nope-not-here'], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/--model \.\/nope-not-here: no such directory/);
  c = bufferIO();
  expect(await runCli(['generate', '--model', path.join(builtinModelPath(), 'config.json'), '--prompt', 'a'], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/not a directory/);
});

test('chat without --model talks to the built-in model', async () => {
  const c = bufferIO();
  const stdin = Readable.from(['Ma\n', '/exit\n']);
  const code = await chatCommand.run(['--max-new-tokens', '6', '--seed', '1', '--backend', 'cpu'], { ...c.io, stdin } as never);
  expect(code).toBe(0);
  expect(c.stdout().trim().length).toBeGreaterThan(0);
});

test('chat keeps one KV cache: a later turn prefills only what the history does not share', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-chat-'));
  try {
    const template = path.join(dir, 'chatml.jinja');
    // a short history template (the names model has 64 positions): every message, then a separator
    fs.writeFileSync(template, "{{ bos_token }}{% for m in messages %}{{ m['content'] }} {% endfor %}");
    const c = bufferIO();
    const stdin = Readable.from(['Ma\n', 'Jo\n', '/exit\n']);
    const code = await chatCommand.run(['--template', template, '--max-new-tokens', '4', '--seed', '1', '--backend', 'cpu', '--show-prompt'], { ...c.io, stdin } as never);
    expect(code).toBe(0);
    const prefills = [...c.stderr().matchAll(/\[prefill\] (\d+) of (\d+) prompt tokens/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(prefills).toHaveLength(2);
    expect(prefills[0]?.[0]).toBe(prefills[0]?.[1]); // first turn: everything
    const [fed, total] = prefills[1] as [number, number];
    expect(total).toBeGreaterThan(prefills[0]?.[1] as number);
    expect(fed).toBeLessThan(total / 2); // the first turn's tokens came from the cache
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
