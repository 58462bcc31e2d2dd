/**
 * Elman RNN as LOOM: `h_t = tanh(b + W_ih x_t + W_hh h_{t-1})`, `h_0 = 0`, input [B][S][I], output
 * every hidden state [B][S][H]. Always tanh (the stored activation is ignored, as in LOOM).
 * Ref: loom-spec/layers.md 3.4; gaps.md B14 (LOOM's BPTT is wrong; ours is exact autodiff).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { activationFromInt, LayerType, type ActivationCode } from '../src/core/types';
import {
  makeVariable,
  readVariable,
  type ForwardContext,
  type GridLayer,
  type LayerKind,
  type LayerParam,
  type LayerSummary,
  type LoomGradients,
} from './layer';
import { allOrNone, isSize, normalScaled, requireLength, uniformSymmetric } from './weight_utils';

/** Serializable configuration of an RNN layer. */
export interface RNNConfig {
  readonly type: 'rnn';
  /** Features per timestep, I (LOOM's `RNNInputSize`). */
  readonly inputSize: number;
  /** Hidden units, H. */
  readonly hiddenSize: number;
  /** Timesteps per sample, S. */
  readonly seqLength: number;
  /** Stored only: LOOM's RNN always uses tanh. */
  readonly activation: ActivationCode;
}

/** RNN weights: weightIH [H][I], weightHH [H][H], biasH [H]. */
export interface RNNWeights {
  readonly weightIH: Float32Array;
  readonly weightHH: Float32Array;
  readonly biasH: Float32Array;
}

/** Checks the three sizes of a recurrent layer. @throws ConfigError */
export function checkRecurrentSizes(where: string, sizes: { inputSize: number; hiddenSize: number; seqLength: number }): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!isSize(v)) throw new ConfigError(`${where}: ${name} must be a non-negative integer, got ${v}`);
  }
}

/** An RNN layer with its own variables. */
export class RNNLayer implements GridLayer {
  static readonly className = 'RNN';
  readonly kind: LayerKind = rnnKind;
  readonly params: readonly LayerParam[];
  private readonly weightIH: tf.Variable | null; // (H, I)
  private readonly weightHH: tf.Variable | null; // (H, H)
  private readonly biasH: tf.Variable | null; // (H)

