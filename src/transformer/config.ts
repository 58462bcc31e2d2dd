/**
 * The typed, architecture-neutral model configuration the transformer graphs run from
 * (built from Hugging Face files by loaders/hf_config).
 */
import type { CausalLMInfo } from './types';

/** RoPE frequency scaling (`rope_scaling` / `rope_parameters`). */
export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | { readonly type: 'dynamic'; readonly factor: number; readonly originalMaxPositions: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    };

/** Rotary position embedding settings. */
export interface RopeConfig {
  readonly theta: number;
  /** Leading dimensions of each head that rotate (headDim, or headDim * rotary_pct). Even. */
  readonly rotaryDim: number;
  readonly scaling: RopeScaling;
}

/** Activation functions of the MLP. */
export type HiddenAct = 'silu' | 'gelu' | 'gelu_new' | 'gelu_fast' | 'gelu_pytorch_tanh' | 'relu';

/** Every {@link HiddenAct}. */
export const HIDDEN_ACTS: readonly HiddenAct[] = ['silu', 'gelu', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh', 'relu'];

/** A typed, architecture-neutral model configuration. */
export interface ModelConfig extends CausalLMInfo {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKVHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly norm: { readonly kind: 'rms' | 'layer'; readonly eps: number };
  readonly hiddenAct: HiddenAct;
  /** Rotary embeddings; absent for learned absolute positions (GPT-2). */
  readonly rope?: RopeConfig;
  /** GPT-NeoX: `x + attn(ln1(x)) + mlp(ln2(x))` instead of the sequential form. */
  readonly parallelResidual: boolean;
  readonly tieWordEmbeddings: boolean;
  /** Biases on q/k/v projections. */
  readonly qkvBias: boolean;
  /** Bias on the attention output projection. */
  readonly attnOutBias: boolean;
  /** Biases on the MLP projections. */
  readonly mlpBias: boolean;
  /**
   * Mistral's sliding-window attention: a query at position q sees keys at positions
   * q - slidingWindow < k <= q (Hugging Face's mask). Absent: every earlier position.
   */
  readonly slidingWindow?: number;
}

