/**
 * Canonical decoder weights (every matrix row-major [in, out]) and the helpers the
 * per-architecture tensor-name tables use to build them from a checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { concatFloat32 } from '../core/arrays';
import { SafetensorsError, ShapeError } from '../core/errors';

/** One stored tensor as a checkpoint reader hands it over (floats already widened to float32). */
export interface SourceTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  /** Stored dtype, e.g. 'F16'; integer dtypes are rejected for weights. */
  readonly dtype?: string;
}

/** Where weights come from (a safetensors checkpoint, or tensors built in memory). No I/O here. */
export interface WeightSource {
  has(name: string): boolean;
  get(name: string): SourceTensor;
}

/** A norm's parameters: gamma (D), and beta (D) for LayerNorm. */
export interface NormWeights {
  readonly gamma: tf.Tensor1D;
  readonly beta?: tf.Tensor1D;
}

/** One decoder block. */
export interface BlockWeights {
  readonly norm1: NormWeights;
  readonly norm2: NormWeights;
  /** (D, (nHeads + 2 nKVHeads) headDim): columns [q heads | k heads | v heads]. */
  readonly qkv: tf.Tensor2D;
  readonly qkvBias?: tf.Tensor1D;
  /** (nHeads headDim, D). */
  readonly out: tf.Tensor2D;
  readonly outBias?: tf.Tensor1D;
  /** Gated MLP: (D, 2M) with columns [gate | up]; plain MLP: (D, M). */
  readonly up: tf.Tensor2D;
  readonly upBias?: tf.Tensor1D;
  /** (M, D). */
  readonly down: tf.Tensor2D;
  readonly downBias?: tf.Tensor1D;
}

/** Every weight of a decoder-only model. */
export interface DecoderWeights {
  /** Token embeddings (V, D), absent when tied (then rows are gathered from `lmHead`). */
  readonly embed?: tf.Tensor2D;
  /** Learned absolute positions (P, D) (GPT-2). */
  readonly positions?: tf.Tensor2D;
  readonly blocks: readonly BlockWeights[];
  readonly finalNorm: NormWeights;
  /** (D, V). */
  readonly lmHead: tf.Tensor2D;
  /** MLP is `down(act(gate(x)) * up(x))` (LLaMA family) rather than `down(act(up(x)))`. */
  readonly gatedMlp: boolean;
}

/** Every tensor of `w`, for disposal and counting. */
export function allTensors(w: DecoderWeights): tf.Tensor[] {
  const out: (tf.Tensor | undefined)[] = [w.embed, w.positions, w.lmHead, w.finalNorm.gamma, w.finalNorm.beta];
  for (const b of w.blocks) {
    out.push(b.norm1.gamma, b.norm1.beta, b.norm2.gamma, b.norm2.beta, b.qkv, b.qkvBias, b.out, b.outBias, b.up, b.upBias, b.down, b.downBias);
  }
  return out.filter((t): t is tf.Tensor => t !== undefined);
}

/** Reads float tensors by name, checking each shape against what config.json implies. */
export class WeightReader {
  /** Tensors created so far (freed by {@link disposeAll} when loading fails half-way). */
  readonly created: tf.Tensor[] = [];
  /** Parameters read (elements of every tensor fetched). */
  parameterCount = 0;

  constructor(private readonly source: WeightSource) {}

  has(name: string): boolean {
    return this.source.has(name);
  }

  /**
   * Data of `name`, checked to be floating point with exactly `shape`.
   * @throws SafetensorsError when missing or integer, ShapeError when the shape differs from config.json.
   */
  read(name: string, shape: readonly number[]): Float32Array {
    if (!this.source.has(name)) throw new SafetensorsError(`checkpoint: tensor '${name}' is missing, expected shape [${shape.join(', ')}]`);
    const t = this.source.get(name);
    if (!(t.data instanceof Float32Array)) throw new SafetensorsError(`checkpoint: tensor '${name}' has integer dtype ${t.dtype ?? ''}, expected a float dtype`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`checkpoint: tensor '${name}' has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`);
    }
    this.parameterCount += t.data.length;
    return t.data;
  }

  /** A 1-D tensor. */
  vector(name: string, size: number): tf.Tensor1D {
    return this.keep(tf.tensor1d(this.read(name, [size])));
  }

  /** LayerNorm parameters: gamma from `${name}.weight` and beta from `${name}.bias`, each (size). */
  layerNorm(name: string, size: number): Required<NormWeights> {
    return { gamma: this.vector(`${name}.weight`, size), beta: this.vector(`${name}.bias`, size) };
  }

  /** A 1-D tensor from host data (e.g. fused biases). */
  vectorFrom(data: Float32Array): tf.Tensor1D {
    return this.keep(tf.tensor1d(data));
  }

  /** Registers a created tensor. */
  keep<T extends tf.Tensor>(t: T): T {
    this.created.push(t);
    return t;
  }

  /** Matrix from host data, (rows, cols) row-major. */
  matrix(data: Float32Array, rows: number, cols: number): tf.Tensor2D {
    return this.keep(tf.tensor2d(data, [rows, cols]));
  }

  disposeAll(): void {
    for (const t of this.created) t.dispose();
    this.created.length = 0;
  }
}

/**
 * Runs `build` with a fresh {@link WeightReader} over `source`. When it throws, every tensor read
 * so far is disposed before the error propagates, so a model is never left half-loaded.
 */
export function withWeightReader<T>(source: WeightSource, build: (reader: WeightReader) => T): T {
  const reader = new WeightReader(source);
  try {
    return build(reader);
  } catch (e) {
    reader.disposeAll();
    throw e;
  }
}

/**
 * Writes the transpose of `src` (rows, cols), i.e. (cols, rows), into `dst` (cols, dstCols) at
 * column offset `colOffset`. Used to turn PyTorch [out, in] weights into [in, out] and to fuse them.
 */
export function transposeInto(dst: Float32Array, dstCols: number, colOffset: number, src: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const srcRow = r * cols;
    for (let c = 0; c < cols; c++) dst[c * dstCols + colOffset + r] = src[srcRow + c]!;
  }
}

/** The transpose of `src` (rows, cols) as a new array (cols, rows). */
export function transposed(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  transposeInto(out, rows, 0, src, rows, cols);
  return out;
}
