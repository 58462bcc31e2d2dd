/**
 * Scaled dot-product attention with grouped KV heads (GQA), an additive mask, and the KV-cache
 * step that appends new keys/values to the past ones. The one implementation used by the grid
 * attention layer (layers/multi_head_attention.ts) and the transformer blocks.
 * Ref: Vaswani et al. 2017; Ainslie et al. 2023 (GQA); transformers `repeat_kv` semantics.
 */
import * as tf from '@tensorflow/tfjs';

/** Value added to masked scores (finite, so a fully masked padding row stays NaN-free). */
export const MASKED = -1e9;

/**
 * Attention of queries `q` (B, nHeads, T, headDim) over keys/values (B, nKVHeads, S, headDim).
 * Query head h reads KV head floor(h / (nHeads / nKVHeads)), as transformers' repeat_kv, without
 * copying K/V: the heads of one group are stacked along the query axis.
 * @param mask additive, broadcastable to (B, nHeads, T, S) ((B, 1, T, S) or (1, 1, T, S)), or null
 *   (every position visible).
 * @param scale multiplies the queries (1 / sqrt(headDim)).
 * @returns (B, T, nHeads * headDim)
 */
export function groupedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor4D | null, scale: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, nHeads, t, headDim] = q.shape;
    const nKV = k.shape[1];
    const s = k.shape[2];
    const group = nHeads / nKV;
    const qg = tf.reshape(tf.mul(q, scale), [b, nKV, group * t, headDim]); // (B, nKV, G*T, headDim)
    let scores: tf.Tensor4D = tf.matMul(qg, k, false, true); // (B, nKV, G*T, S)
    if (mask) {
      const perHead = tf.reshape(scores, [b, nHeads, t, s]); // (B, nHeads, T, S)
      scores = tf.reshape(tf.add(perHead, mask), [b, nKV, group * t, s]); // (B, nKV, G*T, S)
    }
    const probs = tf.softmax(scores);
    const out = tf.matMul(probs, v); // (B, nKV, G*T, headDim)
    const heads = tf.reshape(out, [b, nHeads, t, headDim]); // (B, nHeads, T, headDim)
    return tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [b, t, nHeads * headDim]); // (B, T, nHeads*headDim)
  });
}

/** Keys and values of one attention layer, each (B, nKVHeads, S, headDim). */
export interface KeyValues {
  readonly keys: tf.Tensor4D;
  readonly values: tf.Tensor4D;
}

/**
 * The KV-cache step: the keys/values attention reads after this step's new positions, i.e. the
 * past ones (when any) followed by the new ones along the sequence axis.
 * @param past (B, nKV, P, headDim) each, or null for the first step
 * @param fresh (B, nKV, T, headDim) each
 * @returns (B, nKV, P + T, headDim) each
 */
export function appendKeyValues(past: KeyValues | null, fresh: KeyValues): KeyValues {
  if (!past) return fresh;
  return {
    keys: tf.concat([past.keys, fresh.keys], 2), // (B, nKV, P+T, headDim)
    values: tf.concat([past.values, fresh.values], 2), // (B, nKV, P+T, headDim)
  };
}

/**
 * Causal additive mask for one sequence of `s` tokens: 0 where key <= query, {@link MASKED} above
 * the diagonal. (s, s) row-major, broadcast over batch and heads.
 */
export function causalMask(s: number): Float32Array {
  const m = new Float32Array(s * s);
  for (let r = 0; r < s; r++) for (let c = r + 1; c < s; c++) m[r * s + c] = MASKED;
  return m;
}
