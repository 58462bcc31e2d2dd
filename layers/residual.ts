/**
 * Residual layer: a real skip connection. y = f(x) + (output of the layer `skip + 1` back), i.e.
 * skip 1 adds the input of the previous layer: `Dense -> Residual(skip 1)` is `x + f(Dense(x))`.
 * Ref: loom-spec/layers.md 3.8 (LOOM never implemented the skip, gaps.md A5: its Residual is only
 * the element-wise activation). `residualSkip` 0, or `loomCompat`, gives LOOM's behaviour.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { Activation, LayerType } from '../src/core/types';
import { activationName, applyActivation } from './activations';
import type { ForwardContext, GridLayer, LayerInitFunction, LayerKind, LayerParam, LayerSummary, LoomGradients } from './layer';

/** Serializable configuration of a Residual layer. */
export interface ResidualConfig {
  readonly type: 'residual';
  /** LOOM activation code applied to the input before the skip is added. */
  readonly activation: number;
  /** Layers skipped over (LOOM `ResidualSkip`); 0 = no skip (LOOM's element-wise activation). */
  readonly skip: number;
}

/** A Residual layer (LOOM type 7); no parameters. */
export class ResidualLayer implements GridLayer<ResidualConfig> {
  static readonly className = 'Residual';
  readonly kind: LayerKind = residualKind;
  readonly params: readonly LayerParam[] = [];
  private readonly ext: LayerRecord['ext'];

  /** @throws ConfigError when `skip` is negative or not an integer. */
  constructor(
    readonly config: ResidualConfig,
    where = 'residual',
    ext: LayerRecord['ext'] = {},
  ) {
    if (!Number.isInteger(config.skip) || config.skip < 0) {
      throw new ConfigError(`${where}: residual skip must be a non-negative integer, got ${config.skip}`);
    }
    this.ext = { ...ext };
  }

  /**
   * x (N) -> f(x) + earlier (N).
   * @throws ConfigError when the network keeps no history that far back; ShapeError on a size mismatch.
   */
  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const y = applyActivation(x, this.config.activation);
    if (this.config.skip === 0 || ctx.loomCompat) return y === x ? tf.clone(x) : y;
    const offset = this.config.skip + 1;
    const earlier = ctx.earlierOutput?.(offset);
    if (!earlier) {
      throw new ConfigError(
        `${ctx.where}: residual skip ${this.config.skip} reaches before the network input (needs the output ${offset} layers back)`,
      );
    }
    if (earlier.size !== x.size) {
      throw new ShapeError(`${ctx.where}: skip source (${offset} layers back) has ${earlier.size} values, expected ${x.size} like the input`);
    }
    return tf.add(y, earlier);
  }

  getConfig(): ResidualConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const r = emptyRecord(LayerType.Residual);
    r.activation = this.config.activation;
    r.residualSkip = this.config.skip;
    r.ext = { ...this.ext };
    return r;
  }

  loomGradients(): LoomGradients {
    return { kernel: null, bias: null };
  }

  summary(): LayerSummary {
    const { skip, activation } = this.config;
    return {
      type: 'residual',
      detail: `${activationName(activation)}${skip > 0 ? `, + output ${skip + 1} layers back` : ', no skip'}`,
      inputSize: () => undefined,
      outputSize: () => undefined,
    };
  }

  dispose(): void {}
}

/** `InitResidualLayer(skip)` (loom-tfjs; LOOM has none): linear activation, so y = x + skip source. */
const INIT_RESIDUAL: LayerInitFunction = {
  name: 'InitResidualLayer',
  argTypes: ['int'],
  argNames: ['skip'],
  create([skip]) {
    const r = emptyRecord(LayerType.Residual);
    r.activation = Activation.Linear;
    r.residualSkip = skip as number;
    return r;
  },
};

/** Registry entry of the Residual layer (LOOM type 7). */
export const residualKind: LayerKind = {
  name: 'residual',
  loomType: LayerType.Residual,
  jsonNames: ['residual'],
  residualRole: 'none',
  loomJsonKeys: { definition: ['residual_skip'], weights: [] },
  tfjsClassName: 'LoomResidual',
  batchesSamples: false,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    return new ResidualLayer({ type: 'residual', activation: r.activation, skip: r.residualSkip }, where, r.ext);
  },
  initializeWeights: (r) => r,
  initFunctions: [INIT_RESIDUAL],
};
