/**
 * Independent float64 reference forwards of Conv2D, MultiHeadAttention, RNN and LSTM written
 * straight from loom-spec/layers.md 3.2-3.5 (plain loops, no tfjs), plus a finite-difference
 * gradient check on them and small helpers for one-layer networks.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerRecord } from '../../src/core/layer_record';
import { Network } from '../../src/network/network';
import { expectClose } from './fixtures';

/** LOOM activation in float64 (layers.md 1.2). */
export function act64(v: number, code: number): number {
  switch (code) {
    case 0:
      return Math.max(0, 1.1 * v);
    case 1:
      return 1 / (1 + Math.exp(-v));
    case 2:
      return Math.tanh(v);
    case 3:
      return Math.log1p(Math.exp(v));
    case 4:
      return v < 0 ? 0.1 * v : v;
    default:
      return v;
  }
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Sizes of a Conv2D reference call. */
export interface ConvDims {
  B: number;
  C: number;
  H: number;
  W: number;
  F: number;
  k: number;
  s: number;
  p: number;
  OH: number;
  OW: number;
  act: number;
}

/** Conv2D forward, params [kernel [F][C][k][k], bias [F]]. */
export function conv2dRef(d: ConvDims): (x: Float64Array, p: Float64Array[]) => Float64Array {
  return (x, [K, bias]) => {
    const y = new Float64Array(d.B * d.F * d.OH * d.OW);
    for (let b = 0; b < d.B; b++)
      for (let f = 0; f < d.F; f++)
        for (let oh = 0; oh < d.OH; oh++)
          for (let ow = 0; ow < d.OW; ow++) {
            let sum = bias![f]!;
            for (let c = 0; c < d.C; c++)
              for (let kh = 0; kh < d.k; kh++)
                for (let kw = 0; kw < d.k; kw++) {
                  const ih = oh * d.s + kh - d.p;
                  const iw = ow * d.s + kw - d.p;
                  if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                  sum += x[((b * d.C + c) * d.H + ih) * d.W + iw]! * K![((f * d.C + c) * d.k + kh) * d.k + kw]!;
                }
            y[((b * d.F + f) * d.OH + oh) * d.OW + ow] = act64(sum, d.act);
          }
    return y;
  };
}

/** Sizes and options of an MHA reference call. */
export interface MhaDims {
  D: number;
  Hq: number;
  Hkv: number;
  hd: number;
  rope: boolean;
  theta: number;
  causal: boolean;
}

/** MHA forward on one sequence, params [Wq, Wk, Wv, Wo, bq, bk, bv, bo] in LOOM's [in][out] layout. */
export function mhaRef(d: MhaDims): (x: Float64Array, p: Float64Array[]) => Float64Array {
  return (x, [Wq, Wk, Wv, Wo, bq, bk, bv, bo]) => {
    const { D, Hq, Hkv, hd } = d;
    const S = Math.floor(x.length / D);
    const kv = Hkv * hd;
    const proj = (W: Float64Array, bias: Float64Array, n: number): Float64Array => {
      const out = new Float64Array(S * n);
      for (let s = 0; s < S; s++)
        for (let o = 0; o < n; o++) {
          let v = bias[o]!;
          for (let i = 0; i < D; i++) v += x[s * D + i]! * W[i * n + o]!;
          out[s * n + o] = v;
        }
      return out;
    };
    const Q = proj(Wq!, bq!, D);
    const K = proj(Wk!, bk!, kv);
    const V = proj(Wv!, bv!, kv);
    const half = Math.floor(hd / 2);
    const rope = (vec: Float64Array, base: number, pos: number): number[] => {
      const v = Array.from(vec.subarray(base, base + hd));
      if (!d.rope) return v;
      const out = v.slice();
      for (let i = 0; i < half; i++) {
        const a = pos / Math.pow(d.theta, (2 * i) / hd);
        const [c, sn] = [Math.cos(a), Math.sin(a)];
        out[i] = v[i]! * c - v[i + half]! * sn;
        out[i + half] = v[i + half]! * c + v[i]! * sn;
      }
      return out;
    };
    const C = new Float64Array(S * D);
    const group = Hq / Hkv;
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / group);
      const qs = Array.from({ length: S }, (_, s) => rope(Q.subarray(s * D), h * hd, s));
      const ks = Array.from({ length: S }, (_, s) => rope(K.subarray(s * kv), g * hd, s));
      for (let q = 0; q < S; q++) {
        const scores = ks.map((kvec, k) => {
          if (d.causal && k > q) return -Infinity;
          return kvec.reduce((a, kk, j) => a + kk * qs[q]![j]!, 0) / Math.sqrt(hd);
        });
        const m = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < hd; j++) {
          let o = 0;
          for (let k = 0; k < S; k++) o += (e[k]! / z) * V[k * kv + g * hd + j]!;
          C[q * D + h * hd + j] = o;
        }
      }
    }
    const y = new Float64Array(S * D);
    for (let s = 0; s < S; s++)
      for (let o = 0; o < D; o++) {
        let v = bo![o]!;
        for (let i = 0; i < D; i++) v += C[s * D + i]! * Wo![i * D + o]!;
        y[s * D + o] = v;
      }
    return y;
  };
}

/** Sizes of a recurrent reference call. */
export interface RecDims {
  B: number;
  S: number;
  I: number;
  H: number;
}

const gateSum = (x: Float64Array, xo: number, h: Float64Array, Wih: Float64Array, Whh: Float64Array, b: Float64Array, j: number, d: RecDims): number => {
  let v = b[j]!;
  for (let i = 0; i < d.I; i++) v += Wih[j * d.I + i]! * x[xo + i]!;
  for (let k = 0; k < d.H; k++) v += Whh[j * d.H + k]! * h[k]!;
  return v;
};

