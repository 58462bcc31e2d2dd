/*
 * Private helpers of the bf16 / q8 / q4 linear kernels (linear_bf16.c, linear_q8.c,
 * linear_q4.c, quant_act.c). Not part of the module's ABI: kernels.h has the exported
 * prototypes.
 *
 * Blocks follow GGUF's Q8_0 / Q4_0: 32 consecutive values along K share one scale, the
 * last block of a row may be partial (K % 32 != 0). Scales are float32 here.
 */
#ifndef LOOM_QUANT_H
#define LOOM_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#include "kernels.h"

#define LOOM_QK 32
#define LOOM_INLINE static inline __attribute__((always_inline))

/* Number of 32-value blocks of a row of K values. */
LOOM_INLINE int loom_qblocks(int K) { return (K + LOOM_QK - 1) / LOOM_QK; }

/* 32 int8 values widened to int16, in element order. */
typedef struct {
  v128_t a, b, c, d;
} loom_i16x32;

LOOM_INLINE loom_i16x32 loom_widen_i8x32(v128_t lo, v128_t hi) {
  loom_i16x32 r;
  r.a = wasm_i16x8_extend_low_i8x16(lo);
  r.b = wasm_i16x8_extend_high_i8x16(lo);
  r.c = wasm_i16x8_extend_low_i8x16(hi);
  r.d = wasm_i16x8_extend_high_i8x16(hi);
  return r;
}

/* Integer dot product of two widened blocks, as 4 partial int32 sums (exact: |sum| < 2^20). */
LOOM_INLINE v128_t loom_dot_i16x32(loom_i16x32 x, loom_i16x32 w) {
  v128_t s0 = wasm_i32x4_dot_i16x8(x.a, w.a);
  v128_t s1 = wasm_i32x4_dot_i16x8(x.b, w.b);
  s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(x.c, w.c));
  s1 = wasm_i32x4_add(s1, wasm_i32x4_dot_i16x8(x.d, w.d));
  return wasm_i32x4_add(s0, s1);
}

/* Sum of the 4 lanes of a float vector. */
LOOM_INLINE float loom_hsum_f32x4(v128_t v) {
  v128_t s = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(s, 0);
}

/* Copies n (< 32) int8 values into a zero-padded block of 32. */
LOOM_INLINE void loom_pad_i8x32(const int8_t* src, int n, int8_t* dst) {
  for (int i = 0; i < LOOM_QK; i++) dst[i] = i < n ? src[i] : 0;
}

/* Writes one output value: y = (acc ? y : 0) + v + (bias ? bias[n] : 0). */
LOOM_INLINE void loom_store_out(float* y, int N, int m, int n, float v, const float* bias, int acc) {
  float* p = y + (size_t)m * (size_t)N + (size_t)n;
  if (bias) v += bias[n];
  *p = acc ? *p + v : v;
}

/*
 * Integer-dot tile shared by the q8 and q4 kernels: MR rows of int8 activations (rows m..)
 * times NR weight rows (rows n..), out[i][j] = sum over blocks b of
 * xs[m+i][b] * Ws[n+j][b] * (integer dot of block b). MR, NR and q4 are compile-time
 * constants at every call, so the arrays below live in registers.
 */
LOOM_INLINE loom_i16x32 loom_load_wblock(const void* wrow, int b, int q4) {
  if (q4) {
    const v128_t v = wasm_v128_load((const uint8_t*)wrow + (size_t)b * 16);
    const v128_t eight = wasm_i8x16_splat(8);
    const v128_t lo = wasm_i8x16_sub(wasm_v128_and(v, wasm_i8x16_splat(0x0F)), eight); /* elements 0..15 */
    const v128_t hi = wasm_i8x16_sub(wasm_u8x16_shr(v, 4), eight);                      /* elements 16..31 */
    return loom_widen_i8x32(lo, hi);
  }
  const int8_t* p = (const int8_t*)wrow + (size_t)b * LOOM_QK;
  return loom_widen_i8x32(wasm_v128_load(p), wasm_v128_load(p + 16));
}

