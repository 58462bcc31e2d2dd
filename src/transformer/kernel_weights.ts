/**
 * A decoder's weights in the kernel module's memory, every matrix [out, in] row-major (HF layout),
 * each matrix tagged with its storage dtype so linear and embedding calls dispatch on it. Built from
 * {@link DecoderWeights} (tf tensors [in, out]): each tensor is transposed into module memory and
 * disposed right away, so the model never holds a second full fp32 copy in tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, OutOfMemoryError } from '../core/errors';
import type { KernelHeap } from '../kernels/heap';
import { packedLayout, packWeight, type WeightDtype } from '../kernels/quantize';
import { planDtypes, resolveDtypePlan, type DtypePlan, type WeightModule } from '../kernels/dtype_plan';
import type { KernelExports } from '../kernels/module';
import type { DecoderWeights, NormWeights } from './weights';

/** A weight matrix (rows = output features N, cols = input features K) in module memory. */
export type KernelMatrix =
  | { readonly dtype: 'fp32'; readonly rows: number; readonly cols: number; readonly w: number }
  | { readonly dtype: 'bf16'; readonly rows: number; readonly cols: number; readonly w: number }
  | { readonly dtype: 'q8' | 'q4'; readonly rows: number; readonly cols: number; readonly wq: number; readonly ws: number };

/** A norm: gamma and (LayerNorm) beta pointers; beta 0 when absent. */
export interface KernelNorm {
  readonly gamma: number;
  readonly beta: number;
}

/** One block; bias pointers are 0 when absent. */
export interface KernelBlock {
  readonly norm1: KernelNorm;
  readonly norm2: KernelNorm;
  /** [(hq + 2 hkv) hd][D]: rows [q heads | k heads | v heads]. */
  readonly qkv: KernelMatrix;
  readonly qkvBias: number;
  /** [D][hq hd]. */
  readonly out: KernelMatrix;
  readonly outBias: number;
  /** Gated: [2F][D] rows [gate | up]; plain: [F][D]. */
  readonly up: KernelMatrix;
  readonly upBias: number;
  /** [D][F]. */
  readonly down: KernelMatrix;
  readonly downBias: number;
}

/** Every weight of the model in module memory. */
export interface KernelModelWeights {
  /** Token embedding table [V][D] (for tied models the same matrix as {@link lmHead}). */
  readonly embed: KernelMatrix;
  /** Learned positions [P][D] fp32 (GPT-2), 0 when absent. */
  readonly positions: number;
  readonly blocks: readonly KernelBlock[];
  readonly finalNorm: KernelNorm;
  /** [V][D]. */
  readonly lmHead: KernelMatrix;
  readonly gatedMlp: boolean;
  /** Every block allocated for these weights (freed by {@link freeKernelWeights}). */
  readonly buffers: readonly number[];
  /** Bytes of those blocks. */
  readonly bytes: number;
}

/** Dtypes whose kernels are linked into the module (fp32 always; others when their C files are). */
export function kernelDtypeAvailable(exports: KernelExports, dtype: WeightDtype): boolean {
  switch (dtype) {
    case 'fp32': return true;
    case 'bf16': return !!exports.loom_linear_bf16 && !!exports.loom_embed_row_bf16;
    case 'q8': return !!exports.loom_linear_q8 && !!exports.loom_embed_row_q8 && !!exports.loom_quantize_act_q8;
    case 'q4': return !!exports.loom_linear_q4 && !!exports.loom_embed_row_q4 && !!exports.loom_quantize_act_q8;
  }
}

const TILE = 32;

/** dst (cols, rows) = transpose of src (rows, cols), 32 x 32 tiles (cache-friendly). */
function transposeTiled(src: Float32Array, rows: number, cols: number, dst: Float32Array, dstAt: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const s = r * cols;
        for (let c = c0; c < c1; c++) dst[dstAt + c * rows + r] = src[s + c]!;
      }
    }
  }
}

const matrixBytes = (dtype: WeightDtype, rows: number, cols: number): number => {
  const l = packedLayout(dtype, { rows, cols });
  return dtype === 'fp32' || dtype === 'bf16' ? l.bytes : l.codes + l.scales * 4 + 128;
};

/** A dtype for every matrix, or one plan with per-module dtypes (src/kernels/dtype_plan.ts). */
export type KernelDtypes = WeightDtype | DtypePlan;

/** The plan of `dtypes` for weights `w` (tied when `w` has no separate embedding table). */
export function kernelDtypePlan(w: DecoderWeights, dtypes: KernelDtypes): DtypePlan {
  return typeof dtypes === 'string' ? resolveDtypePlan({ dtype: dtypes }, !w.embed) : dtypes;
}

/** Bytes {@link uploadKernelWeights} will allocate for `w` in `dtypes` (checked before anything is allocated). */
export function kernelWeightBytes(w: DecoderWeights, dtypes: KernelDtypes): number {
  const plan = kernelDtypePlan(w, dtypes).modules;
  let n = 0;
  const vec = (t: tf.Tensor | undefined) => (t ? Math.ceil((t.size * 4) / 64) * 64 : 0);
  const mat = (t: tf.Tensor2D, m: WeightModule) => matrixBytes(plan[m], t.shape[1], t.shape[0]) + 64;
  const norm = (x: NormWeights) => vec(x.gamma) + vec(x.beta);
  for (const b of w.blocks) {
    n += norm(b.norm1) + norm(b.norm2) + mat(b.qkv, 'attention') + vec(b.qkvBias) + mat(b.out, 'attention') + vec(b.outBias);
    n += mat(b.up, 'mlp') + vec(b.upBias) + mat(b.down, 'mlp') + vec(b.downBias);
  }
  n += mat(w.lmHead, 'lm_head') + norm(w.finalNorm) + vec(w.positions);
  if (w.embed) n += matrixBytes(plan.embed, w.embed.shape[0], w.embed.shape[1]) + 64;
  return n;
}

