/**
 * tiny-random-gpt2: the onnxruntime-genai greedy vector ([0,0,0,52] then 204 six times) is also
 * what a decoder that ignored its context would produce. These tests pin the context down:
 * the KV-cache decode equals a full pass at every step (1e-5), the logits match an independent
 * implementation (scripts/torch_reference.py's PyTorch forward, fixtures/torch_reference/
 * gpt2_tiny_random), and the last-position logits really depend on the earlier tokens.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generate, loadCausalLM, useBackend, type DecoderLM } from '../src/index';
import { expectClose } from './helpers/fixtures';

/** Same folder as `TINY_GPT2` of helpers/fixtures.ts once the fixtures move into the repository. */
const TINY_GPT2 = path.join(__dirname, 'fixtures', 'tiny-random-gpt2');
const TORCH = path.join(__dirname, 'fixtures', 'torch_reference', 'gpt2_tiny_random', 'reference.json');

interface TorchReference {
  prompt: number[];
  greedy: number[];
  top5_ids: number[][];
  top5_logits: number[][];
  logits_0_32: number[][];
  logsumexp: number[];
}

let model: DecoderLM;
let vocab: number;
let baseline: number;
const ref = JSON.parse(fs.readFileSync(TORCH, 'utf8')) as TorchReference;
const onnxGreedy = (JSON.parse(fs.readFileSync(path.join(TINY_GPT2, 'expected-greedy.json'), 'utf8')) as { expected_output_ids: number[][] }).expected_output_ids[0]!;

async function take(t: tf.Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

beforeAll(async () => {
  await useBackend('cpu');
  baseline = tf.memory().numTensors;
  model = await loadCausalLM(TINY_GPT2);
  vocab = model.info.vocabSize;
});
afterAll(() => {
  model.dispose();
  expect(tf.memory().numTensors).toBe(baseline);
});

describe('tiny-random-gpt2 KV cache and context', () => {
  test('torch reference and onnxruntime-genai agree on the greedy vector, and so do we', async () => {
    expect(ref.greedy).toEqual(onnxGreedy);
    const r = await generate(model, null, ref.prompt, { maxNewTokens: ref.greedy.length - ref.prompt.length, stopTokenIds: [] });
    expect([...ref.prompt, ...r.tokenIds]).toEqual(ref.greedy);
  });

  test('cached decode equals a full pass at every step (1e-5)', async () => {
    const before = tf.memory().numTensors;
    const seq = ref.greedy;
    const cache = model.createCache(1, seq.length);
    try {
      let cached = await take(model.forward([seq.slice(0, ref.prompt.length)], { cache }));
      for (let n = ref.prompt.length; ; n++) {
        const full = await take(model.forward([seq.slice(0, n)]));
        expectClose(cached, full, { atol: 1e-5, rtol: 0 }, `step with ${n} tokens`);
        if (n === seq.length) break;
        cached = await take(model.forward([[seq[n]!]], { cache }));
      }
      expect(cache.length).toBe(seq.length);
    } finally {
      cache.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('every position matches the PyTorch reference (top-5, logits 0..31, log-sum-exp)', async () => {
    const all = await take(model.forward([ref.greedy], { allPositions: true })); // (1, T, V)
    ref.greedy.forEach((_, t) => {
      const row = all.subarray(t * vocab, (t + 1) * vocab);
      const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!);
      expect(order.slice(0, 5)).toEqual(ref.top5_ids[t]);
      // float32 vs the reference's float64 (5 layers, width 32): measured errors stay below 5e-7
      // for logits of size ~0.3; 1e-5 allows float32 noise, a wrong equation moves them by 1e-3.
      expectClose(order.slice(0, 5).map((i) => row[i]!), ref.top5_logits[t]!, { atol: 1e-5, rtol: 0 }, `position ${t} top-5`);
      expectClose(row.subarray(0, 32), ref.logits_0_32[t]!, { atol: 1e-5, rtol: 0 }, `position ${t} logits 0..31`);
      const max = row[order[0]!]!;
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      expectClose([max + Math.log(sum)], [ref.logsumexp[t]!], { atol: 1e-5, rtol: 0 }, `position ${t} logsumexp`);
    });
  });

  test('the logits depend on the context (a context-blind decoder would fail here)', async () => {
    const last = ref.greedy[ref.greedy.length - 1]!;
    const alone = await take(model.forward([[last]]));
    const inContext = await take(model.forward([ref.greedy]));
    let diff = 0;
    for (let i = 0; i < vocab; i++) diff = Math.max(diff, Math.abs(alone[i]! - inContext[i]!));
    expect(diff).toBeGreaterThan(1e-3);
    // and the reference's last-position logits are the in-context ones, not the context-free ones
    expectClose(inContext.subarray(0, 32), ref.logits_0_32[ref.greedy.length - 1]!, { atol: 1e-5, rtol: 0 });
  });
});
