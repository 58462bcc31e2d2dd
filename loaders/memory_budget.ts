/**
 * Memory a model needs on a backend, estimated from a checkpoint's header before anything is
 * allocated, and the memory that backend can give. On wasm every tensor lives in one 32-bit heap
 * (4 GiB), and running out of it leaves the backend unusable for the rest of the process
 * (`RuntimeError: memory access out of bounds`), so a model that cannot fit is refused first.
 */
import * as tf from '@tensorflow/tfjs';
import { OutOfMemoryError } from '../src/core/errors';
import { FLOAT_DTYPES, type SafetensorsDtype } from './safetensors_decode';
import type { ShapeListing } from './config_limits';

/** The wasm backend's heap limit (32-bit addresses). */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** Part of the wasm heap kept free for activations, the KV cache and XNNPACK's scratch space. */
export const WASM_RESERVE_FRACTION = 0.1;

/**
 * Heap bytes per weight byte on wasm: XNNPACK keeps a packed copy of each matmul weight beside the
 * tensor (docs/benchmarks.md: SmolLM2-360M's 1447 MB of fp32 weights grow the heap to 3057 MB).
 */
export const WASM_PACKED_FACTOR = 2.1;

/** Bytes per value as loom-tfjs holds weights today (float32 on every backend). */
export const BYTES_PER_WEIGHT = 4;

/**
 * Bytes per weight value in the wasm kernels by dtype: q8 / q4 hold blocks of 32 values with one
 * float32 scale (src/kernels/quantize.ts).
 */
export const KERNEL_BYTES_PER_WEIGHT: Readonly<Record<'fp32' | 'bf16' | 'q8' | 'q4', number>> = {
  fp32: 4,
  bf16: 2,
  q8: 1 + 4 / 32,
  q4: 0.5 + 4 / 32,
};

/** What a backend can hold. */
export interface MemoryAvailable {
  /** Bytes available (Infinity when the backend does not say). */
  readonly bytes: number;
  /** Where the figure comes from, for messages. */
  readonly source: string;
}

/**
 * Bytes available to new tensors on `backend` (default: the current one): wasm, 90% of its 4 GiB
 * heap minus the bytes tensors already hold (a 3.9 GB model would load and then fail in its first
 * matmul); cpu in Node, the machine's total memory; otherwise unknown.
 */
export function availableBytes(backend: string = tf.getBackend()): MemoryAvailable {
  if (backend === 'wasm') {
    return {
      bytes: WASM_HEAP_BYTES * (1 - WASM_RESERVE_FRACTION) - tf.memory().numBytes,
      source: `the wasm backend's 4 GiB heap, less ${WASM_RESERVE_FRACTION * 100}% kept for activations and the KV cache, less tensors already allocated`,
    };
  }
  if (backend === 'cpu' && typeof process !== 'undefined' && process.versions?.node) {
    const os = require('os') as typeof import('os');
    return { bytes: os.totalmem(), source: 'the machine\'s total memory' };
  }
  return { bytes: Infinity, source: `unknown for backend ${backend}` };
}

/** Values of every floating-point tensor of `weights` (the ones that become float32 tensors). */
export function floatValues(weights: ShapeListing): number {
  let n = 0;
  for (const name of weights.names) {
    const e = weights.entry(name);
    if (e.dtype === undefined || FLOAT_DTYPES.has(e.dtype as SafetensorsDtype)) n += e.shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** Options of {@link assertModelFits}. */
export interface MemoryCheckOptions {
  /** Backend to check (default: the current one). */
  backend?: string;
  /** Override of the bytes available (e.g. a budget smaller than the backend's limit). */
  limitBytes?: number;
  /**
   * The model runs on the wasm kernels with weights packed at this many bytes per value (fp32 4,
   * bf16 2, q8 1.125, q4 0.625): checked against the kernel heap (4 GiB, 10% kept for the KV cache
   * and activations), with no XNNPACK copies.
   */
  kernelBytesPerWeight?: number;
}

/**
 * Refuses a model of `values` float weights that would not fit: on the tfjs op chain needed =
 * values x 4 bytes (float32), x `WASM_PACKED_FACTOR` on wasm, compared with {@link availableBytes};
 * on the wasm kernels needed = values x `kernelBytesPerWeight`, compared with the kernel heap.
 * `limitBytes` overrides the available figure either way.
 * @throws OutOfMemoryError naming needed vs available bytes and what would fit.
 */
export function assertModelFits(values: number, what: string, options: MemoryCheckOptions = {}): void {
  const backend = options.backend ?? tf.getBackend();
  const onKernels = options.kernelBytesPerWeight !== undefined;
  const avail = options.limitBytes !== undefined
    ? { bytes: options.limitBytes, source: 'the memory limit given' }
    : onKernels
      ? { bytes: WASM_HEAP_BYTES * (1 - WASM_RESERVE_FRACTION), source: `the wasm kernels' 4 GiB heap, less ${WASM_RESERVE_FRACTION * 100}% kept for the KV cache and activations` }
      : availableBytes(backend);
  const factor = !onKernels && backend === 'wasm' ? WASM_PACKED_FACTOR : 1;
  const perWeight = options.kernelBytesPerWeight ?? BYTES_PER_WEIGHT;
  const needed = values * perWeight * factor;
  if (needed <= avail.bytes) return;
  throw new OutOfMemoryError(
    `${what}: ${values} weights need ${gib(needed)}` +
      (onKernels ? ' in the wasm kernels' : ` as float32 on the ${backend} backend`) +
      (factor !== 1 ? ` (${gib(values * BYTES_PER_WEIGHT)} of weights plus XNNPACK's packed copies)` : '') +
      `, but only ${gib(Math.max(0, avail.bytes))} is available (${avail.source}). ` +
      `As bf16 the weights would take ${gib(values * 2)}, as q8 ${gib(values * 1.125)}, as q4 ${gib(values * 0.625)}: ` +
      `load with { dtype: 'bf16' | 'q8' | 'q4' } on the wasm or cpu backend`,
    needed,
    Math.max(0, avail.bytes),
  );
}

/**
 * True for the errors a failed allocation throws (`RangeError: Invalid typed array length`,
 * `Array buffer allocation failed`, a wasm heap that cannot grow), which {@link asOutOfMemory}
 * turns typed.
 */
export function isAllocationFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof RangeError) return /typed array length|array buffer allocation|allocation failed|invalid array length/i.test(e.message);
  // wasm heap exhaustion (emscripten's abort texts, XNNPACK's out-of-memory status)
  return /Cannot enlarge memory|Out of memory|memory access out of bounds/i.test(e.message);
}

/** `e` as an OutOfMemoryError when it is an allocation failure, else `e` unchanged. */
export function asOutOfMemory(e: unknown, what: string): unknown {
  return isAllocationFailure(e) ? new OutOfMemoryError(`${what}: an allocation failed (${(e as Error).message}); the model does not fit in memory`) : e;
}
