/**
 * Gradient-check helpers for layer tests: tfjs autodiff of one layer versus central finite
 * differences of an independent float64 reference written in the test.
 */
import * as tf from '@tensorflow/tfjs';
import type { ForwardContext, GridLayer } from '../../layers/layer';
import { expectClose } from './fixtures';

/** A float64 reference forward: (input, parameters in the layer's param order) -> output. */
export type Reference64 = (x: Float64Array, params: readonly Float64Array[]) => ArrayLike<number>;

/** Forward output and gradients of sum(y * upstream) w.r.t. input and each parameter. */
export interface LayerGrads {
  y: Float32Array;
  dx: Float32Array;
  dparams: Float32Array[];
}

/** A plain forward context for tests. */
export function testContext(batchSize = 1, loomCompat = false, extra: Partial<ForwardContext> = {}): ForwardContext {
  return { batchSize, where: 'test layer', training: false, loomCompat, ...extra };
}

/** Deterministic pseudo-random values in [-scale, scale). */
export function seeded(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(((s / 4294967296) * 2 - 1) * scale);
  });
}

/** Autodiff on the current backend; no tensors are left behind. */
export function autodiff(layer: GridLayer, input: readonly number[], upstream: readonly number[], ctx: ForwardContext): LayerGrads {
  return tf.tidy(() => {
    const xv = tf.variable(tf.tensor1d([...input]), true);
    try {
      const vars = [xv, ...layer.params.map((p) => p.variable)];
      let y: Float32Array = new Float32Array(0);
      const { grads } = tf.variableGrads(() => {
        const out = layer.apply(xv as tf.Tensor1D, ctx);
        y = new Float32Array(out.dataSync() as Float32Array);
        return tf.sum(tf.mul(out, tf.tensor1d([...upstream]))) as tf.Scalar;
      }, vars);
      const read = (v: tf.Variable): Float32Array => {
        const g = grads[v.name];
        return g ? new Float32Array(g.dataSync() as Float32Array) : new Float32Array(v.size);
      };
      return { y, dx: read(xv), dparams: layer.params.map((p) => read(p.variable)) };
    } finally {
      xv.dispose();
    }
  });
}

/** Central differences (float64) of sum(ref(x, params) * upstream). */
export function finiteDifferences(
  ref: Reference64,
  input: readonly number[],
  params: readonly (readonly number[])[],
  upstream: readonly number[],
  eps = 1e-6,
): { y: Float64Array; dx: Float64Array; dparams: Float64Array[] } {
  const x = Float64Array.from(input);
  const ps = params.map((p) => Float64Array.from(p));
  const loss = (): number => {
    const out = ref(x, ps);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += (out[i] as number) * (upstream[i] as number);
    return s;
  };
  const grad = (v: Float64Array): Float64Array => {
    const g = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const keep = v[i] as number;
      v[i] = keep + eps;
      const up = loss();
      v[i] = keep - eps;
      const down = loss();
      v[i] = keep;
      g[i] = (up - down) / (2 * eps);
    }
    return g;
  };
  return { y: Float64Array.from(ref(x, ps)), dx: grad(x), dparams: ps.map(grad) };
}

/** Values of every parameter of a layer, in param order. */
export function paramValues(layer: GridLayer): number[][] {
  return layer.params.map((p) => Array.from(p.variable.dataSync() as Float32Array));
}

/**
 * Checks forward against the float64 reference and autodiff gradients (input and every weight)
 * against its finite differences. Returns the autodiff result for cross-backend comparisons.
 */
export function checkLayerGradients(
  layer: GridLayer,
  ref: Reference64,
  input: readonly number[],
  ctx: ForwardContext,
  opts: { atol?: number; rtol?: number; fwdAtol?: number; seed?: number } = {},
): LayerGrads {
  const before = tf.memory().numTensors;
  const probe = tf.tidy(() => layer.apply(tf.tensor1d([...input]), ctx).size);
  const upstream = seeded(probe, opts.seed ?? 99);
  const ad = autodiff(layer, input, upstream, ctx);
  expect(tf.memory().numTensors).toBe(before);
  const fd = finiteDifferences(ref, input, paramValues(layer), upstream);
  const tol = { atol: opts.atol ?? 1e-3, rtol: opts.rtol ?? 1e-3 };
  expectClose(ad.y, fd.y, { atol: opts.fwdAtol ?? 1e-5, rtol: 1e-4 }, 'forward vs float64 reference');
  expectClose(ad.dx, fd.dx, tol, 'd input');
  ad.dparams.forEach((g, i) => expectClose(g, fd.dparams[i] as Float64Array, tol, `d ${layer.params[i]?.name}`));
  return ad;
}

/** Asserts two gradient sets agree (e.g. wasm versus cpu). */
export function expectSameGrads(a: LayerGrads, b: LayerGrads, atol = 1e-4): void {
  expectClose(a.y, b.y, { atol, rtol: 0 }, 'forward');
  expectClose(a.dx, b.dx, { atol, rtol: 0 }, 'd input');
  a.dparams.forEach((g, i) => expectClose(g, b.dparams[i] as Float32Array, { atol, rtol: 0 }, `d param ${i}`));
}

/** float64 LOOM activations (layers.md 1.2). */
export const ACT64: readonly ((v: number) => number)[] = [
  (v) => Math.max(0, 1.1 * v),
  (v) => 1 / (1 + Math.exp(-v)),
  (v) => Math.tanh(v),
  (v) => Math.log1p(Math.exp(v)),
  (v) => (v < 0 ? 0.1 * v : v),
];

/** float64 activation by LOOM code (anything else: identity). */
export function act64(code: number, v: number): number {
  const f = ACT64[code];
  return f ? f(v) : v;
}

/** float64 softmax of a vector divided by t. */
export function softmax64(z: ArrayLike<number>, t = 1): number[] {
  const s = Array.from(z, (v) => v / t);
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** float64 dense: x (B*in) with kernel [in][out], bias [out], activation. */
export function dense64(x: ArrayLike<number>, kernel: ArrayLike<number>, bias: ArrayLike<number>, nIn: number, nOut: number, act: number, batch = 1): number[] {
  const y: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < nOut; o++) {
      let s = bias[o] as number;
      for (let i = 0; i < nIn; i++) s += (x[b * nIn + i] as number) * (kernel[i * nOut + o] as number);
      y.push(act64(act, s));
    }
  }
  return y;
}
