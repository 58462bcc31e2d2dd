/**
 * Small host-array helpers shared by layers, transformer weight builders and loaders.
 */

/** The arrays joined end to end, in order, as one new Float32Array (length = sum of lengths). */
export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
