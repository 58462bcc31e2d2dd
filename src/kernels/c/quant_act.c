/*
 * Activation quantization for the q8/q4 kernels: each row of x is cut into blocks of 32
 * values along K (the last may be partial); per block d = amax / 127, q = round-to-nearest-
 * even(x / d) as int8 (computed as x * (1 / d) in float32, as ggml's quantize_row_q8_0 does
 * on x86), a block of zeros gets d = 0 and q = 0. A NaN or infinite value makes its block's
 * scale NaN or infinite, so the linear output is NaN, never a silent finite number.
 * Ref: ggml's quantize_row_q8_0 (llama.cpp, ggml-quants.c).
 *
 * Layout: x float [M][K]; xq int8 [M][K]; xs float [M][ceil(K/32)]; rows m in [m0, m1).
 */
#include "quant.h"

LOOM_INLINE void loom_quantize_block(const float* p, int8_t* q, float* scale) {
  v128_t v[8];
  v128_t amax = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < 8; i++) {
    v[i] = wasm_v128_load(p + 4 * i);
    amax = wasm_f32x4_max(amax, wasm_f32x4_abs(v[i])); /* f32x4.max propagates NaN */
  }
  amax = wasm_f32x4_max(amax, wasm_i32x4_shuffle(amax, amax, 2, 3, 0, 1));
  amax = wasm_f32x4_max(amax, wasm_i32x4_shuffle(amax, amax, 1, 0, 3, 2));
  const float d = wasm_f32x4_extract_lane(amax, 0) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  *scale = d;
  const v128_t vid = wasm_f32x4_splat(id);
  v128_t r[8];
  for (int i = 0; i < 8; i++) r[i] = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(v[i], vid)));
  const v128_t h0 = wasm_i16x8_narrow_i32x4(r[0], r[1]), h1 = wasm_i16x8_narrow_i32x4(r[2], r[3]);
  const v128_t h2 = wasm_i16x8_narrow_i32x4(r[4], r[5]), h3 = wasm_i16x8_narrow_i32x4(r[6], r[7]);
  wasm_v128_store(q, wasm_i8x16_narrow_i16x8(h0, h1));
  wasm_v128_store(q + 16, wasm_i8x16_narrow_i16x8(h2, h3));
}

void loom_quantize_act_q8(const float* x, int M, int K, int8_t* xq, float* xs, int m0, int m1) {
  (void)M;
  const int nb = loom_qblocks(K), nfull = K / LOOM_QK, tail = K - nfull * LOOM_QK;
  for (int m = m0; m < m1; m++) {
    const float* xr = x + (size_t)m * (size_t)K;
    int8_t* qr = xq + (size_t)m * (size_t)K;
    float* sr = xs + (size_t)m * (size_t)nb;
    for (int b = 0; b < nfull; b++) loom_quantize_block(xr + b * LOOM_QK, qr + b * LOOM_QK, sr + b);
    if (tail) {
      /* Zero padding changes neither amax nor the valid values' codes. */
      float pad[LOOM_QK];
      int8_t qpad[LOOM_QK];
      for (int i = 0; i < LOOM_QK; i++) pad[i] = i < tail ? xr[nfull * LOOM_QK + i] : 0.0f;
      loom_quantize_block(pad, qpad, sr + nfull);
      for (int i = 0; i < tail; i++) qr[nfull * LOOM_QK + i] = qpad[i];
    }
  }
}
