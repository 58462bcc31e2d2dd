/**
 * Packs float weights (float32, or raw float16 / bfloat16 bits from a checkpoint) into the
 * storage formats of the wasm kernels: bfloat16, q8 (GGUF Q8_0 blocks) and q4 (GGUF Q4_0
 * blocks), one row at a time so a tensor never needs a second full float32 copy.
 *
 * Block semantics are ggml's reference quantizers, computed in float32 as they are in C:
 * - q8: per block of 32 values along a row, d = amax / 127, q = roundf(x * (1 / d)) (half away
 *   from zero), value = q * d.
 * - q4: m = the value of largest magnitude (the first one on ties), d = m / -8,
 *   q = min(15, trunc(x * (1 / d) + 8.5)), value = (q - 8) * d; byte j of a block holds
 *   element j in its low nibble and element j + 16 in its high nibble.
 * A block of zeros gets d = 0 and codes of 0 (q8) / 8 (q4). The last block of a row may be
 * partial (cols % 32 != 0): q4 pads it with code 8 (value 0); q8 stores only the row's values.
 * Scales are kept as float32 (GGUF stores float16; widening a GGUF scale is exact).
 * Ref: ggml-quants.c, quantize_row_q8_0_ref / quantize_row_q4_0_ref (llama.cpp).
 */
import { NonFiniteError, ShapeError } from '../core/errors';

/** Storage format of a weight matrix in the kernels. */
export type WeightDtype = 'fp32' | 'bf16' | 'q8' | 'q4';

/** Weight formats that are packed (everything but fp32). */
export type PackedDtype = Exclude<WeightDtype, 'fp32'>;

/** Values per quantization block along a row (GGUF's QK8_0 = QK4_0 = 32). */
export const QUANT_BLOCK = 32;

/** Source values: float32, or the raw 16-bit patterns of a float16 / bfloat16 tensor. */
export type FloatSource = Float32Array | { readonly dtype: 'F16' | 'BF16'; readonly bits: Uint16Array };

/** A bfloat16 matrix: bits (rows, cols), the top 16 bits of each float32. */
export interface Bf16Weight {
  readonly dtype: 'bf16';
  readonly rows: number;
  readonly cols: number;
  /** (rows, cols) bfloat16 bit patterns. */
  readonly bits: Uint16Array;
}

/** A q8 matrix: int8 codes (rows, cols) and one float32 scale per block of 32 along a row. */
export interface Q8Weight {
  readonly dtype: 'q8';
  readonly rows: number;
  readonly cols: number;
  /** (rows, cols) int8 codes in [-127, 127]. */
  readonly q: Int8Array;
  /** (rows, ceil(cols / 32)) block scales. */
  readonly scales: Float32Array;
}

/** A q4 matrix: 16 bytes of nibbles per block of 32 (GGUF Q4_0 order) and one float32 scale per block. */
export interface Q4Weight {
  readonly dtype: 'q4';
  readonly rows: number;
  readonly cols: number;
  /** (rows, ceil(cols / 32) * 16) packed nibbles. */
  readonly q: Uint8Array;
  /** (rows, ceil(cols / 32)) block scales. */
  readonly scales: Float32Array;
}

/** Any packed weight matrix. */
export type PackedWeight = Bf16Weight | Q8Weight | Q4Weight;

/** Shape of a weight matrix: rows = output features, cols = input features (HF [out, in]). */
export interface MatrixShape {
  readonly rows: number;
  readonly cols: number;
}

/** Options of {@link packWeight}. */
export interface PackOptions {
  /** Name used in error messages, e.g. `model.layers.0.mlp.up_proj.weight`. */
  readonly name?: string;
  /** Preallocated destination arrays (e.g. views into kernel memory) of {@link packedLayout}'s sizes. */
  readonly into?: { readonly q?: Int8Array | Uint8Array | Uint16Array; readonly scales?: Float32Array };
}

/** Number of quantization blocks in a row of `cols` values. */
export function blocksPerRow(cols: number): number {
  return Math.ceil(cols / QUANT_BLOCK);
}

