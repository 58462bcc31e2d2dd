/**
 * LOOM grid layers as `tf.layers.Layer`s, usable inside `tf.sequential` / `tf.model`, trainable
 * with `model.fit`, saved by `model.save` and restored by `tf.loadLayersModel`.
 *
 * Design:
 * - Weights: `build()` makes the grid layer (`kind.fromRecord`) and exposes each of its
 *   parameters as a {@link GridParamVariable}, a tfjs weight whose value is the grid layer's own
 *   `tf.Variable`. tfjs trains, saves and loads that variable directly; `call` runs the grid
 *   layer's `apply` on it, so gradients are the grid layer's exact autodiff gradients.
 * - Config: `getConfig()` holds the LOOM layer definition without weights (see `definition.ts`)
 *   under `loomLayer`, plus tfjs' own keys (name, trainable, batchInputShape, dtype).
 * - Batch: a tfjs batch (B, features...) is B LOOM samples. Each sample is one LOOM call with
 *   batch size 1 (tfjs' per-sample semantics: e.g. softmax and MHA see one sample at a time).
 *   Kinds with `batchesSamples` (their `apply` splits its input by `ctx.batchSize` or works row
 *   by row) get the whole batch in one call instead, which gives the same values (tested) and is
 *   faster.
 * - Shapes: the per-sample input is flattened; the per-sample output shape is the kind's
 *   `sampleOutputShape` (e.g. [filters, outH, outW] for conv2d, LOOM is NCHW), else the input's
 *   shape when the sizes agree, else [size].
 * - Residual skips need the grid network's history; inside a tfjs model a `residual` layer with
 *   `residualSkip > 0` throws (use `tf.layers.add` there), with skip 0 it is its activation.
 *
 * Ref: loom-spec/layers.md (each layer type); tfjs-layers `Layer` contract.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../core/errors';
import { cloneRecord, RECORD_FIELDS, type LayerRecord } from '../core/layer_record';
import { createRng } from '../core/rng';
import { kindByCode, LAYER_KINDS, type ForwardContext, type GridLayer, type LayerKind } from '../../layers/index';
import { decodeDefinition, encodeDefinition, recordToDefinition } from './definition';
import { GridParamVariable } from './grid_param_variable';

/** tfjs' base layer arguments (name, inputShape, batchInputShape, trainable, dtype, ...). */
export type TfjsLayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Arguments of a LOOM tfjs layer. Give `record` (code) or `loomLayer` (what `getConfig` stored). */
export interface LoomLayerArgs extends TfjsLayerArgs {
  /**
   * The LOOM layer (its type must match the class). Its weights become the initial tfjs weights;
   * weights it lacks are filled by LOOM's `InitializeWeights` seeded with `seed`. Not serialised.
   */
  readonly record?: LayerRecord;
  /** Serialised definition from `getConfig()`; its weights are zeros until loaded or set. */
  readonly loomLayer?: string;
  /** Seed for filling missing weights (default: random). */
  readonly seed?: number;
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** `record` with each weight that is missing (null or empty) taken from `fresh`, recursively into branches. */
function fillMissingWeights(record: LayerRecord, fresh: LayerRecord): LayerRecord {
  const out = cloneRecord(record);
  const o = out as unknown as Record<string, unknown>;
  const f = fresh as unknown as Readonly<Record<string, unknown>>;
  for (const { field, kind } of RECORD_FIELDS) {
    const have = o[field] as Float32Array | null;
    const got = f[field] as Float32Array | null;
    if (kind === 'f32s' && (have === null || have.length === 0) && got !== null && got.length > 0) o[field] = new Float32Array(got);
  }
  if (out.parallelBranches && fresh.parallelBranches) {
    out.parallelBranches = out.parallelBranches.map((b, i) => {
      const fb = fresh.parallelBranches?.[i];
      return fb ? fillMissingWeights(b, fb) : b;
    });
  }
  return out;
}

/**
 * A LOOM grid layer as a tfjs layer (base of the registered `Loom*` classes, one per layer kind;
 * construct those, or use {@link loomTfjsLayer}).
 */
export class LoomTfjsLayer extends tf.layers.Layer {
  /** The registry entry of the wrapped layer type. */
  readonly kind: LayerKind;
  /** JSON-safe LOOM definition without weights (what `getConfig` stores). */
  readonly loomLayer: string;
  private readonly sampleShape: number[] | null; // per-sample output shape fixed by the kind, e.g. (S, H)
  private pending: LayerRecord | null; // initial record, until build()
  private grid: GridLayer | null = null;

