/**
 * End to end on the real tiny-random-gpt2 checkpoint: the onnxruntime-genai greedy vector, seeded
 * sampling, streaming vs non-streamed text, abort without leaks (real KV cache tensors), and the
 * `loom generate` / `loom tokenize` commands.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM } from '../loaders/pretrained';
import { loadTokenizer, type Tokenizer } from '../loaders/tokenizer';
import { generate, generateStream } from '../src/generation';
import type { DecoderLM } from '../src/transformer/model';
import { generateCommand } from '../src/cli/cmd_generate';
import { tokenizeCommand } from '../src/cli/cmd_tokenize';
import type { CliCommand } from '../src/cli/command';
import { FIXTURES } from './helpers/fixtures';

const FIX = FIXTURES;
const TINY = path.join(FIX, 'tiny-random-gpt2');
let model: DecoderLM;
let tok: Tokenizer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await loadCausalLM(TINY);
  tok = await loadTokenizer(TINY);
});
afterAll(() => model.dispose());

describe('generate on tiny-random-gpt2', () => {
  it('greedy continuation of [0,0,0,52] equals expected-greedy.json, without leaks', async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(TINY, 'expected-greedy.json'), 'utf8')) as { input_ids: number[][]; expected_output_ids: number[][] };
    const prompt = expected.input_ids[0] as number[];
    const want = expected.expected_output_ids[0] as number[];
    const before = tf.memory().numTensors;
    const r = await generate(model, null, prompt, { maxNewTokens: want.length - prompt.length });
    expect([...prompt, ...r.tokenIds]).toEqual(want);
    expect(r.finishReason).toBe('length');
    expect(tf.memory().numTensors).toBe(before);
    expect((await generate(model, null, prompt, { maxNewTokens: 6, topK: 1, temperature: 2, seed: 3 })).tokenIds).toEqual(r.tokenIds);
  });

  it('seeded sampling repeats; streamed text equals the returned text', async () => {
    const opts = { maxNewTokens: 24, temperature: 1.3, topP: 0.95, seed: 77, stopTokenIds: [] };
    const a = await generate(model, tok, 'hello world', opts);
    const b = await generate(model, tok, 'hello world', opts);
    expect(b.tokenIds).toEqual(a.tokenIds);
    expect(a.tokenIds).toHaveLength(24);
    const pieces: string[] = [];
    const it = generateStream(model, tok, 'hello world', opts);
    let r = await it.next();
    while (!r.done) {
      pieces.push(r.value);
      r = await it.next();
    }
    expect(r.value.tokenIds).toEqual(a.tokenIds);
    expect(pieces.join('')).toBe(a.text);
    expect(a.text).toBe(tok.decode(a.tokenIds, { skipSpecialTokens: true }));
  });

  it('abort stops within one token and frees the KV cache', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const r = await generate(model, tok, [1, 2, 3], {
      maxNewTokens: 40,
      temperature: 1,
      seed: 1,
      stopTokenIds: [],
      signal: controller.signal,
      onToken: (e) => e.index === 4 && controller.abort(),
    });
    expect(r.finishReason).toBe('abort');
    expect(r.tokenIds).toHaveLength(5);
    expect(tf.memory().numTensors).toBe(before);
  });
});

async function runCmd(cmd: CliCommand, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cmd.run(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

describe('loom generate', () => {
  it('--prompt-ids --json works for a folder without tokenizer files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-gen-'));
    try {
      for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
      const { code, out } = await runCmd(generateCommand, ['--model', dir, '--prompt-ids', '0,0,0,52', '--max-new-tokens', '6', '--json']);
      expect(code).toBe(0);
      const r = JSON.parse(out) as { ids: number[]; text: string; stats: Record<string, number> };
      expect(r.ids).toEqual([204, 204, 204, 204, 204, 204]);
      expect(r.text).toBe('');
      expect(r.stats.promptTokens).toBe(4);
      expect(r.stats.generatedTokens).toBe(6);
      await expect(runCmd(generateCommand, ['--model', dir, '--prompt', 'hi'])).rejects.toThrow(/no tokenizer files/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams text to stdout equal to the --json text', async () => {
    const args = ['--model', TINY, '--prompt', 'hello world', '--max-new-tokens', '12', '--temperature', '0.9', '--seed', '5'];
    const streamed = await runCmd(generateCommand, args);
    const json = await runCmd(generateCommand, [...args, '--json']);
    expect(streamed.code).toBe(0);
    const r = JSON.parse(json.out) as { ids: number[]; text: string };
    expect(streamed.out).toBe(r.text + '\n');
    expect(streamed.err).toMatch(/prompt tokens/);
  });

  it('rejects bad flags', async () => {
    await expect(runCmd(generateCommand, ['--model', TINY])).rejects.toThrow(/exactly one of --prompt/);
    await expect(runCmd(generateCommand, ['--model', TINY, '--prompt-ids', '1', '--top-k', 'x'])).rejects.toThrow(/--top-k/);
    await expect(runCmd(generateCommand, ['--model', TINY, '--prompt-ids', '1', '--bogus'])).rejects.toMatchObject({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });
});

describe('loom tokenize', () => {
  it('--text, --texts-file, --decode, --no-special-tokens', async () => {
    const llama = path.join(FIX, 'llama2-spm-tokenizer');
    let r = await runCmd(tokenizeCommand, ['--tokenizer', llama, '--text', 'hello world']);
    expect(JSON.parse(r.out)).toEqual({ ids: [1, 22172, 3186] });
    r = await runCmd(tokenizeCommand, ['--tokenizer', llama, '--text', 'hello world', '--no-special-tokens']);
    expect(JSON.parse(r.out)).toEqual({ ids: [22172, 3186] });
    const file = path.join(os.tmpdir(), `loom-texts-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(['hello world', '', ' Hello World!']));
    try {
      r = await runCmd(tokenizeCommand, ['--tokenizer', path.join(FIX, 'gpt2-tokenizer', 'tokenizer.json'), '--texts-file', file]);
      expect(JSON.parse(r.out)).toEqual([{ ids: [31373, 995] }, { ids: [] }, { ids: [18435, 2159, 0] }]);
    } finally {
      fs.rmSync(file);
    }
    r = await runCmd(tokenizeCommand, ['--tokenizer', llama, '--decode', '1,22172,3186']);
    expect(JSON.parse(r.out)).toEqual({ text: '<s> hello world' });
    r = await runCmd(tokenizeCommand, ['--tokenizer', llama, '--decode', '[1, 22172, 3186]', '--skip-special-tokens']);
    expect(JSON.parse(r.out)).toEqual({ text: 'hello world' });
    await expect(runCmd(tokenizeCommand, ['--tokenizer', llama])).rejects.toThrow(/exactly one of/);
  });
});
