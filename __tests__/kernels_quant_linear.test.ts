/**
 * The bf16 / q8 / q4 wasm kernels (src/kernels/c) against float64 re-computations: the reference
 * multiplies the dequantized weights (q * scale, exact in float64) by the dequantized activations
 * under the same activation quantization (re-implemented here from its definition: per block of 32,
 * d = amax / 127, q = round-half-even(x * (1 / d)) in float32). Shapes cover K % 32 != 0, K < 32,
 * M = 1 and M = 5 (one 4-row tile plus a GEMV row), K over several 2048-value chunks, column
 * sub-ranges, bias and the fused residual.
 */
import { createRng } from '../src/core/rng';
import { dequantize } from '../src/kernels/dequantize';
import { blocksPerRow, packWeight, QUANT_BLOCK, type Bf16Weight, type Q4Weight, type Q8Weight } from '../src/kernels/quantize';
import { loadQuantKernels, type QuantKernels } from './helpers/kernels_quant_module';

let qk: QuantKernels;
beforeAll(() => {
  qk = loadQuantKernels();
});
afterEach(() => qk.reset());

function randn(n: number, rng: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1 + (rng() * 2 - 1)) * scale);
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Activation quantization from its definition (see file comment). */
function refQuantAct(x: Float32Array, M: number, K: number): { q: Int8Array; s: Float32Array } {
  const nb = blocksPerRow(K);
  const q = new Int8Array(M * K);
  const s = new Float32Array(M * nb);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < nb; b++) {
      const k0 = m * K + b * QUANT_BLOCK;
      const k1 = m * K + Math.min(K, (b + 1) * QUANT_BLOCK);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(x[k] as number));
      const d = Math.fround(amax / 127);
      const id = d !== 0 ? Math.fround(1 / d) : 0;
      s[m * nb + b] = d;
      for (let k = k0; k < k1; k++) q[k] = roundHalfEven(Math.fround((x[k] as number) * id));
    }
  }
  return { q, s };
}

interface Case {
  M: number;
  K: number;
  N: number;
  n0: number;
  n1: number;
  bias: boolean;
  acc: boolean;
}

const CASES: Case[] = [
  { M: 1, K: 64, N: 9, n0: 0, n1: 9, bias: false, acc: false },
  { M: 1, K: 100, N: 13, n0: 2, n1: 11, bias: true, acc: false },
  { M: 5, K: 40, N: 6, n0: 0, n1: 6, bias: true, acc: true },
  { M: 5, K: 7, N: 5, n0: 1, n1: 4, bias: false, acc: true },
  { M: 4, K: 576, N: 7, n0: 0, n1: 7, bias: true, acc: false },
  { M: 2, K: 33, N: 4, n0: 0, n1: 4, bias: false, acc: false },
  { M: 9, K: 96, N: 5, n0: 3, n1: 5, bias: true, acc: true },
  { M: 5, K: 4200, N: 6, n0: 1, n1: 6, bias: true, acc: true }, // 3 K chunks of 2048 in the integer kernels
];

/** Runs one case; `run` calls the kernel on (y ptr, bias ptr) and returns; `w` is the dequantized weight. */
function check(c: Case, seed: number, wDeq: Float64Array | Float32Array, xRef: Float64Array | Float32Array, run: (y: number, bias: number) => void): void {
  const rng = createRng(seed);
  const { M, K, N, n0, n1 } = c;
  const bias = c.bias ? randn(N, rng) : undefined;
  const y0 = randn(M * N, rng);
  const yPtr = qk.put(y0);
  run(yPtr, bias ? qk.put(bias) : 0);
  const y = qk.f32(yPtr, M * N);
  let scale = 0;
  const ref = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      if (n < n0 || n >= n1) {
        ref[m * N + n] = y0[m * N + n] as number; // untouched outside [n0, n1)
        continue;
      }
      let s = 0;
      for (let k = 0; k < K; k++) s += (xRef[m * K + k] as number) * (wDeq[n * K + k] as number);
      s += bias ? (bias[n] as number) : 0;
      if (c.acc) s += y0[m * N + n] as number;
      ref[m * N + n] = s;
      scale = Math.max(scale, Math.abs(s));
    }
  }
  let worst = 0;
  for (let i = 0; i < M * N; i++) {
    const n = i % N;
    const err = Math.abs((y[i] as number) - (ref[i] as number));
    if (n < n0 || n >= n1) expect(y[i]).toBe(y0[i]);
    else worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  expect(worst / scale).toBeLessThanOrEqual(1e-5);
}

