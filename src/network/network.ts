/**
 * LOOM's grid network on tfjs. Ref: loom-spec/network.md.
 *
 * A network is a chain of `rows * cols * layersPerCell` layers run in flat order. Data are flat
 * float32 vectors holding `batchSize` samples. Gradients are exact (tfjs autodiff through the
 * whole chain, including LOOM's implicit residual additions, which LOOM itself ignores).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, NonFiniteError, ShapeError } from '../core/errors';
import { emptyRecord, type LayerRecord } from '../core/layer_record';
import { LayerType } from '../core/types';
import { kindByCode } from '../../layers/index';
import type { ForwardContext, GridLayer, LoomGradients, UniformSource } from '../../layers/layer';
import { describePosition, flatIndex, gridAddress, type GridAddress, type GridShape } from './grid';
import { train } from '../training/train';
import type { TrainingBatch, TrainOptions, TrainResult } from '../training/types';
import type { TrainableModel } from '../training/trainable';

/**
 * How layers are wired.
 * - `loom`: LOOM's implicit residuals (RMSNorm remembers its input, MHA/SwiGLU add it to their
 *   output, LayerNorm adds it to its input). Default for networks made through the LOOM facade
 *   or loaded from LOOM files, since their outputs depend on it.
 * - `none`: a plain chain; use explicit `residual` layers for skip connections.
 */
export type ResidualMode = 'loom' | 'none';

/** Options of a network. */
export interface NetworkOptions {
  /** Samples per forward call (LOOM's `BatchSize`). Default 1. */
  batchSize?: number;
  /** Residual wiring, see {@link ResidualMode}. Default `loom`. */
  residualMode?: ResidualMode;
  /** Reproduce LOOM's numerical quirks where a layer offers a switch (docs/compat.md). Default false. */
  loomCompat?: boolean;
  /** LOOM's `InputSize` (stored, never used, as in LOOM). */
  inputSize?: number;
  /** Where stochastic layers draw uniforms (Gumbel noise), e.g. LOOM's recorded draws; default: each layer's seeded stream. */
  uniformSource?: UniformSource;
}

/** Options of one forward call on tensors. */
export interface ForwardTensorOptions {
  training?: boolean;
  /** Receives every layer's output (after residual additions), in order; they are kept alive (caller disposes). */
  onLayerOutput?: (index: number, y: tf.Tensor1D) => void;
}

/** One row of {@link Network.describe}. */
export interface LayerDescription {
  index: number;
  row: number;
  col: number;
  layer: number;
  type: string;
  detail: string;
  inputSize: number | null;
  outputSize: number | null;
  parameters: number;
  bytes: number;
}

/** Result of {@link Network.describe}. */
export interface NetworkDescription {
  grid: GridShape;
  batchSize: number;
  residualMode: ResidualMode;
  layers: LayerDescription[];
  totalParameters: number;
  tensorBytes: number;
}

/** A LOOM grid network. Owns its layers' variables: call `dispose()` when done. */
export class Network implements TrainableModel {
  readonly grid: GridShape;
  batchSize: number;
  residualMode: ResidualMode;
  loomCompat: boolean;
  inputSize: number;
  private readonly uniformSource: UniformSource | undefined;
  private readonly layers: GridLayer[];
  private lastInput: Float32Array | null = null;
  private activations: (Float32Array | null)[];
  private paramGrads: (Float32Array[] | null)[];

  private constructor(grid: GridShape, layers: GridLayer[], options: NetworkOptions) {
    this.grid = grid;
    this.layers = layers;
    this.batchSize = options.batchSize ?? 1;
    this.residualMode = options.residualMode ?? 'loom';
    this.loomCompat = options.loomCompat ?? false;
    this.inputSize = options.inputSize ?? 0;
    this.uniformSource = options.uniformSource;
    this.activations = new Array<Float32Array | null>(layers.length + 1).fill(null);
    this.paramGrads = new Array<Float32Array[] | null>(layers.length).fill(null);
  }

  /**
   * LOOM's `NewNetwork`: a grid of placeholder Dense layers (0 -> 0, activation `i % 5`) to be
   * replaced with `setLayer`. Ref: network.md 3.1.
   * @throws ConfigError for non-positive grid sizes.
   */
  static create(grid: GridShape, options: NetworkOptions = {}): Network {
    for (const [k, v] of Object.entries(grid)) {
      if (!Number.isInteger(v) || v < 0) throw new ConfigError(`grid ${k} must be a non-negative integer, got ${v}`);
    }
    const total = grid.rows * grid.cols * grid.layersPerCell;
    const records: LayerRecord[] = [];
    for (let i = 0; i < total; i++) {
      const r = emptyRecord(LayerType.Dense);
      r.activation = i % 5;
      records.push(r);
    }
    return Network.fromRecords(grid, records, options);
  }

