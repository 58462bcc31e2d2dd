/**
 * Scaled dot-product attention with grouped KV heads (GQA) and an additive mask.
 * Ref: Vaswani et al. 2017; Ainslie et al. 2023 (GQA); transformers `repeat_kv` semantics.
 */
import * as tf from '@tensorflow/tfjs';

/** Value added to masked scores (finite, so a fully masked padding row stays NaN-free). */
export const MASKED = -1e9;

/**
 * Attention of queries `q` (B, nHeads, T, headDim) over keys/values (B, nKVHeads, S, headDim).
 * Query head h reads KV head floor(h / (nHeads / nKVHeads)), as transformers' repeat_kv, without
 * copying K/V: the heads of one group are stacked along the query axis.
 * @param mask additive (B, 1, T, S) or null (every position visible).
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
