/**
 * Rotary position embeddings, Hugging Face convention: the inverse frequencies with transformers'
 * scaling rules; the rotation itself is src/ops/rope.ts.
 * Ref: RoFormer (Su et al. 2021); transformers modeling_rope_utils (default, linear, dynamic, llama3).
 */
import { ropeTablesAt, type RopeTables } from '../ops/rope';
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
export function ropeTables(rope: RopeConfig, positions: Int32Array, seqLen: number): RopeTables {
  return ropeTablesAt(ropeInvFreq(rope, seqLen), positions);
}
