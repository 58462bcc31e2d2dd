/**
 * `loomLinear(x, w, bias?)`: x (M, K) times w (N, K) transposed (+ bias (N)) -> (M, N), the PyTorch
 * Linear layout. On the wasm and cpu backends it runs the registered `LoomLinear` kernel (the wasm
 * module, threaded); elsewhere the tfjs op chain. Gradients are the tfjs op chain's.
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../core/errors';
import { LOOM_LINEAR, loomKernelRegistered } from './kernel_names';

function reference(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y = tf.matMul(x, w, false, true) as tf.Tensor2D;
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}


/**
 * @param x (M, K)
 * @param w (N, K)
 * @param bias (N), optional
 * @returns (M, N)
 * @throws ShapeError when the shapes do not line up.
 */
export function loomLinear(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[1]) throw new ShapeError(`loomLinear: x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}] must be (M, K) and (N, K)`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) throw new ShapeError(`loomLinear: bias [${bias.shape.join(', ')}] must be (${w.shape[0]})`);
  if (!loomKernelRegistered(LOOM_LINEAR)) return reference(x, w, bias);
  const run = (xi: tf.Tensor2D, wi: tf.Tensor2D, bi?: tf.Tensor1D): tf.Tensor2D =>
    tf.engine().runKernel(LOOM_LINEAR, bi ? { x: xi, w: wi, bias: bi } : { x: xi, w: wi }, {}) as tf.Tensor2D;
  if (bias) {
    const f = tf.customGrad((xi, wi, bi, save) => {
      (save as tf.GradSaveFunc)([xi as tf.Tensor2D, wi as tf.Tensor2D]);
      return { value: run(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), gradFunc: (dy, saved) => grads(dy as tf.Tensor2D, saved, true) };
    });
    return f(x, w, bias) as tf.Tensor2D;
  }
  const f = tf.customGrad((xi, wi, save) => {
    (save as tf.GradSaveFunc)([xi as tf.Tensor2D, wi as tf.Tensor2D]);
    return { value: run(xi as tf.Tensor2D, wi as tf.Tensor2D), gradFunc: (dy, saved) => grads(dy as tf.Tensor2D, saved, false) };
  });
  return f(x, w) as tf.Tensor2D;
}

function grads(dy: tf.Tensor2D, saved: tf.Tensor[], withBias: boolean): tf.Tensor[] {
  const [x, w] = saved as [tf.Tensor2D, tf.Tensor2D];
  const dx = tf.matMul(dy, w); // (M, K)
  const dw = tf.matMul(dy, x, true, false); // (N, K)
  return withBias ? [dx, dw, tf.sum(dy, 0)] : [dx, dw];
}
