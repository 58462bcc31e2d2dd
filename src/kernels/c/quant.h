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
 * Integer-dot kernels shared by q8 and q4 (q4 is a compile-time constant at every call).
 *
 * Activations are widened to int16 once per K chunk (64 blocks, 2048 values: a stack buffer of at
 * most 16 KiB for 4 rows), zero-padded past K so a partial last block needs no special case on the
 * x side. Each weight block is widened once and dotted with 4 activation rows (prefill tile 4x1) or
 * one activation row is dotted with 4 weight rows (decode GEMV tile 1x4); the 4 int32 block sums are
 * transposed into one vector (lane = row of the tile), converted, scaled and accumulated, so a
 * block costs one float multiply-add per 4 outputs. Partial sums of a chunk are added into y.
 */
#define LOOM_CHUNK_BLOCKS 64

LOOM_INLINE loom_i16x32 loom_load_xw(const int16_t* xw) {
  loom_i16x32 r;
  r.a = wasm_v128_load(xw);
  r.b = wasm_v128_load(xw + 8);
  r.c = wasm_v128_load(xw + 16);
  r.d = wasm_v128_load(xw + 24);
  return r;
}

/*
 * Hides a pointer from LLVM's loop strength reduction, which otherwise rewrites every constant load
 * offset from a loop pointer into its own i32.add (about 20 extra instructions per block here).
 */
#define LOOM_OPAQUE(p) __asm__("" : "+r"(p))

/* Lane i of the result = sum of the 4 lanes of s_i. */
LOOM_INLINE v128_t loom_reduce4_i32(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
  const v128_t t0 = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
  const v128_t t1 = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5), wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
}

/*
 * int8 blocks [b0, b1) of a row, widened to int16 at dst (zero past K). For q4 each block is stored
 * in the order its nibbles unpack to without shuffles (elements 0,2,..,14 | 1,3,..,15 | 16,18,..,30 |
 * 17,..,31, see loom_wblock_at), and sum8[b - b0] gets 8 x the block's sum (the nibbles' -8 offset).
 */
LOOM_INLINE void loom_widen_row(const int8_t* xr, int K, int b0, int b1, int16_t* dst, int q4, int32_t* sum8) {
  for (int b = b0; b < b1; b++) {
    int16_t* d = dst + (size_t)(b - b0) * LOOM_QK;
    const int k0 = b * LOOM_QK;
    int8_t pad[LOOM_QK];
    const int8_t* p = xr + k0;
    if (k0 + LOOM_QK > K) {
      loom_pad_i8x32(p, K - k0, pad);
      p = pad;
    }
    const v128_t lo = wasm_v128_load(p), hi = wasm_v128_load(p + 16);
    loom_i16x32 w;
    if (q4) {
      w.a = wasm_i16x8_shr(wasm_i16x8_shl(lo, 8), 8); /* even bytes, sign-extended */
      w.b = wasm_i16x8_shr(lo, 8);                    /* odd bytes */
      w.c = wasm_i16x8_shr(wasm_i16x8_shl(hi, 8), 8);
      w.d = wasm_i16x8_shr(hi, 8);
      int32_t sum = 0;
      for (int i = 0; i < LOOM_QK; i++) sum += p[i];
      sum8[b - b0] = 8 * sum;
    } else {
      w = loom_widen_i8x32(lo, hi);
    }
    wasm_v128_store(d, w.a);
    wasm_v128_store(d + 8, w.b);
    wasm_v128_store(d + 16, w.c);
    wasm_v128_store(d + 24, w.d);
  }
}

/* Adds v to y[m][n]; on the first chunk y starts from (acc ? y : 0) + bias[n]. */
LOOM_INLINE void loom_add_out(float* y, int N, int m, int n, float v, const float* bias, int acc, int first) {
  float* p = y + (size_t)m * (size_t)N + (size_t)n;
  if (!first) {
    *p += v;
    return;
  }
  if (bias) v += bias[n];
  *p = acc ? *p + v : v;
}

/* Weight block at wp (16 bytes of q4 nibbles or 32 int8), widened; q8's partial block is padded. */
LOOM_INLINE loom_i16x32 loom_wblock_at(const uint8_t* wp, int q4, int valid) {
  if (q4) {
    /* As 8 u16 lanes, lane i holds bytes 2i and 2i+1: nibbles of elements 2i, 2i+16 and 2i+1, 2i+17.
     * Unsigned nibbles 0..15; the -8 offset is taken off the block sum (sum8). */
    const v128_t v = wasm_v128_load(wp);
    const v128_t m = wasm_i16x8_splat(0x000F);
    loom_i16x32 r;
    r.a = wasm_v128_and(v, m);                     /* elements 0, 2, .., 14 */
    r.b = wasm_v128_and(wasm_u16x8_shr(v, 8), m);  /* 1, 3, .., 15 */
    r.c = wasm_v128_and(wasm_u16x8_shr(v, 4), m);  /* 16, 18, .., 30 */
    r.d = wasm_u16x8_shr(v, 12);                   /* 17, 19, .., 31 */
    return r;
  }
  if (valid >= LOOM_QK) return loom_widen_i8x32(wasm_v128_load(wp), wasm_v128_load(wp + 16));
  int8_t pad[LOOM_QK];
  loom_pad_i8x32((const int8_t*)wp, valid, pad);
  return loom_widen_i8x32(wasm_v128_load(pad), wasm_v128_load(pad + 16));
}

