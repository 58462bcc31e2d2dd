/**
 * RMSNorm: each row of `normSize` values -> x / sqrt(mean(x^2) + eps) * gamma. Every complete row
 * is normalised (as LOOM, independent of the batch size). Ref: loom-spec/layers.md 3.9;
 * Zhang & Sennrich 2019. Gradients are exact (LOOM's branch backward divides by rms^2, gaps B15).
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../src/core/errors';
import type { LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { rmsNorm } from '../src/ops/rms_norm';
import type { ForwardContext, GridLayer, LayerKind, LayerParam, LayerSummary, LoomGradients } from './layer';
import {
  initializeNormWeights,
  makeNormVariables,
  normEpsilon,
  normGradients,
  normInitFunction,
  normRecord,
  normSummary,
  type NormVariables,
} from './norm_common';

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
export class RMSNormLayer implements GridLayer<RMSNormConfig> {
  static readonly className = 'RMSNorm';
  readonly kind: LayerKind = rmsNormKind;
  readonly params: readonly LayerParam[];
  private readonly vars: NormVariables; // gamma (N); no beta
  private readonly ext: LayerRecord['ext'];

  /** @throws ConfigError for a bad size; ShapeError when gamma is not N long. */
  constructor(
    readonly config: RMSNormConfig,
    gamma: Float32Array | null,
    where = 'rms_norm',
    ext: LayerRecord['ext'] = {},
  ) {
    this.vars = makeNormVariables(config, { gamma }, where);
    this.params = this.vars.params;
    this.ext = { ...ext };
  }

  /**
   * The LOOM record of an RMSNorm layer with this config and gamma, holding no tensors afterwards
   * (unlike `new RMSNormLayer(...).toRecord()`, whose layer keeps its variable until `dispose()`).
   * @throws as the constructor.
   */
  static record(config: RMSNormConfig, gamma: Float32Array | null, where = 'rms_norm'): LayerRecord {
    const layer = new RMSNormLayer(config, gamma, where);
    try {
      return layer.toRecord();
    } finally {
      layer.dispose();
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const n = this.config.normSize;
    const eps = normEpsilon(this.config.epsilon, RMS_NORM_DEFAULT_EPSILON);
    const rows = Math.floor(x.size / n);
    if (rows * n !== x.size) throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected a multiple of norm size ${n}`);
    const y = rmsNorm(x.reshape([rows, n]), this.vars.gamma as tf.Tensor1D | null, eps); // (rows, N)
    return y.reshape([x.size]); // (rows*N)
  }

  getConfig(): RMSNormConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    return normRecord(LayerType.RMSNorm, this.config, this.vars, this.ext);
  }

  /** LOOM stores no RMSNorm gradients at top level; ours: kernel = dGamma. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    return normGradients(this.vars, grads);
  }

  summary(): LayerSummary {
    return normSummary('rms_norm', this.config, RMS_NORM_DEFAULT_EPSILON);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** Registry entry of the RMSNorm layer (LOOM type 8). */
export const rmsNormKind: LayerKind = {
  name: 'rms_norm',
  loomType: LayerType.RMSNorm,
  jsonNames: ['rms_norm', 'rmsnorm'],
  residualRole: 'records-input',
  loomJsonKeys: { definition: ['norm_size', 'epsilon'], weights: ['gamma'] },
  // format.md 8: epsilon 0 -> float32(1e-5)
  applyArchitectureRules(r) {
    if (r.epsilon === 0) r.epsilon = Math.fround(1e-5);
  },
  tfjsClassName: 'LoomRMSNorm',
  batchesSamples: true,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: RMSNormConfig = { type: 'rms_norm', normSize: r.normSize, epsilon: r.epsilon, activation: r.activation };
    return new RMSNormLayer(config, r.gamma, where, r.ext);
  },
  // network.md 8.1: NormSize > 0 -> Gamma = 1s
  initializeWeights(r: LayerRecord): LayerRecord {
    return initializeNormWeights(r, false);
  },
  // loom-tfjs (LOOM has none): gamma 1s
  initFunctions: [normInitFunction('InitRMSNormLayer', LayerType.RMSNorm, false)],
};
