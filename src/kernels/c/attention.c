/*
 * Single- and multi-query attention over a KV cache held in module memory: RoPE (HF rotate_half on
 * the first `rot` dims of each head) + cache append, then softmax(q k^T * scale + mask) v per
 * (sequence, query head) with grouped KV heads (query head h reads KV head h / (hq / hkv)).
 * Ref: transformers modeling_llama (apply_rotary_pos_emb, eager_attention_forward, repeat_kv).
 */
#include <wasm_simd128.h>
#include "kernels.h"
#include "loom_math.h"

static inline float hsum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

static void rope(float* h, int rot, const float* c, const float* s) {
  int half = rot / 2;
  for (int i = 0; i < half; i++) {
    float x1 = h[i], x2 = h[half + i];
    h[i] = x1 * c[i] - x2 * s[i];
    h[half + i] = x2 * c[i] + x1 * s[i];
  }
}

LOOM_API void loom_rope_append(float* qkv, int B, int T, int hq, int hkv, int hd, int rot, const float* cos, const float* sin,
                               float* kc, float* vc, int maxLen, int past) {
  int width = (hq + 2 * hkv) * hd;
  int half = rot / 2;
  for (int b = 0; b < B; b++) {
    for (int t = 0; t < T; t++) {
      int m = b * T + t;
      float* row = qkv + (long)m * width;
      if (rot > 0) {
        const float* c = cos + (long)m * half;
        const float* s = sin + (long)m * half;
        for (int h = 0; h < hq + hkv; h++) rope(row + h * hd, rot, c, s);
      }
      for (int h = 0; h < hkv; h++) {
        long at = (((long)b * hkv + h) * maxLen + past + t) * hd;
        const float* k = row + (hq + h) * hd;
        const float* v = row + (hq + hkv + h) * hd;
        for (int i = 0; i < hd; i++) {
          kc[at + i] = k[i];
          vc[at + i] = v[i];
        }
      }
    }
  }
}

static inline float dot(const float* a, const float* b, int n) {
  v128_t acc = wasm_f32x4_splat(0);
  int i = 0;
  for (; i + 4 <= n; i += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  float s = hsum(acc);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

LOOM_API void loom_attention(const float* qkv, int B, int T, int hq, int hkv, int hd, const float* kc, const float* vc, int maxLen,
                             int past, const uint8_t* mask, int window, float scale, float* scores, float* out, int c0, int c1) {
  int width = (hq + 2 * hkv) * hd;
  int total = past + T;
  int group = hq / hkv;
  float qs[512];
  for (int c = c0; c < c1; c++) {
    int b = c / hq, h = c % hq;
    int kvh = h / group;
    const float* K = kc + ((long)b * hkv + kvh) * maxLen * hd;
    const float* V = vc + ((long)b * hkv + kvh) * maxLen * hd;
    const uint8_t* mrow = mask + (long)b * total;
    float* sc = scores + (long)c * total;
    for (int t = 0; t < T; t++) {
      int m = b * T + t;
      const float* q = qkv + (long)m * width + h * hd;
      float* o = out + (long)m * hq * hd + h * hd;
      for (int i = 0; i < hd; i++) qs[i] = q[i] * scale;
      int last = past + t;
      int first = window > 0 && last - window + 1 > 0 ? last - window + 1 : 0;
      float mx = -3.4e38f;
      int any = 0;
      for (int s = first; s <= last; s++) {
        if (!mrow[s]) continue;
        float v = dot(qs, K + (long)s * hd, hd);
        sc[s] = v;
        if (v > mx) mx = v;
        any = 1;
      }
      for (int i = 0; i < hd; i++) o[i] = 0;
      if (!any) continue;
      float sum = 0;
      for (int s = first; s <= last; s++) {
        if (!mrow[s]) continue;
        float e = loom_expf(sc[s] - mx);
        sc[s] = e;
        sum += e;
      }
      float inv = 1.0f / sum;
      for (int s = first; s <= last; s++) {
        if (!mrow[s]) continue;
        float p = sc[s] * inv;
        const float* vr = V + (long)s * hd;
        int i = 0;
        v128_t pv = wasm_f32x4_splat(p);
        for (; i + 4 <= hd; i += 4) wasm_v128_store(o + i, wasm_f32x4_add(wasm_v128_load(o + i), wasm_f32x4_mul(pv, wasm_v128_load(vr + i))));
        for (; i < hd; i++) o[i] += p * vr[i];
      }
    }
  }
}