  /**
   * Builds a network from one LOOM record per grid position (flat order).
   * Nothing is kept if any layer fails: created layers are disposed before rethrowing.
   */
  static fromRecords(grid: GridShape, records: readonly LayerRecord[], options: NetworkOptions = {}): Network {
    const total = grid.rows * grid.cols * grid.layersPerCell;
    if (records.length !== total) {
      throw new ConfigError(
        `grid ${grid.rows}x${grid.cols}x${grid.layersPerCell} needs ${total} layers, got ${records.length}`,
      );
    }
    const layers: GridLayer[] = [];
    try {
      records.forEach((r, i) => {
        const where = describePosition(grid, i, `layer type ${r.type}`);
        const kind = kindByCode(r.type, where);
        layers.push(kind.fromRecord(r, describePosition(grid, i, kind.name)));
      });
    } catch (e) {
      for (const l of layers) l.dispose();
      throw e;
    }
    return new Network(grid, layers, options);
  }

  /** Number of layers (`rows * cols * layersPerCell`). */
  totalLayers(): number {
    return this.layers.length;
  }

  /** Flat index of a grid address (LOOM's formula). */
  indexOf(a: GridAddress): number {
    return flatIndex(this.grid, a);
  }

  /** Grid address of a flat index. */
  addressOf(index: number): GridAddress {
    return gridAddress(this.grid, index);
  }

  /** The layer at a grid address or flat index, or undefined when out of range. */
  layerAt(at: GridAddress | number): GridLayer | undefined {
    const i = typeof at === 'number' ? at : this.indexOf(at);
    return this.layers[i];
  }

  /** All layers in execution order (read-only view). */
  allLayers(): readonly GridLayer[] {
    return this.layers;
  }

  /**
   * Replaces the layer at `at` (the old one is disposed). Out-of-range positions throw
   * (LOOM silently ignores them).
   */
  setLayer(at: GridAddress | number, layer: GridLayer): void {
    const i = typeof at === 'number' ? at : this.indexOf(at);
    const old = this.layers[i];
    if (old === undefined) {
      throw new ConfigError(`layer index ${i} is outside the grid (0..${this.layers.length - 1})`);
    }
    if (old !== layer) old.dispose();
    this.layers[i] = layer;
    this.paramGrads[i] = null;
  }

  /** Replaces the layer at `at` with one built from a LOOM record. */
  setLayerRecord(at: GridAddress | number, record: LayerRecord): void {
    const i = typeof at === 'number' ? at : this.indexOf(at);
    if (i < 0 || i >= this.layers.length) {
      throw new ConfigError(`layer index ${i} is outside the grid (0..${this.layers.length - 1})`);
    }
    const kind = kindByCode(record.type, describePosition(this.grid, i, `layer type ${record.type}`));
    this.setLayer(i, kind.fromRecord(record, describePosition(this.grid, i, kind.name)));
  }

