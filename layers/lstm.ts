/**
 * LSTM as LOOM: gates in PyTorch order i, f, g, o with one bias per gate, `h_0 = c_0 = 0`,
 * input [B][S][I], output every hidden state [B][S][H].
 * Ref: loom-spec/layers.md 3.5; gaps.md B14 (LOOM's BPTT is wrong; ours is exact autodiff).
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

/** Serializable configuration of an LSTM layer. */
export interface LSTMConfig {
  readonly type: 'lstm';
  /** Features per timestep, I (LOOM's `RNNInputSize`). */
  readonly inputSize: number;
  /** Hidden units, H. */
  readonly hiddenSize: number;
  /** Timesteps per sample, S. */
  readonly seqLength: number;
  /** Stored only (LOOM's LSTM ignores it). */
  readonly activation: ActivationCode;
}

/** The four gates, in LOOM's (and PyTorch's) order. */
export const LSTM_GATES = ['i', 'f', 'g', 'o'] as const;
/** One LSTM gate. */
export type LSTMGate = (typeof LSTM_GATES)[number];

/** LSTM weights per gate: weightIH [H][I], weightHH [H][H], bias [H]. */
export type LSTMWeights = Readonly<Record<LSTMGate, { readonly weightIH: Float32Array; readonly weightHH: Float32Array; readonly bias: Float32Array }>>;

type GateVars = RecurrentBlock<tf.Variable>;

const recordKeys = (g: LSTMGate) =>
  ({ weightIH: `weightIH_${g}`, weightHH: `weightHH_${g}`, bias: `biasH_${g}` }) as const;

/** An LSTM layer with its own variables. */
export class LSTMLayer implements GridLayer<LSTMConfig> {
  static readonly className = 'LSTM';
  readonly kind: LayerKind = lstmKind;
  /** Per gate i, f, g, o: weightIH_x (H, I), weightHH_x (H, H), biasH_x (H): LOOM's gradient order. */
  readonly params: readonly LayerParam[];
  private readonly gates: Readonly<Record<LSTMGate, GateVars>> | null;

  constructor(
    readonly config: LSTMConfig,
    weights: LSTMWeights | null,
    where = 'lstm',
  ) {
    const { inputSize: i, hiddenSize: h } = config;
    checkRecurrentSizes(where, { inputSize: i, hiddenSize: h, seqLength: config.seqLength });
    if (weights) {
      // every gate is checked before any variable is made, so a bad gate leaks nothing
      for (const g of LSTM_GATES) checkRecurrentBlock(weights[g], h, i, where, recordKeys(g));
      const make = (g: LSTMGate): GateVars => makeRecurrentBlock(weights[g], h, i);
      const gates = { i: make('i'), f: make('f'), g: make('g'), o: make('o') };
      this.gates = gates;
      this.params = LSTM_GATES.flatMap((g) => {
        const n = recordKeys(g);
        return [
          { name: n.weightIH, variable: gates[g].weightIH },
          { name: n.weightHH, variable: gates[g].weightHH },
          { name: n.bias, variable: gates[g].bias },
        ];
      });
    } else {
      this.gates = null;
      this.params = [];
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const { b, weights: gates } = checkRecurrentInput(x, this.config, ctx, this.gates);
    if (b * this.config.seqLength * this.config.hiddenSize === 0) return tf.tensor1d([]);
    const wIH = tf.concat(LSTM_GATES.map((g) => gates[g].weightIH), 0) as tf.Tensor2D; // (4H, I), gate-major
    const wHH = tf.concat(LSTM_GATES.map((g) => gates[g].weightHH), 0) as tf.Tensor2D; // (4H, H)
    const bias = tf.concat(LSTM_GATES.map((g) => gates[g].bias), 0); // (4H)
    const steps = projectInputSteps(x, wIH, bias, b, this.config); // S x (B, 4H)
    const states: tf.Tensor[] = [];
    let h: tf.Tensor | null = null; // (B, H)
    let c: tf.Tensor | null = null; // (B, H)
    for (const xt of steps) {
      const z = h ? tf.add(xt, tf.matMul(h as tf.Tensor2D, wHH, false, true)) : xt; // (B, 4H)
      const [zi, zf, zg, zo] = tf.split(z, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]; // 4 x (B, H)
      const ig = tf.mul(tf.sigmoid(zi), tf.tanh(zg));
      c = c ? tf.add(tf.mul(tf.sigmoid(zf), c), ig) : ig; // c_0 = 0
      h = tf.mul(tf.sigmoid(zo), tf.tanh(c));
      states.push(h);
    }
    return stackStates(states, b, this.config); // (B*S*H)
  }

  getConfig(): LSTMConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const r = recurrentRecord(LayerType.LSTM, this.config);
    if (this.gates) {
      for (const g of LSTM_GATES) {
        const n = recordKeys(g);
        r[n.weightIH] = readVariable(this.gates[g].weightIH);
        r[n.weightHH] = readVariable(this.gates[g].weightHH);
        r[n.bias] = readVariable(this.gates[g].bias);
      }
    }
    return r;
  }