/** RNN forward, params [WIH [H][I], WHH [H][H], b [H]]. */
export function rnnRef(d: RecDims): (x: Float64Array, p: Float64Array[]) => Float64Array {
  return (x, [Wih, Whh, b]) => {
    const y = new Float64Array(d.B * d.S * d.H);
    for (let bb = 0; bb < d.B; bb++) {
      let h = new Float64Array(d.H);
      for (let t = 0; t < d.S; t++) {
        const next = new Float64Array(d.H);
        for (let j = 0; j < d.H; j++) next[j] = Math.tanh(gateSum(x, (bb * d.S + t) * d.I, h, Wih!, Whh!, b!, j, d));
        h = next;
        y.set(h, (bb * d.S + t) * d.H);
      }
    }
    return y;
  };
}

/** LSTM forward, params per gate i, f, g, o: [WIH, WHH, b] (12 arrays). */
export function lstmRef(d: RecDims): (x: Float64Array, p: Float64Array[]) => Float64Array {
  return (x, p) => {
    const y = new Float64Array(d.B * d.S * d.H);
    for (let bb = 0; bb < d.B; bb++) {
      let h = new Float64Array(d.H);
      const c = new Float64Array(d.H);
      for (let t = 0; t < d.S; t++) {
        const xo = (bb * d.S + t) * d.I;
        const next = new Float64Array(d.H);
        for (let j = 0; j < d.H; j++) {
          const z = [0, 1, 2, 3].map((g) => gateSum(x, xo, h, p[3 * g]!, p[3 * g + 1]!, p[3 * g + 2]!, j, d));
          const [i, f, g, o] = [sigmoid(z[0]!), sigmoid(z[1]!), Math.tanh(z[2]!), sigmoid(z[3]!)];
          c[j] = f * c[j]! + i * g;
          next[j] = o * Math.tanh(c[j]!);
        }
        h = next;
        y.set(h, (bb * d.S + t) * d.H);
      }
    }
    return y;
  };
}

/** Deterministic pseudo-random values in [-scale, scale), rounded to float32. */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** A uniform [0,1) RNG for init functions. */
export function rngOf(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A 1x1xN network of the records, plain chain (no implicit residuals). */
export function chain(records: LayerRecord[], batchSize = 1): Network {
  return Network.fromRecords({ rows: 1, cols: 1, layersPerCell: records.length }, records, { batchSize, residualMode: 'none' });
}

/** Gradients of one backward of a one-layer network. */
export interface LayerGrads {
  output: Float32Array;
  input: Float32Array;
  /** LOOM layout kernel and bias gradients. */
  kernel: Float32Array | null;
  bias: Float32Array | null;
  /** Per-parameter gradients in the layer's parameter order. */
  params: Float32Array[];
}

/** forward(x), backward(g) of a one-layer network built from `record`; disposes it. */
export function layerGrads(record: LayerRecord, x: Float32Array, g: Float32Array, batchSize = 1): LayerGrads {
  const net = chain([record], batchSize);
  try {
    const output = net.forward(x);
    const input = net.backward(g);
    return {
      output,
      input,
      kernel: net.kernelGradients()[0] ?? null,
      bias: net.biasGradients()[0] ?? null,
      params: [...(net.parameterGradients(0) ?? [])],
    };
  } finally {
    net.dispose();
  }
}

/**
 * Central finite differences (float64, h = 1e-6) of `L = sum(ref(x, p) * g)` with respect to x and
 * every array of p.
 */
export function fdGrads(
  ref: (x: Float64Array, p: Float64Array[]) => Float64Array,
  x: ArrayLike<number>,
  params: readonly ArrayLike<number>[],
  g: ArrayLike<number>,
): { input: Float64Array; params: Float64Array[] } {
  const x64 = Float64Array.from(x);
  const p64 = params.map((p) => Float64Array.from(p));
  const loss = (): number => ref(x64, p64).reduce((a, v, i) => a + v * (g[i] as number), 0);
  const h = 1e-6;
  const diff = (arr: Float64Array): Float64Array =>
    arr.map((v0, i) => {
      arr[i] = v0 + h;
      const up = loss();
      arr[i] = v0 - h;
      const down = loss();
      arr[i] = v0;
      return (up - down) / (2 * h);
    });
  return { input: diff(x64), params: p64.map(diff) };
}

/**
 * Checks a layer's forward against its float64 reference and its exact gradients (input and LOOM
 * kernel/bias layout, given as `loomParams` split into the reference's parameter arrays) against FD.
 */
export function checkAgainstReference(
  what: string,
  ref: (x: Float64Array, p: Float64Array[]) => Float64Array,
  x: Float32Array,
  refParams: readonly Float32Array[],
  g: Float32Array,
  got: { output: Float32Array; input: Float32Array; params: readonly Float32Array[] },
): void {
  expectClose(got.output, ref(Float64Array.from(x), refParams.map((p) => Float64Array.from(p))), { atol: 1e-5, rtol: 1e-4 }, `${what} output`);
  const fd = fdGrads(ref, x, refParams, g);
  const tol = { atol: 1e-4, rtol: 1e-3 };
  expectClose(got.input, fd.input, tol, `${what} dL/dx`);
  fd.params.forEach((p, i) => expectClose(got.params[i] as Float32Array, p, tol, `${what} dL/dparam${i}`));
}

/** Splits `a` into consecutive pieces of the given lengths. */
export function splitAt(a: Float32Array, lengths: readonly number[]): Float32Array[] {
  let o = 0;
  return lengths.map((n) => a.slice(o, (o += n)));
}

/** `tf.memory().numTensors` now. */
export function tensorCount(): number {
  return tf.memory().numTensors;
}
