/* RMSNorm and LayerNorm per row, and a vector add (fp32). Formulas as the tfjs op chain computes them. */
#include <wasm_simd128.h>
#include "kernels.h"

static inline float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

LOOM_API void loom_add(float* y, const float* x, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_v128_load(x + i)));
  for (; i < n; i++) y[i] += x[i];
}

LOOM_API void loom_rms_norm(const float* x, int M, int D, const float* g, float eps, float* y) {
  for (int m = 0; m < M; m++) {
    const float* xr = x + (long)m * D;
    float* yr = y + (long)m * D;
    v128_t a = wasm_f32x4_splat(0);
    int i = 0;
    for (; i + 4 <= D; i += 4) {
      v128_t v = wasm_v128_load(xr + i);
      a = wasm_f32x4_add(a, wasm_f32x4_mul(v, v));
    }
    float ss = hsum(a);
    for (; i < D; i++) ss += xr[i] * xr[i];
    float r = 1.0f / __builtin_sqrtf(ss / (float)D + eps);
    v128_t rv = wasm_f32x4_splat(r);
    for (i = 0; i + 4 <= D; i += 4) wasm_v128_store(yr + i, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(xr + i), rv), wasm_v128_load(g + i)));
    for (; i < D; i++) yr[i] = xr[i] * r * g[i];
  }
}

LOOM_API void loom_layer_norm(const float* x, int M, int D, const float* g, const float* b, float eps, float* y) {
  for (int m = 0; m < M; m++) {
    const float* xr = x + (long)m * D;
    float* yr = y + (long)m * D;
    v128_t a = wasm_f32x4_splat(0);
    int i = 0;
    for (; i + 4 <= D; i += 4) a = wasm_f32x4_add(a, wasm_v128_load(xr + i));
    float s = hsum(a);
    for (; i < D; i++) s += xr[i];
    float mean = s / (float)D;
    v128_t mv = wasm_f32x4_splat(mean);
    a = wasm_f32x4_splat(0);
    for (i = 0; i + 4 <= D; i += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + i), mv);
      a = wasm_f32x4_add(a, wasm_f32x4_mul(d, d));
    }
    float v = hsum(a);
    for (; i < D; i++) v += (xr[i] - mean) * (xr[i] - mean);
    float r = 1.0f / __builtin_sqrtf(v / (float)D + eps);
    for (i = 0; i < D; i++) {
      float t = (xr[i] - mean) * r * g[i];
      yr[i] = b ? t + b[i] : t;
    }
  }
}
