/**
 * Names of loom-tfjs's custom tfjs kernels. Ops call them by name through `tf.engine().runKernel`
 * when the current backend has them registered (src/kernels/register_all_kernels.ts registers them
 * for the cpu and wasm backends once the wasm module is at hand: src/backends.ts), and run the tfjs
 * op chain otherwise, so ops never import the kernels (as tfjs-core's ops never import a backend).
 */
import * as tf from '@tensorflow/tfjs';

/** x (M, K) times w (N, K) transposed, + bias (N). */
export const LOOM_LINEAR = 'LoomLinear';
/** RMSNorm over the last axis of x (M, D) with gamma (D), attrs { eps }. */
export const LOOM_RMS_NORM = 'LoomRmsNorm';

/** Whether kernel `name` is registered for the current backend and can run here (shared memory). */
export function loomKernelRegistered(name: string): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && tf.getKernel(name, tf.getBackend()) !== undefined;
}
