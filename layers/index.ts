/**
 * The one registry of grid layer types. Adding a layer = one file + one line here.
 */
import { UnsupportedLayerError } from '../src/core/errors';
import { LayerType } from '../src/core/types';
import { denseKind } from './dense';
import type { LayerKind } from './layer';
import { pendingKind } from './pending';

/** Every layer kind, indexed by nothing but this list. */
export const LAYER_KINDS: readonly LayerKind[] = [
  denseKind,
  pendingKind('conv2d', LayerType.Conv2D, ['conv2d'], 'none'),
  pendingKind('multi_head_attention', LayerType.MultiHeadAttention, ['multi_head_attention', 'mha'], 'adds-output'),
  pendingKind('rnn', LayerType.RNN, ['rnn'], 'none'),
  pendingKind('lstm', LayerType.LSTM, ['lstm'], 'none'),
  pendingKind('softmax', LayerType.Softmax, ['softmax'], 'none'),
  pendingKind('layer_norm', LayerType.LayerNorm, ['layer_norm', 'layernorm'], 'adds-input'),
  pendingKind('residual', LayerType.Residual, ['residual'], 'none'),
  pendingKind('rms_norm', LayerType.RMSNorm, ['rms_norm', 'rmsnorm'], 'records-input'),
  pendingKind('swiglu', LayerType.SwiGLU, ['swiglu'], 'adds-output'),
  pendingKind('parallel', LayerType.Parallel, ['parallel'], 'none'),
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

export type { LayerKind, GridLayer, ForwardContext, LayerParam, LoomGradients, LayerSummary, ResidualRole } from './layer';
export { DenseLayer, denseKind } from './dense';
export type { DenseConfig, DenseWeights } from './dense';
export { applyActivation, activationName } from './activations';
