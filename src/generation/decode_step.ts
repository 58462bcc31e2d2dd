/**
 * One generation step, shared by the async driver (`generateStream`) and the synchronous one
 * (the LOOM facade's GenerateText): feed the ids the KV cache has not seen (the whole prompt first,
 * then the last chosen id), then choose the next id from the last position's logits through the
 * chain logits processors -> sampler. The chain and the cache are built once per generation.
 *
 * Ref: loom-spec/transformer.md section 7 (the loop LOOM's GenerateText ran without a cache).
 */
import type * as tf from '@tensorflow/tfjs';
import type { CausalLM, KVCache } from '../transformer/types';
import { applyLogitsProcessors, type LogitsProcessor } from './logits_processors';
import type { Rng } from '../core/rng';
import { argmax, sampleFromScores } from './sampler';

/** Call-time knobs of a {@link DecodeSession}. */
export interface DecodeSessionOptions {
  /** The processor chain, built once per generation (`buildLogitsProcessors`). */
  processors: readonly LogitsProcessor[];
  /** Draw from the processed distribution (true) or take its argmax (false). */
  sampling: boolean;
  /** Draws of the sampler (unused when not sampling). */
  rng: Rng;
  /** Most tokens the session will generate; sizes the KV cache with the prompt. */
  maxNewTokens: number;
  /**
   * A cache that already holds the first `fed` prompt ids (from an earlier call, see
   * `PastKeyValues`): only the rest is prefilled, and the session does not dispose it.
   */
  reuse?: { readonly cache: KVCache; readonly fed: number };
}

/**
 * The state of one generation: KV cache, processor chain, sampler and every id so far.
 * Owns the cache: call {@link DecodeSession.dispose} when done (in a `finally`).
 */
export class DecodeSession {
  /** Prompt then generated ids. */
  readonly ids: number[];
  private readonly cache: KVCache;
  /** How many of `ids` the cache holds. */
  private fed = 0;

  constructor(
    private readonly model: CausalLM,
    prompt: readonly number[],
    private readonly options: DecodeSessionOptions,
  ) {
    this.ids = [...prompt];
    this.cache = options.reuse?.cache ?? model.createCache(1, Math.min(model.info.maxPositions, prompt.length + options.maxNewTokens));
    this.fed = options.reuse?.fed ?? 0;
  }

  /** The ids the KV cache holds (prompt and generated ids fed so far). */
  get cachedIds(): number[] {
    return this.ids.slice(0, this.fed);
  }

  /**
   * Runs the model on the ids the cache has not seen: the prompt (prefill) on the first call, the
   * last chosen id afterwards. The caller reads and disposes the result.
   * @returns (1, V) logits of the last position.
   */
  forward(): tf.Tensor {
    const fresh = this.ids.slice(this.fed);
    const logits = this.model.forward([fresh], { cache: this.cache }); // (1, V)
    this.fed = this.ids.length;
    return logits;
  }

  /**
   * Chooses the next id from (V) logits (processors, then argmax or a seeded draw) and appends it.
   * @returns the chosen id.
   * @throws NonFiniteError when no processed score is finite.
   */
  choose(logits: Float32Array): number {
    const scores = applyLogitsProcessors(this.options.processors, logits, this.ids);
    const id = this.options.sampling ? sampleFromScores(scores, this.options.rng) : argmax(scores);
    this.ids.push(id);
    return id;
  }

  /** Frees the KV cache (unless it was given in `reuse`; its owner frees it). */
  dispose(): void {
    if (!this.options.reuse) this.cache.dispose();
  }
}

/**
 * One synchronous step: {@link DecodeSession.forward}, a blocking `dataSync` read of the logits,
 * then {@link DecodeSession.choose}.
 * @returns the chosen id.
 */
export function decodeStepSync(session: DecodeSession): number {
  const t = session.forward(); // (1, V)
  let logits: Float32Array;
  try {
    const data = t.dataSync();
    logits = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  } finally {
    t.dispose();
  }
  return session.choose(logits);
}
