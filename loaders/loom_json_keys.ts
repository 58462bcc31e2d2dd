/**
 * LOOM JSON key tables (Ref: loom-spec/format.md sections 3-4): which JSON key holds which
 * `LayerRecord` field, in the order Go writes them. Which keys a layer type reads and writes is
 * its own fact (`LayerKind.loomJsonKeys` in layers/).
 */
import type { FieldKind, LayerRecord } from '../src/core/layer_record';

/** A layer-definition key of the cfg document. */
export interface DefKey {
  readonly key: string;
  /** Record field it fills; null for keys handled specially (type, activation, width, height, branches). */
  readonly field: Exclude<keyof LayerRecord, 'ext'> | null;
  readonly kind: FieldKind;
}

const k = (key: string, field: DefKey['field'], kind: FieldKind): DefKey => ({ key, field, kind });

/** Layer-definition keys in Go's write order. */
export const DEF_KEYS: readonly DefKey[] = [
  k('type', null, 'string'),
  k('activation', null, 'string'),
  k('width', null, 'int'),
  k('height', null, 'int'),
  k('input_size', 'rnnInputSize', 'int'),
  k('output_size', null, 'int'),
  k('input_channels', 'inputChannels', 'int'),
  k('filters', 'filters', 'int'),
  k('kernel_size', 'kernelSize', 'int'),
  k('stride', 'stride', 'int'),
  k('padding', 'padding', 'int'),
  k('input_height', 'inputHeight', 'int'),
  k('input_width', 'inputWidth', 'int'),
  k('output_height', 'outputHeight', 'int'),
  k('output_width', 'outputWidth', 'int'),
  k('d_model', 'dModel', 'int'),
  k('num_heads', 'numHeads', 'int'),
  k('seq_length', 'seqLength', 'int'),
  k('hidden_size', 'hiddenSize', 'int'),
  k('softmax_variant', null, 'string'),
  k('softmax_rows', 'softmaxRows', 'int'),
  k('softmax_cols', 'softmaxCols', 'int'),
  k('temperature', 'temperature', 'f32'),
  k('gumbel_noise', 'gumbelNoise', 'bool'),
  k('mask', 'mask', 'bools'),
  k('hierarchy_levels', 'hierarchyLevels', 'ints'),
  k('adaptive_clusters', 'adaptiveClusters', 'ints2'),
  k('mixture_weights', 'mixtureWeights', 'f32s'),
  k('entmax_alpha', 'entmaxAlpha', 'f32'),
  k('norm_size', 'normSize', 'int'),
  k('epsilon', 'epsilon', 'f32'),
  k('branches', null, 'records'),
  k('combine_mode', 'combineMode', 'string'),
  k('grid_positions', 'gridPositions', 'positions'),
  k('grid_output_rows', 'gridOutputRows', 'int'),
  k('grid_output_cols', 'gridOutputCols', 'int'),
  k('grid_output_layers', 'gridOutputLayers', 'int'),
  // loom-tfjs extensions (LOOM ignores unknown keys): what LOOM would lose on save.
  k('num_kv_heads', 'numKVHeads', 'int'),
  k('residual_skip', 'residualSkip', 'int'),
];

/** A key of the inner weights document. */
export interface WeightKey {
  readonly key: string;
  readonly field: 'kernel' | 'bias' | Exclude<keyof LayerRecord, 'ext'>;
}

/** Weight keys in Go's write order (`branch_weights` is handled by the writer); a key names one field. */
export const WEIGHT_KEYS: readonly WeightKey[] = [
  { key: 'biases', field: 'bias' }, // dense
  { key: 'kernel', field: 'kernel' },
  { key: 'conv_bias', field: 'bias' }, // conv2d
  { key: 'q_weights', field: 'qWeights' },
  { key: 'k_weights', field: 'kWeights' },
  { key: 'v_weights', field: 'vWeights' },
  { key: 'output_weight', field: 'outputWeight' },
  { key: 'q_bias', field: 'qBias' },
  { key: 'k_bias', field: 'kBias' },
  { key: 'v_bias', field: 'vBias' },
  { key: 'output_bias', field: 'outputBias' },
  { key: 'weight_ih', field: 'weightIH' },
  { key: 'weight_hh', field: 'weightHH' },
  { key: 'bias_h', field: 'biasH' },
  { key: 'weight_ii', field: 'weightIH_i' },
  { key: 'weight_if', field: 'weightIH_f' },
  { key: 'weight_ig', field: 'weightIH_g' },
  { key: 'weight_io', field: 'weightIH_o' },
  { key: 'weight_hi', field: 'weightHH_i' },
  { key: 'weight_hf', field: 'weightHH_f' },
  { key: 'weight_hg', field: 'weightHH_g' },
  { key: 'weight_ho', field: 'weightHH_o' },
  { key: 'bias_i', field: 'biasH_i' },
  { key: 'bias_f', field: 'biasH_f' },
  { key: 'bias_g', field: 'biasH_g' },
  { key: 'bias_o', field: 'biasH_o' },
  { key: 'gamma', field: 'gamma' },
  { key: 'beta', field: 'beta' },
  { key: 'gate_weights', field: 'gateWeights' },
  { key: 'up_weights', field: 'upWeights' },
  { key: 'down_weights', field: 'downWeights' },
  { key: 'gate_bias', field: 'gateBias' },
  { key: 'up_bias', field: 'upBias' },
  { key: 'down_bias', field: 'downBias' },
];
