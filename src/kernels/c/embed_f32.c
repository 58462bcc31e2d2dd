/* fp32 embedding row gather. */
#include "kernels.h"

LOOM_API void loom_embed_row_f32(const float* W, int K, int row, float* out) {
  const float* r = W + (long)row * K;
  for (int k = 0; k < K; k++) out[k] = r[k];
}
