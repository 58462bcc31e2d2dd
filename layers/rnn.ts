/**
 * Elman RNN as LOOM: `h_t = tanh(b + W_ih x_t + W_hh h_{t-1})`, `h_0 = 0`, input [B][S][I], output
 * every hidden state [B][S][H]. Always tanh (the stored activation is ignored, as in LOOM).
 * Ref: loom-spec/layers.md 3.4; gaps.md B14 (LOOM's BPTT is wrong; ours is exact autodiff).
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerRecord } from '../src/core/layer_record';
import { LayerType, type ActivationCode } from '../src/core/types';
import { readVariable, type ForwardContext, type GridLayer, type LayerKind, type LayerParam, type LayerSummary, type LoomGradients } from './layer';
import {
  checkRecurrentBlock,
  checkRecurrentInput,
  checkRecurrentSizes,
  concatGradients,
  makeRecurrentBlock,
  normalRecurrentWeights,
  projectInputSteps,
  recurrentInitRecord,
  recurrentRecord,
  recurrentSizesFromRecord,
  recurrentSummary,
  stackStates,
  uniformRecurrentWeights,
  type RecurrentBlock,
} from './recurrent_common';
import { allOrNone } from './weight_utils';

export { checkRecurrentSizes } from './recurrent_common';

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

/** An RNN layer with its own variables. */
export class RNNLayer implements GridLayer<RNNConfig> {
  static readonly className = 'RNN';
  readonly kind: LayerKind = rnnKind;
  readonly params: readonly LayerParam[];
  /** weightIH (H, I), weightHH (H, H), bias = biasH (H); null until weights are given. */
  private readonly block: RecurrentBlock<tf.Variable> | null;

  constructor(
    readonly config: RNNConfig,
    weights: RNNWeights | null,
    where = 'rnn',
  ) {
    const { inputSize: i, hiddenSize: h } = config;
    checkRecurrentSizes(where, { inputSize: i, hiddenSize: h, seqLength: config.seqLength });
    if (weights) {
      const w = { weightIH: weights.weightIH, weightHH: weights.weightHH, bias: weights.biasH };
      checkRecurrentBlock(w, h, i, where, { weightIH: 'weightIH', weightHH: 'weightHH', bias: 'biasH' });
      const block = makeRecurrentBlock(w, h, i);
      this.block = block;
      this.params = [
        { name: 'weightIH', variable: block.weightIH },
        { name: 'weightHH', variable: block.weightHH },
        { name: 'biasH', variable: block.bias },
      ];
    } else {
      this.block = null;
      this.params = [];
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const { b, weights } = checkRecurrentInput(x, this.config, ctx, this.block);
    if (b * this.config.seqLength * this.config.hiddenSize === 0) return tf.tensor1d([]);
    const { weightIH, weightHH, bias } = weights;
    const steps = projectInputSteps(x, weightIH as tf.Tensor2D, bias, b, this.config); // S x (B, H)
    const states: tf.Tensor[] = [];
    let h: tf.Tensor | null = null; // (B, H)
    for (const xt of steps) {
      h = tf.tanh(h ? tf.add(xt, tf.matMul(h as tf.Tensor2D, weightHH as tf.Tensor2D, false, true)) : xt); // (B, H)
      states.push(h);
    }
    return stackStates(states, b, this.config); // (B*S*H)
  }

  getConfig(): RNNConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const r = recurrentRecord(LayerType.RNN, this.config);
    if (this.block) {
      r.weightIH = readVariable(this.block.weightIH);
      r.weightHH = readVariable(this.block.weightHH);
      r.biasH = readVariable(this.block.bias);
    }
    return r;
  }

  /** LOOM's layout: kernel = dW_ih ++ dW_hh ++ db_h, no bias entry (network.md 5). */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    return concatGradients(grads, 3);
  }

  summary(): LayerSummary {
    const { inputSize: ni, hiddenSize: nh, seqLength: s } = this.config;
    return recurrentSummary('rnn', this.config, `seq ${s} x ${ni} -> ${nh}, tanh`);
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
  loomJsonKeys: { definition: ['input_size', 'seq_length', 'hidden_size'], weights: ['weight_ih', 'weight_hh', 'bias_h'] },
  tfjsClassName: 'LoomRNN',
  batchesSamples: true,
  sampleOutputShape: (r) => [r.seqLength, r.hiddenSize], // (S, H)
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: RNNConfig = { type: 'rnn', ...recurrentSizesFromRecord(r) };
    const w = allOrNone(where, 'rnn', { weightIH: r.weightIH, weightHH: r.weightHH, biasH: r.biasH });
    return new RNNLayer(config, w as RNNWeights | null, where);
  },
  // network.md 8.1: W_ih, W_hh ~ U(-0.1, 0.1); b_h = 0
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const { rnnInputSize: i, hiddenSize: h } = r;
    if (i <= 0 || h <= 0) return r;
    return { ...r, ...uniformRecurrentWeights(h, i, rng), biasH: new Float32Array(h) };
  },
  initFunctions: [
    {
      name: 'InitRNNLayer',
      argTypes: ['int', 'int', 'int', 'int'],
      argNames: ['inputSize', 'hiddenSize', 'batchSize', 'seqLength'],
      // layers.md 5.1: Activation tanh, W_ih ~ N*sqrt(2/(I+H)), W_hh ~ N*sqrt(2/(2H)), zero bias; batchSize unused.
      create(args, rng) {
        const { record: r, i, h } = recurrentInitRecord(LayerType.RNN, args);
        Object.assign(r, normalRecurrentWeights(h, i, rng));
        r.biasH = new Float32Array(Math.max(0, h));
        return r;
      },
    },
  ],
};