  /** LOOM's layout: kernel = 12 blocks [dW_ih_i, dW_hh_i, db_i, dW_ih_f, ...], no bias entry. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    return concatGradients(grads, 12);
  }

  summary(): LayerSummary {
    const { inputSize: ni, hiddenSize: nh, seqLength: s } = this.config;
    return recurrentSummary('lstm', this.config, `seq ${s} x ${ni} -> ${nh}`);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** Registry entry of the LSTM layer (LOOM type 4). */
export const lstmKind: LayerKind = {
  name: 'lstm',
  loomType: LayerType.LSTM,
  jsonNames: ['lstm'],
  residualRole: 'none',
  loomJsonKeys: {
    definition: ['input_size', 'seq_length', 'hidden_size'],
    weights: ['weight_ii', 'weight_if', 'weight_ig', 'weight_io', 'weight_hi', 'weight_hf', 'weight_hg', 'weight_ho', 'bias_i', 'bias_f', 'bias_g', 'bias_o'],
  },
  tfjsClassName: 'LoomLSTM',
  batchesSamples: true,
  sampleOutputShape: (r) => [r.seqLength, r.hiddenSize], // (S, H)
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: LSTMConfig = { type: 'lstm', ...recurrentSizesFromRecord(r) };
    const fields: Record<string, Float32Array | null> = {};
    for (const g of LSTM_GATES) for (const key of Object.values(recordKeys(g))) fields[key] = r[key];
    const w = allOrNone(where, 'lstm', fields);
    const weights = w
      ? (Object.fromEntries(
          LSTM_GATES.map((g) => {
            const n = recordKeys(g);
            return [g, { weightIH: w[n.weightIH], weightHH: w[n.weightHH], bias: w[n.bias] }];
          }),
        ) as unknown as LSTMWeights)
      : null;
    return new LSTMLayer(config, weights, where);
  },
  // network.md 8.1: 4 W_ih [H*I] and 4 W_hh [H*H] ~ U(-0.1, 0.1); all 4 biases zero.
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const { rnnInputSize: i, hiddenSize: h } = r;
    if (i <= 0 || h <= 0) return r;
    const out: LayerRecord = { ...r };
    for (const g of LSTM_GATES) {
      const n = recordKeys(g);
      const w = uniformRecurrentWeights(h, i, rng);
      out[n.weightIH] = w.weightIH;
      out[n.weightHH] = w.weightHH;
      out[n.bias] = new Float32Array(h);
    }
    return out;
  },
  initFunctions: [
    {
      name: 'InitLSTMLayer',
      argTypes: ['int', 'int', 'int', 'int'],
      argNames: ['inputSize', 'hiddenSize', 'batchSize', 'seqLength'],
      // layers.md 5.1: per gate (i, f, g, o; IH then HH) W_ih ~ N*sqrt(2/(I+H)), W_hh ~ N*sqrt(2/(2H));
      // biases zero except the forget gate's, 1. Activation tanh; batchSize unused.
      create(args, rng) {
        const { record: r, i, h } = recurrentInitRecord(LayerType.LSTM, args);
        for (const g of LSTM_GATES) {
          const n = recordKeys(g);
          const w = normalRecurrentWeights(h, i, rng);
          r[n.weightIH] = w.weightIH;
          r[n.weightHH] = w.weightHH;
          r[n.bias] = new Float32Array(Math.max(0, h)).fill(g === 'f' ? 1 : 0);
        }
        return r;
      },
    },
  ],
};