/*
 * 4 activation rows (widened, interleaved per block: xw[block][row][32]) times weight row wr over
 * blocks [b0, b1); lane i = row i. Blocks past `full` are q8 partial blocks.
 */
/* Not inlined: a pointer argument lets clang fold the constant load offsets (a stack-derived pointer does not). */
static __attribute__((noinline)) v128_t loom_tile4x1(int q4, const int16_t* xw, const v128_t* xs4, const v128_t* xc4, const uint8_t* wr,
                                                      const float* wsr, int b0, int b1, int full, int K) {
  const int wb = q4 ? 16 : LOOM_QK;
  v128_t accv = wasm_f32x4_splat(0.0f);
  const int bf = b1 < full ? b1 : full;
  const uint8_t* wp = wr + (size_t)b0 * wb;
  int b = b0;
  for (; b < bf; b++, xw += 4 * LOOM_QK, xs4++, xc4++, wp += wb) {
    LOOM_OPAQUE(xw);
    LOOM_OPAQUE(wp);
    const loom_i16x32 ww = loom_wblock_at(wp, q4, LOOM_QK);
    v128_t s = loom_reduce4_i32(loom_dot_i16x32(loom_load_xw(xw), ww), loom_dot_i16x32(loom_load_xw(xw + 32), ww),
                                loom_dot_i16x32(loom_load_xw(xw + 64), ww), loom_dot_i16x32(loom_load_xw(xw + 96), ww));
    if (q4) s = wasm_i32x4_sub(s, *xc4);
    accv = wasm_f32x4_add(accv, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), wasm_f32x4_mul(*xs4, wasm_f32x4_splat(wsr[b]))));
  }
  for (; b < b1; b++, xw += 4 * LOOM_QK, xs4++, xc4++, wp += wb) {
    const loom_i16x32 ww = loom_wblock_at(wp, q4, K - b * LOOM_QK);
    const v128_t s = loom_reduce4_i32(loom_dot_i16x32(loom_load_xw(xw), ww), loom_dot_i16x32(loom_load_xw(xw + 32), ww),
                                      loom_dot_i16x32(loom_load_xw(xw + 64), ww), loom_dot_i16x32(loom_load_xw(xw + 96), ww));
    accv = wasm_f32x4_add(accv, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), wasm_f32x4_mul(*xs4, wasm_f32x4_splat(wsr[b]))));
  }
  return accv;
}

/* One activation row (widened, xw[block][32]) times weight rows w0 + j * wstride, j < 4; lane j = row j. */
static __attribute__((noinline)) v128_t loom_tile1x4(int q4, const int16_t* xw, const float* xsr, const int32_t* sum8, const uint8_t* w0,
                                                      size_t wstride, const float* s0, int nb, int b0, int b1, int full, int K) {
  const int wb = q4 ? 16 : LOOM_QK;
  v128_t accv = wasm_f32x4_splat(0.0f);
  const uint8_t* w1 = w0 + wstride;
  const uint8_t* w2 = w1 + wstride;
  const uint8_t* w3 = w2 + wstride;
  const float* s1 = s0 + nb;
  const float* s2 = s1 + nb;
  const float* s3 = s2 + nb;
  const size_t o0 = (size_t)b0 * wb;
  w0 += o0;
  w1 += o0;
  w2 += o0;
  w3 += o0;
  for (int b = b0; b < b1; b++, xw += LOOM_QK, sum8++, w0 += wb, w1 += wb, w2 += wb, w3 += wb) {
    LOOM_OPAQUE(xw);
    LOOM_OPAQUE(w0);
    LOOM_OPAQUE(w1);
    LOOM_OPAQUE(w2);
    LOOM_OPAQUE(w3);
    const int valid = b < full ? LOOM_QK : K - b * LOOM_QK;
    const loom_i16x32 xv = loom_load_xw(xw);
    v128_t s = loom_reduce4_i32(loom_dot_i16x32(xv, loom_wblock_at(w0, q4, valid)), loom_dot_i16x32(xv, loom_wblock_at(w1, q4, valid)),
                                loom_dot_i16x32(xv, loom_wblock_at(w2, q4, valid)), loom_dot_i16x32(xv, loom_wblock_at(w3, q4, valid)));
    if (q4) s = wasm_i32x4_sub(s, wasm_i32x4_splat(*sum8));
    const v128_t sc = wasm_f32x4_mul(wasm_f32x4_splat(xsr[b]), wasm_f32x4_make(s0[b], s1[b], s2[b], s3[b]));
    accv = wasm_f32x4_add(accv, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), sc));
  }
  return accv;
}

