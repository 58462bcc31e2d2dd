/**
 * Size limits on a parsed model configuration, checked before any buffer is sized from it: a
 * config.json with `intermediate_size: 1e9`, `head_dim: 2**40` or `vocab_size: 2**31` must give a
 * typed ConfigError, not a `RangeError: Invalid typed array length` from deep inside a builder.
 * Also checks config-implied sizes against the tensors a checkpoint really holds.
 */
import { ConfigError, ShapeError } from '../src/core/errors';
import type { ModelConfig } from '../src/transformer/config';

/** Largest hidden, intermediate or head size accepted (real models: <= 65,536). */
export const MAX_MODEL_DIM = 2 ** 20;
/** Largest vocabulary accepted (real models: <= 262,144). */
export const MAX_VOCAB = 2 ** 24;
/** Largest context length accepted (Qwen2.5-1M: 1,010,000). */
export const MAX_POSITIONS = 2 ** 24;
/** Most layers or heads accepted. */
export const MAX_COUNT = 2 ** 16;
/** Most elements of one weight matrix (2^31 float32 = 8 GiB). */
export const MAX_MATRIX_ELEMENTS = 2 ** 31;

function limit(file: string, key: string, v: number, max: number, min = 1): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new ConfigError(`${file}: ${key} ${v} is out of range, expected an integer in [${min}, ${max}]`);
  }
}

/** The largest matrices `config` implies, as [what, elements]. */
function impliedMatrices(c: ModelConfig): [string, number][] {
  const q = c.numHeads * c.headDim;
  const kv = c.numKVHeads * c.headDim;
  return [
    ['embedding (vocab_size x hidden_size)', c.vocabSize * c.hiddenSize],
    ['attention projection (hidden_size x heads x head_dim)', c.hiddenSize * (q + 2 * kv)],
    ['MLP projection (hidden_size x intermediate_size)', c.hiddenSize * c.intermediateSize],
  ];
}

/**
 * Checks every size of `config` against sane limits (safe integers, each dimension and each
 * implied matrix bounded) and `rope.theta` > 1 (a smaller base makes RoPE frequencies overflow).
 * @returns `config` unchanged.
 * @throws ConfigError naming the key, its value and the accepted range.
 */
export function checkConfigLimits(config: ModelConfig, file = 'config.json'): ModelConfig {
  limit(file, 'hidden_size', config.hiddenSize, MAX_MODEL_DIM);
  limit(file, 'intermediate_size', config.intermediateSize, MAX_MODEL_DIM * 8);
  limit(file, 'head_dim', config.headDim, MAX_MODEL_DIM);
  limit(file, 'num_attention_heads', config.numHeads, MAX_COUNT);
  limit(file, 'num_key_value_heads', config.numKVHeads, MAX_COUNT);
  limit(file, 'num_hidden_layers', config.numLayers, MAX_COUNT, 0);
  limit(file, 'vocab_size', config.vocabSize, MAX_VOCAB);
  limit(file, 'max_position_embeddings', config.maxPositions, MAX_POSITIONS);
  for (const [what, n] of impliedMatrices(config)) {
    if (n > MAX_MATRIX_ELEMENTS) throw new ConfigError(`${file}: the ${what} matrix would have ${n} elements, more than the limit of ${MAX_MATRIX_ELEMENTS}`);
  }
  const rope = config.rope;
  if (rope && !(rope.theta > 1 && Number.isFinite(rope.theta))) {
    throw new ConfigError(`${file}: rope_theta ${rope.theta} must be a finite number > 1 (RoPE frequencies theta^(-2i/d) overflow otherwise)`);
  }
  if (rope && rope.scaling.type !== 'default' && !(rope.scaling.factor > 0 && Number.isFinite(rope.scaling.factor))) {
    throw new ConfigError(`${file}: rope scaling factor ${rope.scaling.factor} must be a finite positive number`);
  }
  return config;
}

/** A weight source that can list its tensors' shapes without reading them (a safetensors file or checkpoint). */
export interface ShapeListing {
  readonly names: readonly string[];
  entry(name: string): { readonly shape: readonly number[]; readonly dtype?: string };
}

/** True when `w` lists tensor shapes without reading data. */
export function isShapeListing(w: unknown): w is ShapeListing {
  return typeof w === 'object' && w !== null && Array.isArray((w as ShapeListing).names) && typeof (w as ShapeListing).entry === 'function';
}

/** Number of values in every tensor of `w`. */
export function totalElements(w: ShapeListing): number {
  let n = 0;
  for (const name of w.names) n += w.entry(name).shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Checks that each matrix `config` implies could be in `weights` at all (no implied matrix has
 * more values than the whole checkpoint), before a builder sizes a buffer from config.json.
 * @throws ShapeError naming the matrix, its implied size and the checkpoint's size.
 */
export function checkConfigAgainstWeights(config: ModelConfig, weights: ShapeListing): void {
  const total = totalElements(weights);
  for (const [what, n] of impliedMatrices(config)) {
    if (n > total) {
      throw new ShapeError(`config.json implies a ${what} matrix of ${n} values, but the whole checkpoint holds only ${total}: config.json does not match the weights`);
    }
  }
}
