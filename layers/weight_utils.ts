/**
 * Small helpers shared by the Conv2D, MultiHeadAttention, RNN and LSTM layers: weight-length
 * validation with typed errors and LOOM's random initialisers (Ref: loom-spec/network.md 8,
 * layers.md 5.1).
 */
import { ShapeError } from '../src/core/errors';
import { normalFrom } from './layer';

/**
 * Returns `w` when it has exactly `expected` values.
 * @throws ShapeError naming `where`, the weight and its layout when the length differs.
 */
export function requireLength(w: Float32Array, expected: number, where: string, name: string, layout: string): Float32Array {
  if (w.length !== expected) {
    throw new ShapeError(`${where}: ${name} has ${w.length} values, expected ${layout} = ${expected}`);
  }
  return w;
}

/** `n` values `(u*2-1)*scale`, u uniform in [0,1) (LOOM's `InitializeWeights` U(-s, s)). */
export function uniformSymmetric(n: number, scale: number, rng: () => number): Float32Array {
  const out = new Float32Array(Math.max(0, n));
  for (let i = 0; i < out.length; i++) out[i] = (rng() * 2 - 1) * scale;
  return out;
}

/** `n` values `float32(N(0,1)) * float32(scale)` (LOOM's `Init*Layer` constructors). */
export function normalScaled(n: number, scale: number, rng: () => number): Float32Array {
  const s = Math.fround(scale);
  const out = new Float32Array(Math.max(0, n));
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(normalFrom(rng)) * s;
  return out;
}

/** True when any of the arrays holds at least one value. */
export function anyPresent(...ws: readonly (Float32Array | null)[]): boolean {
  return ws.some((w) => (w?.length ?? 0) > 0);
}

/**
 * The arrays when all are present (non-null), null when none holds values.
 * @throws ShapeError listing the missing names when only some are present.
 */
export function allOrNone(where: string, layer: string, ws: Readonly<Record<string, Float32Array | null>>): Record<string, Float32Array> | null {
  const entries = Object.entries(ws);
  if (!anyPresent(...entries.map(([, w]) => w))) return null;
  const missing = entries.filter(([, w]) => w === null || w.length === 0).map(([n]) => n);
  if (missing.length > 0) {
    throw new ShapeError(`${where}: ${layer} has some weights but not ${missing.join(', ')}; expected all of ${entries.map(([n]) => n).join(', ')}`);
  }
  return Object.fromEntries(entries) as Record<string, Float32Array>;
}

/** Checks that a size field is a non-negative integer. */
export function isSize(v: number): boolean {
  return Number.isInteger(v) && v >= 0;
}
