/**
 * The one registration list of loom-tfjs's tfjs kernels: custom kernel names run on the wasm module
 * (src/kernels/c) for the `wasm` and `cpu` backends. Ops in src/ops call them through
 * `tf.engine().runKernel` and fall back to the tfjs op chain elsewhere.
 *
 * - `LoomLinear`: inputs { x (M, K), w (N, K) [out, in], bias? (N) } -> (M, N) = x w^T + bias
 * - `LoomRmsNorm`: inputs { x (M, D), gamma (D) }, attrs { eps } -> (M, D)
 */
import * as tf from '@tensorflow/tfjs';
import { OP } from './pool';
import { KERNEL_BACKENDS, kernelRuntime } from './runtime';
import { makeFloats, readFloats, Staging } from './tfjs_kernel_io';

import { LOOM_LINEAR, LOOM_RMS_NORM } from '../ops/kernel_names';

export { LOOM_LINEAR, LOOM_RMS_NORM } from '../ops/kernel_names';

/** Backends the kernels are registered for (the runtime's list). */
export const LOOM_KERNEL_BACKENDS: readonly string[] = KERNEL_BACKENDS;

const linear: tf.KernelFunc = ({ inputs, backend }) => {
  const { x, w, bias } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
  const [M, K] = x.shape as [number, number];
  const N = w.shape[0]!;
  const rt = kernelRuntime();
  const s = new Staging(rt.heap);
  try {
    const px = s.put(readFloats(backend, x));
    const pw = s.put(readFloats(backend, w));
    const pb = bias ? s.put(readFloats(backend, bias)) : 0;
    const py = s.alloc(M * N);
    const { chunk, nchunks } = rt.pool.split(N, 4);
    rt.pool.run(OP.linearF32, chunk, nchunks, [px, M, K, pw, pb, py, N, 0]);
    return makeFloats(backend, [M, N], s.take(py, M * N));
  } finally {
    s.free();
  }
};

const rmsNorm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo };
  const [M, D] = x.shape as [number, number];
  const eps = (attrs as { eps: number }).eps;
  const rt = kernelRuntime();
  const s = new Staging(rt.heap);
  try {
    const px = s.put(readFloats(backend, x));
    const pg = s.put(readFloats(backend, gamma));
    rt.exports.loom_rms_norm(px, M, D, pg, eps, px);
    return makeFloats(backend, [M, D], s.take(px, M * D));
  } finally {
    s.free();
  }
};

/** Every kernel: name -> implementation. Adding one = one function + one line. */
export const LOOM_TFJS_KERNELS: Readonly<Record<string, tf.KernelFunc>> = {
  [LOOM_LINEAR]: linear,
  [LOOM_RMS_NORM]: rmsNorm,
};

let registered = false;

/** Registers every kernel for every backend in {@link LOOM_KERNEL_BACKENDS} (idempotent). */
export function registerLoomKernels(): void {
  if (registered) return;
  for (const backendName of LOOM_KERNEL_BACKENDS) {
    for (const [kernelName, kernelFunc] of Object.entries(LOOM_TFJS_KERNELS)) {
      if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
  registered = true;
}
