/**
 * Linear projection x W + b, weights stored [in][out] (LOOM's layout and Hugging Face's after
 * the loader's transpose). Used by every dense projection in layers/ and src/transformer/.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * @param x (rows, in)
 * @param w (in, out)
 * @param b (out), or null / undefined for no bias
 * @returns (rows, out)
 */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor | null): tf.Tensor2D {
  return tf.tidy(() => {
    const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D); // (rows, out)
    return (b ? tf.add(y, b) : y) as tf.Tensor2D;
  });
}
