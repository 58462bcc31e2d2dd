/**
 * The contract every grid layer implements, and the registry entry (`LayerKind`) that
 * creates it. Ref: loom-spec/network.md section 4, layers.md section 3.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerRecord } from '../src/core/layer_record';

/** Call-time knobs of a forward pass. */
export interface ForwardContext {
  /** Samples per call (`Network.BatchSize`); layers that honour it split the flat input by it. */
  readonly batchSize: number;
  /** Human-readable position for error messages, e.g. `dense (layer 2: row 0, col 0, layer 2)`. */
  readonly where: string;
  /** True inside `train()`; stochastic layers may behave differently. */
  readonly training: boolean;
  /** LOOM-compat knobs a layer may read (see docs/compat.md). */
  readonly loomCompat: boolean;
  /**
   * Data that flowed `offset` layers back in the chain: 1 = this layer's input, k = the output of
   * layer `index - k` (the network input for `index - k = -1`); undefined when out of range or
   * when the caller keeps no history (e.g. a layer run on its own). Used by `residual` skips.
   */
  readonly earlierOutput?: (offset: number) => tf.Tensor1D | undefined;
  /**
   * Where stochastic layers draw their uniforms in [0, 1) (Gumbel noise); absent: each layer's own
   * seeded stream. Injected by the caller (`NetworkOptions.uniformSource`), e.g. to replay LOOM's draws.
   */
  readonly uniforms?: UniformSource;
}

/** `n` uniforms in [0, 1) per call. */
export type UniformSource = (n: number) => ArrayLike<number>;

/**
 * How a layer takes part in LOOM's implicit residual wiring (network.md section 4).
 * - `records-input`: remembers its input as the pending residual (RMSNorm)
 * - `adds-output`: adds the pending residual to its output, then remembers that output (MHA, SwiGLU)
 * - `adds-input`: adds the pending residual to its input; remembers its output only if one existed (LayerNorm)
 * - `none`: leaves the residual alone
 */
export type ResidualRole = 'records-input' | 'adds-output' | 'adds-input' | 'none';

/** A named trainable parameter of a layer. */
export interface LayerParam {
  /** LOOM weight name, e.g. `kernel`, `bias`, `qWeights`. */
  readonly name: string;
  /** (shape as the layer uses it) */
  readonly variable: tf.Variable;
}

/** LOOM's per-layer gradient arrays (`KernelGradients()[i]`, `BiasGradients()[i]`). */
export interface LoomGradients {
  kernel: Float32Array | null;
  bias: Float32Array | null;
}

/** Summary of a layer for `describe()`. */
export interface LayerSummary {
  /** Registry name, e.g. `dense`. */
  readonly type: string;
  /** Short human description, e.g. `6 -> 8, relu`. */
  readonly detail: string;
  /** Values consumed per call for batch size B (undefined when it depends on the input). */
  inputSize(batchSize: number): number | undefined;
  /** Values produced per call for batch size B (undefined when it depends on the input). */
  outputSize(batchSize: number): number | undefined;
}

/** What every layer's typed config has: its kind's name as the discriminator (`LayerConfig` in layers/index.ts is the union). */
export interface TypedLayerConfig {
  readonly type: string;
}

/**
 * A layer of the grid network: flat vector in, flat vector out, pure tfjs ops (autodiff works).
 * `C` is its typed config (e.g. `DenseConfig`).
 */
export interface GridLayer<C extends TypedLayerConfig = TypedLayerConfig> {
  /** The registry entry that made this layer. */
  readonly kind: LayerKind;
  /** Trainable parameters, in LOOM's gradient order. */
  readonly params: readonly LayerParam[];
  /** Forward: x (N) -> y (M). Must not dispose `x`. Called inside a tidy/gradient scope. */
  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D;
  /** The typed config (`type` = the kind's name); camelCase, no LOOM record fields. */
  getConfig(): C;
  /** LOOM record (config plus a copy of the weights) for saving and the facade. */
  toRecord(): LayerRecord;
  /** Maps gradients of `params` (same order) to LOOM's kernel/bias gradient layout. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients;
  /** What the layer is, for `describe()`. */
  summary(): LayerSummary;
  /**
   * Values out for `inputSize` values in, for layers whose output size depends on the input
   * (the summary's `outputSize` is undefined); undefined when unknown.
   */
  outputSizeFor?(inputSize: number, batchSize: number): number | undefined;
  /** Frees the layer's variables. */
  dispose(): void;
}

