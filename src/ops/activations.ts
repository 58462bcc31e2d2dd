/**
 * Element-wise activations, as differentiable tfjs ops: SiLU, the two GELU forms, and LOOM's five
 * activation codes. Ref: Hendrycks & Gimpel 2016 (GELU); Elfwing et al. 2018 (SiLU);
 * loom-spec/layers.md 1.2 (LOOM codes). Derivatives come from tfjs autodiff and equal LOOM's
 * table, including the points where it picks a side: ScaledReLU'(0) = 0, LeakyReLU'(0) = 1.
 * Softplus is computed stably (LOOM overflows to +Inf above ~709, gaps.md A9).
 */
import * as tf from '@tensorflow/tfjs';
import { Activation, type ActivationCode } from '../core/types';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** SiLU (swish): x * sigmoid(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

/** Exact GELU: x/2 * (1 + erf(x / sqrt 2)) (transformers' `gelu`). */
export function geluErf<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T);
}

/** Tanh-approximated GELU (transformers' `gelu_new`, `gelu_fast`, `gelu_pytorch_tanh`). */
export function geluTanh<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner))) as T;
  });
}

/** Applies LOOM activation `code` element-wise (linear for every value outside 0..4). */
export function loomActivation<T extends tf.Tensor>(x: T, code: ActivationCode | number): T {
  switch (code) {
    case Activation.ScaledReLU:
      return tf.relu(tf.mul(x, 1.1)) as T;
    case Activation.Sigmoid:
      return tf.sigmoid(x) as T;
    case Activation.Tanh:
      return tf.tanh(x) as T;
    case Activation.Softplus:
      return tf.softplus(x) as T;
    case Activation.LeakyReLU:
      return tf.where(tf.greaterEqual(x, 0), x, tf.mul(x, 0.1)) as T;
    default:
      return x;
  }
}
