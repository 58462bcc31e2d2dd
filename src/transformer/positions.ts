/**
 * Host-side inputs of one decoder forward step: the position of every new token and the additive
 * attention mask (causal, padding, sliding window). Pure functions over arrays; no tensors.
 * Ref: transformers LlamaModel (position_ids = cumsum(mask) - 1), `_prepare_4d_causal_attention_mask`.
 */
import { MASKED } from '../ops/grouped_attention';

/** Batch geometry of one forward step. */
export interface StepShape {
  /** Sequences. */
  readonly batch: number;
  /** New tokens per sequence. */
  readonly newTokens: number;
  /** Positions already in the KV cache. */
  readonly past: number;
}

/**
 * Position of each new token: the count of real tokens before it (HF: cumsum(mask) - 1; a padding
 * position gets 1). (B * T) row-major.
 * @param mask [B][past + T] with 1 for real tokens, or undefined (all real)
 */
export function tokenPositions(shape: StepShape, mask: readonly (readonly number[])[] | undefined): Int32Array {
  const { batch: b, newTokens: t, past } = shape;
  const total = past + t;
  const positions = new Int32Array(b * t);
  for (let i = 0; i < b; i++) {
    let seen = 0;
    const row = mask?.[i];
    for (let s = 0; s < total; s++) {
      const real = row ? row[s] !== 0 : true;
      if (real) seen++;
      if (s >= past) positions[i * t + s - past] = real ? seen - 1 : 1;
    }
  }
  return positions;
}

/**
 * Additive mask (B, 1, T, past + T) row-major: {@link MASKED} where a query may not see a key
 * (a later position, a padding key, or a key `window` or more positions back), 0 elsewhere.
 * @returns null when every query sees every key (no mask tensor needed).
 */
export function attentionMaskData(
  shape: StepShape,
  mask: readonly (readonly number[])[] | undefined,
  window: number | undefined,
): Float32Array | null {
  const { batch: b, newTokens: t, past } = shape;
  const total = past + t;
  const anyPad = mask?.some((r) => r.some((m) => m === 0)) ?? false;
  if (t === 1 && !anyPad && (window === undefined || total <= window)) return null;
  const data = new Float32Array(b * t * total);
  let masked = false;
  for (let i = 0; i < b; i++) {
    const row = mask?.[i];
    for (let q = 0; q < t; q++) {
      for (let s = 0; s < total; s++) {
        const visible = s <= past + q && (window === undefined || s > past + q - window) && (row ? row[s] !== 0 : true);
        if (!visible) {
          data[(i * t + q) * total + s] = MASKED;
          masked = true;
        }
      }
    }
  }
  return masked ? data : null;
}
