/**
 * `loomRmsNorm(x, gamma, eps)`: x / sqrt(mean(x^2) + eps) * gamma per row of x (M, D). On the wasm
 * and cpu backends it runs the registered `LoomRmsNorm` kernel; elsewhere the tfjs op chain.
 * Gradients are the tfjs op chain's.
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../core/errors';
import { LOOM_RMS_NORM, loomKernelRegistered } from './kernel_names';

function reference(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.square(x), -1, true); // (M, 1)
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), gamma) as tf.Tensor2D;
}

/**
 * @param x (M, D)
 * @param gamma (D)
 * @returns (M, D)
 * @throws ShapeError when gamma's length is not x's last dimension.
 */
export function loomRmsNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (x.rank !== 2 || gamma.rank !== 1 || gamma.shape[0] !== x.shape[1]) throw new ShapeError(`loomRmsNorm: x [${x.shape.join(', ')}] and gamma [${gamma.shape.join(', ')}] must be (M, D) and (D)`);
  if (!loomKernelRegistered(LOOM_RMS_NORM)) return reference(x, gamma, eps);
  const f = tf.customGrad((xi, gi, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor2D, gi as tf.Tensor1D]);
    const value = tf.engine().runKernel(LOOM_RMS_NORM, { x: xi as tf.Tensor2D, gamma: gi as tf.Tensor1D }, { eps }) as tf.Tensor2D;
    return {
      value,
      gradFunc: (dy, saved) => {
        const [xs, gs] = saved as [tf.Tensor2D, tf.Tensor1D];
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(reference(a as tf.Tensor2D, b as tf.Tensor1D, eps), dy as tf.Tensor2D));
        return g([xs, gs]);
      },
    };
  });
  return f(x, gamma) as tf.Tensor2D;
}
