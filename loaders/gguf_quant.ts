/**
 * GGML tensor data: F32/F16/BF16, Q8_0/Q4_0 and the K-quants Q4_K/Q5_K/Q6_K decoded to float32
 * (exactly, as ggml's dequantize_row_*; the interim path every model uses today, and for the
 * K-quants the only one: no kernel of ours takes them, so they cost float32 memory), the same blocks split into the in-memory layout of our quantized kernels, and
 * the reference quantizers that write them (bit-exact with ggml's `quantize_row_q8_0_ref` /
 * `quantize_row_q4_0_ref`, float32 arithmetic emulated with `Math.fround`).
 * Ref: ggml-quants.c (block_q8_0 { half d; int8 qs[32] }, block_q4_0 { half d; uint8 qs[16] }:
 * byte j holds element j in its low nibble and j + 16 in its high nibble, value = (q - 8) d).
 */
import { GgufError } from '../src/core/errors';
import type { GgmlTypeInfo } from './gguf_format';

/** Q8_0 weights as our q8 kernels hold them: `quants` (N, K) int8 and `scales` (N, ceil(K/32)) float32. */
export interface Q8Weights {
  readonly kind: 'q8';
  /** [N, K]: N rows (outputs) of K values (inputs), PyTorch Linear order. */
  readonly shape: readonly [number, number];
  readonly quants: Int8Array;
  readonly scales: Float32Array;
}

/** Q4_0 weights: `blocks` (N, ceil(K/32) * 16) bytes in GGUF's nibble order, `scales` (N, ceil(K/32)) float32. */
export interface Q4Weights {
  readonly kind: 'q4';
  readonly shape: readonly [number, number];
  readonly blocks: Uint8Array;
  readonly scales: Float32Array;
}

/** Raw quantized blocks of a matrix, as our quantized kernels take them. */
export type QuantizedWeights = Q8Weights | Q4Weights;

