/**
 * LOOM's training losses as differentiable tfjs expressions whose gradients equal LOOM's
 * `lossGradient`. Ref: loom-spec/training.md section 2.
 *
 * `n = len(output)`; sums run over `i < min(len(output), len(target))` but divide by `n`
 * (so entries past the target get gradient 0, as in LOOM).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';

/** LOOM's loss names. Anything else in LOOM's `LossType` behaves as `mse` (see {@link loomLossType}). */
export type LossType = 'mse' | 'cross_entropy';

/** A custom loss: flat network output y (N) and flat target t -> scalar. Must be differentiable in y. */
export type LossFunction = (y: tf.Tensor1D, t: tf.Tensor1D) => tf.Scalar;

/** Lower and upper clamp of the cross-entropy prediction (LOOM's 1e-7 and 1 - 1e-7). */
export const CE_EPSILON = 1e-7;

/** LOOM's mapping of a `LossType` string: `cross_entropy` or else `mse`. */
export function loomLossType(name: string | null | undefined): LossType {
  return name === 'cross_entropy' ? 'cross_entropy' : 'mse';
}

/** y and t cut to their common length m = min(len y, len t): y (m), t (m). */
function common(y: tf.Tensor1D, t: tf.Tensor1D): [tf.Tensor1D, tf.Tensor1D] {
  const m = Math.min(y.size, t.size);
  const ym = m === y.size ? y : y.slice(0, m); // (m)
  const tm = m === t.size ? t : t.slice(0, m); // (m)
  return [ym, tm];
}

/**
 * LOOM's MSE: `sum((y_i - t_i)^2) / len(y)`; its autodiff gradient is `(y_i - t_i) * 2/len(y)`
 * (0 past the target), which is LOOM's gradient. Computed in float32 (LOOM accumulates the sum
 * in float64; the difference is ~1e-7 relative).
 */
export function mseLoss(y: tf.Tensor1D, t: tf.Tensor1D): tf.Scalar {
  const n = y.size;
  const [ym, tm] = common(y, t);
  return tf.div(tf.sum(tf.square(tf.sub(ym, tm))), n) as tf.Scalar;
}

/**
 * LOOM's cross entropy: value `-sum_{t_i>0} t_i * ln(clamp(y_i, 1e-7, 1-1e-7)) / len(y)`, gradient
 * `t_i > 0 ? -(t_i / max(y_i, 1e-7)) / len(y) : 0` exactly as LOOM (a custom gradient: the
 * derivative of the clamped value would be 0 where `y > 1 - 1e-7` or `y < 1e-7`; LOOM's gradient
 * there is `-t/y/n` resp. `-t/1e-7/n`, which is what we use). The target gets no gradient.
 */
export function crossEntropyLoss(y: tf.Tensor1D, t: tf.Tensor1D): tf.Scalar {
  const n = y.size;
  const [ym, tm] = common(y, t);
  const m = ym.size;
  const ce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [yy, tt, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([yy, tt]);
    const positive = tf.greater(tt, 0); // (m) bool
    const logp = tf.log(tf.clipByValue(yy, CE_EPSILON, 1 - CE_EPSILON)); // (m)
    const terms = tf.where(positive, tf.mul(tt, logp), tf.zerosLike(logp)); // (m)
    const value = tf.div(tf.neg(tf.sum(terms)), n) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => {
        const [ys, ts] = saved as [tf.Tensor, tf.Tensor];
        const g = tf.div(tf.neg(tf.div(ts, tf.maximum(ys, CE_EPSILON))), n); // (m)
        const gy = tf.mul(tf.where(tf.greater(ts, 0), g, tf.zerosLike(g)), dy); // (m)
        return [gy, tf.zerosLike(ts)];
      },
    };
  });
  if (m === 0) return tf.scalar(0);
  return ce(ym, tm) as tf.Scalar;
}

/** The loss function of a {@link LossType} or a custom function. */
export function resolveLoss(loss: LossType | LossFunction | undefined): LossFunction {
  if (loss === undefined || loss === 'mse') return mseLoss;
  if (loss === 'cross_entropy') return crossEntropyLoss;
  if (typeof loss === 'function') return loss;
  throw new ConfigError(`unknown loss '${String(loss)}', expected 'mse', 'cross_entropy' or a function`);
}

/**
 * LOOM's loss in float64 from float32 outputs, on the host (for reports and tests).
 * Ref: training.md section 2.
 */
export function loomLossValue(output: ArrayLike<number>, target: ArrayLike<number>, type: LossType): number {
  const n = output.length;
  const m = Math.min(n, target.length);
  let s = 0;
  for (let i = 0; i < m; i++) {
    const y = output[i] as number;
    const t = target[i] as number;
    if (type === 'mse') {
      const d = Math.fround(y - t);
      s += d * d;
    } else if (t > 0) {
      s -= t * Math.log(Math.min(Math.max(y, CE_EPSILON), 1 - CE_EPSILON));
    }
  }
  return s / n;
}

/** LOOM's float32 loss gradient dL/dy on the host (training.md section 2), for the manual loop. */
export function loomLossGradient(output: ArrayLike<number>, target: ArrayLike<number>, type: LossType): Float32Array {
  const n = output.length;
  const g = new Float32Array(n);
  const m = Math.min(n, target.length);
  const scale = Math.fround(type === 'mse' ? 2 / n : 1 / n);
  for (let i = 0; i < m; i++) {
    const y = output[i] as number;
    const t = target[i] as number;
    if (type === 'mse') g[i] = Math.fround(Math.fround(y - t) * scale);
    else if (t > 0) g[i] = Math.fround(-Math.fround(t / Math.max(y, CE_EPSILON)) * scale);
  }
  return g;
}
