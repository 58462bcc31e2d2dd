/*
 * q8 linear: int8 weights in GGUF Q8_0 blocks (32 values, one float32 scale each) times
 * int8 activations quantized per block by loom_quantize_act_q8 (quant_act.c); integer dot
 * products (i32x4.dot_i16x8_s), one float multiply per block.
 * Ref: ggml's block_q8_0 and ggml_vec_dot_q8_0_q8_0 (llama.cpp, ggml-quants.c).
 *
 * Layout: xq int8 [M][K], xs float [M][ceil(K/32)], Wq int8 [N][K], Ws float [N][ceil(K/32)],
 * bias float [N] or null, y float [M][N]; computes columns n in [n0, n1), y += when acc != 0.
 * Weight and activation values are in [-127, 127] (the quantizers never emit -128).
 */
#include "quant.h"

void loom_linear_q8(const int8_t* xq, const float* xs, int M, int K, const int8_t* Wq, const float* Ws,
                    const float* bias, float* y, int N, int n0, int n1, int acc) {
  loom_qlinear(0, xq, xs, M, K, Wq, Ws, bias, y, N, n0, n1, acc);
}

/* One dequantized row of a q8 table (embedding gather, tied LM head): out[k] = Wq[row][k] * scale. */
void loom_embed_row_q8(const int8_t* Wq, const float* Ws, int K, int row, float* out) {
  const int nb = loom_qblocks(K);
  const int8_t* q = Wq + (size_t)row * (size_t)K;
  const float* s = Ws + (size_t)row * (size_t)nb;
  for (int k = 0; k < K; k++) out[k] = (float)q[k] * s[k / LOOM_QK];
}
