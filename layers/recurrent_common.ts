/**
 * What the RNN and LSTM layers share: sizes and record fields (`RNNInputSize`, `HiddenSize`,
 * `SeqLength`), weight-block validation, the input projection of every timestep at once, LOOM's
 * concatenated gradient layout and the `Init*Layer` argument handling. Each cell's recurrence stays
 * in its own file. Ref: loom-spec/layers.md 3.4, 3.5, 5.1; network.md 5, 8.1.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { activationFromInt, type ActivationCode } from '../src/core/types';
import { concatFloat32 } from '../src/core/arrays';
import { makeVariable, type ForwardContext, type LayerSummary, type LoomGradients } from './layer';
import { isSize, normalScaled, requireLength, uniformSymmetric } from './weight_utils';

/** The config fields every recurrent layer has (I, H, S and the stored activation). */
export interface RecurrentSizes {
  /** Features per timestep, I (LOOM's `RNNInputSize`). */
  readonly inputSize: number;
  /** Hidden units, H. */
  readonly hiddenSize: number;
  /** Timesteps per sample, S. */
  readonly seqLength: number;
  /** Stored only: LOOM's recurrent layers ignore it. */
  readonly activation: ActivationCode;
}

/** One block of recurrent weights: weightIH [H][I], weightHH [H][H], bias [H]. */
export interface RecurrentBlock<T> {
  readonly weightIH: T;
  readonly weightHH: T;
  readonly bias: T;
}

/** Checks the three sizes of a recurrent layer. @throws ConfigError naming the first bad one. */
export function checkRecurrentSizes(where: string, sizes: { inputSize: number; hiddenSize: number; seqLength: number }): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!isSize(v)) throw new ConfigError(`${where}: ${name} must be a non-negative integer, got ${v}`);
  }
}

/** The size fields of a recurrent layer's config, read from its LOOM record. */
export function recurrentSizesFromRecord(r: LayerRecord): RecurrentSizes {
  return { inputSize: r.rnnInputSize, hiddenSize: r.hiddenSize, seqLength: r.seqLength, activation: activationFromInt(r.activation) };
}

/** A LOOM record of type `loomType` holding the size fields of `c` (weights are the caller's). */
export function recurrentRecord(loomType: number, c: RecurrentSizes): LayerRecord {
  const r = emptyRecord(loomType);
  r.activation = c.activation;
  r.rnnInputSize = c.inputSize;
  r.hiddenSize = c.hiddenSize;
  r.seqLength = c.seqLength;
  return r;
}

/** `describe()` entry of a recurrent layer: input B*S*I values, output B*S*H. */
export function recurrentSummary(type: string, c: RecurrentSizes, detail: string): LayerSummary {
  const { inputSize: ni, hiddenSize: nh, seqLength: s } = c;
  return { type, detail, inputSize: (b) => b * s * ni, outputSize: (b) => b * s * nh };
}

/**
 * Checks a weight block's lengths against H and I; `names` are the record keys for messages.
 * @throws ShapeError naming the first array whose length differs.
 */
export function checkRecurrentBlock(
  w: RecurrentBlock<Float32Array>,
  h: number,
  i: number,
  where: string,
  names: RecurrentBlock<string>,
): void {
  requireLength(w.weightIH, h * i, where, names.weightIH, `[H=${h}][I=${i}]`);
  requireLength(w.weightHH, h * h, where, names.weightHH, `[H=${h}][H=${h}]`);
  requireLength(w.bias, h, where, names.bias, `[H=${h}]`);
}

/** Variables of a checked weight block: weightIH (H, I), weightHH (H, H), bias (H). */
export function makeRecurrentBlock(w: RecurrentBlock<Float32Array>, h: number, i: number): RecurrentBlock<tf.Variable> {
  return {
    weightIH: makeVariable(w.weightIH, [h, i]),
    weightHH: makeVariable(w.weightHH, [h, h]),
    bias: makeVariable(w.bias, [h]),
  };
}

