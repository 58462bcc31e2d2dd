/*
 * q4 linear: 4-bit weights in GGUF Q4_0 blocks (32 values in 16 bytes, one float32 scale;
 * byte j holds element j in its low nibble and element j + 16 in its high nibble, value =
 * (nibble - 8) * scale) times int8 activations quantized per block (quant_act.c). The
 * nibbles are unpacked to int8 in registers and take the same integer dot path as q8.
 * Ref: ggml's block_q4_0 and ggml_vec_dot_q4_0_q8_0 (llama.cpp, ggml-quants.c).
 *
 * Layout: Wq uint8 [N][ceil(K/32) * 16], Ws float [N][ceil(K/32)]; the rest as linear_q8.c.
 */
#include "quant.h"

void loom_linear_q4(const int8_t* xq, const float* xs, int M, int K, const uint8_t* Wq, const float* Ws,
                    const float* bias, float* y, int N, int n0, int n1, int acc) {
  loom_qlinear(1, xq, xs, M, K, Wq, Ws, bias, y, N, n0, n1, acc);
}

/* One dequantized row of a q4 table: out[k] = (nibble(k) - 8) * scale of k's block. */
void loom_embed_row_q4(const uint8_t* Wq, const float* Ws, int K, int row, float* out) {
  const int nb = loom_qblocks(K);
  const uint8_t* q = Wq + (size_t)row * (size_t)nb * 16;
  const float* s = Ws + (size_t)row * (size_t)nb;
  for (int k = 0; k < K; k++) {
    const int b = k / LOOM_QK, j = k % LOOM_QK;
    const uint8_t byte = q[b * 16 + (j & 15)];
    const int nib = j < 16 ? (byte & 0x0F) : (byte >> 4);
    out[k] = (float)(nib - 8) * s[b];
  }
}
