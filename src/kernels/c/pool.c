/*
 * The thread pool's work loop. A job is LOOM_JOB_WORDS int32 words in module memory:
 *   [0] counter: (sequence << 20) | chunks left; a thread claims a chunk by compare-and-swap (count - 1),
 *       so a thread that wakes late can only ever claim a chunk of the job that is open now
 *   [1] done: chunks finished (the thread that finishes the last one notifies a waiter on this word)
 *   [2] nchunks   [3] op (LOOM_OP_*)   [4] chunk size (columns, rows or heads per chunk)
 *   [8..] the op's arguments (pointers and ints)
 * The job's words are only rewritten after every chunk is done, so arguments read by a thread that
 * holds a chunk are stable. Ops whose kernel is not linked in (weak symbols) do nothing.
 */
#include "kernels.h"

#define LEFT_MASK 0xFFFFF

extern void loom_linear_bf16(const float* x, int M, int K, const uint16_t* W, const float* bias, float* y, int N, int n0, int n1, int acc) __attribute__((weak));
extern void loom_linear_q8(const int8_t* xq, const float* xs, int M, int K, const int8_t* Wq, const float* Ws, const float* bias, float* y, int N, int n0, int n1, int acc) __attribute__((weak));
extern void loom_linear_q4(const int8_t* xq, const float* xs, int M, int K, const uint8_t* Wq, const float* Ws, const float* bias, float* y, int N, int n0, int n1, int acc) __attribute__((weak));
extern void loom_quantize_act_q8(const float* x, int M, int K, int8_t* xq, float* xs, int m0, int m1) __attribute__((weak));

#define P(i, T) ((T)(uintptr_t)a[i])

static void run(const int32_t* j, int chunk) {
  const int32_t* a = j + 8;
  int size = j[4];
  int lo = chunk * size;
  switch (j[3]) {
    case LOOM_OP_LINEAR_F32: {
      /* x M K W bias y N acc */
      int N = a[6], hi = lo + size < N ? lo + size : N;
      loom_linear_f32(P(0, const float*), a[1], a[2], P(3, const float*), P(4, const float*), P(5, float*), N, lo, hi, a[7]);
      break;
    }
    case LOOM_OP_LINEAR_BF16: {
      int N = a[6], hi = lo + size < N ? lo + size : N;
      if (loom_linear_bf16) loom_linear_bf16(P(0, const float*), a[1], a[2], P(3, const uint16_t*), P(4, const float*), P(5, float*), N, lo, hi, a[7]);
      break;
    }
    case LOOM_OP_LINEAR_Q8: {
      /* xq xs M K Wq Ws bias y N acc */
      int N = a[8], hi = lo + size < N ? lo + size : N;
      if (loom_linear_q8) loom_linear_q8(P(0, const int8_t*), P(1, const float*), a[2], a[3], P(4, const int8_t*), P(5, const float*), P(6, const float*), P(7, float*), N, lo, hi, a[9]);
      break;
    }
    case LOOM_OP_LINEAR_Q4: {
      int N = a[8], hi = lo + size < N ? lo + size : N;
      if (loom_linear_q4) loom_linear_q4(P(0, const int8_t*), P(1, const float*), a[2], a[3], P(4, const uint8_t*), P(5, const float*), P(6, const float*), P(7, float*), N, lo, hi, a[9]);
      break;
    }
    case LOOM_OP_ATTENTION: {
      /* qkv B T hq hkv hd kc vc maxLen past mask window scale(bits) scores out */
      int C = a[1] * a[3], hi = lo + size < C ? lo + size : C;
      union { int32_t i; float f; } sc = { a[12] };
      loom_attention(P(0, const float*), a[1], a[2], a[3], a[4], a[5], P(6, const float*), P(7, const float*), a[8], a[9],
                     P(10, const uint8_t*), a[11], sc.f, P(13, float*), P(14, float*), lo, hi);
      break;
    }
    case LOOM_OP_QUANTIZE_Q8: {
      /* x M K xq xs */
      int M = a[1], hi = lo + size < M ? lo + size : M;
      if (loom_quantize_act_q8) loom_quantize_act_q8(P(0, const float*), M, a[2], P(3, int8_t*), P(4, float*), lo, hi);
      break;
    }
    default:
      break;
  }
}

LOOM_API void loom_pool_work(int32_t* job) {
  for (;;) {
    int32_t c = __atomic_load_n(&job[0], __ATOMIC_SEQ_CST);
    int left = c & LEFT_MASK;
    if (left == 0) return;
    if (!__atomic_compare_exchange_n(&job[0], &c, c - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) continue;
    int n = job[2];
    run(job, n - left);
    if (__atomic_add_fetch(&job[1], 1, __ATOMIC_SEQ_CST) == n) __builtin_wasm_memory_atomic_notify(&job[1], 1);
  }
}
