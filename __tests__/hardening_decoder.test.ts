/**
 * Every ShapeError of DecoderLM.forward / createCache, the freeing of kept K/V when a forward
 * throws half-way, and the KV cache of an abandoned generation stream.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../src/core/errors';
import { loadCausalLM } from '../loaders/pretrained';
import type { DecoderLM } from '../src/transformer/model';
import type { DecoderWeights } from '../src/transformer/weights';
import { generateStream } from '../src/generation';
import { loadBuiltinModel } from '../src/builtin_model';
import { kernelHeapBytes } from '../src/kernels/runtime';
import { TINY, tinyLlamaConfig, tinyLlamaWeights } from './helpers/tiny_llama';

/** The tiny llama on the tfjs op chain (its K/V are tf tensors; kernels_decoder.test.ts covers the kernel path). */
async function tiny(layers = 1): Promise<DecoderLM> {
  return loadCausalLM({ config: tinyLlamaConfig({ num_hidden_layers: layers }), weights: tinyLlamaWeights(1, layers) }, { kernels: false });
}

function shapeError(fn: () => unknown, pattern: RegExp): void {
  let err: unknown = null;
  try {
    const r = fn();
    if (r instanceof tf.Tensor) r.dispose();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ShapeError);
  expect((err as Error).message).toMatch(pattern);
}

describe('DecoderLM.forward and createCache reject bad calls with ShapeError', () => {
  let model: DecoderLM;
  beforeAll(async () => {
    model = await tiny();
  });
  afterAll(() => model.dispose());

  test('each forward check names what was wrong, and none leaks a tensor', () => {
    const before = tf.memory().numTensors;
    shapeError(() => model.forward([]), /non-empty \[batch\]\[tokens\] array, got \[0\]\[0\]/);
    shapeError(() => model.forward([[]]), /got \[1\]\[0\]/);
    shapeError(() => model.forward([[1, 2], [3]]), /row 1 has 1 tokens, expected 2/);
    shapeError(() => model.forward([[1, TINY.vocab]]), /token id 16 in row 0 is outside \[0, 16\)/);
    shapeError(() => model.forward([[-1]]), /token id -1/);
    shapeError(() => model.forward([[1.5]]), /token id 1.5/);
    shapeError(() => model.forward([[1]], { cache: { length: 0, maxLength: 4, dispose: () => undefined } as never }), /cache was not created by this model/);
    const cache2 = model.createCache(2, 8);
    shapeError(() => model.forward([[1]], { cache: cache2 }), /cache holds 2 sequences, ids has 1/);
    cache2.dispose();
    const small = model.createCache(1, 2);
    shapeError(() => model.forward([[1, 2, 3]], { cache: small }), /3 positions exceed the cache's maxLength 2/);
    small.dispose();
    shapeError(() => model.forward([new Array(65).fill(1)]), /65 positions exceed the model's 64/);
    shapeError(() => model.forward([[1, 2]], { attentionMask: [[1]] }), /attentionMask must be \[1\]\[2\].*got \[1\]\[1\]/);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('createCache checks its sizes', () => {
    shapeError(() => model.createCache(1, 65), /maxLength 65 exceeds the model's 64 positions/);
    shapeError(() => model.createCache(0, 8), /batchSize 0 must be a positive integer/);
    shapeError(() => model.createCache(1, -3), /maxLength -3 must be a positive integer/);
  });

  test('forward and createCache on a disposed model throw', async () => {
    const m = await tiny();
    m.dispose();
    shapeError(() => m.forward([[1]]), /used after dispose/);
    shapeError(() => m.createCache(1, 8), /createCache: model used after dispose/);
  });
});

test('a forward that throws in layer 2 frees the K/V layer 1 kept, and the cache is unchanged', async () => {
  const model = await tiny(2);
  const cache = model.createCache(1, 16);
  tf.dispose(model.forward([[1, 2, 3]], { cache }));
  expect(cache.length).toBe(3);
  // Break block 1's MLP so the forward fails after block 0 has kept its new K/V.
  const blocks = (model as unknown as { weights: DecoderWeights }).weights.blocks;
  blocks[1]!.down.dispose();
  const before = tf.memory().numTensors;
  expect(() => model.forward([[4]], { cache })).toThrow();
  expect(tf.memory().numTensors).toBe(before);
  expect(cache.length).toBe(3);
  cache.dispose();
  model.dispose();
});

test('a generation stream dropped half-way frees its KV cache once the iterator is garbage', () => {
  // Needs --expose-gc, so it runs in a child process (TypeScript through bench/register_ts.cjs).
  const root = path.join(__dirname, '..');
  const script = `
    const tf = require('@tensorflow/tfjs');
    require('./src/backends');
    const { loadBuiltinModel } = require('./src/builtin_model.ts');
    const { generateStream } = require('./src/generation/index.ts');
    const { kernelHeapBytes } = require('./src/kernels/runtime.ts');
    // K/V live in tf tensors on the op chain and in the kernel heap on the kernels: count both.
    const used = () => tf.memory().numTensors + kernelHeapBytes();
    (async () => {
      const { model, tokenizer } = await loadBuiltinModel();
      // One stream first: the kernels keep per-model activation scratch sized by the first forward.
      const warm = generateStream(model, tokenizer, 'An', { maxNewTokens: 2, stopTokenIds: [] });
      await warm.next();
      await warm.return(undefined);
      const base = used();
      await (async () => {
        const it = generateStream(model, tokenizer, 'An', { maxNewTokens: 20, stopTokenIds: [] });
        await it.next();
      })();
      const held = used() - base;
      for (let i = 0; i < 10 && used() > base; i++) {
        global.gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      process.stdout.write(JSON.stringify({ held, after: used() - base }));
      model.dispose();
    })();`;
  const out = execFileSync(process.execPath, ['--expose-gc', '-r', './bench/register_ts.cjs', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const { held, after } = JSON.parse(out) as { held: number; after: number };
  expect(held).toBeGreaterThan(0); // the suspended stream holds its K/V
  expect(after).toBe(0);
});

test('return() frees the cache at once', async () => {
  const { model, tokenizer } = await loadBuiltinModel();
  // K/V live in tf tensors on the op chain and in the kernel heap on the kernels: count both.
  const used = (): number => tf.memory().numTensors + kernelHeapBytes();
  // One stream first: the kernels keep per-model activation scratch sized by the first forward.
  const warm = generateStream(model, tokenizer, 'An', { maxNewTokens: 2, stopTokenIds: [] });
  await warm.next();
  await warm.return(undefined as never);
  const base = used();
  const it = generateStream(model, tokenizer, 'An', { maxNewTokens: 20, stopTokenIds: [] });
  await it.next();
  expect(used()).toBeGreaterThan(base);
  await it.return(undefined as never);
  expect(used()).toBe(base);
  model.dispose();
});