/**
 * A LOOM-style layer constructor callable by name (`CallLayerInit('InitDenseLayer', '[784,128,0]')`).
 * Arguments arrive already converted to `argTypes` (Go type names as LOOM's registry lists them:
 * `int`, `float32`, `bool`, `[]int`, `nn.ActivationType`, ...).
 */
export interface LayerInitFunction {
  /** e.g. `InitDenseLayer` */
  readonly name: string;
  /** Go type of each positional argument, e.g. `['int', 'int', 'nn.ActivationType']`. */
  readonly argTypes: readonly string[];
  /** Parameter names, for signatures and docs. */
  readonly argNames: readonly string[];
  /** Builds the layer record (with initialized weights where LOOM's constructor makes them). */
  create(args: readonly unknown[], rng: () => number): LayerRecord;
}

/** The LOOM JSON keys of a layer kind, besides `type` and `activation` (loaders/loom_json_keys.ts gives Go's order). */
export interface LoomJsonKeys {
  /** Definition (cfg) keys read and written, e.g. `['width', 'height', 'input_height', 'output_height']`. */
  readonly definition: readonly string[];
  /** Weight keys read and written, e.g. `['biases', 'kernel']`. */
  readonly weights: readonly string[];
}

/** `BuildNetworkFromJSON`'s view of a definition: the first of `keys` holding a positive integer, else 0. */
export type FirstPositiveKey = (...keys: string[]) => number;

/**
 * Registry entry for one layer type: the only owner of its facts (LOOM code, JSON names and keys,
 * JSON rules, tfjs class name and batching, output shape rule, Init* functions).
 * Adding a layer: see layers/index.ts.
 */
export interface LayerKind {
  /** Registry and JSON name written by LOOM, e.g. `dense`, `multi_head_attention`. */
  readonly name: string;
  /** LOOM's integer `LayerType`. */
  readonly loomType: number;
  /** JSON `type` strings accepted on read (including `name`). */
  readonly jsonNames: readonly string[];
  /** Role in LOOM's implicit residual wiring. */
  readonly residualRole: ResidualRole;
  /** LOOM JSON keys it reads and writes. */
  readonly loomJsonKeys: LoomJsonKeys;
  /** `BuildNetworkFromJSON`'s size priorities and defaults for this type (format.md section 8). */
  applyArchitectureRules?(record: LayerRecord, firstPositive: FirstPositiveKey): void;
  /**
   * Fields derived after a LOOM definition is read (bundle and architecture alike).
   * @throws LoomFormatError naming `path` for a definition LOOM cannot run
   */
  completeRecord?(record: LayerRecord, path: string): void;
  /** Stable tfjs serialisation class name, e.g. `LoomDense`. */
  readonly tfjsClassName: string;
  /** True when `apply` gives per-sample results for a whole batch in one call (splits by `batchSize` or works row by row). */
  readonly batchesSamples: boolean;
  /** Per-sample output shape fixed by the record, e.g. (F, OH, OW) for conv2d; absent: follows the input. */
  sampleOutputShape?(record: LayerRecord): number[];
  /**
   * Builds a layer from a LOOM record (weights copied into new variables).
   * @throws ShapeError / ConfigError naming `where` when sizes or weights are inconsistent.
   */
  fromRecord(record: LayerRecord, where: string): GridLayer;
  /** LOOM's `InitializeWeights` for this type: returns a record with fresh parameters (network.md 8.1). */
  initializeWeights(record: LayerRecord, rng: () => number): LayerRecord;
  /** LOOM-style constructors of this type, exposed through `CallLayerInit` (Ref: layers.md 5). */
  readonly initFunctions?: readonly LayerInitFunction[];
}

/** Standard normal draw from a uniform RNG (Box-Muller). */
export function normalFrom(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Creates a trainable float32 variable from data with a shape; names are unique per tfjs engine. */
export function makeVariable(data: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(data, shape, 'float32');
  const v = tf.variable(t, true);
  t.dispose(); // the variable holds its own reference to the data
  return v;
}

/** Reads a variable back to a fresh Float32Array (a copy). */
export function readVariable(v: tf.Variable): Float32Array {
  return new Float32Array(v.dataSync() as Float32Array);
}
