/*
 * loom-tfjs WebAssembly kernels: the C ABI every kernel file implements.
 *
 * Built by `npm run build:kernels` (scripts/build_kernels.js) into ONE freestanding wasm32 module
 * (src/kernels/loom_kernels.wasm) with Debian's clang 14 + lld 14: SIMD128, atomics, bulk memory,
 * an imported shared memory (max 4 GiB), no libc, no emscripten. C was chosen over AssemblyScript or
 * WAT because clang's SIMD128 intrinsics (<wasm_simd128.h>) and -O3 give hand-tunable inner loops
 * with no runtime, and the compiler is one Debian package that CI can pin.
 *
 * Conventions: every matrix is row-major; W is [N][K] (Hugging Face [out, in]); x is [M][K]; y is
 * [M][N]. A linear call computes output columns n in [n0, n1) for all M rows (the thread pool splits
 * N); `acc != 0` means y += result (a fused residual add); `bias` may be 0 (NULL).
 * Only functions declared with LOOM_API are exported (the build uses -fvisibility=hidden).
 */
#ifndef LOOM_KERNELS_H
#define LOOM_KERNELS_H

#include <stdint.h>

#define LOOM_API __attribute__((visibility("default")))

/* ---- linear layers (y[m][n] = (acc ? y[m][n] : 0) + bias[n] + sum_k x[m][k] W[n][k]) ---- */
LOOM_API void loom_linear_f32(const float* x, int M, int K, const float* W, const float* bias, float* y, int N, int n0, int n1, int acc);
LOOM_API void loom_linear_bf16(const float* x, int M, int K, const uint16_t* W, const float* bias, float* y, int N, int n0, int n1, int acc);
/* activations quantized per block of 32 along K (last block may be partial): xq int8 [M][K], xs float [M][ceil(K/32)]; rows m in [m0, m1) */
LOOM_API void loom_quantize_act_q8(const float* x, int M, int K, int8_t* xq, float* xs, int m0, int m1);
/* q8 weights: Wq int8 [N][K], Ws float [N][ceil(K/32)] (GGUF Q8_0 blocks, scale widened to f32) */
LOOM_API void loom_linear_q8(const int8_t* xq, const float* xs, int M, int K, const int8_t* Wq, const float* Ws, const float* bias, float* y, int N, int n0, int n1, int acc);
/* q4 weights: Wq bytes [N][ceil(K/32)*16] in GGUF Q4_0 nibble order per block (byte j: element j in the
 * low nibble, element j+16 in the high nibble, value = (nibble-8)*scale), Ws float [N][ceil(K/32)] */
LOOM_API void loom_linear_q4(const int8_t* xq, const float* xs, int M, int K, const uint8_t* Wq, const float* Ws, const float* bias, float* y, int N, int n0, int n1, int acc);

/* ---- embedding row gather: out[K] = dequantized row `row` of a [N][K] table ---- */
LOOM_API void loom_embed_row_f32(const float* W, int K, int row, float* out);
LOOM_API void loom_embed_row_bf16(const uint16_t* W, int K, int row, float* out);
LOOM_API void loom_embed_row_q8(const int8_t* Wq, const float* Ws, int K, int row, float* out);
LOOM_API void loom_embed_row_q4(const uint8_t* Wq, const float* Ws, int K, int row, float* out);

/* ---- elementwise and norms (fp32 activations) ---- */
/* y[i] += x[i], i < n */
LOOM_API void loom_add(float* y, const float* x, int n);
/* RMSNorm per row: y = x / sqrt(mean(x^2) + eps) * g; x, y [M][D] (may alias) */
LOOM_API void loom_rms_norm(const float* x, int M, int D, const float* g, float eps, float* y);
/* LayerNorm per row: y = (x - mean) / sqrt(var + eps) * g + b (b may be 0); x, y [M][D] (may alias) */
LOOM_API void loom_layer_norm(const float* x, int M, int D, const float* g, const float* b, float eps, float* y);
/* Activation codes of loom_glu / loom_act. */
enum { LOOM_ACT_SILU = 0, LOOM_ACT_RELU = 1, LOOM_ACT_GELU = 2, LOOM_ACT_GELU_TANH = 3 };
/* Gated MLP: out[m][f] = act(u[m][f]) * u[m][F + f]; u [M][2F], out [M][F] */
LOOM_API void loom_glu(const float* u, int M, int F, int act, float* out);
/* In place: u[i] = act(u[i]), i < n */
LOOM_API void loom_act(float* u, int n, int act);
/* Index of the first largest value of x[0..n) */
LOOM_API int loom_argmax(const float* x, int n);

/* ---- attention ---- */
/*
 * RoPE on the q and k heads of qkv (in place; the first `rot` dims of each head, HF rotate_half) and
 * append of k and v to the cache at position past + t. qkv [B*T][(hq + 2 hkv) hd] (row b*T + t);
 * cos, sin [B*T][rot/2] (rot = 0: no rotation); caches [B][hkv][maxLen][hd].
 */
LOOM_API void loom_rope_append(float* qkv, int B, int T, int hq, int hkv, int hd, int rot, const float* cos, const float* sin,
                               float* kc, float* vc, int maxLen, int past);
/*
 * Attention of the new queries over the cache, for the (b, head) pairs c in [c0, c1) (c = b*hq + h):
 * query t of sequence b sees cache positions s <= past + t with mask[b*(past+T) + s] != 0 and, when
 * window > 0, s > past + t - window. out [B*T][hq hd]; scores: scratch [B*hq][past + T].
 * A query that sees no position gets zeros.
 */
LOOM_API void loom_attention(const float* qkv, int B, int T, int hq, int hkv, int hd, const float* kc, const float* vc, int maxLen,
                             int past, const uint8_t* mask, int window, float scale, float* scores, float* out, int c0, int c1);

/* ---- thread pool ---- */
/* Job operation codes of loom_pool_work. */
enum { LOOM_OP_LINEAR_F32 = 1, LOOM_OP_LINEAR_BF16 = 2, LOOM_OP_LINEAR_Q8 = 3, LOOM_OP_LINEAR_Q4 = 4, LOOM_OP_ATTENTION = 5, LOOM_OP_QUANTIZE_Q8 = 6 };
/* Words of a job; see pool.c for the layout. */
#define LOOM_JOB_WORDS 32
/* Claims chunks of the job at `job` until none is left (every thread calls it; returns when no chunk is left). */
LOOM_API void loom_pool_work(int32_t* job);

#endif
