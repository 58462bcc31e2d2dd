/**
 * IEEE 754 binary16 (float16) decoding, shared by the safetensors and GGUF readers and the
 * kernels' weight packing. Ref: IEEE 754-2008 §3.6 (binary16: 1 sign, 5 exponent, 10 fraction bits).
 */

/** float16 bits -> float32 value (exact: subnormals, ±0, infinities and NaN kept). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
