/**
 * LOOM's five activations plus linear, as differentiable tfjs ops.
 * Ref: loom-spec/layers.md section 1.2. Derivatives come from tfjs autodiff and equal LOOM's
 * table, including the points where it picks a side: ScaledReLU'(0) = 0, LeakyReLU'(0) = 1.
 * Softplus is computed stably (LOOM overflows to +Inf above ~709, gaps.md A9).
 */
import * as tf from '@tensorflow/tfjs';
import { Activation, ACTIVATION_NAMES, type ActivationCode } from '../src/core/types';

/** Applies LOOM activation `code` element-wise. */
export function applyActivation<T extends tf.Tensor>(x: T, code: ActivationCode | number): T {
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

/** JSON name of an activation code (`linear` for every value outside 0..4). */
export function activationName(code: number): string {
  return code >= 0 && code <= 4 ? (ACTIVATION_NAMES[code] as string) : 'linear';
}
