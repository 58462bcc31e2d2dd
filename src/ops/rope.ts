/**
 * Rotary position embeddings, rotate-half form: dimension pairs (d, d + rotaryDim/2) of each head
 * rotate by the angle of their frequency; dimensions past `rotaryDim` pass through. The one
 * implementation used by the grid attention layer and the transformer blocks; only the cos/sin
 * tables differ (LOOM's: float64 angle, float32 cos/sin; transformers': float32 angle).
 * Ref: RoFormer (Su et al. 2021); loom-spec/layers.md 3.3 step 3 and section 4;
 * transformers modeling_rope_utils.
 */
import * as tf from '@tensorflow/tfjs';

/** LOOM's hard-coded RoPE base (nn/attention.go:125). */
export const LOOM_ROPE_THETA = 1_000_000;

/** cos and sin of each (position, frequency), row-major (positions, rotaryDim / 2). */
export interface RopeTables {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

/**
 * LOOM-exact tables for positions 0..seqLen-1: `cos[s][i] = float32(cos(s * theta^(-2i/hd)))`,
 * angle in float64; (seqLen, floor(headDim / 2)) each. For an odd head size the last dimension
 * has frequency 0 (it passes through: `applyRope` with rotaryDim = 2 * floor(hd / 2)).
 */
export function loomRopeHalfTables(seqLen: number, headDim: number, theta: number): RopeTables {
  const half = Math.floor(headDim / 2);
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let s = 0; s < seqLen; s++) {
    for (let i = 0; i < half; i++) {
      const angle = s * (1 / Math.pow(theta, (2 * i) / headDim));
      cos[s * half + i] = Math.cos(angle);
      sin[s * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * LOOM's tables at full head width, as its Go code stores them: (seqLen, headDim) each, both
 * halves equal, an odd last dimension cos 1 / sin 0. Built from {@link loomRopeHalfTables}.
 */
export function loomRopeTables(seqLen: number, headDim: number, theta: number): RopeTables {
  const half = Math.floor(headDim / 2);
  const h = loomRopeHalfTables(seqLen, headDim, theta);
  const cos = new Float32Array(seqLen * headDim).fill(1);
  const sin = new Float32Array(seqLen * headDim);
  for (let s = 0; s < seqLen; s++) {
    for (let i = 0; i < half; i++) {
      for (const d of [i, i + half]) {
        cos[s * headDim + d] = h.cos[s * half + i] as number;
        sin[s * headDim + d] = h.sin[s * half + i] as number;
      }
    }
  }
  return { cos, sin };
}

/**
 * transformers' tables for arbitrary positions: the angle is rounded to float32 first (it is
 * computed in float32 there). (positions.length, invFreq.length) each.
 * @param invFreq inverse frequencies after any scaling (rotaryDim / 2 values)
 */
export function ropeTablesAt(invFreq: Float64Array, positions: Int32Array): RopeTables {
  const half = invFreq.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let p = 0; p < positions.length; p++) {
    const pos = positions[p] as number;
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * Math.fround(invFreq[i] as number));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Applies rotate-half RoPE on the last axis: with x1 = x[..., :r/2], x2 = x[..., r/2:r],
 * out = (x1 cos - x2 sin, x2 cos + x1 sin, x[..., r:]).
 * @param x (..., headDim)
 * @param cos broadcastable to (..., rotaryDim / 2): (S, r/2) for x (H, S, hd), (B, T, 1, r/2) for x (B, T, H, hd)
 * @param sin same shape as `cos`
 * @param rotaryDim leading dimensions that rotate; even, <= headDim
 * @returns same shape as `x`
 */
export function applyRope<T extends tf.Tensor>(x: T, cos: tf.Tensor, sin: tf.Tensor, rotaryDim: number): T {
  const headDim = x.shape[x.rank - 1] as number;
  const half = rotaryDim / 2;
  if (half === 0) return tf.clone(x);
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const parts = rotaryDim === headDim ? tf.split(x, 2, axis) : tf.split(x, [half, half, headDim - rotaryDim], axis);
    const x1 = parts[0] as tf.Tensor; // (..., r/2)
    const x2 = parts[1] as tf.Tensor; // (..., r/2)
    const o1 = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)); // (..., r/2)
    const o2 = tf.add(tf.mul(x2, cos), tf.mul(x1, sin)); // (..., r/2)
    return tf.concat(parts.length === 3 ? [o1, o2, parts[2] as tf.Tensor] : [o1, o2], axis) as T; // (..., headDim)
  });
}