/**
 * Copies `w` into module memory (matrices transposed to [out, in] and packed to `dtype`), disposing
 * each tf tensor as soon as it is copied. On failure every block allocated so far is freed (the
 * caller disposes the model).
 * @throws OutOfMemoryError (before allocating anything) when the weights cannot fit the heap.
 * @throws ConfigError when the module has no kernels for `dtype`.
 */
export function uploadKernelWeights(heap: KernelHeap, exports: KernelExports, w: DecoderWeights, dtypes: KernelDtypes): KernelModelWeights {
  const plan = kernelDtypePlan(w, dtypes);
  for (const dtype of planDtypes(plan)) {
    if (!kernelDtypeAvailable(exports, dtype)) throw new ConfigError(`kernels: dtype '${dtype}' has no kernels in this build of loom_kernels.wasm (fp32 does)`);
  }
  const need = kernelWeightBytes(w, plan);
  if (need > heap.availableBytes) throw OutOfMemoryError.forKernelHeap(need, heap.availableBytes, 'the model weights');
  const buffers: number[] = [];
  let bytes = 0;
  const alloc = (n: number, what: string): number => {
    const p = heap.alloc(n, what);
    buffers.push(p);
    bytes += Math.ceil(Math.max(n, 1) / 64) * 64;
    return p;
  };
  const vector = (t: tf.Tensor | undefined, what: string): number => {
    if (!t) return 0;
    const data = t.dataSync() as Float32Array;
    const p = alloc(data.byteLength, what);
    heap.f32().set(data, p >> 2);
    t.dispose();
    return p;
  };
  const norm = (x: NormWeights, what: string): KernelNorm => ({ gamma: vector(x.gamma, `${what} gamma`), beta: vector(x.beta, `${what} beta`) });
  /** From a (rows, cols) host array already [out, in]. */
  const pack = (data: Float32Array, rows: number, cols: number, what: string, module: WeightModule): KernelMatrix => {
    const dtype = plan.modules[module];
    if (dtype === 'fp32') {
      const p = alloc(rows * cols * 4, what);
      heap.f32().set(data, p >> 2);
      return { dtype, rows, cols, w: p };
    }
    const l = packedLayout(dtype, { rows, cols });
    if (dtype === 'bf16') {
      const p = alloc(l.bytes, what);
      packWeight(data, { rows, cols }, dtype, { name: what, into: { q: new Uint16Array(heap.memory.buffer, p, l.codes) } });
      return { dtype, rows, cols, w: p };
    }
    const wq = alloc(l.codes, `${what} codes`);
    const ws = alloc(l.scales * 4, `${what} scales`);
    const buf = heap.memory.buffer;
    const q = dtype === 'q8' ? new Int8Array(buf, wq, l.codes) : new Uint8Array(buf, wq, l.codes);
    packWeight(data, { rows, cols }, dtype, { name: what, into: { q, scales: new Float32Array(buf, ws, l.scales) } });
    return { dtype, rows, cols, wq, ws };
  };
  /** From a tf tensor (in, out): transposed to [out, in]. */
  const matrix = (t: tf.Tensor2D, what: string, module: WeightModule): KernelMatrix => {
    const [k, n] = t.shape;
    const src = t.dataSync() as Float32Array;
    const dtype = plan.modules[module];
    let m: KernelMatrix;
    if (dtype === 'fp32') {
      const p = alloc(n * k * 4, what);
      transposeTiled(src, k, n, heap.f32(), p >> 2);
      m = { dtype, rows: n, cols: k, w: p };
    } else {
      const tmp = new Float32Array(n * k);
      transposeTiled(src, k, n, tmp, 0);
      m = pack(tmp, n, k, what, module);
    }
    t.dispose();
    return m;
  };
  try {
    const blocks: KernelBlock[] = w.blocks.map((b, i) => ({
      norm1: norm(b.norm1, `layer ${i} norm1`),
      norm2: norm(b.norm2, `layer ${i} norm2`),
      qkv: matrix(b.qkv, `layer ${i} qkv`, 'attention'),
      qkvBias: vector(b.qkvBias, `layer ${i} qkv bias`),
      out: matrix(b.out, `layer ${i} out`, 'attention'),
      outBias: vector(b.outBias, `layer ${i} out bias`),
      up: matrix(b.up, `layer ${i} up`, 'mlp'),
      upBias: vector(b.upBias, `layer ${i} up bias`),
      down: matrix(b.down, `layer ${i} down`, 'mlp'),
      downBias: vector(b.downBias, `layer ${i} down bias`),
    }));
    const lmHead = matrix(w.lmHead, 'lm head', 'lm_head');
    let embed = lmHead;
    if (w.embed) {
      const [v, d] = w.embed.shape;
      embed = pack(w.embed.dataSync() as Float32Array, v, d, 'embedding', 'embed');
      w.embed.dispose();
    }
    const positions = vector(w.positions, 'positions');
    const finalNorm = norm(w.finalNorm, 'final norm');
    return { embed, positions, blocks, finalNorm, lmHead, gatedMlp: w.gatedMlp, buffers, bytes };
  } catch (e) {
    for (const p of buffers) heap.release(p);
    throw e;
  }
}

/** Frees the module memory of `w`. */
export function freeKernelWeights(heap: KernelHeap, w: KernelModelWeights): void {
  for (const p of w.buffers) heap.release(p);
}