  /** Every trainable variable, layer by layer in each layer's parameter order. */
  trainableVariables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.params.map((p) => p.variable));
  }

  /** Values the first layer consumes per call, when it is known. */
  expectedInputSize(): number | undefined {
    return this.layers[0]?.summary().inputSize(this.batchSize);
  }

  private context(i: number, training: boolean): ForwardContext {
    const layer = this.layers[i] as GridLayer;
    return {
      batchSize: this.batchSize,
      where: describePosition(this.grid, i, layer.kind.name),
      training,
      loomCompat: this.loomCompat,
      ...(this.uniformSource ? { uniforms: this.uniformSource } : {}),
    };
  }

  /**
   * Forward pass on a tensor, differentiable; call inside `tf.tidy` or a gradient function.
   * x (N) -> y (M).
   */
  forwardTensor(x: tf.Tensor1D, options: ForwardTensorOptions = {}): tf.Tensor1D {
    const loom = this.residualMode === 'loom';
    let data = x;
    let residual: tf.Tensor1D | null = null;
    const outputs: tf.Tensor1D[] = [x]; // [network input, output of layer 0, ...] for residual skips
    this.layers.forEach((layer, i) => {
      const ctx: ForwardContext = {
        ...this.context(i, options.training ?? false),
        earlierOutput: (k) => (k >= 1 ? outputs[i + 1 - k] : undefined),
      };
      const role = layer.kind.residualRole;
      let input = data;
      if (loom && role === 'adds-input' && residual && residual.size === data.size) input = tf.add(data, residual);
      let y = layer.apply(input, ctx);
      if (loom) {
        if (role === 'adds-output') {
          if (residual && residual.size === y.size) y = tf.add(y, residual);
          residual = y;
        } else if (role === 'records-input') {
          residual = data;
        } else if (role === 'adds-input' && residual) {
          residual = y;
        }
      }
      options.onLayerOutput?.(i, y);
      outputs.push(y);
      data = y;
    });
    return data;
  }

  private inputTensor(input: ArrayLike<number> | tf.Tensor): tf.Tensor1D {
    if (input instanceof tf.Tensor) return input.reshape([input.size]); // (N)
    return tf.tensor1d(Float32Array.from(input as ArrayLike<number>));
  }

  private checkInput(n: number): void {
    const expected = this.expectedInputSize();
    if (expected !== undefined && n !== expected) {
      throw new ShapeError(
        `network input has ${n} values, expected ${expected} (batch ${this.batchSize} x ${expected / Math.max(1, this.batchSize)})`,
      );
    }
  }

  /**
   * LOOM's `ForwardCPU`: runs the network on a flat input and records every layer's output
   * (see {@link getActivations}). Ref: network.md section 4.
   * @throws ShapeError when the input size does not fit the first layer; NonFiniteError on NaN input.
   */
  forward(input: ArrayLike<number> | tf.Tensor): Float32Array {
    const x = Float32Array.from(input instanceof tf.Tensor ? (input.dataSync() as Float32Array) : input);
    if (x.some((v) => !Number.isFinite(v))) throw new NonFiniteError('network input contains NaN or Infinity');
    this.checkInput(x.length);
    // One host read for every layer's output (a read per layer would stall a GPU backend L times).
    const all = tf.tidy(() => {
      const outs: tf.Tensor1D[] = [];
      this.forwardTensor(tf.tensor1d(x), { onLayerOutput: (_i, t) => outs.push(t) });
      return { sizes: outs.map((t) => t.size), data: outs.length ? (tf.concat(outs).dataSync() as Float32Array) : new Float32Array(0) };
    });
    const acts: (Float32Array | null)[] = [x];
    let offset = 0;
    for (const size of all.sizes) {
      acts.push(all.data.slice(offset, offset + size));
      offset += size;
    }
    const out = acts[acts.length - 1] ?? x;
    this.lastInput = x;
    this.activations = acts;
    return new Float32Array(out);
  }

  /** Runs the network on a tensor without recording anything; returns a new tensor (caller disposes). */
  predict(input: ArrayLike<number> | tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      const x = this.inputTensor(input);
      this.checkInput(x.size);
      return this.forwardTensor(x);
    });
  }

  /**
   * LOOM's `BackwardCPU`: exact gradient of `sum(output * gradOutput)` with respect to the input
   * of the last `forward` call and to every parameter. Parameter gradients are stored (see
   * {@link kernelGradients}, {@link updateWeights}). Returns dL/dinput.
   * Without a previous forward it returns zeros of `gradOutput`'s length, as LOOM does.
   */
  backward(gradOutput: ArrayLike<number>): Float32Array {
    const g = Float32Array.from(gradOutput);
    if (!this.lastInput) return new Float32Array(g.length);
    const x = this.lastInput;
    const vars = this.trainableVariables();
    if (vars.length === 0 && !this.dependsOnInput()) {
      return new Float32Array(x.length);
    }
    const { inputGrad, paramGrads } = tf.tidy(() => {
      const xv = tf.variable(tf.tensor1d(x), true);
      const gt = tf.tensor1d(g);
      try {
        const { grads } = tf.variableGrads(() => {
          const y = this.forwardTensor(xv);
          if (y.size !== g.length) {
            throw new ShapeError(`gradient has ${g.length} values, expected the output size ${y.size}`);
          }
          return tf.sum(tf.mul(y, gt)) as tf.Scalar;
        }, [xv, ...vars]);
        const read = (v: tf.Variable): Float32Array => {
          const t = grads[v.name];
          return t ? new Float32Array(t.dataSync() as Float32Array) : new Float32Array(v.size);
        };
        return { inputGrad: read(xv), paramGrads: vars.map(read) };
      } finally {
        xv.dispose();
      }
    });
    let k = 0;
    this.paramGrads = this.layers.map((l) => {
      if (l.params.length === 0) return null;
      const out = paramGrads.slice(k, k + l.params.length);
      k += l.params.length;
      return out;
    });
    return inputGrad;
  }

  /** False when the output cannot depend on the input (every layer is an empty placeholder). */
  private dependsOnInput(): boolean {
    return this.layers.some((l) => l.summary().outputSize(this.batchSize) !== 0);
  }

  /** LOOM's `UpdateWeights(lr)`: plain SGD step with the stored gradients (every layer type). */
  updateWeights(learningRate: number): void {
    this.layers.forEach((l, i) => {
      const grads = this.paramGrads[i];
      if (!grads) return;
      l.params.forEach((p, j) => {
        const gr = grads[j];
        if (!gr) return;
        tf.tidy(() => p.variable.assign(tf.sub(p.variable, tf.mul(tf.tensor(gr, p.variable.shape), learningRate))));
      });
    });
  }

  /** LOOM's `ZeroGradients()`: sets stored gradients to 0 (arrays stay allocated). */
  zeroGradients(): void {
    for (const gs of this.paramGrads) gs?.forEach((g) => g.fill(0));
  }

  /** Stored per-parameter gradients of layer `i` (null when none), in its parameter order. */
  parameterGradients(i: number): readonly Float32Array[] | null {
    return this.paramGrads[i] ?? null;
  }

  private loomGrads(): LoomGradients[] {
    return this.layers.map((l, i) => {
      const g = this.paramGrads[i];
      return g ? l.loomGradients(g) : { kernel: null, bias: null };
    });
  }

  /** LOOM's `KernelGradients()`: one array per layer in LOOM's layout, null where none. */
  kernelGradients(): (Float32Array | null)[] {
    return this.loomGrads().map((g) => g.kernel);
  }

  /** LOOM's `BiasGradients()`: one array per layer in LOOM's layout, null where none. */
  biasGradients(): (Float32Array | null)[] {
    return this.loomGrads().map((g) => g.bias);
  }

  /** LOOM's `Activations()`: `[input, output of layer 0, ...]` of the last `forward`; nulls before it. */
  getActivations(): (Float32Array | null)[] {
    return this.activations.slice();
  }

  /** LOOM's `InitializeWeights()` (network.md 8.1), with any uniform [0,1) RNG (default Math.random). */
  initializeWeights(rng: () => number = Math.random): void {
    this.layers.forEach((l, i) => {
      const rec = l.toRecord();
      const next = l.kind.initializeWeights(rec, rng);
      if (next !== rec) this.setLayerRecord(i, next);
    });
  }

  /** Every layer as a LOOM record (weights copied). */
  toRecords(): LayerRecord[] {
    return this.layers.map((l) => l.toRecord());
  }

  /**
   * Trains with exact gradients (LOOM's `Train` semantics plus tfjs optimizers, schedules,
   * callbacks and abort); see {@link train}.
   */
  train(batches: readonly TrainingBatch[], options: TrainOptions): Promise<TrainResult> {
    return train(this, batches, options);
  }

  /** Layers, sizes, parameter counts and tensor memory. */
  describe(): NetworkDescription {
    const layers = this.layers.map((l, i): LayerDescription => {
      const s = l.summary();
      const a = this.addressOf(i);
      const parameters = l.params.reduce((n, p) => n + p.variable.size, 0);
      return {
        index: i,
        ...a,
        type: s.type,
        detail: s.detail,
        inputSize: s.inputSize(this.batchSize) ?? null,
        outputSize: s.outputSize(this.batchSize) ?? null,
        parameters,
        bytes: parameters * 4,
      };
    });
    const totalParameters = layers.reduce((n, l) => n + l.parameters, 0);
    return {
      grid: { ...this.grid },
      batchSize: this.batchSize,
      residualMode: this.residualMode,
      layers,
      totalParameters,
      tensorBytes: totalParameters * 4,
    };
  }

  /** Frees every layer's variables. */
  dispose(): void {
    for (const l of this.layers) l.dispose();
    this.paramGrads = this.paramGrads.map(() => null);
  }
}
