/**
 * Dense (fully connected) layer: y = f(x W + b) per sample. Ref: loom-spec/layers.md 3.1.
 * Kernel stored [in][out] (LOOM's layout, also the fastest for tfjs matMul).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { readExt, writeExt, type ExtField } from '../src/core/layer_ext';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { activationFromInt, LayerType, type ActivationCode } from '../src/core/types';
import { linear } from '../src/ops/linear';
import { activationName, applyActivation } from './activations';
import {
  makeVariable,
  normalFrom,
  readVariable,
  type ForwardContext,
  type GridLayer,
  type LayerKind,
  type LayerParam,
  type LayerSummary,
  type LoomGradients,
} from './layer';

/** Serializable configuration of a Dense layer. */
export interface DenseConfig {
  readonly type: 'dense';
  readonly inputSize: number;
  readonly outputSize: number;
  readonly activation: ActivationCode;
  /** False for a layer without bias (e.g. an LM head); saved as `use_bias: false` under LOOM's extension key. Default true. */
  readonly useBias?: boolean;
}

/** loom-tfjs settings in `record.ext`: `use_bias: false` for a layer without bias. */
const DENSE_EXT: readonly ExtField[] = [{ key: 'use_bias', field: 'useBias', type: 'boolean', loomDefault: true }];

/** Dense weights: kernel [in * out] row-major (rows = inputs), bias [out]. */
export interface DenseWeights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/** A Dense layer with its own variables. */
export class DenseLayer implements GridLayer<DenseConfig> {
  static readonly className = 'Dense';
  readonly kind: LayerKind = denseKind;
  readonly params: readonly LayerParam[];
  private readonly kernel: tf.Variable | null; // (in, out)
  private readonly bias: tf.Variable | null; // (out)

  constructor(
    readonly config: DenseConfig,
    weights: DenseWeights | null,
    where = 'dense',
  ) {
    const { inputSize: nIn, outputSize: nOut } = config;
    if (!Number.isInteger(nIn) || !Number.isInteger(nOut) || nIn < 0 || nOut < 0) {
      throw new ConfigError(`${where}: sizes must be non-negative integers, got ${nIn} -> ${nOut}`);
    }
    if (weights) {
      if (weights.kernel.length !== nIn * nOut) {
        throw new ShapeError(`${where}: kernel has ${weights.kernel.length} values, expected ${nIn}*${nOut} = ${nIn * nOut}`);
      }
      if (config.useBias === false) {
        if (weights.bias.length !== 0) throw new ShapeError(`${where}: layer has no bias but ${weights.bias.length} bias values were given`);
      } else if (weights.bias.length !== nOut) {
        throw new ShapeError(`${where}: bias has ${weights.bias.length} values, expected ${nOut}`);
      }
      this.kernel = makeVariable(weights.kernel, [nIn, nOut]);
      this.bias = config.useBias === false ? null : makeVariable(weights.bias, [nOut]);
      this.params = this.bias
        ? [
            { name: 'kernel', variable: this.kernel },
            { name: 'bias', variable: this.bias },
          ]
        : [{ name: 'kernel', variable: this.kernel }];
    } else {
      this.kernel = null;
      this.bias = null;
      this.params = [];
    }
  }

