/* Scalar math without libm (freestanding): expf, erf (as tfjs computes it), activations. Internal. */
#ifndef LOOM_MATH_H
#define LOOM_MATH_H

#include <stdint.h>

static inline float loom_bits_to_f32(uint32_t u) {
  union { uint32_t u; float f; } v = { u };
  return v.f;
}

/* exp(x) for float32, within ~2 ulp: x = n ln2 + r, |r| <= ln2/2, degree-7 Taylor on r, times 2^n. */
static inline float loom_expf(float x) {
  if (x > 88.72283f) return loom_bits_to_f32(0x7f800000u);
  if (x < -103.97208f) return 0.0f;
  float n = __builtin_rintf(x * 1.44269504088896341f);
  float r = x - n * 0.693145751953125f; /* ln2 high part (exact in float) */
  r = r - n * 1.428606765330187045e-06f; /* ln2 low part */
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
  int e = (int)n;
  /* 2^e in two factors so subnormal results (e < -126) stay representable. */
  int e1 = e / 2, e2 = e - e1;
  return p * loom_bits_to_f32((uint32_t)(e1 + 127) << 23) * loom_bits_to_f32((uint32_t)(e2 + 127) << 23);
}

/* erf by Abramowitz-Stegun 7.1.26, the formula tfjs's Erf kernel uses (|error| < 1.5e-7). */
static inline float loom_erf(float x) {
  const float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f, a5 = 1.061405429f;
  float s = x < 0 ? -1.0f : 1.0f;
  float v = x < 0 ? -x : x;
  float t = 1.0f / (1.0f + p * v);
  return s * (1.0f - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * loom_expf(-v * v));
}

static inline float loom_tanhf(float z) {
  if (z > 15.0f) return 1.0f;
  if (z < -15.0f) return -1.0f;
  float a = z < 0 ? -z : z;
  float r;
  if (a < 0.0625f) {
    float z2 = z * z; /* odd Taylor series, exact to float rounding for small |z| */
    r = z * (1.0f + z2 * (-1.0f / 3 + z2 * (2.0f / 15 + z2 * (-17.0f / 315))));
  } else {
    float e = loom_expf(2.0f * z);
    r = 1.0f - 2.0f / (e + 1.0f);
  }
  return r;
}

static inline float loom_activate(float x, int act) {
  switch (act) {
    case 0: return x * (1.0f / (1.0f + loom_expf(-x))); /* silu: x * sigmoid(x) */
    case 1: return x > 0 ? x : 0.0f; /* relu */
    case 2: return x * 0.5f * (1.0f + loom_erf(x * 0.70710678118654752f)); /* gelu (erf) */
    default: {
      /* gelu tanh approximation (gelu_new, gelu_fast, gelu_pytorch_tanh) */
      float inner = (x + x * x * x * 0.044715f) * 0.79788456080286536f;
      return x * 0.5f * (1.0f + loom_tanhf(inner));
    }
  }
}

#endif