  /** @throws ConfigError / ShapeError when the record is invalid or of another layer type. */
  protected constructor(kind: LayerKind, args: LoomLayerArgs) {
    super(args);
    this.kind = kind;
    const where = `${this.getClassName()} '${this.name}'`;
    let initial: LayerRecord;
    if (args.record) {
      const fresh = kind.initializeWeights(cloneRecord(args.record), createRng(args.seed));
      initial = fillMissingWeights(args.record, fresh);
    } else if (typeof args.loomLayer === 'string') {
      initial = decodeDefinition(args.loomLayer, where);
    } else {
      throw new ConfigError(`${where}: needs a LOOM layer record ('record') or a serialised definition ('loomLayer')`);
    }
    const found = kindByCode(initial.type, where);
    if (found !== kind) throw new ConfigError(`${where}: record is a '${found.name}' layer, expected '${kind.name}'`);
    // A throw-away grid layer validates the record now and names its parameters.
    const probe = kind.fromRecord(initial, where);
    try {
      const canonical = probe.toRecord();
      this.loomLayer = encodeDefinition(recordToDefinition(canonical, probe.params.map((p) => p.name), where));
      this.sampleShape = kind.sampleOutputShape?.(canonical) ?? null;
    } finally {
      probe.dispose();
    }
    this.pending = initial;
  }

  /** Creates the grid layer; its parameters become this layer's trainable weights. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    if (this.grid) return;
    const where = this.where();
    const record = this.pending;
    if (!record) throw new ConfigError(`${where}: layer was disposed`);
    this.grid = this.kind.fromRecord(record, where);
    this.pending = null;
    this.trainableWeights = this.grid.params.map((p) => new GridParamVariable(p.variable, p.name, true));
    super.build(inputShape);
  }

  /** The grid layer (after `build`). @throws ConfigError before. */
  gridLayer(): GridLayer {
    if (!this.grid) throw new ConfigError(`${this.where()}: layer is not built yet (call it on an input first)`);
    return this.grid;
  }

  /**
   * (B, ...) -> (B, ...per-sample output shape); the batch dimension may be null.
   * @throws ShapeError when a feature dimension is unknown.
   */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const dims = shape.slice(1);
    if (!dims.every((d): d is number => typeof d === 'number')) {
      throw new ShapeError(`${this.where()}: input shape [${shape.join(', ')}] has unknown feature dimensions, expected (batch, known sizes...)`);
    }
    return [shape[0] ?? null, ...this.sampleOutputShape(dims, this.sampleOutputSize(product(dims)))];
  }

  /** x (B, ...) -> y (B, ...): each sample through the grid layer's `apply`. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Readonly<Record<string, unknown>>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (!x || (Array.isArray(inputs) && inputs.length !== 1)) throw new ShapeError(`${this.where()}: expects exactly one input tensor`);
      const grid = this.gridLayer();
      const b = x.shape[0] ?? 0;
      const dims = x.shape.slice(1);
      const n = product(dims);
      const ctx: ForwardContext = { batchSize: 1, where: this.where(), training: kwargs['training'] === true, loomCompat: false };
      let y: tf.Tensor2D; // (B, M)
      if (b === 0) {
        y = tf.zeros([0, this.sampleOutputSize(n)]);
      } else if (this.kind.batchesSamples) {
        y = grid.apply(x.reshape([b * n]), { ...ctx, batchSize: b }).reshape([b, -1]); // (B*N) -> (B*M) -> (B, M)
      } else {
        const rows = tf.unstack(x.reshape([b, n])) as tf.Tensor1D[]; // B x (N)
        y = tf.stack(rows.map((row) => grid.apply(row, ctx))) as tf.Tensor2D; // (B, M)
      }
      return y.reshape([b, ...this.sampleOutputShape(dims, y.shape[1])]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), loomLayer: this.loomLayer };
  }

  private where(): string {
    return `${this.getClassName()} '${this.name}'`;
  }

  /** Values per sample out for `n` in: the summary's size, the layer's own rule, else one zero-input run. */
  private sampleOutputSize(n: number): number {
    const grid = this.gridLayer();
    const known = grid.summary().outputSize(1) ?? grid.outputSizeFor?.(n, 1);
    if (known !== undefined) return known;
    const ctx: ForwardContext = { batchSize: 1, where: this.where(), training: false, loomCompat: false };
    return tf.tidy(() => grid.apply(tf.zeros([n]), ctx).size);
  }

