/*
 * bf16 linear: bfloat16 weights (the top 16 bits of a float32) widened to float32 in
 * registers by a 16-bit shift, float32 activations and accumulation. Half the bytes of the
 * fp32 kernel; exact for bf16 checkpoints.
 *
 * Decode (each row of x not in a block of 4): 8 rows of W per pass share each load of x; 8 bf16
 * lanes widen to two f32x4 with one shift (even elements) and one mask (odd elements), and x is split
 * into its even and odd elements by two shuffles shared by the 8 rows, so a step of 8 weights costs a
 * load, a shift, an and, two multiplies and two adds.
 *
 * Layout: x float [M][K], W uint16 [N][K] (bf16 bits), bias float [N] or null, y float [M][N];
 * computes columns n in [n0, n1), y += when acc != 0.
 */
#include "quant.h"

/* MR x NR tile (compile-time constants): out[i][j] = dot(x[m + i], W[n + j]). */
LOOM_INLINE void loom_bf16_tile(int MR, int NR, const float* x, int K, int m, const uint16_t* W, int n,
                                float out[4][4]) {
  const float* xr[4];
  const uint16_t* wr[4];
  v128_t lo[4][4], hi[4][4];
  for (int i = 0; i < MR; i++) xr[i] = x + (size_t)(m + i) * (size_t)K;
  for (int j = 0; j < NR; j++) wr[j] = W + (size_t)(n + j) * (size_t)K;
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) lo[i][j] = hi[i][j] = wasm_f32x4_splat(0.0f);
  const int k8 = K & ~7;
  for (int k = 0; k < k8; k += 8) {
    v128_t xl[4], xh[4];
    for (int i = 0; i < MR; i++) {
      xl[i] = wasm_v128_load(xr[i] + k);
      xh[i] = wasm_v128_load(xr[i] + k + 4);
    }
    for (int j = 0; j < NR; j++) {
      const v128_t w = wasm_v128_load(wr[j] + k);
      const v128_t wl = wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(w), 16);
      const v128_t wh = wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(w), 16);
      for (int i = 0; i < MR; i++) {
        lo[i][j] = wasm_f32x4_add(lo[i][j], wasm_f32x4_mul(xl[i], wl));
        hi[i][j] = wasm_f32x4_add(hi[i][j], wasm_f32x4_mul(xh[i], wh));
      }
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      float s = loom_hsum_f32x4(wasm_f32x4_add(lo[i][j], hi[i][j]));
      for (int k = k8; k < K; k++) {
        const uint32_t bits = (uint32_t)wr[j][k] << 16;
        float w;
        __builtin_memcpy(&w, &bits, 4);
        s += xr[i][k] * w;
      }
      out[i][j] = s;
    }
}

/* One row of x against rows n..n+7 of W (decode GEMV); out[j] = dot(x, W[n + j]). */
LOOM_INLINE void loom_bf16_dot1x8(const float* x, int K, const uint16_t* W, int n, float* out) {
  const uint16_t* w = W + (size_t)n * (size_t)K;
  const v128_t hi16 = wasm_i32x4_splat((int32_t)0xFFFF0000);
  v128_t a[8];
  for (int j = 0; j < 8; j++) a[j] = wasm_f32x4_splat(0.0f);
  const int k8 = K & ~7;
  for (int k = 0; k < k8; k += 8) {
    const v128_t x0 = wasm_v128_load(x + k), x1 = wasm_v128_load(x + k + 4);
    const v128_t xe = wasm_i32x4_shuffle(x0, x1, 0, 2, 4, 6), xo = wasm_i32x4_shuffle(x0, x1, 1, 3, 5, 7);
    for (int j = 0; j < 8; j++) {
      const v128_t v = wasm_v128_load(w + (size_t)j * (size_t)K + k);
      /* u32 lane i holds elements 2i (low half) and 2i + 1 (high half) */
      const v128_t p = wasm_f32x4_mul(xe, wasm_i32x4_shl(v, 16));
      a[j] = wasm_f32x4_add(a[j], wasm_f32x4_add(p, wasm_f32x4_mul(xo, wasm_v128_and(v, hi16))));
    }
  }
  for (int j = 0; j < 8; j++) {
    float s = loom_hsum_f32x4(a[j]);
    const uint16_t* wr = w + (size_t)j * (size_t)K;
    for (int k = k8; k < K; k++) {
      const uint32_t bits = (uint32_t)wr[k] << 16;
      float f;
      __builtin_memcpy(&f, &bits, 4);
      s += x[k] * f;
    }
    out[j] = s;
  }
}

void loom_linear_bf16(const float* x, int M, int K, const uint16_t* W, const float* bias, float* y, int N, int n0,
                      int n1, int acc) {
  float out[4][4];
  int m = 0;
  for (; m + 4 <= M; m += 4)
    for (int n = n0; n < n1; n++) {
      loom_bf16_tile(4, 1, x, K, m, W, n, out);
      for (int i = 0; i < 4; i++) loom_store_out(y, N, m + i, n, out[i][0], bias, acc);
    }
  for (; m < M; m++) {
    int n = n0;
    const float* xm = x + (size_t)m * (size_t)K;
    float o8[8];
    for (; n + 8 <= n1; n += 8) {
      loom_bf16_dot1x8(xm, K, W, n, o8);
      for (int j = 0; j < 8; j++) loom_store_out(y, N, m, n + j, o8[j], bias, acc);
    }
    for (; n + 4 <= n1; n += 4) {
      loom_bf16_tile(1, 4, x, K, m, W, n, out);
      for (int j = 0; j < 4; j++) loom_store_out(y, N, m, n + j, out[0][j], bias, acc);
    }
    for (; n < n1; n++) {
      loom_bf16_tile(1, 1, x, K, m, W, n, out);
      loom_store_out(y, N, m, n, out[0][0], bias, acc);
    }
  }
}

/* One widened row of a bf16 table (embedding gather, tied LM head). */
void loom_embed_row_bf16(const uint16_t* W, int K, int row, float* out) {
  const uint16_t* r = W + (size_t)row * (size_t)K;
  uint32_t* o = (uint32_t*)out;
  for (int k = 0; k < K; k++) o[k] = (uint32_t)r[k] << 16;
}
