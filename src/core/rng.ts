/**
 * Seeded random numbers for sampling: a tiny, fast, reproducible generator (mulberry32, seeded
 * through splitmix32 so nearby seeds give unrelated streams).
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** splitmix32 step: scrambles a 32-bit seed. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded RNG: the same seed gives the same sequence on every platform.
 * @param seed any finite number (fractional parts and sign are folded into 32 bits); default: random.
 */
export function createRng(seed?: number): Rng {
  let state: number;
  if (seed === undefined || !Number.isFinite(seed)) {
    state = (Math.random() * 0x100000000) >>> 0;
  } else {
    // Fold the whole number into 32 bits so 1 and 2**32 + 1 differ.
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    state = splitmix32((seed >>> 0) ^ splitmix32(hi) ^ Math.round((seed % 1) * 0x7fffffff));
  }
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
