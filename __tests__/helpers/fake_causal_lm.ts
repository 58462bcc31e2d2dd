/**
 * A fake CausalLM for generation tests: logits come from a function of (all ids so far, position),
 * so tests know the exact distribution of every step without a real transformer.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalLM, CausalLMInfo, ForwardOptions, KVCache } from '../../src/transformer/types';

/** Logits of the next token given every id so far. */
export type LogitsFn = (ids: readonly number[]) => Float32Array;

class FakeCache implements KVCache {
  length = 0;
  disposed = false;
  ids: number[] = [];
  constructor(readonly batchSize: number, readonly maxLength: number) {}
  dispose(): void {
    this.disposed = true;
  }
}

/** Records what generation did, for assertions. */
export class FakeCausalLM implements CausalLM {
  readonly info: CausalLMInfo;
  forwardCalls: number[][][] = [];
  caches: FakeCache[] = [];
  /** Held like a weight so leak checks see a live tensor owned by the model. */
  private readonly weight = tf.zeros([1]);

  constructor(private readonly logitsFn: LogitsFn, info: Partial<CausalLMInfo> & { vocabSize: number }) {
    this.info = { modelType: 'gpt2', maxPositions: 1024, eosTokenIds: [], ...info };
  }

  createCache(batchSize: number, maxLength: number): KVCache {
    const c = new FakeCache(batchSize, maxLength);
    this.caches.push(c);
    return c;
  }

  forward(ids: number[][], options: ForwardOptions = {}): tf.Tensor {
    this.forwardCalls.push(ids.map((r) => [...r]));
    const row = ids[0] as number[];
    const cache = options.cache as FakeCache | undefined;
    if (!cache) throw new Error('fake model: generation must use the cache');
    if (cache.disposed) throw new Error('fake model: cache used after dispose');
    if (cache.length + row.length > cache.maxLength) throw new Error(`fake model: cache overflow ${cache.length}+${row.length} > ${cache.maxLength}`);
    cache.ids.push(...row);
    cache.length += row.length;
    const logits = this.logitsFn(cache.ids);
    if (logits.length !== this.info.vocabSize) throw new Error('fake model: logits size');
    return tf.tensor2d(logits, [1, this.info.vocabSize]); // (B=1, V)
  }

  dispose(): void {
    this.weight.dispose();
  }
}

/** Logits that make `script[k]` the certain choice at the k-th generated step (k counted from `promptLength`). */
export function scriptedLogits(script: readonly number[], vocabSize: number, promptLength: number, fallback = 0): LogitsFn {
  return (ids) => {
    const out = new Float32Array(vocabSize).fill(-10);
    const k = ids.length - promptLength;
    out[script[k] ?? fallback] = 10;
    return out;
  };
}
