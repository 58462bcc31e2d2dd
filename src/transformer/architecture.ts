/**
 * What one architecture file (src/transformer/<arch>.ts) owns: how its Hugging Face config.json
 * is read (key names, defaults, rules), its checkpoint tensor names and how they become
 * {@link DecoderWeights}, and, for the grid bridge, how a LOOM grid network is exported back.
 * Registered in one list, `ARCHITECTURES` (architectures.ts).
 */
import type { HiddenAct, ModelConfig } from './config';
import type { DecoderLM } from './model';
import type { ModelType } from './types';
import type { WeightSource } from './weights';

/**
 * A typed view of one parsed JSON object (config.json), implemented by loaders/hf_config.ts.
 * Every accessor throws a ConfigError naming the file and key when the value has the wrong type.
 */
export interface HFConfigReader {
  /** Name of the file, for messages. */
  readonly file: string;
  /** True when `key` is present and not null. */
  has(key: string): boolean;
  /** An integer >= `min` (default 1); `fallback` when absent (required when no fallback). */
  int(key: string, fallback?: number, min?: number): number;
  /** A finite number (> 0 unless `positive` is false); `fallback` when absent. */
  num(key: string, fallback: number, positive?: boolean): number;
  /** A boolean; `fallback` when absent. */
  bool(key: string, fallback: boolean): boolean;
}

/** config.json key names of the sizes every architecture has, and their defaults. */
export interface ArchitectureConfigKeys {
  readonly hidden: string;
  readonly layers: string;
  readonly heads: string;
  /** MLP width key; absent = the architecture's fallback ({@link ArchitectureSpec.readFields}). */
  readonly inner: string;
  readonly positions: string;
  /** Norm epsilon keys, first present wins. */
  readonly eps: readonly string[];
  /** Activation key. */
  readonly act: string;
}

/** Defaults of an architecture's config class (transformers' `*Config.__init__`). */
export interface ArchitectureDefaults {
  readonly eps: number;
  readonly norm: 'rms' | 'layer';
  readonly act: HiddenAct;
  readonly tieWordEmbeddings: boolean;
  readonly maxPositions: number;
}

/** The sizes read before the architecture's own rules run. */
export interface CommonSizes {
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly numLayers: number;
}

/** RoPE settings an architecture reads; null for learned absolute positions. */
export interface ArchitectureRope {
  /** Base when config.json names none (the generic `rope_theta` / `rope_parameters` win). */
  readonly theta: number;
  /** Fraction of each head that rotates when config.json names none. */
  readonly partialRotary: number;
}

/** The architecture-specific part of a {@link ModelConfig}. */
export interface ArchitectureFields {
  readonly numKVHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly rope: ArchitectureRope | null;
  readonly parallelResidual: boolean;
  readonly qkvBias: boolean;
  readonly attnOutBias: boolean;
  readonly mlpBias: boolean;
  readonly slidingWindow?: number;
}

/** Which biases a LLaMA-shaped grid network stores in this architecture's checkpoint. */
export interface GridExportBiases {
  readonly qkv: boolean;
  readonly out: boolean;
  readonly mlp: boolean;
  /** Extra config.json entries that record them (llama's `attention_bias` / `mlp_bias`). */
  readonly configEntries: Readonly<Record<string, boolean>>;
}

/** What the grid bridge (loaders/grid_checkpoint*.ts) needs of a LLaMA-shaped architecture. */
export interface GridExportRules {
  /**
   * The biases this architecture stores, given which ones the network has nonzero (`attention`:
   * any of q/k/v/o; `out`: o alone).
   * @throws ConfigError when the architecture cannot store them
   */
  biases(has: { readonly attention: boolean; readonly out: boolean; readonly mlp: boolean }): GridExportBiases;
}

/** One architecture: config reading, tensor names, build, HF export. */
export interface ArchitectureSpec {
  readonly modelType: ModelType;
  /** transformers' class name written to `architectures` in config.json. */
  readonly hfClass: string;
  readonly configKeys: ArchitectureConfigKeys;
  readonly defaults: ArchitectureDefaults;
  /**
   * Reads the architecture-specific fields (head counts, MLP width, biases, residual form).
   * @throws ConfigError naming the key for a value the architecture cannot run
   */
  readFields(r: HFConfigReader, sizes: CommonSizes): ArchitectureFields;
  /**
   * Builds the model from checkpoint tensors (its tensor-name table, transposes and fusing).
   * @throws SafetensorsError for a missing tensor, ShapeError for one that contradicts the config;
   *   nothing is left allocated on failure
   */
  build(config: ModelConfig, source: WeightSource): DecoderLM;
  /** Present when LOOM's grid layers compute this architecture exactly (RMSNorm / MHA / SwiGLU). */
  readonly grid?: GridExportRules;
}