/** Element counts of the arrays that hold a packed matrix, and their total bytes. */
export function packedLayout(dtype: WeightDtype, shape: MatrixShape): { codes: number; scales: number; bytes: number } {
  const { rows, cols } = shape;
  const nb = blocksPerRow(cols);
  switch (dtype) {
    case 'fp32': return { codes: rows * cols, scales: 0, bytes: rows * cols * 4 };
    case 'bf16': return { codes: rows * cols, scales: 0, bytes: rows * cols * 2 };
    case 'q8': return { codes: rows * cols, scales: rows * nb, bytes: rows * cols + rows * nb * 4 };
    case 'q4': return { codes: rows * nb * 16, scales: rows * nb, bytes: rows * nb * 16 + rows * nb * 4 };
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * float32 bit pattern -> bfloat16 bits, round to nearest even (overflow rounds to infinity, as
 * IEEE says); a NaN stays a NaN of the same sign and top payload bits, made quiet so that no
 * signalling NaN truncates to an infinity.
 */
export function f32BitsToBf16(bits: number): number {
  const b = bits >>> 0;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) return (b >>> 16) | 0x0040;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 value -> bfloat16 bits (see {@link f32BitsToBf16}; a JS number carries no NaN payload). */
export function f32ToBf16(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToBf16(u32Scratch[0] as number);
}

/** bfloat16 bits -> float32 value (exact). */
export function bf16ToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0] as number;
}

/** IEEE float16 bits -> value (exact; subnormals, infinities and NaN included). */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function sourceLength(src: FloatSource): number {
  return src instanceof Float32Array ? src.length : src.bits.length;
}

/** Row `r` of the source as float32 values, in `out` (cols long). */
function readRow(src: FloatSource, r: number, cols: number, out: Float32Array): Float32Array {
  const at = r * cols;
  if (src instanceof Float32Array) return src.subarray(at, at + cols);
  const widen = src.dtype === 'BF16' ? bf16ToF32 : f16ToF32;
  for (let c = 0; c < cols; c++) out[c] = widen(src.bits[at + c] as number);
  return out;
}

function checkFinite(row: Float32Array, r: number, name: string, dtype: PackedDtype): void {
  for (let c = 0; c < row.length; c++) {
    const v = row[c] as number;
    // v - v is NaN exactly for NaN and +-Infinity (no Number.* / Math.* calls in hot loops: see below).
    if (v - v !== 0) {
      throw new NonFiniteError(`${name}: value ${v} at [${r}, ${c}] cannot be quantized to ${dtype}, expected finite weights`);
    }
  }
}

/*
 * The row quantizers round to float32 through a one-element Float32Array (a JS number holds the
 * exact double result of a float32 op; storing it rounds once, as C does) and use no Math.* calls:
 * under jest's vm contexts every Math call is a slow cross-realm call (~100x).
 */
const f32Round = new Float32Array(1);

/**
 * Quantizes one (finite) row to q8: codes into `q` at `qAt`, scales into `scales` at `sAt`.
 * Ref: ggml quantize_row_q8_0_ref, with float32 scales.
 */
export function quantizeRowQ8(row: Float32Array, q: Int8Array, qAt: number, scales: Float32Array, sAt: number): void {
  const cols = row.length;
  const f = f32Round;
  for (let b = 0, k0 = 0; k0 < cols; b++, k0 += QUANT_BLOCK) {
    const k1 = k0 + QUANT_BLOCK < cols ? k0 + QUANT_BLOCK : cols;
    let amax = 0;
    for (let k = k0; k < k1; k++) {
      const v = row[k] as number;
      const a = v < 0 ? -v : v;
      if (a > amax) amax = a;
    }
    f[0] = amax / 127;
    const d = f[0] as number;
    let id = 0;
    if (d !== 0) {
      f[0] = 1 / d;
      id = f[0] as number;
    }
    scales[sAt + b] = d;
    for (let k = k0; k < k1; k++) {
      f[0] = (row[k] as number) * id;
      const x = f[0] as number;
      // roundf: halfway cases away from zero; |x| <= 127 (+ rounding), so `| 0` truncates exactly.
      const c = x < 0 ? -((-x + 0.5) | 0) : (x + 0.5) | 0;
      q[qAt + k] = c > 127 ? 127 : c < -127 ? -127 : c;
    }
  }
}

/**
 * Quantizes one (finite) row to q4: ceil(cols / 32) * 16 bytes into `q` at `qAt`, scales into
 * `scales` at `sAt`. Ref: ggml quantize_row_q4_0_ref, with float32 scales.
 */