  /**
   * The LOOM record of a Dense layer with this config and weights (null: none yet), holding no
   * tensors afterwards (unlike `new DenseLayer(...).toRecord()`, whose layer keeps its variables
   * until `dispose()`).
   * @throws as the constructor.
   */
  static record(config: DenseConfig, weights: DenseWeights | null, where = 'dense'): LayerRecord {
    const layer = new DenseLayer(config, weights, where);
    try {
      return layer.toRecord();
    } finally {
      layer.dispose();
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const { inputSize: nIn, outputSize: nOut } = this.config;
    const b = ctx.batchSize;
    if (nOut === 0) return tf.tensor1d([]);
    if (!this.kernel) {
      throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
    }
    if (x.size !== b * nIn) {
      throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected batch ${b} x ${nIn} = ${b * nIn}`);
    }
    const x2 = x.reshape([b, nIn]); // (B, in)
    const z = linear(x2, this.kernel, this.bias); // (B, out)
    return applyActivation(z, this.config.activation).reshape([b * nOut]); // (B*out)
  }

  getConfig(): DenseConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const r = emptyRecord(LayerType.Dense);
    r.activation = this.config.activation;
    r.inputHeight = this.config.inputSize;
    r.outputHeight = this.config.outputSize;
    if (this.kernel) {
      r.kernel = readVariable(this.kernel);
      r.bias = this.bias ? readVariable(this.bias) : null;
    }
    r.ext = writeExt({ useBias: this.config.useBias ?? true }, DENSE_EXT);
    return r;
  }

  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    return { kernel: grads[0] ?? null, bias: grads[1] ?? null };
  }

  summary(): LayerSummary {
    const { inputSize: nIn, outputSize: nOut, activation } = this.config;
    return {
      type: 'dense',
      detail: `${nIn} -> ${nOut}, ${activationName(activation)}`,
      inputSize: (b) => (nIn > 0 ? b * nIn : undefined),
      outputSize: (b) => b * nOut,
    };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** Registry entry of the Dense layer (LOOM type 0). */
export const denseKind: LayerKind = {
  name: 'dense',
  loomType: LayerType.Dense,
  jsonNames: ['dense'],
  residualRole: 'none',
  loomJsonKeys: { definition: ['width', 'height', 'input_height', 'output_height'], weights: ['biases', 'kernel'] },
  // format.md 8: sizes from width / input_size / input_height, first positive wins
  applyArchitectureRules(r, first) {
    r.inputHeight = first('width', 'input_size', 'input_height');
    r.outputHeight = first('height', 'output_size', 'output_height');
  },
  tfjsClassName: 'LoomDense',
  batchesSamples: true,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const useBias = readExt(r.ext, DENSE_EXT, where)['useBias'] !== false;
    // A Go struct with weights but no sizes (LOOM README's "Type Conversion" example): sizes follow
    // from the arrays (out = bias length, in = kernel length / out). LOOM would run it as 0 -> 0.
    const nb = r.bias?.length ?? 0;
    const nk = r.kernel?.length ?? 0;
    const inferSizes = r.inputHeight === 0 && r.outputHeight === 0 && nb > 0 && nk > 0 && nk % nb === 0;
    const config: DenseConfig = {
      type: 'dense',
      inputSize: inferSizes ? nk / nb : r.inputHeight,
      outputSize: inferSizes ? nb : r.outputHeight,
      activation: activationFromInt(r.activation),
      ...(useBias ? {} : { useBias: false }),
    };
    const hasWeights = (r.kernel?.length ?? 0) > 0 || (r.bias?.length ?? 0) > 0;
    if (hasWeights && (!r.kernel || (useBias && !r.bias))) {
      throw new ShapeError(`${where}: dense layer needs both kernel and bias, got ${r.kernel ? 'no bias' : 'no kernel'}`);
    }
    const weights = hasWeights ? { kernel: r.kernel as Float32Array, bias: r.bias ?? new Float32Array(0) } : null;
    return new DenseLayer(config, weights, where);
  },
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const nIn = r.inputHeight;
    const nOut = r.outputHeight;
    if (nIn <= 0 || nOut <= 0) return r;
    const kernel = new Float32Array(nIn * nOut);
    for (let i = 0; i < kernel.length; i++) kernel[i] = (rng() * 2 - 1) / nIn;
    const bias = new Float32Array(readExt(r.ext, DENSE_EXT, 'dense')['useBias'] === false ? 0 : nOut);
    for (let i = 0; i < bias.length; i++) bias[i] = rng() * 0.01;
    return { ...r, kernel, bias };
  },
  initFunctions: [
    {
      name: 'InitDenseLayer',
      argTypes: ['int', 'int', 'nn.ActivationType'],
      argNames: ['inputSize', 'outputSize', 'activation'],
      // LOOM: Kernel ~ N(0,1) * sqrt(2/in), Bias = 0 (layers.md 5.1)
      create([nIn, nOut, act], rng) {
        const inSize = nIn as number;
        const outSize = nOut as number;
        const r = emptyRecord(LayerType.Dense);
        r.activation = act as number;
        r.inputHeight = inSize;
        r.outputHeight = outSize;
        const scale = Math.fround(Math.sqrt(2 / inSize));
        r.kernel = new Float32Array(Math.max(0, inSize * outSize)).map(() => Math.fround(normalFrom(rng)) * scale);
        r.bias = new Float32Array(Math.max(0, outSize));
        return r;
      },
    },
  ],
};
