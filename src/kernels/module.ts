/**
 * The compiled kernel module (src/kernels/loom_kernels.wasm, built from src/kernels/c by
 * `npm run build:kernels`) and the typed view of its exports.
 */
import { ConfigError } from '../core/errors';

/** Functions and globals the kernel module exports (see src/kernels/c/kernels.h for each ABI). */
export interface KernelExports {
  readonly __stack_pointer: WebAssembly.Global;
  readonly __heap_base: WebAssembly.Global;
  loom_linear_f32(x: number, M: number, K: number, W: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_linear_bf16?(x: number, M: number, K: number, W: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_quantize_act_q8?(x: number, M: number, K: number, xq: number, xs: number, m0: number, m1: number): void;
  loom_linear_q8?(xq: number, xs: number, M: number, K: number, Wq: number, Ws: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_linear_q4?(xq: number, xs: number, M: number, K: number, Wq: number, Ws: number, bias: number, y: number, N: number, n0: number, n1: number, acc: number): void;
  loom_embed_row_f32(W: number, K: number, row: number, out: number): void;
  loom_embed_row_bf16?(W: number, K: number, row: number, out: number): void;
  loom_embed_row_q8?(Wq: number, Ws: number, K: number, row: number, out: number): void;
  loom_embed_row_q4?(Wq: number, Ws: number, K: number, row: number, out: number): void;
  loom_add(y: number, x: number, n: number): void;
  loom_rms_norm(x: number, M: number, D: number, g: number, eps: number, y: number): void;
  loom_layer_norm(x: number, M: number, D: number, g: number, b: number, eps: number, y: number): void;
  loom_glu(u: number, M: number, F: number, act: number, out: number): void;
  loom_act(u: number, n: number, act: number): void;
  loom_argmax(x: number, n: number): number;
  loom_rope_append(qkv: number, B: number, T: number, hq: number, hkv: number, hd: number, rot: number, cos: number, sin: number, kc: number, vc: number, maxLen: number, past: number): void;
  loom_attention(qkv: number, B: number, T: number, hq: number, hkv: number, hd: number, kc: number, vc: number, maxLen: number, past: number, mask: number, window: number, scale: number, scores: number, out: number, c0: number, c1: number): void;
  loom_pool_work(job: number): void;
}

/** File name of the built module. */
export const KERNEL_WASM_FILE = 'loom_kernels.wasm';

/** Pages (64 KiB) the module declares as its minimum (`--initial-memory=1048576` in the build). */
export const KERNEL_INITIAL_PAGES = 16;

/** Pages of the 4 GiB maximum (`--max-memory=4294967296`). */
export const KERNEL_MAX_PAGES = 65536;

let compiled: WebAssembly.Module | null = null;

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/**
 * Where the .wasm is in Node: next to this file (src/kernels under ts-node/jest), else at
 * `src/kernels/loom_kernels.wasm` under the package root (found by walking up from this file to the
 * `package.json` of loom-tfjs; the file is listed in package.json `files`), which covers `dist/`.
 */
export function kernelWasmPath(): string {
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const here = path.join(__dirname, KERNEL_WASM_FILE);
  if (fs.existsSync(here)) return here;
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const name = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name;
      const candidate = path.join(dir, 'src', 'kernels', KERNEL_WASM_FILE);
      if (name === 'loom-tfjs' && fs.existsSync(candidate)) return candidate;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new ConfigError(`kernels: ${KERNEL_WASM_FILE} not found next to ${__dirname} nor under the loom-tfjs package root (run npm run build:kernels)`);
}

/**
 * The compiled module, compiled once per process (synchronously: the module is ~60 KB).
 * In a browser the bytes must be provided first with {@link provideKernelModule}.
 * @throws ConfigError when the module cannot be found or this engine lacks SIMD128/threads.
 */
export function kernelModule(): WebAssembly.Module {
  if (compiled) return compiled;
  if (!isNode()) throw new ConfigError('kernels: in a browser call provideKernelModule(bytes or module) before using the kernels');
  const fs = require('fs') as typeof import('fs');
  const bytes = fs.readFileSync(kernelWasmPath());
  try {
    compiled = new WebAssembly.Module(bytes);
  } catch (e) {
    throw new ConfigError(`kernels: ${KERNEL_WASM_FILE} does not compile here (needs WebAssembly SIMD128 and threads): ${e instanceof Error ? e.message : String(e)}`);
  }
  return compiled;
}

/**
 * Whether {@link kernelModule} can succeed without throwing: compiled already, or (Node) the .wasm
 * file is found. A browser page has the kernels only after {@link provideKernelModule}.
 */
export function kernelModuleAvailable(): boolean {
  if (compiled) return true;
  if (!isNode()) return false;
  try {
    kernelWasmPath();
    return true;
  } catch {
    return false;
  }
}

/** Hands the module over in a browser (fetched from a URL next to the bundle, or compiled already). */
export function provideKernelModule(module: WebAssembly.Module | ArrayBuffer | Uint8Array<ArrayBuffer>): void {
  compiled = module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module);
}

/**
 * Browser: fetches and compiles `loom_kernels.wasm` from the folder `base` (a URL ending in '/', e.g.
 * where webpack copied it next to the bundle) and hands it to {@link provideKernelModule}.
 * @returns false when it cannot be fetched or compiled here (the kernels then stay off).
 */
export async function fetchKernelModule(base: string): Promise<boolean> {
  if (compiled) return true;
  try {
    const res = await fetch(`${base}${KERNEL_WASM_FILE}`);
    if (!res.ok) return false;
    compiled = await WebAssembly.compile(await res.arrayBuffer());
    return true;
  } catch {
    return false;
  }
}

/** Whether the engine validates a SIMD128 instruction (an 8-byte probe: `i32x4.splat` + drop). */
export function simdSupported(): boolean {
  const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  return typeof WebAssembly === 'object' && WebAssembly.validate(probe);
}
