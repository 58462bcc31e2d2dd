/*
 * ggml's own dequantize_row_* (ggml/src/ggml-quants.c of the llama.cpp that node-llama-cpp ships),
 * as a reference for gguf_ggml_dequant.test.ts: reads `nblocks` blocks of type TYPE from stdin and
 * prints the float32 values, one per line (%.9g round-trips a float).
 * Usage: ggml_dequant TYPE NVALUES < blocks.bin   (TYPE: q4_0 q8_0 q4_K q5_K q6_K)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "ggml.h"
#define GGML_COMMON_DECL_C
#include "ggml-common.h"

void dequantize_row_q4_0(const block_q4_0 * x, float * y, int64_t k);
void dequantize_row_q8_0(const block_q8_0 * x, float * y, int64_t k);
void dequantize_row_q4_K(const block_q4_K * x, float * y, int64_t k);
void dequantize_row_q5_K(const block_q5_K * x, float * y, int64_t k);
void dequantize_row_q6_K(const block_q6_K * x, float * y, int64_t k);

/* ggml-quants.c references these; the dequantizers never call them. */
void ggml_abort(const char * file, int line, const char * fmt, ...) { (void)file; (void)line; (void)fmt; abort(); }
void ggml_log_internal(int level, const char * fmt, ...) { (void)level; (void)fmt; }
size_t ggml_row_size(enum ggml_type type, int64_t ne) { (void)type; (void)ne; abort(); }
size_t ggml_type_size(enum ggml_type type) { (void)type; abort(); }
const char * ggml_type_name(enum ggml_type type) { (void)type; return "?"; }

int main(int argc, char ** argv) {
  if (argc != 3) return 2;
  const char * t = argv[1];
  int64_t n = atoll(argv[2]);
  size_t bytes = !strcmp(t, "q4_0") ? n / 32 * 18 : !strcmp(t, "q8_0") ? n / 32 * 34 : !strcmp(t, "q4_K") ? n / 256 * 144 : !strcmp(t, "q5_K") ? n / 256 * 176 : n / 256 * 210;
  void * x = malloc(bytes);
  float * y = malloc(n * sizeof(float));
  if (fread(x, 1, bytes, stdin) != bytes) return 3;
  if (!strcmp(t, "q4_0")) dequantize_row_q4_0(x, y, n);
  else if (!strcmp(t, "q8_0")) dequantize_row_q8_0(x, y, n);
  else if (!strcmp(t, "q4_K")) dequantize_row_q4_K(x, y, n);
  else if (!strcmp(t, "q5_K")) dequantize_row_q5_K(x, y, n);
  else if (!strcmp(t, "q6_K")) dequantize_row_q6_K(x, y, n);
  else return 2;
  for (int64_t i = 0; i < n; i++) printf("%.9g\n", y[i]);
  return 0;
}