/**
 * Checks a forward call: weights present, input B*S*I long.
 * @returns the batch size B and the weights, known to be present.
 * @throws ConfigError when the layer has no weights; ShapeError for a wrong input length.
 */
export function checkRecurrentInput<W>(x: tf.Tensor1D, c: RecurrentSizes, ctx: ForwardContext, weights: W | null): { b: number; weights: W } {
  const { inputSize: ni, seqLength: s } = c;
  const b = ctx.batchSize;
  if (weights === null) {
    throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
  }
  if (x.size !== b * s * ni) {
    throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected batch ${b} x seq ${s} x input ${ni} = ${b * s * ni}`);
  }
  return { b, weights };
}

/**
 * Input contributions of every timestep at once, `bias + W_ih x_t`: x (B*S*I), wIH (G*H, I),
 * bias (G*H) -> S x (B, G*H), where G is the number of gates (1 for RNN, 4 for LSTM).
 */
export function projectInputSteps(x: tf.Tensor1D, wIH: tf.Tensor2D, bias: tf.Tensor, b: number, c: RecurrentSizes): tf.Tensor[] {
  const { inputSize: ni, seqLength: s } = c;
  const width = wIH.shape[0]; // G*H
  const xw = tf.add(tf.matMul(x.reshape([b * s, ni]), wIH, false, true), bias); // (B*S, G*H)
  return tf.unstack(xw.reshape([b, s, width]), 1); // S x (B, G*H)
}

/** Hidden states of every step, S x (B, H) -> (B*S*H), batch-major as LOOM's output. */
export function stackStates(states: readonly tf.Tensor[], b: number, c: RecurrentSizes): tf.Tensor1D {
  return tf.stack(states as tf.Tensor[], 1).reshape([b * c.seqLength * c.hiddenSize]); // (B, S, H) -> (B*S*H)
}

/**
 * LOOM's recurrent gradient layout (network.md 5): the first `count` parameter gradients
 * concatenated into `kernel`, no bias entry; both null when fewer than `count` are given.
 */
export function concatGradients(grads: readonly Float32Array[], count: number): LoomGradients {
  const parts = grads.slice(0, count);
  if (parts.length < count) return { kernel: null, bias: null };
  return { kernel: concatFloat32(parts), bias: null };
}

/** Fresh weights of `initializeWeights` (network.md 8.1): W_ih, W_hh ~ U(-0.1, 0.1), in that order. */
export function uniformRecurrentWeights(h: number, i: number, rng: () => number): { weightIH: Float32Array; weightHH: Float32Array } {
  const weightIH = uniformSymmetric(h * i, 0.1, rng);
  return { weightIH, weightHH: uniformSymmetric(h * h, 0.1, rng) };
}

/** Fresh weights of `InitRNNLayer` / `InitLSTMLayer` (layers.md 5.1): W_ih ~ N*sqrt(2/(I+H)), then W_hh ~ N*sqrt(2/(2H)). */
export function normalRecurrentWeights(h: number, i: number, rng: () => number): { weightIH: Float32Array; weightHH: Float32Array } {
  const weightIH = normalScaled(h * i, Math.sqrt(2 / (i + h)), rng);
  return { weightIH, weightHH: normalScaled(h * h, Math.sqrt(2 / (2 * h)), rng) };
}

/**
 * The record an `Init*Layer(inputSize, hiddenSize, batchSize, seqLength)` call starts from:
 * type `loomType`, activation tanh (2), the sizes set and no weights; batchSize is unused (LOOM).
 * Missing arguments count as 0.
 */
export function recurrentInitRecord(loomType: number, args: readonly unknown[]): { record: LayerRecord; i: number; h: number } {
  const [i, h, , s] = (args as readonly number[]).map((v) => v ?? 0) as [number, number, number, number];
  const record = emptyRecord(loomType);
  Object.assign(record, { activation: 2, rnnInputSize: i, hiddenSize: h, seqLength: s });
  return { record, i, h };
}
