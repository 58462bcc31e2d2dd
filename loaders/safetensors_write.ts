/**
 * safetensors writer: names sorted, header padded with spaces to a multiple of 8, data in name
 * order (the layout the reference implementation writes).
 * Ref: https://github.com/huggingface/safetensors (format)
 */
import { SafetensorsError } from '../src/core/errors';
import { DTYPE_SIZE, type SafetensorsDtype } from './safetensors_decode';

/** One tensor for {@link saveSafetensors}. */
export interface TensorToSave {
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint8Array | Float64Array;
  /** Stored dtype; default F32 for float arrays, I32 for Int32Array, U8 for Uint8Array. F16/BF16 round to nearest even. */
  dtype?: 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'U8';
}

function floatToHalf(v: number): number {
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  // Rounding may carry into the exponent, which is the correct result (up to Inf).
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function floatToBf16(v: number): number {
  const x = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Serialises tensors to safetensors bytes: names sorted, header padded with spaces to a multiple
 * of 8, data in name order.
 * @throws SafetensorsError when a shape does not match its data length.
 */
export function saveSafetensors(tensors: Readonly<Record<string, TensorToSave>> | ReadonlyMap<string, TensorToSave>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [string, TensorToSave][];
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const plan: { t: TensorToSave; dtype: SafetensorsDtype; begin: number }[] = [];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(`tensor name '__metadata__' is reserved`);
    const dtype: SafetensorsDtype = t.dtype ?? (t.data instanceof Int32Array ? 'I32' : t.data instanceof Uint8Array ? 'U8' : 'F32');
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new SafetensorsError(`tensor '${name}': shape [${t.shape.join(', ')}] has ${count} values, data has ${t.data.length}`);
    const size = count * DTYPE_SIZE[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    plan.push({ t, dtype, begin: offset });
    offset += size;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let jsonBytes = enc.encode(json);
  const pad = (8 - (jsonBytes.byteLength % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    jsonBytes = enc.encode(json);
  }
  const out = new Uint8Array(8 + jsonBytes.byteLength + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, jsonBytes.byteLength, true);
  out.set(jsonBytes, 8);
  const base = 8 + jsonBytes.byteLength;
  for (const { t, dtype, begin } of plan) {
    const at = base + begin;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      switch (dtype) {
        case 'F32': dv.setFloat32(at + i * 4, v, true); break;
        case 'F64': dv.setFloat64(at + i * 8, v, true); break;
        case 'F16': dv.setUint16(at + i * 2, floatToHalf(v), true); break;
        case 'BF16': dv.setUint16(at + i * 2, floatToBf16(v), true); break;
        case 'I32': dv.setInt32(at + i * 4, v, true); break;
        default: dv.setUint8(at + i, v); break;
      }
    }
  }
  return out;
}

