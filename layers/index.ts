/**
 * The one registry of grid layer types. Adding a layer = one file (its class and `LayerKind`) +
 * one line in LAYER_KINDS, plus its LOOM code in src/core/types.ts when LOOM has one; the registry
 * test (__tests__/layer_kinds_registry.test.ts) then asks for a sample of it.
 */
import { UnsupportedLayerError } from '../src/core/errors';
import { denseKind } from './dense';
import { conv2dKind } from './conv2d';
import { multiHeadAttentionKind } from './multi_head_attention';
import { rnnKind } from './rnn';
import { lstmKind } from './lstm';
import type { LayerKind } from './layer';
import { softmaxKind } from './softmax';
import { layerNormKind } from './layer_norm';
import { residualKind } from './residual';
import { rmsNormKind } from './rms_norm';
import { swigluKind } from './swiglu';
import { createParallelKind } from './parallel';
import type { Conv2DConfig } from './conv2d';
import type { DenseConfig } from './dense';
import type { LayerNormConfig } from './layer_norm';
import type { LSTMConfig } from './lstm';
import type { MultiHeadAttentionConfig } from './multi_head_attention';
import type { ParallelConfig } from './parallel';
import type { ResidualConfig } from './residual';
import type { RMSNormConfig } from './rms_norm';
import type { RNNConfig } from './rnn';
import type { SoftmaxConfig } from './softmax_variants';
import type { SwiGLUConfig } from './swiglu';

/** Every layer kind, indexed by nothing but this list. */
export const LAYER_KINDS: readonly LayerKind[] = [
  denseKind,
  conv2dKind,
  multiHeadAttentionKind,
  rnnKind,
  lstmKind,
  softmaxKind,
  layerNormKind,
  residualKind,
  rmsNormKind,
  swigluKind,
  createParallelKind(kindByCode),
];

/** The kind with LOOM integer type `code`. @throws UnsupportedLayerError */
export function kindByCode(code: number, where: string): LayerKind {
  const k = LAYER_KINDS.find((x) => x.loomType === code);
  if (!k) throw new UnsupportedLayerError(String(code), where, `known type codes are 0..${LAYER_KINDS.length - 1}`);
  return k;
}

/** The kind whose JSON name (or alias) is `name`. @throws UnsupportedLayerError */
export function kindByName(name: string, where: string): LayerKind {
  const k = LAYER_KINDS.find((x) => x.jsonNames.includes(name));
  if (!k) {
    throw new UnsupportedLayerError(name, where, `known types: ${LAYER_KINDS.map((x) => x.name).join(', ')}`);
  }
  return k;
}

export type { LayerKind, GridLayer, TypedLayerConfig, LoomJsonKeys, FirstPositiveKey, ForwardContext, LayerParam, LoomGradients, LayerSummary, ResidualRole } from './layer';
export { DenseLayer, denseKind } from './dense';
export type { DenseConfig, DenseWeights } from './dense';
export { applyActivation, activationName } from './activations';
export { Conv2DLayer, conv2dKind, convOutputSize } from './conv2d';
export type { Conv2DConfig, Conv2DWeights } from './conv2d';
export { MultiHeadAttentionLayer, multiHeadAttentionKind, multiHeadAttentionConfigFromRecord } from './multi_head_attention';
export type { MultiHeadAttentionConfig, MultiHeadAttentionWeights } from './multi_head_attention';
export { RNNLayer, rnnKind } from './rnn';
export type { RNNConfig, RNNWeights } from './rnn';
export { LSTMLayer, lstmKind, LSTM_GATES } from './lstm';
export type { LSTMConfig, LSTMWeights, LSTMGate } from './lstm';
export { LOOM_ROPE_THETA, loomRopeHalfTables, loomRopeTables } from '../src/ops/rope';
export { SoftmaxLayer, softmaxKind } from './softmax';
export type { SoftmaxConfig, UniformSource } from './softmax';
export { sparsemax, entmax } from './sparsemax';
export { LayerNormLayer, layerNormKind } from './layer_norm';
export type { LayerNormConfig, LayerNormWeights } from './layer_norm';
export { RMSNormLayer, rmsNormKind } from './rms_norm';
export type { RMSNormConfig } from './rms_norm';
export { SwiGLULayer, swigluKind } from './swiglu';
export type { SwiGLUConfig, SwiGLUWeights } from './swiglu';
export { ResidualLayer, residualKind } from './residual';
export type { ResidualConfig } from './residual';
export { ParallelLayer, createParallelKind } from './parallel';
export type { ParallelConfig, CombineMode, KindResolver } from './parallel';

/** The typed config of any registered layer kind, discriminated by `type` (= the kind's name). */
export type LayerConfig =
  | DenseConfig
  | Conv2DConfig
  | MultiHeadAttentionConfig
  | RNNConfig
  | LSTMConfig
  | SoftmaxConfig
  | LayerNormConfig
  | ResidualConfig
  | RMSNormConfig
  | SwiGLUConfig
  | ParallelConfig;
