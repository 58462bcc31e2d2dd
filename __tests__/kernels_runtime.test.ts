/**
 * The kernel runtime: the wasm module loads, the fp32 linear kernel matches a float64 loop
 * reference (all M/N/K tails, bias, fused accumulate), 1 and 2 threads give identical bytes, the heap
 * frees back to its baseline and a too-large request is a typed OutOfMemoryError.
 */
import { OutOfMemoryError } from '../src/core/errors';
import { KernelHeap } from '../src/kernels/heap';
import { OP } from '../src/kernels/pool';
import { kernelRuntime, setKernelThreads } from '../src/kernels/runtime';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function linearRef(x: Float32Array, M: number, K: number, W: Float32Array, b: Float32Array | null, y0: Float32Array | null, N: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = (y0 ? y0[m * N + n]! : 0) + (b ? b[n]! : 0);
      for (let k = 0; k < K; k++) s += x[m * K + k]! * W[n * K + k]!;
      y[m * N + n] = s;
    }
  }
  return y;
}

function runLinear(M: number, K: number, N: number, withBias: boolean, acc: boolean): { got: Float32Array; want: Float64Array } {
  const rt = kernelRuntime();
  const heap = rt.heap;
  const x = rand(M * K, 1), W = rand(N * K, 2), b = rand(N, 3), y0 = rand(M * N, 4);
  const px = heap.alloc(x.byteLength), pw = heap.alloc(W.byteLength), pb = heap.alloc(b.byteLength), py = heap.alloc(y0.byteLength);
  const f = heap.f32();
  f.set(x, px >> 2);
  f.set(W, pw >> 2);
  f.set(b, pb >> 2);
  f.set(y0, py >> 2);
  const { chunk, nchunks } = rt.pool.split(N, 4);
  rt.pool.run(OP.linearF32, chunk, nchunks, [px, M, K, pw, withBias ? pb : 0, py, N, acc ? 1 : 0]);
  const got = heap.f32().slice(py >> 2, (py >> 2) + M * N);
  for (const p of [px, pw, pb, py]) heap.release(p);
  return { got, want: linearRef(x, M, K, W, withBias ? b : null, acc ? y0 : null, N) };
}

afterAll(async () => {
  await setKernelThreads(1);
});

describe('kernel runtime', () => {
  test('loom_linear_f32 equals a float64 reference for every tail shape', () => {
    for (const [M, K, N] of [[1, 576, 64], [1, 7, 5], [3, 33, 13], [16, 64, 96], [5, 130, 7]] as const) {
      for (const [bias, acc] of [[false, false], [true, false], [true, true]] as const) {
        const { got, want } = runLinear(M, K, N, bias, acc);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[i]!)));
      }
    }
  });

  test('2 threads give the same bytes as 1 thread; the heap returns to its baseline', async () => {
    const base = kernelRuntime().heap.allocatedBytes;
    await setKernelThreads(1);
    const one = runLinear(7, 200, 1000, true, true).got;
    await setKernelThreads(2);
    expect(kernelRuntime().threads).toBe(2);
    for (let r = 0; r < 20; r++) expect(runLinear(7, 200, 1000, true, true).got).toEqual(one);
    await setKernelThreads(1);
    expect(kernelRuntime().heap.allocatedBytes).toBe(base);
  });

  test('heap: coalescing frees, aligned blocks, typed out-of-memory error naming the bytes', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const heap = new KernelHeap(memory, 100, 4 * 65536);
    const a = heap.alloc(10), b = heap.alloc(1000), c = heap.alloc(64);
    expect([a % 64, b % 64, c % 64]).toEqual([0, 0, 0]);
    heap.release(b);
    heap.release(a);
    expect(heap.alloc(1000 + 64)).toBe(a); // a and b coalesced
    expect(() => heap.alloc(5 * 65536, 'test tensor')).toThrow(OutOfMemoryError);
    expect(() => heap.alloc(5 * 65536, 'test tensor')).toThrow(/test tensor needs 327680 bytes/);
  });
});