  constructor(
    readonly config: RNNConfig,
    weights: RNNWeights | null,
    where = 'rnn',
  ) {
    const { inputSize: i, hiddenSize: h } = config;
    checkRecurrentSizes(where, { inputSize: i, hiddenSize: h, seqLength: config.seqLength });
    if (weights) {
      requireLength(weights.weightIH, h * i, where, 'weightIH', `[H=${h}][I=${i}]`);
      requireLength(weights.weightHH, h * h, where, 'weightHH', `[H=${h}][H=${h}]`);
      requireLength(weights.biasH, h, where, 'biasH', `[H=${h}]`);
      this.weightIH = makeVariable(weights.weightIH, [h, i]);
      this.weightHH = makeVariable(weights.weightHH, [h, h]);
      this.biasH = makeVariable(weights.biasH, [h]);
      this.params = [
        { name: 'weightIH', variable: this.weightIH },
        { name: 'weightHH', variable: this.weightHH },
        { name: 'biasH', variable: this.biasH },
      ];
    } else {
      this.weightIH = null;
      this.weightHH = null;
      this.biasH = null;
      this.params = [];
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const { inputSize: ni, hiddenSize: nh, seqLength: s } = this.config;
    const b = ctx.batchSize;
    if (!this.weightIH || !this.weightHH || !this.biasH) {
      throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
    }
    if (x.size !== b * s * ni) {
      throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected batch ${b} x seq ${s} x input ${ni} = ${b * s * ni}`);
    }
    if (b * s * nh === 0) return tf.tensor1d([]);
    // Input contributions of every step at once: b + W_ih x_t
    const xw = tf.add(tf.matMul(x.reshape([b * s, ni]), this.weightIH as tf.Tensor2D, false, true), this.biasH); // (B*S, H)
    const steps = tf.unstack(xw.reshape([b, s, nh]), 1); // S x (B, H)
    const states: tf.Tensor[] = [];
    let h: tf.Tensor | null = null; // (B, H)
    for (const xt of steps) {
      h = tf.tanh(h ? tf.add(xt, tf.matMul(h as tf.Tensor2D, this.weightHH as tf.Tensor2D, false, true)) : xt); // (B, H)
      states.push(h);
    }
    return tf.stack(states, 1).reshape([b * s * nh]); // (B, S, H) -> (B*S*H)
  }

  toRecord(): LayerRecord {
    const c = this.config;
    const r = emptyRecord(LayerType.RNN);
    r.activation = c.activation;
    r.rnnInputSize = c.inputSize;
    r.hiddenSize = c.hiddenSize;
    r.seqLength = c.seqLength;
    if (this.weightIH && this.weightHH && this.biasH) {
      r.weightIH = readVariable(this.weightIH);
      r.weightHH = readVariable(this.weightHH);
      r.biasH = readVariable(this.biasH);
    }
    return r;
  }

  /** LOOM's layout: kernel = dW_ih ++ dW_hh ++ db_h, no bias entry (network.md 5). */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    const [gi, gh, gb] = grads;
    if (!gi || !gh || !gb) return { kernel: null, bias: null };
    const kernel = new Float32Array(gi.length + gh.length + gb.length);
    kernel.set(gi, 0);
    kernel.set(gh, gi.length);
    kernel.set(gb, gi.length + gh.length);
    return { kernel, bias: null };
  }

  summary(): LayerSummary {
    const { inputSize: ni, hiddenSize: nh, seqLength: s } = this.config;
    return {
      type: 'rnn',
      detail: `seq ${s} x ${ni} -> ${nh}, tanh`,
      inputSize: (b) => b * s * ni,
      outputSize: (b) => b * s * nh,
    };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** Registry entry of the RNN layer (LOOM type 3). */
export const rnnKind: LayerKind = {
  name: 'rnn',
  loomType: LayerType.RNN,
  jsonNames: ['rnn'],
  residualRole: 'none',
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: RNNConfig = {
      type: 'rnn',
      inputSize: r.rnnInputSize,
      hiddenSize: r.hiddenSize,
      seqLength: r.seqLength,
      activation: activationFromInt(r.activation),
    };
    const w = allOrNone(where, 'rnn', { weightIH: r.weightIH, weightHH: r.weightHH, biasH: r.biasH });
    return new RNNLayer(config, w as RNNWeights | null, where);
  },
  // network.md 8.1: W_ih, W_hh ~ U(-0.1, 0.1); b_h = 0
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const { rnnInputSize: i, hiddenSize: h } = r;
    if (i <= 0 || h <= 0) return r;
    return { ...r, weightIH: uniformSymmetric(h * i, 0.1, rng), weightHH: uniformSymmetric(h * h, 0.1, rng), biasH: new Float32Array(h) };
  },
  initFunctions: [
    {
      name: 'InitRNNLayer',
      argTypes: ['int', 'int', 'int', 'int'],
      argNames: ['inputSize', 'hiddenSize', 'batchSize', 'seqLength'],
      // layers.md 5.1: Activation tanh, W_ih ~ N*sqrt(2/(I+H)), W_hh ~ N*sqrt(2/(2H)), zero bias; batchSize unused.
      create(args, rng) {
        const [i, h, , s] = (args as readonly number[]).map((v) => v ?? 0) as [number, number, number, number];
        const r = emptyRecord(LayerType.RNN);
        Object.assign(r, { activation: 2, rnnInputSize: i, hiddenSize: h, seqLength: s });
        r.weightIH = normalScaled(h * i, Math.sqrt(2 / (i + h)), rng);
        r.weightHH = normalScaled(h * h, Math.sqrt(2 / (2 * h)), rng);
        r.biasH = new Float32Array(Math.max(0, h));
        return r;
      },
    },
  ],
};
