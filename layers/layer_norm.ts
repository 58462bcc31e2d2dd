/**
 * LayerNorm: each row of `normSize` values -> (x - mean) / sqrt(var + eps) * gamma + beta
 * (population variance). Ref: loom-spec/layers.md 3.7.
 *
 * Every row is normalised. LOOM normalises only the first `BatchSize` rows and outputs 0 for the
 * rest (gaps.md A4); `loomCompat` (network option or record ext) reproduces that.
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../src/core/errors';
import { otherExt, readExt, writeExt, type ExtField } from '../src/core/layer_ext';
import type { LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { layerNorm } from '../src/ops/layer_norm';
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

export { checkRowWeight } from './norm_common';

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

/** loom-tfjs settings in `record.ext`: `loomCompat: true` reproduces LOOM's first-BatchSize-rows quirk. */
const LAYER_NORM_EXT: readonly ExtField[] = [{ key: 'loomCompat', field: 'loomCompat', type: 'boolean', loomDefault: false }];

/** LayerNorm weights; each is optional (LOOM skips the multiply / add when absent). */
export interface LayerNormWeights {
  readonly gamma: Float32Array | null; // (N)
  readonly beta: Float32Array | null; // (N)
}

/** A LayerNorm layer (LOOM type 6); gamma and beta, when present, are trainable. */
export class LayerNormLayer implements GridLayer<LayerNormConfig> {
  static readonly className = 'LayerNorm';
  readonly kind: LayerKind = layerNormKind;
  readonly params: readonly LayerParam[];
  private readonly vars: NormVariables; // gamma (N), beta (N)
  private readonly ext: LayerRecord['ext'];

  /** @throws ConfigError for a bad size; ShapeError when gamma/beta are not N long. */
  constructor(
    readonly config: LayerNormConfig,
    weights: LayerNormWeights,
    where = 'layer_norm',
    ext: LayerRecord['ext'] = {},
  ) {
    this.vars = makeNormVariables(config, weights, where);
    this.params = this.vars.params;
    this.ext = { ...ext };
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const n = this.config.normSize;
    const eps = normEpsilon(this.config.epsilon, LAYER_NORM_DEFAULT_EPSILON);
    const loom = ctx.loomCompat || this.config.loomCompat;
    const fullRows = Math.floor(x.size / n);
    if (!loom && x.size !== fullRows * n) {
      throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected a multiple of norm size ${n}`);
    }
    // LOOM: rows b < BatchSize only; a row past the end stops the loop
    const rows = loom ? Math.min(Math.max(0, ctx.batchSize), fullRows) : fullRows;
    if (rows === 0) return tf.zeros([x.size]);
    const { gamma, beta } = this.vars;
    const y = layerNorm(x.slice(0, rows * n).reshape([rows, n]), gamma as tf.Tensor1D | null, beta as tf.Tensor1D | null, eps); // (rows, N)
    const flat = y.reshape([rows * n]); // (rows*N)
    return (rows * n === x.size ? flat : tf.concat([flat, tf.zeros([x.size - rows * n])])) as tf.Tensor1D;
  }

  getConfig(): LayerNormConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const ext = { ...otherExt(this.ext, LAYER_NORM_EXT), ...writeExt({ loomCompat: this.config.loomCompat }, LAYER_NORM_EXT) };
    return normRecord(LayerType.LayerNorm, this.config, this.vars, ext);
  }

  /** LOOM has no LayerNorm gradients; ours: kernel = dGamma, bias = dBeta. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    return normGradients(this.vars, grads);
  }

  summary(): LayerSummary {
    return normSummary('layer_norm', this.config, LAYER_NORM_DEFAULT_EPSILON);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** Registry entry of the LayerNorm layer (LOOM type 6). */
export const layerNormKind: LayerKind = {
  name: 'layer_norm',
  loomType: LayerType.LayerNorm,
  jsonNames: ['layer_norm', 'layernorm'],
  residualRole: 'adds-input',
  loomJsonKeys: { definition: ['norm_size', 'epsilon'], weights: ['gamma', 'beta'] },
  // format.md 8: epsilon 0 -> float32(1e-5)
  applyArchitectureRules(r) {
    if (r.epsilon === 0) r.epsilon = Math.fround(1e-5);
  },
  tfjsClassName: 'LoomLayerNorm',
  batchesSamples: false,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: LayerNormConfig = {
      type: 'layer_norm',
      normSize: r.normSize,
      epsilon: r.epsilon,
      activation: r.activation,
      loomCompat: readExt(r.ext, LAYER_NORM_EXT, where)['loomCompat'] === true,
    };
    return new LayerNormLayer(config, { gamma: r.gamma, beta: r.beta }, where, r.ext);
  },
  // network.md 8.1: NormSize > 0 -> Gamma = 1s, Beta = 0s
  initializeWeights(r: LayerRecord): LayerRecord {
    return initializeNormWeights(r, true);
  },
  // loom-tfjs (LOOM has none): gamma 1s, beta 0s
  initFunctions: [normInitFunction('InitLayerNormLayer', LayerType.LayerNorm, true)],
};
