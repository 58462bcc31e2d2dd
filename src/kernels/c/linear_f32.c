/*
 * fp32 linear layer: y = x W^T (+ bias) (+ y), W [N][K] row-major (HF [out, in]).
 * Memory-bound at M = 1 (decode): 8 rows of W per pass share each load of x, 8 independent SIMD
 * accumulators (8 streams of W in flight). At M > 1 (prefill) a block of 4 rows of W stays in L1 while every row pair of x
 * passes over it, so W is streamed from memory once per call, not once per row.
 */
#include <wasm_simd128.h>
#include "kernels.h"

static inline float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static inline void store(float* y, float v, const float* bias, int n, int acc) {
  if (bias) v += bias[n];
  *y = acc ? *y + v : v;
}

/* One row of x against rows n..n+3 of W. */
static inline void dot1x4(const float* x, int K, const float* w0, float* out) {
  const float* w1 = w0 + K;
  const float* w2 = w1 + K;
  const float* w3 = w2 + K;
  v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    v128_t xv = wasm_v128_load(x + k);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xv, wasm_v128_load(w0 + k)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xv, wasm_v128_load(w1 + k)));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xv, wasm_v128_load(w2 + k)));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xv, wasm_v128_load(w3 + k)));
  }
  float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (; k < K; k++) {
    s0 += x[k] * w0[k];
    s1 += x[k] * w1[k];
    s2 += x[k] * w2[k];
    s3 += x[k] * w3[k];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/* One row of x against rows n..n+7 of W: 8 independent streams of W in flight (decode, M = 1). Each
 * output's arithmetic is the same as dot1x4's, so results do not depend on the blocking. */
static inline void dot1x8(const float* x, int K, const float* w, float* out) {
  v128_t a[8];
  for (int i = 0; i < 8; i++) a[i] = wasm_f32x4_splat(0);
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    v128_t xv = wasm_v128_load(x + k);
    for (int i = 0; i < 8; i++) a[i] = wasm_f32x4_add(a[i], wasm_f32x4_mul(xv, wasm_v128_load(w + (long)i * K + k)));
  }
  for (int i = 0; i < 8; i++) {
    float s = hsum(a[i]);
    for (int j = k; j < K; j++) s += x[j] * w[(long)i * K + j];
    out[i] = s;
  }
}

/* Two rows of x against rows n..n+3 of W: 8 accumulators, 6 loads per step. */
static inline void dot2x4(const float* x0, int K, const float* w0, float* out0, float* out1) {
  const float* x1 = x0 + K;
  const float* w1 = w0 + K;
  const float* w2 = w1 + K;
  const float* w3 = w2 + K;
  v128_t z = wasm_f32x4_splat(0);
  v128_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    v128_t xa = wasm_v128_load(x0 + k), xb = wasm_v128_load(x1 + k);
    v128_t v0 = wasm_v128_load(w0 + k), v1 = wasm_v128_load(w1 + k), v2 = wasm_v128_load(w2 + k), v3 = wasm_v128_load(w3 + k);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(xa, v0));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(xa, v1));
    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(xa, v2));
    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(xa, v3));
    b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(xb, v0));
    b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(xb, v1));
    b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(xb, v2));
    b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(xb, v3));
  }
  float s[8] = { hsum(a0), hsum(a1), hsum(a2), hsum(a3), hsum(b0), hsum(b1), hsum(b2), hsum(b3) };
  for (; k < K; k++) {
    s[0] += x0[k] * w0[k];
    s[1] += x0[k] * w1[k];
    s[2] += x0[k] * w2[k];
    s[3] += x0[k] * w3[k];
    s[4] += x1[k] * w0[k];
    s[5] += x1[k] * w1[k];
    s[6] += x1[k] * w2[k];
    s[7] += x1[k] * w3[k];
  }
  for (int i = 0; i < 4; i++) {
    out0[i] = s[i];
    out1[i] = s[4 + i];
  }
}

static inline float dot1(const float* x, const float* w, int K) {
  v128_t a = wasm_f32x4_splat(0), b = a;
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(x + k), wasm_v128_load(w + k)));
    b = wasm_f32x4_add(b, wasm_f32x4_mul(wasm_v128_load(x + k + 4), wasm_v128_load(w + k + 4)));
  }
  for (; k + 4 <= K; k += 4) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(x + k), wasm_v128_load(w + k)));
  float s = hsum(wasm_f32x4_add(a, b));
  for (; k < K; k++) s += x[k] * w[k];
  return s;
}

LOOM_API void loom_linear_f32(const float* x, int M, int K, const float* W, const float* bias, float* y, int N, int n0, int n1, int acc) {
  int n = n0;
  float r0[8], r1[4];
  if (M == 1) {
    for (; n + 8 <= n1; n += 8) {
      dot1x8(x, K, W + (long)n * K, r0);
      for (int i = 0; i < 8; i++) store(y + n + i, r0[i], bias, n + i, acc);
    }
  }
  for (; n + 4 <= n1; n += 4) {
    const float* w = W + (long)n * K;
    int m = 0;
    for (; m + 2 <= M; m += 2) {
      dot2x4(x + (long)m * K, K, w, r0, r1);
      for (int i = 0; i < 4; i++) {
        store(y + (long)m * N + n + i, r0[i], bias, n + i, acc);
        store(y + (long)(m + 1) * N + n + i, r1[i], bias, n + i, acc);
      }
    }
    for (; m < M; m++) {
      dot1x4(x + (long)m * K, K, w, r0);
      for (int i = 0; i < 4; i++) store(y + (long)m * N + n + i, r0[i], bias, n + i, acc);
    }
  }
  for (; n < n1; n++) {
    for (int m = 0; m < M; m++) store(y + (long)m * N + n, dot1(x + (long)m * K, W + (long)n * K, K), bias, n, acc);
  }
}
