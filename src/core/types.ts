/**
 * LOOM's enumerations (Ref: loom-spec/layers.md section 1) as typed constants.
 */

/** LOOM's integer layer type codes (`LayerConfig.Type`). */
export const LayerType = {
  Dense: 0,
  Conv2D: 1,
  MultiHeadAttention: 2,
  RNN: 3,
  LSTM: 4,
  Softmax: 5,
  LayerNorm: 6,
  Residual: 7,
  RMSNorm: 8,
  SwiGLU: 9,
  Parallel: 10,
} as const;
/** One of LOOM's integer layer type codes. */
export type LayerTypeCode = (typeof LayerType)[keyof typeof LayerType];

/** LOOM's activation codes; 5 (and any other value) is the identity, `linear`. */
export const Activation = {
  ScaledReLU: 0,
  Sigmoid: 1,
  Tanh: 2,
  Softplus: 3,
  LeakyReLU: 4,
  Linear: 5,
} as const;
/** One of LOOM's activation codes. */
export type ActivationCode = (typeof Activation)[keyof typeof Activation];

/** Activation names as written in LOOM JSON (`relu` is LOOM's ScaledReLU). */
export const ACTIVATION_NAMES: readonly string[] = ['relu', 'sigmoid', 'tanh', 'softplus', 'leaky_relu', 'linear'];

/** Activation code from any integer (LOOM treats every other value as linear). */
export function activationFromInt(v: number): ActivationCode {
  return (v >= 0 && v <= 4 ? v : 5) as ActivationCode;
}

/**
 * Activation code from its JSON name. Unlike LOOM (gaps.md C24), `linear` reads back as linear.
 * Unknown or empty names read as ScaledReLU, as in LOOM.
 */
export function activationFromName(name: string): ActivationCode {
  const i = ACTIVATION_NAMES.indexOf(name);
  return (i < 0 ? 0 : i) as ActivationCode;
}

/** LOOM's softmax variants (`SoftmaxVariant`). */
export const SOFTMAX_VARIANTS = [
  'standard',
  'grid',
  'hierarchical',
  'temperature',
  'gumbel',
  'masked',
  'sparse',
  'adaptive',
  'mixture',
  'entmax',
] as const;
/** Name of a softmax variant. */
export type SoftmaxVariantName = (typeof SOFTMAX_VARIANTS)[number];