LOOM_INLINE void loom_qlinear(int q4, const int8_t* xq, const float* xs, int M, int K, const void* Wq,
                              const float* Ws, const float* bias, float* y, int N, int n0, int n1, int acc) {
  const int nb = loom_qblocks(K);
  /* q8 blocks past `full` are partial (q4 rows are stored padded to whole blocks). */
  const int full = q4 ? nb : K / LOOM_QK;
  const size_t wstride = q4 ? (size_t)nb * 16 : (size_t)K;
  const uint8_t* W = (const uint8_t*)Wq;
  int16_t xw[4 * LOOM_CHUNK_BLOCKS * LOOM_QK];
  v128_t xs4[LOOM_CHUNK_BLOCKS], xc4[LOOM_CHUNK_BLOCKS];
  int32_t sum8[4][LOOM_CHUNK_BLOCKS];
  int m = 0;
  /* Prefill: 4 activation rows per streamed weight row. */
  for (; m + 4 <= M; m += 4)
    for (int c0 = 0; c0 < nb; c0 += LOOM_CHUNK_BLOCKS) {
      const int c1 = c0 + LOOM_CHUNK_BLOCKS < nb ? c0 + LOOM_CHUNK_BLOCKS : nb;
      for (int b = c0; b < c1; b++) {
        for (int i = 0; i < 4; i++)
          loom_widen_row(xq + (size_t)(m + i) * (size_t)K, K, b, b + 1, xw + ((b - c0) * 4 + i) * LOOM_QK, q4, &sum8[i][b - c0]);
        xc4[b - c0] = wasm_i32x4_make(sum8[0][b - c0], sum8[1][b - c0], sum8[2][b - c0], sum8[3][b - c0]);
        xs4[b - c0] = wasm_f32x4_make(xs[(size_t)m * nb + b], xs[(size_t)(m + 1) * nb + b], xs[(size_t)(m + 2) * nb + b],
                                      xs[(size_t)(m + 3) * nb + b]);
      }
      for (int n = n0; n < n1; n++) {
        const v128_t accv = loom_tile4x1(q4, xw, xs4, xc4, W + (size_t)n * wstride, Ws + (size_t)n * nb, c0, c1, full, K);
        loom_add_out(y, N, m, n, wasm_f32x4_extract_lane(accv, 0), bias, acc, c0 == 0);
        loom_add_out(y, N, m + 1, n, wasm_f32x4_extract_lane(accv, 1), bias, acc, c0 == 0);
        loom_add_out(y, N, m + 2, n, wasm_f32x4_extract_lane(accv, 2), bias, acc, c0 == 0);
        loom_add_out(y, N, m + 3, n, wasm_f32x4_extract_lane(accv, 3), bias, acc, c0 == 0);
      }
    }
  /* Decode GEMV (and the last M % 4 rows): 4 weight rows per activation row. */
  for (; m < M; m++)
    for (int c0 = 0; c0 < nb; c0 += LOOM_CHUNK_BLOCKS) {
      const int c1 = c0 + LOOM_CHUNK_BLOCKS < nb ? c0 + LOOM_CHUNK_BLOCKS : nb;
      const float* xsr = xs + (size_t)m * nb;
      loom_widen_row(xq + (size_t)m * (size_t)K, K, c0, c1, xw, q4, sum8[0]);
      int n = n0;
      for (; n + 4 <= n1; n += 4) {
        const v128_t accv = loom_tile1x4(q4, xw, xsr, sum8[0], W + (size_t)n * wstride, wstride, Ws + (size_t)n * nb, nb, c0, c1, full, K);
        loom_add_out(y, N, m, n, wasm_f32x4_extract_lane(accv, 0), bias, acc, c0 == 0);
        loom_add_out(y, N, m, n + 1, wasm_f32x4_extract_lane(accv, 1), bias, acc, c0 == 0);
        loom_add_out(y, N, m, n + 2, wasm_f32x4_extract_lane(accv, 2), bias, acc, c0 == 0);
        loom_add_out(y, N, m, n + 3, wasm_f32x4_extract_lane(accv, 3), bias, acc, c0 == 0);
      }
      for (; n < n1; n++) {
        const uint8_t* wr = W + (size_t)n * wstride;
        const float* wsr = Ws + (size_t)n * nb;
        v128_t accv = wasm_f32x4_splat(0.0f);
        for (int b = c0; b < c1; b++) {
          const loom_i16x32 ww = loom_wblock_at(wr + (size_t)b * (q4 ? 16 : LOOM_QK), q4, b < full ? LOOM_QK : K - b * LOOM_QK);
          v128_t s = loom_dot_i16x32(loom_load_xw(xw + (b - c0) * LOOM_QK), ww);
          if (q4) s = wasm_i32x4_sub(s, wasm_i32x4_splat(sum8[0][b - c0] / 4)); /* 4 lanes share the offset */
          accv = wasm_f32x4_add(accv, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), wasm_f32x4_splat(xsr[b] * wsr[b])));
        }
        loom_add_out(y, N, m, n, loom_hsum_f32x4(accv), bias, acc, c0 == 0);
      }
    }
}
#endif
