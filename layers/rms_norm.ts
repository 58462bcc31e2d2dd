/**
 * RMSNorm: each row of `normSize` values -> x / sqrt(mean(x^2) + eps) * gamma. Every complete row
 * is normalised (as LOOM, independent of the batch size). Ref: loom-spec/layers.md 3.9;
 * Zhang & Sennrich 2019. Gradients are exact (LOOM's branch backward divides by rms^2, gaps B15).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { checkRowWeight } from './layer_norm';
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
export const RMS_NORM_DEFAULT_EPSILON = 1e-6;

/** Serializable configuration of an RMSNorm layer. */
export interface RMSNormConfig {
  readonly type: 'rms_norm';
  /** Row length N. */
  readonly normSize: number;
  /** Added to mean(x^2); 0 means 1e-6 (LOOM's run-time default). */
  readonly epsilon: number;
  /** LOOM's `Activation` (unused; kept for saving). */
  readonly activation: number;
}

/** An RMSNorm layer (LOOM type 8); gamma, when present, is trainable. */
export class RMSNormLayer implements GridLayer {
  static readonly className = 'RMSNorm';
  readonly kind: LayerKind = rmsNormKind;
  readonly params: readonly LayerParam[];
  private readonly gamma: tf.Variable | null; // (N)
  private readonly ext: LayerRecord['ext'];

  /** @throws ConfigError for a bad size; ShapeError when gamma is not N long. */
  constructor(
    readonly config: RMSNormConfig,
    gamma: Float32Array | null,
    where = 'rms_norm',
    ext: LayerRecord['ext'] = {},
  ) {
    const n = config.normSize;
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${where}: norm size must be a positive integer, got ${n}`);
    if (!Number.isFinite(config.epsilon) || config.epsilon < 0) throw new ConfigError(`${where}: epsilon must be >= 0, got ${config.epsilon}`);
    const g = checkRowWeight(gamma, n, 'gamma', where);
    this.gamma = g ? makeVariable(g, [n]) : null;
    this.params = this.gamma ? [{ name: 'gamma', variable: this.gamma }] : [];
    this.ext = { ...ext };
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const n = this.config.normSize;
    const eps = this.config.epsilon === 0 ? RMS_NORM_DEFAULT_EPSILON : this.config.epsilon;
    const rows = Math.floor(x.size / n);
    if (rows * n !== x.size) throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected a multiple of norm size ${n}`);
    const x2 = x.reshape([rows, n]); // (rows, N)
    const rms = tf.sqrt(tf.add(tf.mean(tf.square(x2), 1, true), eps)); // (rows, 1)
    const y = tf.div(x2, rms); // (rows, N)
    return (this.gamma ? tf.mul(y, this.gamma) : y).reshape([x.size]); // (rows*N)
  }

  toRecord(): LayerRecord {
    const r = emptyRecord(LayerType.RMSNorm);
    r.activation = this.config.activation;
    r.normSize = this.config.normSize;
    r.epsilon = this.config.epsilon;
    r.gamma = this.gamma ? readVariable(this.gamma) : null;
    r.ext = { ...this.ext };
    return r;
  }

  /** LOOM stores no RMSNorm gradients at top level; ours: kernel = dGamma. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    return { kernel: this.gamma ? (grads[0] ?? null) : null, bias: null };
  }

  summary(): LayerSummary {
    return {
      type: 'rms_norm',
      detail: `${this.config.normSize}, eps ${this.config.epsilon || RMS_NORM_DEFAULT_EPSILON}`,
      inputSize: () => undefined,
      outputSize: () => undefined,
    };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** `InitRMSNormLayer(normSize, epsilon)` (loom-tfjs; LOOM has none): gamma 1s. */
const INIT_RMS_NORM: LayerInitFunction = {
  name: 'InitRMSNormLayer',
  argTypes: ['int', 'float32'],
  argNames: ['normSize', 'epsilon'],
  create([n, eps]) {
    const r = emptyRecord(LayerType.RMSNorm);
    r.normSize = n as number;
    r.epsilon = Math.fround(eps as number);
    return rmsNormKind.initializeWeights(r, Math.random);
  },
};

/** Registry entry of the RMSNorm layer (LOOM type 8). */
export const rmsNormKind: LayerKind = {
  name: 'rms_norm',
  loomType: LayerType.RMSNorm,
  jsonNames: ['rms_norm', 'rmsnorm'],
  residualRole: 'records-input',
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: RMSNormConfig = { type: 'rms_norm', normSize: r.normSize, epsilon: r.epsilon, activation: r.activation };
    return new RMSNormLayer(config, r.gamma, where, r.ext);
  },
  // network.md 8.1: NormSize > 0 -> Gamma = 1s
  initializeWeights(r: LayerRecord): LayerRecord {
    if (r.normSize <= 0) return r;
    return { ...r, gamma: new Float32Array(r.normSize).fill(1) };
  },
  initFunctions: [INIT_RMS_NORM],
};
