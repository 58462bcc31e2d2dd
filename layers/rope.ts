/**
 * LOOM's rotary position embedding inside MultiHeadAttention: rotate-half pairs (d, d + hd/2),
 * frequencies computed in float64, cos/sin rounded to float32; for odd head sizes the last
 * dimension has frequency 0 (passes through). Ref: loom-spec/layers.md 3.3 step 3 and section 4.
 */
import * as tf from '@tensorflow/tfjs';

/** LOOM's hard-coded RoPE base (nn/attention.go:125). */
export const LOOM_ROPE_THETA = 1_000_000;

/**
 * cos and sin tables, each (seqLen, headDim) row-major, for positions 0..seqLen-1:
 * `cos[s][d] = float32(cos(s * theta^(-2i/hd)))` with `i = d mod floor(hd/2)`.
 */
export function loomRopeTables(seqLen: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = Math.floor(headDim / 2);
  const cos = new Float32Array(seqLen * headDim).fill(1);
  const sin = new Float32Array(seqLen * headDim);
  for (let s = 0; s < seqLen; s++) {
    for (let i = 0; i < half; i++) {
      const angle = s * (1 / Math.pow(theta, (2 * i) / headDim));
      const c = Math.fround(Math.cos(angle));
      const sn = Math.fround(Math.sin(angle));
      cos[s * headDim + i] = c;
      cos[s * headDim + i + half] = c;
      sin[s * headDim + i] = sn;
      sin[s * headDim + i + half] = sn;
    }
  }
  return { cos, sin };
}

/**
 * Applies rotate-half RoPE: `x*cos + rotate(x)*sin` with `rotate(x)[d] = -x[d+half]` (d < half),
 * `x[d-half]` (half <= d < 2*half); an odd last dimension keeps its value (its sin is 0).
 * @param x (..., S, hd)
 * @param cos (S, hd), as from {@link loomRopeTables}
 * @param sin (S, hd)
 * @returns (..., S, hd)
 */
export function applyRotateHalf<T extends tf.Tensor>(x: T, cos: tf.Tensor2D, sin: tf.Tensor2D): T {
  const hd = x.shape[x.rank - 1] as number;
  const half = Math.floor(hd / 2);
  if (half === 0) return tf.mul(x, cos) as T; // hd = 1: frequency 0, cos = 1
  const sizes = hd % 2 === 0 ? [half, half] : [half, half, 1];
  const parts = tf.split(x, sizes, x.rank - 1);
  const x1 = parts[0] as tf.Tensor; // (..., S, half)
  const x2 = parts[1] as tf.Tensor; // (..., S, half)
  const rotated = tf.concat(parts.length === 3 ? [tf.neg(x2), x1, parts[2] as tf.Tensor] : [tf.neg(x2), x1], x.rank - 1); // (..., S, hd)
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as T;
}
