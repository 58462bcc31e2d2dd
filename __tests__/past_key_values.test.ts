/**
 * `pastKeyValues` kept across generate calls: a second call whose prompt extends the first
 * conversation prefills only the new ids, a diverging prompt truncates the cache to the common
 * prefix, and the tokens are exactly those of a fresh run (greedy, built-in model).
 * References: a fresh generation without the cache; the fake model's record of what it was fed.
 */
import * as tf from '@tensorflow/tfjs';
import { generate } from '../src/generation/generate';
import { PastKeyValues } from '../src/generation/past_key_values';
import { loadBuiltinModel } from '../src/builtin_model';
import { DecoderKVCache } from '../src/transformer/kv_cache';
import { FakeCausalLM, scriptedLogits } from './helpers/fake_causal_lm';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('a follow-up prompt that extends the conversation feeds only its new ids', async () => {
  const model = new FakeCausalLM(scriptedLogits([4, 5, 4, 5, 4, 5], 8, 0), { vocabSize: 8 });
  const past = new PastKeyValues(model);
  const first = await generate(model, null, [1, 2, 3], { maxNewTokens: 2, pastKeyValues: past });
  expect(model.forwardCalls.map((c) => c[0])).toEqual([[1, 2, 3], [first.tokenIds[0]]]);
  expect(past.ids).toEqual([1, 2, 3, first.tokenIds[0]]); // the last id is not fed yet
  model.forwardCalls = [];
  await generate(model, null, [1, 2, 3, ...first.tokenIds, 6, 7], { max_new_tokens: 1, past_key_values: past });
  expect(model.forwardCalls.map((c) => c[0])).toEqual([[first.tokenIds[1], 6, 7]]);
  expect(model.caches).toHaveLength(1); // one cache for the whole conversation
  past.dispose();
  model.dispose();
});

test('built-in model: same greedy tokens with and without the cache, also after a diverging prompt; no tensor left', async () => {
  const { model, tokenizer } = await loadBuiltinModel();
  try {
    const before = tf.memory().numTensors;
    const past = new PastKeyValues(model);
    const a = tokenizer.encode('Ma');
    const r1 = await generate(model, tokenizer, a, { maxNewTokens: 3, greedy: true, stopTokenIds: [], pastKeyValues: past });
    const next = [...a, ...r1.tokenIds, ...tokenizer.encode('ri', { addSpecialTokens: false })];
    const r2 = await generate(model, tokenizer, next, { maxNewTokens: 4, greedy: true, stopTokenIds: [], pastKeyValues: past });
    expect(r2.tokenIds).toEqual((await generate(model, tokenizer, next, { maxNewTokens: 4, greedy: true, stopTokenIds: [] })).tokenIds);
    // diverges after the first two ids: the cache is cut back to them
    const other = [...a.slice(0, 2), ...tokenizer.encode('x', { addSpecialTokens: false })];
    const r3 = await generate(model, tokenizer, other, { maxNewTokens: 4, greedy: true, stopTokenIds: [], pastKeyValues: past });
    expect(r3.tokenIds).toEqual((await generate(model, tokenizer, other, { maxNewTokens: 4, greedy: true, stopTokenIds: [] })).tokenIds);
    past.dispose();
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    model.dispose();
  }
});

test('DecoderKVCache.truncate keeps the first positions and frees the rest', () => {
  const before = tf.memory().numTensors;
  const c = new DecoderKVCache(1, 8, 1);
  c.store(0, tf.ones([1, 2, 5, 3]) as tf.Tensor4D, tf.zeros([1, 2, 5, 3]) as tf.Tensor4D);
  c.advance(5);
  c.truncate(2);
  expect(c.length).toBe(2);
  expect(c.keys(0)?.shape).toEqual([1, 2, 2, 3]);
  expect(() => c.truncate(3)).toThrow(/truncate to 3, expected an integer in \[0, 2\]/);
  c.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
