/**
 * When models run on the wasm kernels: on by default on the `wasm` and `cpu` backends (the cpu
 * backend runs the same wasm module: far faster than its JS loops), off on `webgpu`; `kernels: false`
 * forces the tfjs op chain (the reference the kernels are tested against).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelModuleAvailable } from '../kernels/module';
import { KERNEL_BACKENDS } from '../kernels/runtime';
import type { WeightDtype } from '../kernels/quantize';
import type { ModuleDtypes } from '../kernels/dtype_plan';

/** Options of model building / loading that pick the engine. */
export interface KernelOptions {
  /** Run on loom-tfjs's wasm kernels (default: true on the wasm and cpu backends, false on webgpu). */
  readonly kernels?: boolean;
  /** Weight storage format in the kernels (default fp32; bf16 / q8 / q4 need the kernels). */
  readonly dtype?: WeightDtype;
  /** Per-module overrides of `dtype`, e.g. `{ lm_head: 'q8', embed: 'q8' }` (src/kernels/dtype_plan.ts). */
  readonly moduleDtypes?: ModuleDtypes;
}


/**
 * Whether a model built now uses the kernels when the options do not say: on the wasm and cpu
 * backends where SharedArrayBuffer exists and the module is at hand (Node: always; a browser page
 * after `provideKernelModule`).
 */
export function kernelsByDefault(): boolean {
  return KERNEL_BACKENDS.includes(tf.getBackend()) && typeof SharedArrayBuffer !== 'undefined' && kernelModuleAvailable();
}

/**
 * Runs `fn` with tfjs on the cpu backend and switches back to the previous one. Both switches are
 * synchronous once a backend is initialized (cpu always is: backends.ts starts on it).
 */
export function onCpuBackend<T>(fn: () => T): T {
  const prev = tf.getBackend();
  if (prev === 'cpu') return fn();
  void tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    void tf.setBackend(prev);
  }
}
