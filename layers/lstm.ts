/**
 * LSTM as LOOM: gates in PyTorch order i, f, g, o with one bias per gate, `h_0 = c_0 = 0`,
 * input [B][S][I], output every hidden state [B][S][H].
 * Ref: loom-spec/layers.md 3.5; gaps.md B14 (LOOM's BPTT is wrong; ours is exact autodiff).
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
import { checkRecurrentSizes } from './rnn';
import { allOrNone, normalScaled, requireLength, uniformSymmetric } from './weight_utils';

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

type GateVars = { weightIH: tf.Variable; weightHH: tf.Variable; bias: tf.Variable };

const recordKeys = (g: LSTMGate) =>
  ({ weightIH: `weightIH_${g}`, weightHH: `weightHH_${g}`, bias: `biasH_${g}` }) as const;

/** An LSTM layer with its own variables. */
export class LSTMLayer implements GridLayer {
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
      for (const g of LSTM_GATES) {
        const names = recordKeys(g);
        requireLength(weights[g].weightIH, h * i, where, names.weightIH, `[H=${h}][I=${i}]`);
        requireLength(weights[g].weightHH, h * h, where, names.weightHH, `[H=${h}][H=${h}]`);
        requireLength(weights[g].bias, h, where, names.bias, `[H=${h}]`);
      }
      const make = (g: LSTMGate): GateVars => ({
        weightIH: makeVariable(weights[g].weightIH, [h, i]),
        weightHH: makeVariable(weights[g].weightHH, [h, h]),
        bias: makeVariable(weights[g].bias, [h]),
      });
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
    const { inputSize: ni, hiddenSize: nh, seqLength: s } = this.config;
    const b = ctx.batchSize;
    if (!this.gates) {
      throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
    }
    if (x.size !== b * s * ni) {
      throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected batch ${b} x seq ${s} x input ${ni} = ${b * s * ni}`);
    }
    if (b * s * nh === 0) return tf.tensor1d([]);
    const gates = this.gates;
    const wIH = tf.concat(LSTM_GATES.map((g) => gates[g].weightIH), 0) as tf.Tensor2D; // (4H, I), gate-major
    const wHH = tf.concat(LSTM_GATES.map((g) => gates[g].weightHH), 0) as tf.Tensor2D; // (4H, H)
    const bias = tf.concat(LSTM_GATES.map((g) => gates[g].bias), 0); // (4H)
    const xw = tf.add(tf.matMul(x.reshape([b * s, ni]), wIH, false, true), bias); // (B*S, 4H)
    const steps = tf.unstack(xw.reshape([b, s, 4 * nh]), 1); // S x (B, 4H)
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
    return tf.stack(states, 1).reshape([b * s * nh]); // (B, S, H) -> (B*S*H)
  }

  toRecord(): LayerRecord {
    const c = this.config;
    const r = emptyRecord(LayerType.LSTM);
    r.activation = c.activation;
    r.rnnInputSize = c.inputSize;
    r.hiddenSize = c.hiddenSize;
    r.seqLength = c.seqLength;
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
    if (grads.length < 12) return { kernel: null, bias: null };
    const kernel = new Float32Array(grads.reduce((n, g) => n + g.length, 0));
    let o = 0;
    for (const g of grads) {
      kernel.set(g, o);
      o += g.length;
    }
    return { kernel, bias: null };
  }

  summary(): LayerSummary {
    const { inputSize: ni, hiddenSize: nh, seqLength: s } = this.config;
    return {
      type: 'lstm',
      detail: `seq ${s} x ${ni} -> ${nh}`,
      inputSize: (b) => b * s * ni,
      outputSize: (b) => b * s * nh,
    };
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
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config: LSTMConfig = {
      type: 'lstm',
      inputSize: r.rnnInputSize,
      hiddenSize: r.hiddenSize,
      seqLength: r.seqLength,
      activation: activationFromInt(r.activation),
    };
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
      out[n.weightIH] = uniformSymmetric(h * i, 0.1, rng);
      out[n.weightHH] = uniformSymmetric(h * h, 0.1, rng);
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
        const [i, h, , s] = (args as readonly number[]).map((v) => v ?? 0) as [number, number, number, number];
        const r = emptyRecord(LayerType.LSTM);
        Object.assign(r, { activation: 2, rnnInputSize: i, hiddenSize: h, seqLength: s });
        for (const g of LSTM_GATES) {
          const n = recordKeys(g);
          r[n.weightIH] = normalScaled(h * i, Math.sqrt(2 / (i + h)), rng);
          r[n.weightHH] = normalScaled(h * h, Math.sqrt(2 / (2 * h)), rng);
          r[n.bias] = new Float32Array(Math.max(0, h)).fill(g === 'f' ? 1 : 0);
        }
        return r;
      },
    },
  ],
};