LOOM_INLINE void loom_qtile_step(int MR, int NR, int q4, const int8_t* const* xr, const float* const* xsr,
                                 const void* const* wr, const float* const* wsr, int b, const int8_t* xpad,
                                 const int8_t* wpad, v128_t acc[4][4]) {
  loom_i16x32 xw[4];
  for (int i = 0; i < MR; i++) {
    const int8_t* p = xpad ? xpad + i * LOOM_QK : xr[i] + (size_t)b * LOOM_QK;
    xw[i] = loom_widen_i8x32(wasm_v128_load(p), wasm_v128_load(p + 16));
  }
  for (int j = 0; j < NR; j++) {
    loom_i16x32 ww;
    if (wpad && !q4) ww = loom_widen_i8x32(wasm_v128_load(wpad + j * LOOM_QK), wasm_v128_load(wpad + j * LOOM_QK + 16));
    else ww = loom_load_wblock(wr[j], b, q4);
    const float wsc = wsr[j][b];
    for (int i = 0; i < MR; i++) {
      const v128_t s = wasm_f32x4_convert_i32x4(loom_dot_i16x32(xw[i], ww));
      acc[i][j] = wasm_f32x4_add(acc[i][j], wasm_f32x4_mul(s, wasm_f32x4_splat(xsr[i][b] * wsc)));
    }
  }
}

LOOM_INLINE void loom_qtile(int MR, int NR, int q4, const int8_t* xq, const float* xs, int K, int m,
                            const void* Wq, const float* Ws, int n, float out[4][4]) {
  const int nb = loom_qblocks(K), nfull = K / LOOM_QK, tail = K - nfull * LOOM_QK;
  const size_t wstride = q4 ? (size_t)nb * 16 : (size_t)K;
  const int8_t* xr[4];
  const float* xsr[4];
  const void* wr[4];
  const float* wsr[4];
  v128_t acc[4][4];
  for (int i = 0; i < MR; i++) {
    xr[i] = xq + (size_t)(m + i) * (size_t)K;
    xsr[i] = xs + (size_t)(m + i) * (size_t)nb;
  }
  for (int j = 0; j < NR; j++) {
    wr[j] = (const uint8_t*)Wq + (size_t)(n + j) * wstride;
    wsr[j] = Ws + (size_t)(n + j) * (size_t)nb;
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = wasm_f32x4_splat(0.0f);
  for (int b = 0; b < nfull; b++) loom_qtile_step(MR, NR, q4, xr, xsr, wr, wsr, b, 0, 0, acc);
  if (tail) {
    /* Partial last block: zero-padded copies, so nothing past a row is read or counted. */
    int8_t xpad[4 * LOOM_QK], wpad[4 * LOOM_QK];
    for (int i = 0; i < MR; i++) loom_pad_i8x32(xr[i] + (size_t)nfull * LOOM_QK, tail, xpad + i * LOOM_QK);
    if (!q4)
      for (int j = 0; j < NR; j++)
        loom_pad_i8x32((const int8_t*)wr[j] + (size_t)nfull * LOOM_QK, tail, wpad + j * LOOM_QK);
    loom_qtile_step(MR, NR, q4, xr, xsr, wr, wsr, nfull, xpad, q4 ? 0 : wpad, acc);
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) out[i][j] = loom_hsum_f32x4(acc[i][j]);
}

/*
 * Whole q8/q4 linear: y[m][n] (+)= sum_k x[m][k] * W[n][k] + bias[n] for n in [n0, n1).
 * 4 activation rows share each streamed weight row (prefill); one activation row is
 * dotted with 4 weight rows at a time (decode GEMV).
 */
LOOM_INLINE void loom_qlinear(int q4, const int8_t* xq, const float* xs, int M, int K, const void* Wq,
                              const float* Ws, const float* bias, float* y, int N, int n0, int n1, int acc) {
  float out[4][4];
  int m = 0;
  for (; m + 4 <= M; m += 4)
    for (int n = n0; n < n1; n++) {
      loom_qtile(4, 1, q4, xq, xs, K, m, Wq, Ws, n, out);
      for (int i = 0; i < 4; i++) loom_store_out(y, N, m + i, n, out[i][0], bias, acc);
    }
  for (; m < M; m++) {
    int n = n0;
    for (; n + 4 <= n1; n += 4) {
      loom_qtile(1, 4, q4, xq, xs, K, m, Wq, Ws, n, out);
      for (int j = 0; j < 4; j++) loom_store_out(y, N, m, n + j, out[0][j], bias, acc);
    }
    for (; n < n1; n++) {
      loom_qtile(1, 1, q4, xq, xs, K, m, Wq, Ws, n, out);
      loom_store_out(y, N, m, n, out[0][0], bias, acc);
    }
  }
}

#endif
