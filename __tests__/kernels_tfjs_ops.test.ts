/**
 * The registered tfjs kernels behind src/ops (LoomLinear, LoomRmsNorm) on cpu and wasm: values equal
 * the tfjs op chain within 1e-5 relative, gradients (tfjs's) agree too, no tensor leaks, and the
 * kernels are really registered for both backends.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { ShapeError } from '../src/core/errors';
import { LOOM_LINEAR, LOOM_RMS_NORM } from '../src/kernels/register_all_kernels';
import { kernelHeapBytes } from '../src/kernels/runtime';
import { loomLinear } from '../src/ops/loom_linear';
import { loomRmsNorm } from '../src/ops/loom_rms_norm';

function close(a: tf.Tensor, b: tf.Tensor): void {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(x.length).toBe(y.length);
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(y[i]!)));
}

describe.each(['cpu', 'wasm'] as const)('loom tfjs kernels on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend, { threads: 1 });
  });

  test('loomLinear = matMul(x, w^T) + bias, with gradients; loomRmsNorm = the RMSNorm op chain', () => {
    const heap0 = kernelHeapBytes();
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomUniform([5, 37], -1, 1, 'float32', 1) as tf.Tensor2D;
      const w = tf.randomUniform([19, 37], -1, 1, 'float32', 2) as tf.Tensor2D;
      const b = tf.randomUniform([19], -1, 1, 'float32', 3) as tf.Tensor1D;
      close(loomLinear(x, w, b), tf.add(tf.matMul(x, w, false, true), b));
      close(loomLinear(x, w), tf.matMul(x, w, false, true));
      const g = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.square(loomLinear(a as tf.Tensor2D, c as tf.Tensor2D, d as tf.Tensor1D))))([x, w, b]);
      const r = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(a, c, false, true), d))))([x, w, b]);
      g.forEach((t, i) => close(t, r[i]!));
      const gamma = tf.randomUniform([37], 0.5, 1.5, 'float32', 4) as tf.Tensor1D;
      close(loomRmsNorm(x, gamma, 1e-6), tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), gamma));
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(kernelHeapBytes()).toBe(heap0);
    expect(tf.getKernel(LOOM_LINEAR, backend)).toBeDefined();
    expect(tf.getKernel(LOOM_RMS_NORM, backend)).toBeDefined();
  });

  test('mismatched shapes are ShapeErrors', () => {
    tf.tidy(() => {
      expect(() => loomLinear(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow(ShapeError);
      expect(() => loomRmsNorm(tf.zeros([2, 3]), tf.zeros([4]), 1e-6)).toThrow(ShapeError);
    });
  });
});