describe.each(CASES)('kernels M=$M K=$K N=$N cols [$n0, $n1) bias=$bias acc=$acc', (c) => {
  const { M, K, N } = c;
  const seed = M * 1000 + K * 10 + N;

  test('loom_quantize_act_q8 equals the definition bit for bit', () => {
    const x = randn(M * K, createRng(seed), 3);
    x[0] = 0;
    const xPtr = qk.put(x);
    const nb = blocksPerRow(K);
    const xq = qk.alloc(M * K);
    const xs = qk.alloc(M * nb * 4);
    qk.k.loom_quantize_act_q8(xPtr, M, K, xq, xs, 0, M);
    const ref = refQuantAct(x, M, K);
    expect(qk.i8(xq, M * K)).toEqual(ref.q);
    expect(qk.f32(xs, M * nb)).toEqual(ref.s);
  });

  test.each(['q8', 'q4'] as const)('loom_linear_%s equals float64 over dequantized weights and activations', (dtype) => {
    const rng = createRng(seed + 7);
    const x = randn(M * K, rng, 2);
    const w = packWeight(randn(N * K, rng, 0.1), { rows: N, cols: K }, dtype) as Q8Weight | Q4Weight;
    const act = refQuantAct(x, M, K);
    const nb = blocksPerRow(K);
    const xRef = Float64Array.from(act.q, (q, i) => q * (act.s[Math.floor(i / K) * nb + Math.floor((i % K) / QUANT_BLOCK)] as number));
    const wDeq = dequantizeF64(w);
    const xq = qk.put(act.q);
    const xs = qk.put(act.s);
    const wq = qk.put(w.q);
    const ws = qk.put(w.scales);
    const fn = dtype === 'q8' ? qk.k.loom_linear_q8 : qk.k.loom_linear_q4;
    check(c, seed, wDeq, xRef, (y, bias) => fn(xq, xs, M, K, wq, ws, bias, y, N, c.n0, c.n1, c.acc ? 1 : 0));
  });

  test('loom_linear_bf16 equals float64 over the bf16 weights', () => {
    const rng = createRng(seed + 11);
    const x = randn(M * K, rng, 2);
    const w = packWeight(randn(N * K, rng, 0.1), { rows: N, cols: K }, 'bf16') as Bf16Weight;
    const xPtr = qk.put(x);
    const wPtr = qk.put(w.bits);
    check(c, seed, dequantize(w), x, (y, bias) => qk.k.loom_linear_bf16(xPtr, M, K, wPtr, bias, y, N, c.n0, c.n1, c.acc ? 1 : 0));
  });
});

/** q * scale in float64 (exact), unlike dequantize's float32 rounding. */
function dequantizeF64(w: Q8Weight | Q4Weight): Float64Array {
  const nb = blocksPerRow(w.cols);
  const out = new Float64Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    for (let c = 0; c < w.cols; c++) {
      const b = Math.floor(c / QUANT_BLOCK);
      const j = c % QUANT_BLOCK;
      const code = w.dtype === 'q8' ? (w.q[r * w.cols + c] as number) : ((j < 16 ? (w.q[(r * nb + b) * 16 + j] as number) & 15 : (w.q[(r * nb + b) * 16 + j - 16] as number) >> 4) - 8);
      out[r * w.cols + c] = code * (w.scales[r * nb + b] as number);
    }
  }
  return out;
}

describe('quantization error and embedding rows', () => {
  test('q8 / q4 outputs stay near the unquantized product (the packing is not wrong in both kernel and reference)', () => {
    const rng = createRng(5);
    const M = 3;
    const K = 200;
    const N = 16;
    const x = randn(M * K, rng);
    const wf = randn(N * K, rng, 0.1);
    const act = refQuantAct(x, M, K);
    const xq = qk.put(act.q);
    const xs = qk.put(act.s);
    for (const [dtype, tol] of [['q8', 0.02], ['q4', 0.25]] as const) {
      const w = packWeight(wf, { rows: N, cols: K }, dtype) as Q8Weight | Q4Weight;
      const y = qk.alloc(M * N * 4);
      (dtype === 'q8' ? qk.k.loom_linear_q8 : qk.k.loom_linear_q4)(xq, xs, M, K, qk.put(w.q), qk.put(w.scales), 0, y, N, 0, N, 0);
      const got = qk.f32(y, M * N);
      let num = 0;
      let den = 0;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += (x[m * K + k] as number) * (wf[n * K + k] as number);
          num += ((got[m * N + n] as number) - s) ** 2;
          den += s * s;
        }
      }
      expect([dtype, Math.sqrt(num / den) < tol]).toEqual([dtype, true]);
    }
  });

  test('a NaN activation makes its outputs NaN, never a finite number', () => {
    const K = 64;
    const x = randn(K, createRng(9));
    x[40] = NaN;
    const xq = qk.alloc(K);
    const xs = qk.alloc(8);
    qk.k.loom_quantize_act_q8(qk.put(x), 1, K, xq, xs, 0, 1);
    const w = packWeight(randn(2 * K, createRng(10)), { rows: 2, cols: K }, 'q8') as Q8Weight;
    const y = qk.alloc(8);
    qk.k.loom_linear_q8(xq, xs, 1, K, qk.put(w.q), qk.put(w.scales), 0, y, 2, 0, 2, 0);
    expect(Array.from(qk.f32(y, 2)).every(Number.isNaN)).toBe(true);
  });

  test.each(['bf16', 'q8', 'q4'] as const)('loom_embed_row_%s equals dequantizeRow', (dtype) => {
    const rows = 5;
    const K = 70;
    const w = packWeight(randn(rows * K, createRng(12), 0.5), { rows, cols: K }, dtype);
    const out = qk.alloc(K * 4);
    const expected = dequantize(w);
    for (const row of [0, 3, 4]) {
      if (w.dtype === 'bf16') qk.k.loom_embed_row_bf16(qk.put(w.bits), K, row, out);
      else if (w.dtype === 'q8') qk.k.loom_embed_row_q8(qk.put(w.q), qk.put(w.scales), K, row, out);
      else qk.k.loom_embed_row_q4(qk.put(w.q), qk.put(w.scales), K, row, out);
      expect(qk.f32(out, K)).toEqual(expected.subarray(row * K, (row + 1) * K));
    }
  });
});
