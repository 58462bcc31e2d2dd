/**
 * A KV cache kept across `generate` calls (transformers' `past_key_values`): pass the same
 * {@link PastKeyValues} to each call and only the part of the new prompt after the longest prefix
 * it already holds is prefilled, so a chat turn costs its new tokens, not the whole history.
 * The object owns its cache: `dispose()` it when the conversation ends.
 */
import type { CausalLM, KVCache } from '../transformer/types';

/** The cache of one conversation with one model. */
export class PastKeyValues {
  private cache: KVCache | null = null;
  /** Ids the cache holds, in order. */
  private held: number[] = [];

  /** @param model the model every call using this object runs (another model is an error). */
  constructor(readonly model: CausalLM) {}

  /** Ids whose keys and values are cached (prompt and generated ids of the last call, minus its final id). */
  get ids(): readonly number[] {
    return this.held;
  }

  /**
   * The cache to continue from for `prompt`, and how many of its first ids are already in it.
   * Keeps the longest common prefix (at least one prompt id is always fed, for its logits);
   * truncates the rest when the cache can, else starts a fresh cache sized for the model's
   * whole context.
   * @internal used by generate.
   */
  prepare(prompt: readonly number[], maxNewTokens: number): { cache: KVCache; fed: number } {
    let common = 0;
    const limit = Math.min(this.held.length, prompt.length - 1);
    while (common < limit && this.held[common] === prompt[common]) common++;
    const fits = this.cache !== null && this.cache.maxLength >= prompt.length + maxNewTokens;
    if (this.cache && fits && (common === this.cache.length || this.cache.truncate)) {
      if (common < this.cache.length) this.cache.truncate?.(common);
      this.held = this.held.slice(0, common);
      return { cache: this.cache, fed: common };
    }
    this.cache?.dispose();
    this.cache = this.model.createCache(1, this.model.info.maxPositions);
    this.held = [];
    return { cache: this.cache, fed: 0 };
  }

  /** @internal Records which ids the cache holds after a call. */
  update(ids: readonly number[]): void {
    this.held = [...ids];
  }

  /** Frees the cache; the object can be used again (it starts empty). */
  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
    this.held = [];
  }
}
