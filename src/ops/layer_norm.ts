/**
 * LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (population
 * variance). The one implementation used by the grid layer (layers/layer_norm.ts) and the
 * transformer blocks (src/transformer/model.ts). Ref: Ba et al. 2016; loom-spec/layers.md 3.7.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Normalises each row of `x` to zero mean and unit variance, then applies `gamma` and `beta`
 * when given (either may be null: LOOM skips the multiply / add).
 * @param x (rows, N)
 * @param gamma (N) or null
 * @param beta (N) or null
 * @returns (rows, N)
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true); // (rows, 1) each
    let y: tf.Tensor = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))); // (rows, N)
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y as tf.Tensor2D;
  });
}
