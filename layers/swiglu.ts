/**
 * SwiGLU feed-forward block: y = (silu(x Wg + bg) * (x Wu + bu)) Wd + bd per row of `inputSize`.
 * Ref: loom-spec/layers.md 3.10; Shazeer 2020. Weights [in][out] as LOOM (gate/up (D, M), down (M, D)).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { concatFloat32 } from '../src/core/arrays';
import { silu } from '../src/ops/activations';
import { linear } from '../src/ops/linear';
import {
  makeVariable,
  normalFrom,
  readVariable,
  type ForwardContext,
  type GridLayer,
  type LayerInitFunction,
  type LayerKind,
  type LayerParam,
  type LayerSummary,
  type LoomGradients,
} from './layer';
import { allOrNone } from './weight_utils';

/** Serializable configuration of a SwiGLU layer. */
export interface SwiGLUConfig {
  readonly type: 'swiglu';
  /** Hidden size D (LOOM `InputHeight`). */
  readonly inputSize: number;
  /** Intermediate size M (LOOM `OutputHeight`). */
  readonly intermediateSize: number;
  /** LOOM's `Activation` (unused; kept for saving). */
  readonly activation: number;
}

/** SwiGLU weights, LOOM layouts. */
export interface SwiGLUWeights {
  readonly gateWeights: Float32Array; // (D, M)
  readonly upWeights: Float32Array; // (D, M)
  readonly downWeights: Float32Array; // (M, D)
  readonly gateBias: Float32Array; // (M)
  readonly upBias: Float32Array; // (M)
  readonly downBias: Float32Array; // (D)
}

/** Parameter names in LOOM's record order, with their shapes for D and M. */
const SWIGLU_PARAMS: readonly { name: keyof SwiGLUWeights; shape: (d: number, m: number) => number[] }[] = [
  { name: 'gateWeights', shape: (d, m) => [d, m] },
  { name: 'upWeights', shape: (d, m) => [d, m] },
  { name: 'downWeights', shape: (d, m) => [m, d] },
  { name: 'gateBias', shape: (_d, m) => [m] },
  { name: 'upBias', shape: (_d, m) => [m] },
  { name: 'downBias', shape: (d) => [d] },
];

/** A SwiGLU layer (LOOM type 9); all six tensors are trainable. */
export class SwiGLULayer implements GridLayer<SwiGLUConfig> {
  static readonly className = 'SwiGLU';
  readonly kind: LayerKind = swigluKind;
  readonly params: readonly LayerParam[];
  private readonly ext: LayerRecord['ext'];

  /** @throws ConfigError for bad sizes; ShapeError for weights of the wrong length. */
  constructor(
    readonly config: SwiGLUConfig,
    weights: SwiGLUWeights | null,
    where = 'swiglu',
    ext: LayerRecord['ext'] = {},
  ) {
    const { inputSize: d, intermediateSize: m } = config;
    if (!Number.isInteger(d) || !Number.isInteger(m) || d < 1 || m < 1) {
      throw new ConfigError(`${where}: sizes must be positive integers, got hidden ${d}, intermediate ${m}`);
    }
    if (weights) {
      for (const { name, shape } of SWIGLU_PARAMS) {
        const want = shape(d, m).reduce((a, b) => a * b, 1);
        if (weights[name].length !== want) throw new ShapeError(`${where}: ${name} has ${weights[name].length} values, expected ${want}`);
      }
      this.params = SWIGLU_PARAMS.map(({ name, shape }) => ({ name, variable: makeVariable(weights[name], shape(d, m)) }));
    } else {
      this.params = [];
    }
    this.ext = { ...ext };
  }

