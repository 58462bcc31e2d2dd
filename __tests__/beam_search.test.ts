/**
 * Beam search (`num_beams`): against exhaustive search (with numBeams = V^(L-1) every prefix
 * survives, so the result must be the most likely of all V^L sequences, found here by
 * enumeration in float64), a case where it beats greedy, and the stop-id / length-penalty rule
 * of transformers' BeamHypotheses on hand-computed probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import { generate } from '../src/generation/generate';
import type { CausalLM, CausalLMInfo, ForwardOptions, KVCache } from '../src/transformer/types';
import { loadBuiltinModel } from '../src/builtin_model';

/** A cache that remembers the ids fed so far (one sequence). */
interface IdCache extends KVCache {
  ids: number[];
}

/** A model whose next-token logits are a function of the ids so far; batches without a cache (beam search), one row with one (greedy). */
class FakeCausalLM implements CausalLM {
  readonly info: CausalLMInfo;
  constructor(private readonly fn: (ids: readonly number[]) => Float32Array, info: Partial<CausalLMInfo> & { vocabSize: number }) {
    this.info = { modelType: 'gpt2', maxPositions: 64, eosTokenIds: [], ...info };
  }
  createCache(batchSize: number, maxLength: number): KVCache {
    const c: IdCache = { batchSize, maxLength, ids: [], get length() { return c.ids.length; }, dispose: () => undefined };
    return c;
  }
  forward(ids: number[][], options: ForwardOptions = {}): tf.Tensor {
    const v = this.info.vocabSize;
    const cache = options.cache as IdCache | undefined;
    if (cache) cache.ids.push(...(ids[0] as number[]));
    const rows = cache ? [cache.ids] : ids;
    const out = new Float32Array(rows.length * v);
    rows.forEach((row, i) => out.set(this.fn(row), i * v));
    return tf.tensor2d(out, [rows.length, v]); // (B, V)
  }
  dispose(): void {}
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic pseudo-random logits of the next token given every id so far. */
function hashedLogits(v: number): (ids: readonly number[]) => Float32Array {
  return (ids) => {
    let h = 2166136261;
    for (const id of ids) h = Math.imul(h ^ (id + 1), 16777619) >>> 0;
    return Float32Array.from({ length: v }, (_, i) => Math.fround(((Math.imul(h ^ (i * 2654435761), 2246822519) >>> 0) % 1000) / 250));
  };
}

function logSoftmax64(x: Float32Array): number[] {
  const max = Math.max(...x);
  const lse = max + Math.log(Array.from(x).reduce((s, v) => s + Math.exp(v - max), 0));
  return Array.from(x, (v) => v - lse);
}

/** The most likely continuation of `prompt` of exactly `len` tokens, by enumeration. */
function exhaustiveBest(fn: (ids: readonly number[]) => Float32Array, v: number, prompt: number[], len: number): number[] {
  let best: number[] = [];
  let bestScore = -Infinity;
  const walk = (ids: number[], score: number): void => {
    if (ids.length === prompt.length + len) {
      if (score > bestScore) {
        bestScore = score;
        best = ids.slice(prompt.length);
      }
      return;
    }
    const lp = logSoftmax64(fn(ids));
    lp.forEach((s, id) => walk([...ids, id], score + s));
  };
  walk([...prompt], 0);
  return best;
}

/** A model whose logits are fixed probabilities per prefix (ids after the prompt), as logs. */
function tableModel(v: number, table: Record<string, number[]>, promptLength: number, eos: number[]): FakeCausalLM {
  return new FakeCausalLM(
    (ids) => {
      const key = ids.slice(promptLength).join(',');
      const p = table[key] ?? new Array<number>(v).fill(1 / v);
      return Float32Array.from(p, (q) => Math.log(q));
    },
    { vocabSize: v, eosTokenIds: eos },
  );
}

describe('beam search', () => {
  test('numBeams = V^(L-1) finds the most likely sequence of all V^L (exhaustive float64 search)', async () => {
    const v = 3;
    const fn = hashedLogits(v);
    let greedyMisses = 0;
    for (const prompt of [[0], [1], [2], [1, 2], [2, 0, 1], [0, 0]]) {
      const model = new FakeCausalLM(fn, { vocabSize: v });
      const want = exhaustiveBest(fn, v, prompt, 3);
      const r = await generate(model, null, prompt, { num_beams: 9, max_new_tokens: 3, do_sample: false });
      expect(r.tokenIds).toEqual(want);
      const greedy = await generate(model, null, prompt, { maxNewTokens: 3, greedy: true });
      if (greedy.tokenIds.join() !== want.join()) greedyMisses++;
      model.dispose();
    }
    expect(greedyMisses).toBeGreaterThan(0); // the cases are ones where greedy is not optimal
  });

  test('beats greedy where the likelier first token leads nowhere', async () => {
    // step 0: A (id 1) 0.6, B (id 2) 0.4; after A: flat over 3 ids; after B: B again with 0.99
    const table = { '': [0, 0.6, 0.4], '1': [1 / 3, 1 / 3, 1 / 3], '2': [0.005, 0.005, 0.99] };
    const model = tableModel(3, table, 1, []);
    const greedy = await generate(model, null, [0], { maxNewTokens: 2, greedy: true });
    expect(greedy.tokenIds[0]).toBe(1); // 0.6 * 1/3 = 0.2
    const beams = await generate(model, null, [0], { maxNewTokens: 2, numBeams: 2 });
    expect(beams.tokenIds).toEqual([2, 2]); // 0.4 * 0.99 = 0.396
    model.dispose();
  });

  test('a stop id finishes a hypothesis scored sum(log p) / length ** lengthPenalty', async () => {
    // ids: 0 = eos, 1 = A, 2 = B. step 0: A .55, eos .4, B .05; after A: eos .9, B .1
    const table = { '': [0.4, 0.55, 0.05], '1': [0.9, 0.05, 0.05] };
    const model = tableModel(3, table, 1, [0]);
    // hypotheses: [eos] log .4 / max(1, 0) = -0.916; [A, eos] (log .55 + log .9) / 1 = -0.703: the second wins
    const r = await generate(model, null, [1], { maxNewTokens: 5, numBeams: 2 });
    expect(r.tokenIds).toEqual([1, 0]);
    expect(r.finishReason).toBe('stop');
    // with lengthPenalty 0 scores are plain sums: the same winner; a stronger eos at step 0 wins instead
    const eager = tableModel(3, { '': [0.58, 0.4, 0.02], '1': [0.9, 0.05, 0.05] }, 1, [0]);
    expect((await generate(eager, null, [1], { maxNewTokens: 5, numBeams: 2, lengthPenalty: 0 })).tokenIds).toEqual([0]); // log .58 > log .4 + log .9
    model.dispose();
    eager.dispose();
  });

  test('the built-in model: beams of 1 are greedy; 3 beams give a sequence at least as likely as greedy; no tensor left', async () => {
    const { model, tokenizer } = await loadBuiltinModel();
    try {
      const before = tf.memory().numTensors;
      const ids = tokenizer.encode('Ma');
      const greedy = await generate(model, tokenizer, ids, { maxNewTokens: 4, greedy: true, stopTokenIds: [] });
      const beam1 = await generate(model, tokenizer, ids, { maxNewTokens: 4, do_sample: false, num_beams: 1, stopTokenIds: [] });
      expect(beam1.tokenIds).toEqual(greedy.tokenIds);
      const beam3 = await generate(model, tokenizer, ids, { maxNewTokens: 4, do_sample: false, num_beams: 3, stopTokenIds: [], length_penalty: 0 });
      // log-probability of a continuation under the model (float64 sum over its steps)
      const score = (cont: number[]): number => {
        const all = model.forward([[...ids, ...cont]], { allPositions: true }); // (1, T, V)
        const data = all.dataSync() as Float32Array;
        all.dispose();
        const v = model.info.vocabSize;
        let s = 0;
        cont.forEach((id, k) => (s += logSoftmax64(data.subarray((ids.length - 1 + k) * v, (ids.length + k) * v))[id] as number));
        return s;
      };
      expect(beam3.tokenIds).toHaveLength(4);
      expect(score(beam3.tokenIds)).toBeGreaterThanOrEqual(score(greedy.tokenIds) - 1e-5);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  test('sampling with beams is refused', async () => {
    const model = new FakeCausalLM(hashedLogits(3), { vocabSize: 3 });
    await expect(generate(model, null, [0], { numBeams: 2, doSample: true })).rejects.toThrow(/beam sampling\) is not supported; pass doSample: false/);
    model.dispose();
  });
});
