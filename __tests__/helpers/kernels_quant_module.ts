/**
 * The bf16 / q8 / q4 kernels of the committed module (src/kernels/loom_kernels.wasm, built from
 * src/kernels/c by `npm run build:kernels`; CI checks the bytes match the sources), called directly
 * on the process-wide kernel runtime's heap, for unit tests of the C ABI without the thread pool.
 * `reset()` frees every block this helper allocated.
 */
import type { KernelExports } from '../../src/kernels/module';
import { kernelRuntime } from '../../src/kernels/runtime';

/** Exports of the quantized kernels (pointers are byte offsets into `memory`). */
export type QuantKernelExports = Required<
  Pick<KernelExports, 'loom_linear_bf16' | 'loom_quantize_act_q8' | 'loom_linear_q8' | 'loom_linear_q4' | 'loom_embed_row_bf16' | 'loom_embed_row_q8' | 'loom_embed_row_q4'>
>;

type Typed = Float32Array | Int8Array | Uint8Array | Uint16Array;

/** The quantized kernels with a scoped allocator over the runtime's heap. */
export interface QuantKernels {
  readonly k: QuantKernelExports;
  /** Copies `data` into fresh kernel memory and returns its address. */
  put(data: Typed): number;
  /** Allocates `bytes` of zeroed kernel memory and returns its address. */
  alloc(bytes: number): number;
  /** Copies of the values at `ptr`. */
  f32(ptr: number, n: number): Float32Array;
  i8(ptr: number, n: number): Int8Array;
  /** Frees everything allocated so far. */
  reset(): void;
}

/** The quantized kernels of the committed module. */
export function loadQuantKernels(): QuantKernels {
  const rt = kernelRuntime();
  const ex = rt.exports;
  for (const name of ['loom_linear_bf16', 'loom_quantize_act_q8', 'loom_linear_q8', 'loom_linear_q4', 'loom_embed_row_bf16', 'loom_embed_row_q8', 'loom_embed_row_q4'] as const) {
    if (typeof ex[name] !== 'function') throw new Error(`loom_kernels.wasm has no ${name} (run npm run build:kernels)`);
  }
  const live: number[] = [];
  const bytes = (): ArrayBuffer => rt.memory.buffer as ArrayBuffer;
  const alloc = (n: number): number => {
    const p = rt.heap.calloc(n, 'quant kernel test');
    live.push(p);
    return p;
  };
  return {
    k: ex as unknown as QuantKernelExports,
    alloc,
    put(data: Typed): number {
      const at = alloc(data.byteLength);
      new Uint8Array(bytes(), at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return at;
    },
    f32: (ptr, n) => new Float32Array(bytes(), ptr, n).slice(),
    i8: (ptr, n) => new Int8Array(bytes(), ptr, n).slice(),
    reset(): void {
      for (const p of live.splice(0).reverse()) rt.heap.release(p);
    },
  };
}