  /** Per-sample output shape for per-sample input shape `dims` and `m` output values. */
  private sampleOutputShape(dims: readonly number[], m: number): number[] {
    if (this.sampleShape && product(this.sampleShape) === m) return [...this.sampleShape];
    return product(dims) === m ? [...dims] : [m];
  }
}

/** A registered `Loom*` layer class for one layer kind. */
export interface LoomTfjsLayerClass {
  new (args: LoomLayerArgs): LoomTfjsLayer;
  /** Stable tfjs serialisation name, e.g. `LoomRMSNorm`. */
  readonly className: string;
  /** The wrapped layer kind. */
  readonly kind: LayerKind;
  fromConfig: tf.serialization.FromConfigMethod<LoomTfjsLayer>;
}

/** Defines and registers (`tf.serialization.registerClass`) the tfjs class of one kind. */
function defineLayerClass(kind: LayerKind): LoomTfjsLayerClass {
  const className = kind.tfjsClassName;
  const cls = class extends LoomTfjsLayer {
    static readonly className = className;
    static readonly kind = kind;
    constructor(args: LoomLayerArgs) {
      super(kind, args);
    }
  };
  tf.serialization.registerClass(cls);
  return cls;
}

/** Every LOOM tfjs layer class, by layer kind name (`rms_norm` -> `LoomRMSNorm`), registered once at load. */
export const LOOM_TFJS_LAYER_CLASSES: ReadonlyMap<string, LoomTfjsLayerClass> = new Map(LAYER_KINDS.map((k) => [k.name, defineLayerClass(k)]));

/** The tfjs class of a layer kind. @throws ConfigError for an unknown kind name. */
export function loomTfjsLayerClass(kindName: string): LoomTfjsLayerClass {
  const cls = LOOM_TFJS_LAYER_CLASSES.get(kindName);
  if (!cls) throw new ConfigError(`no tfjs layer class for LOOM layer kind '${kindName}', known: ${[...LOOM_TFJS_LAYER_CLASSES.keys()].join(', ')}`);
  return cls;
}

/**
 * A tfjs layer running the LOOM layer `record` (class chosen by its type), e.g.
 * `tf.sequential({layers: [tf.layers.dense({units: 8, inputShape: [4]}), loomTfjsLayer(rmsNormRecord)]})`.
 * @throws UnsupportedLayerError for an unknown type; ConfigError / ShapeError for an invalid record.
 */
export function loomTfjsLayer(record: LayerRecord, args: Omit<LoomLayerArgs, 'record' | 'loomLayer'> = {}): LoomTfjsLayer {
  const kind = kindByCode(record.type, 'loomTfjsLayer');
  return new (loomTfjsLayerClass(kind.name))({ ...args, record });
}

/** `dense` as a tfjs layer: (B, in) -> (B, out). */
export const LoomDense = loomTfjsLayerClass('dense');
/** `conv2d` as a tfjs layer: (B, C, H, W) -> (B, F, OH, OW), NCHW as LOOM. */
export const LoomConv2D = loomTfjsLayerClass('conv2d');
/** `multi_head_attention` as a tfjs layer: (B, S, dModel) -> (B, S, dModel), one sequence per sample. */
export const LoomMultiHeadAttention = loomTfjsLayerClass('multi_head_attention');
/** `rnn` as a tfjs layer: (B, S, I) -> (B, S, H). */
export const LoomRNN = loomTfjsLayerClass('rnn');
/** `lstm` as a tfjs layer: (B, S, I) -> (B, S, H). */
export const LoomLSTM = loomTfjsLayerClass('lstm');
/** `softmax` (any of the 10 variants) as a tfjs layer: per sample. */
export const LoomSoftmax = loomTfjsLayerClass('softmax');
/** `layer_norm` as a tfjs layer: rows of normSize, shape kept. */
export const LoomLayerNorm = loomTfjsLayerClass('layer_norm');
/** `residual` as a tfjs layer (skip 0 only: its activation; see the file comment). */
export const LoomResidual = loomTfjsLayerClass('residual');
/** `rms_norm` as a tfjs layer: rows of normSize, shape kept. */
export const LoomRMSNorm = loomTfjsLayerClass('rms_norm');
/** `swiglu` as a tfjs layer: rows of inputSize, shape kept. */
export const LoomSwiGLU = loomTfjsLayerClass('swiglu');
/** `parallel` (all combine modes, nested) as a tfjs layer: per sample. */
export const LoomParallel = loomTfjsLayerClass('parallel');