/** float16 bits to float32 value (exact). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** float32 to float16 bits, round to nearest even (GGML_FP32_TO_FP16). */
export function floatToHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return sign | (ax > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (ax >= 0x477ff000) return sign | 0x7c00;
  if (ax < 0x38800000) {
    const m = Math.abs(f[0]!) * 16777216;
    let q = Math.floor(m);
    const r = m - q;
    if (r > 0.5 || (r === 0.5 && q & 1)) q++;
    return sign | q;
  }
  let h = (ax - 0x38000000) >>> 13;
  const rest = ax & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float32 to bfloat16 bits, round to nearest even (NaN kept quiet). */
export function floatToBf16(v: number): number {
  const x = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function view(bytes: Uint8Array, begin: number, end: number): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
}

/**
 * Decodes `count` elements of type `type` from `bytes[begin, end)` to float32.
 * @throws GgufError for a type without a decoder (K-quants, Q4_1, Q5_x, integer types).
 */
export function dequantize(type: GgmlTypeInfo, bytes: Uint8Array, begin: number, end: number, count: number, name: string): Float32Array {
  const dv = view(bytes, begin, end);
  const out = new Float32Array(count);
  switch (type.name) {
    case 'F32':
      new Uint8Array(out.buffer).set(bytes.subarray(begin, begin + count * 4));
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      return out;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'Q8_0':
      for (let b = 0; b < count / 32; b++) {
        const d = halfToFloat(dv.getUint16(b * 34, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = dv.getInt8(b * 34 + 2 + j) * d;
      }
      return out;
    case 'Q4_0':
      for (let b = 0; b < count / 32; b++) {
        const d = halfToFloat(dv.getUint16(b * 18, true));
        for (let j = 0; j < 16; j++) {
          const q = dv.getUint8(b * 18 + 2 + j);
          out[b * 32 + j] = ((q & 15) - 8) * d;
          out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
        }
      }
      return out;
    case 'Q4_K':
    case 'Q5_K':
    case 'Q6_K':
      dequantizeK(type.name, dv, out, count / 256);
      return out;
    default:
      throw new GgufError(`tensor '${name}': ggml type ${type.name} is not supported, expected F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K (requantize with llama-quantize)`);
  }
}

/** ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at `at`. */
function scaleMinK4(dv: DataView, at: number, j: number): [number, number] {
  const q = (i: number): number => dv.getUint8(at + i);
  if (j < 4) return [q(j) & 63, q(j + 4) & 63];
  return [(q(j + 4) & 0xf) | ((q(j - 4) >> 6) << 4), (q(j + 4) >> 4) | ((q(j) >> 6) << 4)];
}

/**
 * dequantize_row_q4_K / q5_K / q6_K (256-value super-blocks), float32 arithmetic as ggml's.
 * Ref: ggml-quants.c (block_q4_K { half d, dmin; u8 scales[12], qs[128] }, block_q5_K adds
 * qh[32] before qs, block_q6_K { u8 ql[128], qh[64]; i8 scales[16]; half d }).
 */
function dequantizeK(kind: 'Q4_K' | 'Q5_K' | 'Q6_K', dv: DataView, y: Float32Array, blocks: number): void {
  const fr = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const o = b * 256;
    if (kind === 'Q6_K') {
      const base = b * 210;
      const d = halfToFloat(dv.getUint16(base + 208, true));
      for (let n = 0; n < 2; n++) {
        const ql = base + n * 64;
        const qh = base + 128 + n * 32;
        const sc = base + 192 + n * 8;
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const L = dv.getUint8(ql + l);
          const L32 = dv.getUint8(ql + l + 32);
          const H = dv.getUint8(qh + l);
          const q1 = ((L & 0xf) | ((H & 3) << 4)) - 32;
          const q2 = ((L32 & 0xf) | (((H >> 2) & 3) << 4)) - 32;
          const q3 = ((L >> 4) | (((H >> 4) & 3) << 4)) - 32;
          const q4 = ((L32 >> 4) | (((H >> 6) & 3) << 4)) - 32;
          const at = o + n * 128 + l;
          y[at] = fr(fr(d * dv.getInt8(sc + is)) * q1);
          y[at + 32] = fr(fr(d * dv.getInt8(sc + is + 2)) * q2);
          y[at + 64] = fr(fr(d * dv.getInt8(sc + is + 4)) * q3);
          y[at + 96] = fr(fr(d * dv.getInt8(sc + is + 6)) * q4);
        }
      }
      continue;
    }
    const size = kind === 'Q4_K' ? 144 : 176;
    const base = b * size;
    const d = halfToFloat(dv.getUint16(base, true));
    const dmin = halfToFloat(dv.getUint16(base + 2, true));
    const qh = base + 16; // Q5_K only
    let qs = base + (kind === 'Q4_K' ? 16 : 48);
    for (let j = 0, is = 0; j < 256; j += 64, is += 2) {
      const [sc1, m1] = scaleMinK4(dv, base + 4, is);
      const [sc2, m2] = scaleMinK4(dv, base + 4, is + 1);
      const d1 = fr(d * sc1);
      const min1 = fr(dmin * m1);
      const d2 = fr(d * sc2);
      const min2 = fr(dmin * m2);
      const u1 = 1 << (2 * (j / 64));
      const u2 = u1 << 1;
      for (let l = 0; l < 32; l++) {
        const q = dv.getUint8(qs + l);
        const h = kind === 'Q5_K' ? dv.getUint8(qh + l) : 0;
        y[o + j + l] = fr(fr(d1 * ((q & 0xf) + (h & u1 ? 16 : 0))) - min1);
        y[o + j + 32 + l] = fr(fr(d2 * ((q >> 4) + (h & u2 ? 16 : 0))) - min2);
      }
      qs += 32;
    }
  }
}

/**
 * Splits Q8_0 / Q4_0 blocks of an (N, K) matrix into our kernels' layout; `rowOrder[n]` is the
 * file row that becomes row n (undoes a row permutation without touching blocks).
 * @returns undefined for other types.
 */
export function rawBlocks(type: GgmlTypeInfo, bytes: Uint8Array, begin: number, end: number, n: number, k: number, rowOrder?: ArrayLike<number>): QuantizedWeights | undefined {
  if (type.name !== 'Q8_0' && type.name !== 'Q4_0') return undefined;
  const dv = view(bytes, begin, end);
  const nb = k / 32;
  const scales = new Float32Array(n * nb);
  const q8 = type.name === 'Q8_0';
  const quants = q8 ? new Int8Array(n * k) : new Uint8Array(n * nb * 16);
  for (let r = 0; r < n; r++) {
    const src = rowOrder ? rowOrder[r]! : r;
    for (let b = 0; b < nb; b++) {
      const at = (src * nb + b) * type.typeSize;
      scales[r * nb + b] = halfToFloat(dv.getUint16(at, true));
      const from = bytes.subarray(begin + at + 2, begin + at + type.typeSize);
      if (q8) (quants as Int8Array).set(new Int8Array(from.buffer, from.byteOffset, 32), r * k + b * 32);
      else quants.set(from, (r * nb + b) * 16);
    }
  }
  const shape = [n, k] as const;
  return q8 ? { kind: 'q8', shape, quants: quants as Int8Array, scales } : { kind: 'q4', shape, blocks: quants as Uint8Array, scales };
}

const fr = Math.fround;

/** ggml's quantize_row_q8_0_ref over `x` (length a multiple of 32). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(b * 34, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) {
      const v = fr(x[b * 32 + j]! * id);
      dv.setInt8(b * 34 + 2 + j, Math.sign(v) * Math.floor(Math.abs(v) + 0.5));
    }
  }
  return out;
}

/** ggml's quantize_row_q4_0_ref over `x` (length a multiple of 32). */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 18);
  const dv = new DataView(out.buffer);
  const q = (v: number, id: number): number => Math.min(15, Math.trunc(fr(fr(v * id) + 8.5)));
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(b * 18, floatToHalf(d), true);
    for (let j = 0; j < 16; j++) out[b * 18 + 2 + j] = q(x[b * 32 + j]!, id) | (q(x[b * 32 + 16 + j]!, id) << 4);
  }
  return out;
}
