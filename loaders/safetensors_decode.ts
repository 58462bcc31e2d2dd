/**
 * safetensors dtypes and the decoding of one tensor's bytes: floats widen or narrow to float32
 * (checked finite unless the caller trusts the file), integers to int32.
 * Ref: https://github.com/huggingface/safetensors (format)
 */
import { SafetensorsError } from '../src/core/errors';

/** dtypes this reader decodes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** The floating-point dtypes. */
export const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F64', 'F32', 'F16', 'BF16']);

/** One tensor's entry in a validated header. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte range relative to the start of the data section. */
  readonly begin: number;
  readonly end: number;
}

/** A decoded tensor: floats widen or narrow to float32, integers to int32. */
export interface DecodedTensor {
  readonly name: string;
  /** dtype stored in the file. */
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** Options of {@link decodeTensorBytes}. */
export interface TensorDecodeOptions {
  /**
   * Reject NaN and ±Infinity in float tensors (default true). A checkpoint with a non-finite weight
   * gives NaN logits for every input, so it is refused at load, naming the tensor. Pass false only
   * for files you trust, to skip the scan.
   */
  checkFinite?: boolean;
}

/** float16 bits to float32 value (exact; subnormals, Inf and NaN kept). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | null = null;

/**
 * Decodes one tensor from exactly its own bytes (`raw.byteLength === entry.end - entry.begin`).
 * F32/F16/BF16/F64 -> Float32Array (F64 narrowed), integer types and BOOL -> Int32Array
 * (I64 values must fit in int32).
 * @throws SafetensorsError when an I64 value does not fit, or (unless `checkFinite: false`) a float
 *   value is NaN or infinite after conversion to float32.
 */
export function decodeTensorBytes(raw: Uint8Array, entry: TensorEntry, file = 'safetensors', options: TensorDecodeOptions = {}): DecodedTensor {
  const len = entry.end - entry.begin;
  if (raw.byteLength !== len) {
    throw new SafetensorsError(`${file}: tensor '${entry.name}' has ${raw.byteLength} bytes, its header entry needs ${len}`);
  }
  const bytes = raw;
  const start = raw.byteOffset;
  const count = len / DTYPE_SIZE[entry.dtype];
  const dv = new DataView(raw.buffer, start, len);
  let data: Float32Array | Int32Array;
  switch (entry.dtype) {
    case 'F32': {
      data = new Float32Array(count);
      // Copy bytes (also when unaligned); the platform is little-endian on every tfjs target.
      new Uint8Array(data.buffer).set(bytes);
      break;
    }
    case 'F64': {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat64(i * 8, true);
      break;
    }
    case 'F16': {
      if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
      }
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = halfTable[dv.getUint16(i * 2, true)]!;
      break;
    }
    case 'BF16': {
      data = new Float32Array(count);
      const out = new Uint32Array(data.buffer);
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
    case 'I64': {
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new SafetensorsError(`${file}: tensor '${entry.name}' I64 value ${v} at index ${i} does not fit in int32`);
        }
        data[i] = Number(v);
      }
      break;
    }
    case 'I32':
      data = new Int32Array(count);
      new Uint8Array(data.buffer).set(bytes);
      break;
    case 'I16':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = dv.getInt16(i * 2, true);
      break;
    case 'I8':
      data = Int32Array.from(new Int8Array(bytes.buffer, start, count));
      break;
    case 'U8':
    case 'BOOL':
      data = Int32Array.from(new Uint8Array(bytes.buffer, start, count));
      break;
  }
  if (options.checkFinite !== false && data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) {
        throw new SafetensorsError(
          `${file}: tensor '${entry.name}' (${entry.dtype}) has a non-finite value ${data[i]} at index ${i}; ` +
            'weights must be finite (pass checkFinite: false to skip this scan for a trusted file)',
        );
      }
    }
  }
  return { name: entry.name, dtype: entry.dtype, shape: entry.shape, data };
}

