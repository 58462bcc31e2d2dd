/**
 * Sparse probability maps: sparsemax (Martins & Astudillo 2016) and alpha-entmax (Peters et al.
 * 2019), as tfjs ops with exact custom gradients. Ref: loom-spec/layers.md 3.6 (`sparse`, `entmax`).
 *
 * Both are piecewise smooth; their Jacobians on the support S = {i : p_i > 0} are
 * `diag(s) - s s^T / sum(s)` with `s_i = p_i^(2 - alpha)` (sparsemax: alpha = 2, so s = 1 on S).
 */
import * as tf from '@tensorflow/tfjs';

/** Bisection steps of alpha-entmax: 2^-48 of the bracket is below float32 resolution. */
const ENTMAX_BISECTION_STEPS = 48;

/** Jacobian-vector product of a sparse map given `s` (0 off the support): s*dy - s*(s.dy)/sum(s). */
function sparseJvp(s: tf.Tensor1D, dy: tf.Tensor): tf.Tensor1D {
  const sdy = tf.mul(s, dy);
  return tf.sub(sdy, tf.mul(s, tf.div(tf.sum(sdy), tf.sum(s)))) as tf.Tensor1D;
}

/**
 * LOOM's sparsemax forward (layers.md 3.6 `sparse`): sort descending, k = length of the leading run
 * with `sorted_i - (cumsum_i - 1)/(i+1) > 0` (LOOM stops at the first failure), `tau = (sum of the
 * first k - 1)/k`, `p = max(0, z - tau)`. z (n) -> p (n).
 */
function sparsemaxForward(z: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const n = z.size;
    const sorted = tf.topk(z, n).values; // (n), descending
    const cs = tf.cumsum(sorted); // (n)
    const rank = tf.range(1, n + 1, 1, 'float32'); // (n): i + 1
    const ok = tf.cast(tf.greater(tf.sub(sorted, tf.div(tf.sub(cs, 1), rank)), 0), 'float32');
    // leading run of `ok`: positions before the first failure
    const lead = tf.cast(tf.equal(tf.cumsum(tf.sub(1, ok)), 0), 'float32'); // (n)
    const k = tf.sum(lead);
    const tau = tf.div(tf.sub(tf.sum(tf.mul(sorted, lead)), 1), k);
    return tf.relu(tf.sub(z, tau)) as tf.Tensor1D;
  });
}

/**
 * Sparsemax over the whole vector with its exact gradient. z (n) -> p (n), sum(p) = 1.
 * Ref: layers.md 3.6 `sparse`.
 */
export function sparsemax(z: tf.Tensor1D): tf.Tensor1D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor1D, tf.GradSaveFunc];
    const p = sparsemaxForward(x);
    save([p]);
    return {
      value: p,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const s = tf.cast(tf.greater(saved[0] as tf.Tensor, 0), 'float32') as tf.Tensor1D;
        return sparseJvp(s, dy);
      },
    };
  });
  return op(z) as tf.Tensor1D;
}

/**
 * alpha-entmax forward by bisection on the threshold: `p_i = [(alpha-1) z_i - tau]_+^(1/(alpha-1))`
 * with tau such that sum(p) = 1 (then renormalised, which removes the bisection's residual).
 */
function entmaxForward(z: tf.Tensor1D, alpha: number): tf.Tensor1D {
  return tf.tidy(() => {
    const n = z.size;
    const am1 = alpha - 1;
    const x = tf.mul(z, am1); // (n)
    const xMax = tf.max(x);
    // p(tau) is decreasing in tau: sum >= 1 at max - 1, sum <= 1 at max - n^(1-alpha)
    let lo = tf.sub(xMax, 1);
    let hi = tf.sub(xMax, Math.pow(1 / n, am1));
    const power = 1 / am1;
    for (let i = 0; i < ENTMAX_BISECTION_STEPS; i++) {
      const next: tf.Tensor[] = tf.tidy(() => {
        const mid = tf.div(tf.add(lo, hi), 2);
        const total = tf.sum(tf.pow(tf.relu(tf.sub(x, mid)), power));
        const above = tf.greaterEqual(total, 1); // mid still too small
        return [tf.where(above, mid, lo), tf.where(above, hi, mid)];
      });
      lo.dispose();
      hi.dispose();
      lo = next[0] as tf.Tensor;
      hi = next[1] as tf.Tensor;
    }
    const p = tf.pow(tf.relu(tf.sub(x, tf.div(tf.add(lo, hi), 2))), power);
    return tf.div(p, tf.sum(p)) as tf.Tensor1D;
  });
}

/**
 * True alpha-entmax over the whole vector with its exact gradient. z (n) -> p (n), sum(p) = 1.
 * alpha <= 1 gives softmax (the alpha -> 1 limit), alpha = 2 sparsemax.
 * Ref: Peters, Niculae, Martins 2019, "Sparse Sequence-to-Sequence Models"; layers.md 3.6 `entmax`.
 */
export function entmax(z: tf.Tensor1D, alpha: number): tf.Tensor1D {
  if (!(alpha > 1)) return tf.softmax(z) as tf.Tensor1D;
  if (alpha === 2) return sparsemax(z);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor1D, tf.GradSaveFunc];
    const p = entmaxForward(x, alpha);
    save([p]);
    return {
      value: p,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const q = saved[0] as tf.Tensor1D;
        const s = tf.where(tf.greater(q, 0), tf.pow(q, 2 - alpha), tf.zerosLike(q)) as tf.Tensor1D;
        return sparseJvp(s, dy);
      },
    };
  });
  return op(z) as tf.Tensor1D;
}
