/**
 * Rotary position embeddings, Hugging Face convention (rotate_half over the first `rotaryDim`
 * dimensions of each head; the rest pass through).
 * Ref: RoFormer (Su et al. 2021); transformers modeling_rope_utils (default, linear, dynamic, llama3).
 */
import * as tf from '@tensorflow/tfjs';
import type { RopeConfig } from './config';

/**
 * Inverse frequencies (rotaryDim / 2 values) after scaling, as transformers computes them.
 * @param seqLen total sequence length, used by `dynamic` scaling only.
 */
export function ropeInvFreq(rope: RopeConfig, seqLen = 0): Float64Array {
  const half = rope.rotaryDim / 2;
  const s = rope.scaling;
  let base = rope.theta;
  if (s.type === 'dynamic' && seqLen > s.originalMaxPositions) {
    // NTK-aware dynamic scaling: the base grows once the sequence passes the trained length.
    base = base * ((s.factor * seqLen) / s.originalMaxPositions - (s.factor - 1)) ** (rope.rotaryDim / (rope.rotaryDim - 2));
  }
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / base ** ((2 * i) / rope.rotaryDim));
  if (s.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = inv[i]! / s.factor;
  } else if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) {
        inv[i] = f / s.factor;
      } else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
  }
  return inv;
}

/**
 * cos and sin tables for the given positions: each (positions.length, rotaryDim / 2), row-major.
 * The angle is rounded to float32 first, as transformers computes it in float32.
 */
export function ropeTables(rope: RopeConfig, positions: Int32Array, seqLen: number): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(rope, seqLen);
  const half = inv.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let p = 0; p < positions.length; p++) {
    const pos = positions[p]!;
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * Math.fround(inv[i]!));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Applies RoPE to `x` (B, T, H, headDim) with `cos`/`sin` (B, T, 1, rotaryDim / 2).
 * @returns (B, T, H, headDim)
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D, rotaryDim: number): tf.Tensor4D {
  return tf.tidy(() => {
    const headDim = x.shape[3];
    const half = rotaryDim / 2;
    const parts = rotaryDim === headDim ? tf.split(x, 2, 3) : tf.split(x, [half, half, headDim - rotaryDim], 3);
    const x1 = parts[0]!; // (B, T, H, half)
    const x2 = parts[1]!; // (B, T, H, half)
    // rotate_half: (x1, x2) -> (-x2, x1); cos/sin are duplicated over both halves in HF.
    const o1 = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin));
    const o2 = tf.add(tf.mul(x2, cos), tf.mul(x1, sin));
    const out = parts.length === 3 ? [o1, o2, parts[2]!] : [o1, o2];
    return tf.concat(out, 3) as tf.Tensor4D; // (B, T, H, headDim)
  });
}
