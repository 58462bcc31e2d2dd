/**
 * The contract between the transformer graphs (src/transformer) and generation
 * (src/generation): a causal language model with a KV cache.
 */
import type * as tf from '@tensorflow/tfjs';
import type { WeightDtype } from '../kernels/quantize';

/** Architectures loom-tfjs runs from a Hugging Face `config.json`. */
export type ModelType = 'llama' | 'mistral' | 'qwen2' | 'gpt2' | 'gpt_neox';

/** What generation needs to know about a loaded model (the full typed config lives in loaders/hf_config). */
export interface CausalLMInfo {
  readonly modelType: ModelType;
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated) the model supports. */
  readonly maxPositions: number;
  /** End-of-sequence ids from generation_config.json / config.json (may be empty). */
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId?: number;
  readonly padTokenId?: number;
  /** Storage format of the weight matrices ('fp32' on the tfjs op chain; the kernels may hold bf16 / q8 / q4). */
  readonly dtype?: WeightDtype;
  /** Generation defaults from generation_config.json (applied under the call's own options). */
  readonly generationDefaults?: GenerationDefaults;
}

/** The sampling defaults a generation_config.json may carry, in camelCase (loaders/generation_config). */
export interface GenerationDefaults {
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly minP?: number;
  readonly maxNewTokens?: number;
  readonly repetitionPenalty?: number;
  readonly minNewTokens?: number;
  readonly noRepeatNgramSize?: number;
  readonly badWordsIds?: readonly (readonly number[])[];
}

/** A per-model KV cache for a batch of sequences; owned by the caller, freed with `dispose()`. */
export interface KVCache {
  /** Sequences in the batch. */
  readonly batchSize: number;
  /** Positions filled so far (same for every sequence; left padding counts). */
  readonly length: number;
  /** Capacity in positions. */
  readonly maxLength: number;
  /** Keeps only the first `length` positions (optional: caches without it are rebuilt instead). */
  truncate?(length: number): void;
  dispose(): void;
}

/** Options of {@link CausalLM.forward}. */
export interface ForwardOptions {
  /** Cache to read and extend; without one the whole sequence is computed from scratch. */
  cache?: KVCache;
  /**
   * 1 for real tokens, 0 for (left) padding, one row per sequence, covering every position so far
   * including the new ones: shape [batch][cache.length + newTokens].
   */
  attentionMask?: number[][];
  /** Return logits for every new position (B, T, V) instead of only the last one (B, V). */
  allPositions?: boolean;
}

/** A causal language model: token ids in, next-token logits out. */
export interface CausalLM {
  readonly info: CausalLMInfo;
  /** A cache for `batchSize` sequences of up to `maxLength` positions. */
  createCache(batchSize: number, maxLength: number): KVCache;
  /**
   * Runs `ids` (one equal-length row of new tokens per sequence) and appends them to `cache`.
   * @returns logits (B, V), or (B, T, V) with `allPositions`; the caller disposes the tensor.
   */
  forward(ids: number[][], options?: ForwardOptions): tf.Tensor;
  /** Frees every weight tensor. */
  dispose(): void;
}
