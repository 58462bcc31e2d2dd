/**
 * The bf16 / q8 / q4 kernels (src/kernels/c/linear_{bf16,q8,q4}.c, quant_act.c) compiled on their
 * own into a small wasm module with its own (non-shared) memory, for unit tests of the C ABI
 * without the thread pool. Uses the same clang 14 flags as scripts/build_kernels.js, minus shared
 * memory. A bump allocator hands out memory; `reset()` frees all of it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';

const ROOT = path.resolve(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src', 'kernels', 'c');
const FILES = ['linear_bf16.c', 'linear_q8.c', 'linear_q4.c', 'quant_act.c'];
const FLAGS = [
  '--target=wasm32', '-O3', '-ffreestanding', '-nostdlib', '-fvisibility=hidden', '-fno-builtin-memset',
  '-msimd128', '-mbulk-memory', '-mnontrapping-fptoint', '-g0', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
  '-Wl,--no-entry', '-Wl,--export-dynamic', '-Wl,--export=__heap_base', '-Wl,-z,stack-size=131072',
];

/** Exports of the quantized kernels (pointers are byte offsets into `memory`). */
export interface QuantKernelExports {
  loom_linear_bf16(x: number, M: number, K: number, W: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_quantize_act_q8(x: number, M: number, K: number, xq: number, xs: number, m0: number, m1: number): void;
  loom_linear_q8(xq: number, xs: number, M: number, K: number, Wq: number, Ws: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_linear_q4(xq: number, xs: number, M: number, K: number, Wq: number, Ws: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_embed_row_bf16(W: number, K: number, row: number, out: number): void;
  loom_embed_row_q8(Wq: number, Ws: number, K: number, row: number, out: number): void;
  loom_embed_row_q4(Wq: number, Ws: number, K: number, row: number, out: number): void;
}

type Typed = Float32Array | Int8Array | Uint8Array | Uint16Array;

/** A compiled instance with a bump allocator. */
export interface QuantKernels {
  readonly k: QuantKernelExports;
  readonly memory: WebAssembly.Memory;
  /** Copies `data` into fresh memory (16-byte aligned) and returns its address. */
  put(data: Typed): number;
  /** Allocates `bytes` of zeroed memory and returns its address. */
  alloc(bytes: number): number;
  f32(ptr: number, n: number): Float32Array;
  i8(ptr: number, n: number): Int8Array;
  /** Frees everything allocated so far. */
  reset(): void;
}

let cachedModule: WebAssembly.Module | undefined;

function compile(): WebAssembly.Module {
  if (cachedModule) return cachedModule;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loom-quant-')), 'quant.wasm');
  const clang = process.env.CLANG ?? 'clang';
  execFileSync(clang, [...FLAGS, '-o', out, ...FILES], { cwd: SRC, stdio: 'inherit' });
  cachedModule = new WebAssembly.Module(fs.readFileSync(out));
  return cachedModule;
}

/** Compiles (once per process) and instantiates the quantized kernels. */
export function loadQuantKernels(): QuantKernels {
  const instance = new WebAssembly.Instance(compile(), {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  const base = (instance.exports.__heap_base as WebAssembly.Global).value as number;
  let top = base;
  const alloc = (bytes: number): number => {
    const at = (top + 15) & ~15;
    top = at + bytes;
    const need = top - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    new Uint8Array(memory.buffer, at, bytes).fill(0);
    return at;
  };
  return {
    k: instance.exports as unknown as QuantKernelExports,
    memory,
    alloc,
    put(data: Typed): number {
      const at = alloc(data.byteLength);
      new Uint8Array(memory.buffer, at, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return at;
    },
    f32: (ptr, n) => new Float32Array(memory.buffer, ptr, n).slice(),
    i8: (ptr, n) => new Int8Array(memory.buffer, ptr, n).slice(),
    reset(): void {
      top = base;
    },
  };
}
