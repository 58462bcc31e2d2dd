/* MLP activations (SiLU, ReLU, GELU erf / tanh), gated or plain, and argmax. */
#include "kernels.h"
#include "loom_math.h"

LOOM_API void loom_glu(const float* u, int M, int F, int act, float* out) {
  for (int m = 0; m < M; m++) {
    const float* g = u + (long)m * 2 * F;
    const float* up = g + F;
    float* o = out + (long)m * F;
    for (int f = 0; f < F; f++) o[f] = loom_activate(g[f], act) * up[f];
  }
}

LOOM_API void loom_act(float* u, int n, int act) {
  for (int i = 0; i < n; i++) u[i] = loom_activate(u[i], act);
}

LOOM_API int loom_argmax(const float* x, int n) {
  int best = 0;
  float v = x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] > v) {
      v = x[i];
      best = i;
    }
  }
  return best;
}