export function quantizeRowQ4(row: Float32Array, q: Uint8Array, qAt: number, scales: Float32Array, sAt: number): void {
  const cols = row.length;
  const f = f32Round;
  for (let b = 0, k0 = 0; k0 < cols; b++, k0 += QUANT_BLOCK) {
    const k1 = k0 + QUANT_BLOCK < cols ? k0 + QUANT_BLOCK : cols;
    let amax = 0;
    let max = 0;
    for (let k = k0; k < k1; k++) {
      const v = row[k] as number;
      const a = v < 0 ? -v : v;
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    f[0] = max / -8;
    const d = f[0] as number;
    let id = 0;
    if (d !== 0) {
      f[0] = 1 / d;
      id = f[0] as number;
    }
    scales[sAt + b] = d;
    const at = qAt + b * 16;
    for (let j = 0; j < 16; j++) {
      let byte = 0;
      for (let half = 0; half < 2; half++) {
        const k = k0 + j + 16 * half;
        f[0] = (k < k1 ? (row[k] as number) : 0) * id;
        f[0] = (f[0] as number) + 8.5;
        // (int8_t) truncation of a value in [0.5, 16.5], then MIN(15, .)
        const t = (f[0] as number) | 0;
        byte |= (t > 15 ? 15 : t < 0 ? 0 : t) << (4 * half);
      }
      q[at + j] = byte;
    }
  }
}

function destination<T extends Int8Array | Uint8Array | Uint16Array | Float32Array>(
  given: Int8Array | Uint8Array | Uint16Array | Float32Array | undefined,
  make: new (n: number) => T,
  n: number,
  what: string,
  name: string,
): T {
  if (given === undefined) return new make(n);
  if (!(given instanceof make) || given.length !== n) {
    throw new ShapeError(`${name}: destination ${what} is ${given.constructor.name}(${given.length}), expected ${make.name}(${n})`);
  }
  return given as T;
}

/**
 * Packs a (rows, cols) float matrix into `dtype`, one row at a time.
 * @throws ShapeError when the source length is not rows * cols or a destination has the wrong size.
 * @throws NonFiniteError when q8/q4 meets a NaN or infinite weight (bf16 keeps them, as the format can).
 */
export function packWeight(src: FloatSource, shape: MatrixShape, dtype: PackedDtype, options: PackOptions = {}): PackedWeight {
  const { rows, cols } = shape;
  const name = options.name ?? 'weight';
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols <= 0) {
    throw new ShapeError(`${name}: shape [${rows}, ${cols}] is not a matrix, expected positive integer rows and cols`);
  }
  if (sourceLength(src) !== rows * cols) {
    throw new ShapeError(`${name}: source has ${sourceLength(src)} values, expected ${rows} x ${cols} = ${rows * cols}`);
  }
  const layout = packedLayout(dtype, shape);
  const scratch = new Float32Array(cols);
  if (dtype === 'bf16') {
    const bits = destination(options.into?.q, Uint16Array, layout.codes, 'codes', name);
    if (!(src instanceof Float32Array) && src.dtype === 'BF16') bits.set(src.bits);
    else {
      for (let r = 0; r < rows; r++) {
        const row = readRow(src, r, cols, scratch);
        // Bit patterns, not numbers, so NaN payloads and signs survive.
        const rowBits = new Uint32Array(row.buffer, row.byteOffset, cols);
        for (let c = 0; c < cols; c++) bits[r * cols + c] = f32BitsToBf16(rowBits[c] as number);
      }
    }
    return { dtype, rows, cols, bits };
  }
  const scales = destination(options.into?.scales, Float32Array, layout.scales, 'scales', name);
  const nb = blocksPerRow(cols);
  if (dtype === 'q8') {
    const q = destination(options.into?.q, Int8Array, layout.codes, 'codes', name);
    for (let r = 0; r < rows; r++) {
      const row = readRow(src, r, cols, scratch);
      checkFinite(row, r, name, dtype);
      quantizeRowQ8(row, q, r * cols, scales, r * nb);
    }
    return { dtype, rows, cols, q, scales };
  }
  const q = destination(options.into?.q, Uint8Array, layout.codes, 'codes', name);
  for (let r = 0; r < rows; r++) {
    const row = readRow(src, r, cols, scratch);
    checkFinite(row, r, name, dtype);
    quantizeRowQ4(row, q, r * nb * 16, scales, r * nb);
  }
  return { dtype, rows, cols, q, scales };
}
