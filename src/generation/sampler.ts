/**
 * Samplers: the second link of generation's chain. Pure functions over a (V) score vector.
 */
import { NonFiniteError } from '../core/errors';
import type { Rng } from '../core/rng';

/**
 * Index of the highest score (the first one on ties).
 * @throws NonFiniteError when no score is a number above -Infinity.
 */
export function argmax(scores: Float32Array): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  if (best < 0) throw new NonFiniteError(`argmax: all ${scores.length} scores are -Infinity or NaN, expected at least one finite score`);
  return best;
}

/**
 * Softmax of `scores` in float64 (tokens at -Infinity get probability 0).
 * @throws NonFiniteError when no score is finite.
 */
export function softmax(scores: Float32Array): Float64Array {
  const max = scores[argmax(scores)] as number;
  const probs = new Float64Array(scores.length);
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    const e = Math.exp((scores[i] as number) - max); // NaN -> NaN, -Infinity -> 0
    const v = Number.isNaN(e) ? 0 : e;
    probs[i] = v;
    total += v;
  }
  for (let i = 0; i < probs.length; i++) probs[i] = (probs[i] as number) / total;
  return probs;
}

/**
 * Draws one index from softmax(`scores`) with `rng`; tokens at -Infinity are never drawn.
 * @throws NonFiniteError when no score is finite.
 */
export function sampleFromScores(scores: Float32Array, rng: Rng): number {
  const probs = softmax(scores);
  const u = rng();
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    if (p <= 0) continue;
    cum += p;
    last = i;
    if (u < cum) return i;
  }
  return last; // rounding left cum slightly below u: take the last token with mass
}