  private weight(i: number): tf.Variable {
    return (this.params[i] as LayerParam).variable;
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const d = this.config.inputSize;
    if (this.params.length === 0) throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
    const rows = Math.floor(x.size / d);
    if (rows * d !== x.size) throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected a multiple of hidden size ${d}`);
    const x2 = x.reshape([rows, d]); // (S, D)
    const gate = linear(x2, this.weight(0), this.weight(3)); // (S, M)
    const up = linear(x2, this.weight(1), this.weight(4)); // (S, M)
    const h = tf.mul(silu(gate), up); // (S, M)
    return linear(h, this.weight(2), this.weight(5)).reshape([rows * d]); // (S*D)
  }

  getConfig(): SwiGLUConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const r = emptyRecord(LayerType.SwiGLU);
    r.activation = this.config.activation;
    r.inputHeight = this.config.inputSize;
    r.outputHeight = this.config.intermediateSize;
    this.params.forEach((p) => {
      r[p.name as keyof SwiGLUWeights] = readVariable(p.variable);
    });
    r.ext = { ...this.ext };
    return r;
  }

  /** LOOM computes no SwiGLU gradients; ours: kernel = dGate ++ dUp ++ dDown, bias = dbGate ++ dbUp ++ dbDown. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    if (grads.length < 6) return { kernel: null, bias: null };
    return { kernel: concatFloat32(grads.slice(0, 3)), bias: concatFloat32(grads.slice(3, 6)) };
  }

  summary(): LayerSummary {
    const { inputSize: d, intermediateSize: m } = this.config;
    return { type: 'swiglu', detail: `${d} -> ${m} -> ${d}`, inputSize: () => undefined, outputSize: () => undefined };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/**
 * `InitSwiGLULayer(inputSize, intermediateSize)` (loom-tfjs; LOOM has none): gate/up
 * ~ N(0,1)*sqrt(1/D), down ~ N(0,1)*sqrt(1/M) (LeCun normal), biases 0.
 */
const INIT_SWIGLU: LayerInitFunction = {
  name: 'InitSwiGLULayer',
  argTypes: ['int', 'int'],
  argNames: ['inputSize', 'intermediateSize'],
  create([dIn, mIn], rng) {
    const d = dIn as number;
    const m = mIn as number;
    const r = emptyRecord(LayerType.SwiGLU);
    r.inputHeight = d;
    r.outputHeight = m;
    const normal = (n: number, scale: number): Float32Array => Float32Array.from({ length: Math.max(0, n) }, () => normalFrom(rng) * scale);
    r.gateWeights = normal(d * m, Math.sqrt(1 / d));
    r.upWeights = normal(d * m, Math.sqrt(1 / d));
    r.downWeights = normal(m * d, Math.sqrt(1 / m));
    r.gateBias = new Float32Array(Math.max(0, m));
    r.upBias = new Float32Array(Math.max(0, m));
    r.downBias = new Float32Array(Math.max(0, d));
    return r;
  },
};

/** Registry entry of the SwiGLU layer (LOOM type 9). */
export const swigluKind: LayerKind = {
  name: 'swiglu',
  loomType: LayerType.SwiGLU,
  jsonNames: ['swiglu'],
  residualRole: 'adds-output',
  loomJsonKeys: {
    definition: ['input_height', 'output_height'],
    weights: ['gate_weights', 'up_weights', 'down_weights', 'gate_bias', 'up_bias', 'down_bias'],
  },
  // format.md 8: sizes from input_size / input_height (output_size / output_height), first positive wins
  applyArchitectureRules(r, first) {
    r.inputHeight = first('input_size', 'input_height');
    r.outputHeight = first('output_size', 'output_height');
  },
  tfjsClassName: 'LoomSwiGLU',
  batchesSamples: true,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: SwiGLUConfig = { type: 'swiglu', inputSize: r.inputHeight, intermediateSize: r.outputHeight, activation: r.activation };
    const found = allOrNone(where, 'swiglu', Object.fromEntries(SWIGLU_PARAMS.map(({ name }) => [name, r[name]])));
    return new SwiGLULayer(config, found as SwiGLUWeights | null, where, r.ext);
  },
  // network.md 8.1: gate/up/down ~ U(-0.1, 0.1), biases 0
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const d = r.inputHeight;
    const m = r.outputHeight;
    if (d <= 0 || m <= 0) return r;
    const u = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng() * 0.2 - 0.1);
    return {
      ...r,
      gateWeights: u(d * m),
      upWeights: u(d * m),
      downWeights: u(m * d),
      gateBias: new Float32Array(m),
      upBias: new Float32Array(m),
      downBias: new Float32Array(d),
    };
  },
  initFunctions: [INIT_SWIGLU],
};
