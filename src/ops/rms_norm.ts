/**
 * RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * gamma. The one implementation used by
 * the grid layer (layers/rms_norm.ts) and the transformer blocks (src/transformer/model.ts).
 * Ref: Zhang & Sennrich 2019; loom-spec/layers.md 3.9.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Normalises each row of `x` by its root mean square, then scales by `gamma` when given.
 * @param x (rows, N)
 * @param gamma (N) or null (no scale, as a LOOM record without gamma)
 * @returns (rows, N)
 */
export function rmsNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true); // (rows, 1)
    const y = tf.mul(x, tf.rsqrt(tf.add(ms, eps))); // (rows, N)
    return (gamma ? tf.mul(y, gamma) : y) as tf.Tensor2D;
  });
}
