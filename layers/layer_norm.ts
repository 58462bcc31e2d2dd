/**
 * LayerNorm: each row of `normSize` values -> (x - mean) / sqrt(var + eps) * gamma + beta
 * (population variance). Ref: loom-spec/layers.md 3.7.
 *
 * Every row is normalised. LOOM normalises only the first `BatchSize` rows and outputs 0 for the
 * rest (gaps.md A4); `loomCompat` (network option or record ext) reproduces that.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import {
  makeVariable,
  readVariable,
  type ForwardContext,
  type GridLayer,
  type LayerInitFunction,
  type LayerKind,
  type LayerParam,
  type LayerSummary,
  type LoomGradients,
} from './layer';

/** LOOM's run-time epsilon when the record holds 0. */
export const LAYER_NORM_DEFAULT_EPSILON = 1e-5;

/** Serializable configuration of a LayerNorm layer. */
export interface LayerNormConfig {
  readonly type: 'layer_norm';
  /** Row length N. */
  readonly normSize: number;
  /** Added to the variance; 0 means 1e-5 (LOOM). */
  readonly epsilon: number;
  /** LOOM's `Activation` (unused; kept for saving). */
  readonly activation: number;
  /** LOOM's quirk: only the first `batchSize` rows are normalised, the rest output 0. */
  readonly loomCompat: boolean;
}

/** LayerNorm weights; each is optional (LOOM skips the multiply / add when absent). */
export interface LayerNormWeights {
  readonly gamma: Float32Array | null; // (N)
  readonly beta: Float32Array | null; // (N)
}

/** Checks an optional per-row weight vector: absent, empty or exactly N long. */
export function checkRowWeight(w: Float32Array | null, n: number, name: string, where: string): Float32Array | null {
  if (!w || w.length === 0) return null;
  if (w.length !== n) throw new ShapeError(`${where}: ${name} has ${w.length} values, expected norm size ${n}`);
  return w;
}

/** Normalises rows of x (rows, N): (rows, N). */
function normalizeRows(x: tf.Tensor2D, eps: number): tf.Tensor2D {
  const mean = tf.mean(x, 1, true); // (rows, 1)
  const d = tf.sub(x, mean); // (rows, N)
  const variance = tf.mean(tf.square(d), 1, true); // (rows, 1)
  return tf.div(d, tf.sqrt(tf.add(variance, eps)));
}

/** A LayerNorm layer (LOOM type 6); gamma and beta, when present, are trainable. */
export class LayerNormLayer implements GridLayer {
  static readonly className = 'LayerNorm';
  readonly kind: LayerKind = layerNormKind;
  readonly params: readonly LayerParam[];
  private readonly gamma: tf.Variable | null; // (N)
  private readonly beta: tf.Variable | null; // (N)
  private readonly ext: LayerRecord['ext'];

  /** @throws ConfigError for a bad size; ShapeError when gamma/beta are not N long. */
  constructor(
    readonly config: LayerNormConfig,
    weights: LayerNormWeights,
    where = 'layer_norm',
    ext: LayerRecord['ext'] = {},
  ) {
    const n = config.normSize;
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${where}: norm size must be a positive integer, got ${n}`);
    if (!Number.isFinite(config.epsilon) || config.epsilon < 0) throw new ConfigError(`${where}: epsilon must be >= 0, got ${config.epsilon}`);
    const g = checkRowWeight(weights.gamma, n, 'gamma', where);
    const b = checkRowWeight(weights.beta, n, 'beta', where);
    this.gamma = g ? makeVariable(g, [n]) : null;
    this.beta = b ? makeVariable(b, [n]) : null;
    const params: LayerParam[] = [];
    if (this.gamma) params.push({ name: 'gamma', variable: this.gamma });
    if (this.beta) params.push({ name: 'beta', variable: this.beta });
    this.params = params;
    this.ext = { ...ext };
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const n = this.config.normSize;
    const eps = this.config.epsilon === 0 ? LAYER_NORM_DEFAULT_EPSILON : this.config.epsilon;
    const loom = ctx.loomCompat || this.config.loomCompat;
    const fullRows = Math.floor(x.size / n);
    if (!loom && x.size !== fullRows * n) {
      throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected a multiple of norm size ${n}`);
    }
    // LOOM: rows b < BatchSize only; a row past the end stops the loop
    const rows = loom ? Math.min(Math.max(0, ctx.batchSize), fullRows) : fullRows;
    if (rows === 0) return tf.zeros([x.size]);
    let y = normalizeRows(x.slice(0, rows * n).reshape([rows, n]), eps); // (rows, N)
    if (this.gamma) y = tf.mul(y, this.gamma);
    if (this.beta) y = tf.add(y, this.beta);
    const flat = y.reshape([rows * n]); // (rows*N)
    return (rows * n === x.size ? flat : tf.concat([flat, tf.zeros([x.size - rows * n])])) as tf.Tensor1D;
  }

  toRecord(): LayerRecord {
    const r = emptyRecord(LayerType.LayerNorm);
    r.activation = this.config.activation;
    r.normSize = this.config.normSize;
    r.epsilon = this.config.epsilon;
    r.gamma = this.gamma ? readVariable(this.gamma) : null;
    r.beta = this.beta ? readVariable(this.beta) : null;
    r.ext = { ...this.ext };
    if (this.config.loomCompat) r.ext['loomCompat'] = true;
    else delete r.ext['loomCompat'];
    return r;
  }

  /** LOOM has no LayerNorm gradients; ours: kernel = dGamma, bias = dBeta. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    let i = 0;
    const kernel = this.gamma ? (grads[i++] ?? null) : null;
    const bias = this.beta ? (grads[i] ?? null) : null;
    return { kernel, bias };
  }

  summary(): LayerSummary {
    return {
      type: 'layer_norm',
      detail: `${this.config.normSize}, eps ${this.config.epsilon || LAYER_NORM_DEFAULT_EPSILON}`,
      inputSize: () => undefined,
      outputSize: () => undefined,
    };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** `InitLayerNormLayer(normSize, epsilon)` (loom-tfjs; LOOM has none): gamma 1s, beta 0s. */
const INIT_LAYER_NORM: LayerInitFunction = {
  name: 'InitLayerNormLayer',
  argTypes: ['int', 'float32'],
  argNames: ['normSize', 'epsilon'],
  create([n, eps]) {
    const r = emptyRecord(LayerType.LayerNorm);
    r.normSize = n as number;
    r.epsilon = Math.fround(eps as number);
    return layerNormKind.initializeWeights(r, Math.random);
  },
};

/** Registry entry of the LayerNorm layer (LOOM type 6). */
export const layerNormKind: LayerKind = {
  name: 'layer_norm',
  loomType: LayerType.LayerNorm,
  jsonNames: ['layer_norm', 'layernorm'],
  residualRole: 'adds-input',
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: LayerNormConfig = {
      type: 'layer_norm',
      normSize: r.normSize,
      epsilon: r.epsilon,
      activation: r.activation,
      loomCompat: r.ext['loomCompat'] === true,
    };
    return new LayerNormLayer(config, { gamma: r.gamma, beta: r.beta }, where, r.ext);
  },
  // network.md 8.1: NormSize > 0 -> Gamma = 1s, Beta = 0s
  initializeWeights(r: LayerRecord): LayerRecord {
    if (r.normSize <= 0) return r;
    return { ...r, gamma: new Float32Array(r.normSize).fill(1), beta: new Float32Array(r.normSize) };
  },
  initFunctions: [INIT_LAYER_NORM],
};
