/**
 * Packing float weights into bf16 / q8 / q4 (src/kernels/quantize.ts) against hand-worked blocks
 * derived from ggml's reference quantizers (ggml-quants.c: quantize_row_q8_0_ref: d = amax / 127,
 * q = roundf(x / d); quantize_row_q4_0_ref: d = (value of largest magnitude) / -8,
 * q = MIN(15, (int8_t)(x / d + 8.5)), byte j = element j | element j + 16 << 4), and bf16 against
 * IEEE round-to-nearest-even on bit patterns.
 */
import { NonFiniteError, ShapeError } from '../src/core/errors';
import { dequantize, dequantizeRow } from '../src/kernels/dequantize';
import {
  bf16ToF32, f16ToF32, f32BitsToBf16, packedLayout, packWeight, type Bf16Weight, type Q4Weight, type Q8Weight,
} from '../src/kernels/quantize';

function block(values: Record<number, number>, n = 32): Float32Array {
  const b = new Float32Array(n);
  for (const [k, v] of Object.entries(values)) b[Number(k)] = v;
  return b;
}

const q8 = (src: Float32Array, rows: number, cols: number): Q8Weight => packWeight(src, { rows, cols }, 'q8') as Q8Weight;
const q4 = (src: Float32Array, rows: number, cols: number): Q4Weight => packWeight(src, { rows, cols }, 'q4') as Q4Weight;

/** Nibble of element k (0..31) of block b of row 0. */
function nibble(w: Q4Weight, b: number, k: number): number {
  const byte = w.q[b * 16 + (k & 15)] as number;
  return k < 16 ? byte & 15 : byte >> 4;
}

describe('q8 blocks (GGUF Q8_0)', () => {
  test('all zeros: scale 0, codes 0', () => {
    const w = q8(new Float32Array(32), 1, 32);
    expect(Array.from(w.scales)).toEqual([0]);
    expect(Array.from(w.q).every((v) => v === 0)).toBe(true);
  });

  test('one large value: d = amax / 127, that value gets +-127', () => {
    const w = q8(block({ 5: -2.54, 9: 0.01 }), 1, 32);
    expect(w.scales[0]).toBe(Math.fround(Math.fround(2.54) / 127));
    expect(w.q[5]).toBe(-127);
    // 0.01 / 0.02 = 0.5 (in float32: just under or over), rounds to 0 or 1; compute as ggml does.
    const id = Math.fround(1 / (w.scales[0] as number));
    const x = Math.fround(Math.fround(0.01) * id);
    expect(w.q[9]).toBe(Math.sign(x) * Math.floor(Math.abs(x) + 0.5));
  });

  test('ties round half away from zero (roundf), not half up or half even', () => {
    // amax 127 -> d = 1, id = 1: codes are roundf of the values themselves.
    const w = q8(block({ 0: 127, 1: 2.5, 2: -2.5, 3: 0.5, 4: -0.5, 5: 3.5, 6: -126.5, 7: 1.49 }), 1, 32);
    expect(w.scales[0]).toBe(1);
    expect(Array.from(w.q.subarray(0, 8))).toEqual([127, 3, -3, 1, -1, 4, -127, 1]);
  });

  test('negative extreme and a partial last block (cols = 40)', () => {
    const src = new Float32Array(40);
    src[0] = -127;
    src[1] = 64;
    src[35] = 0.7; // second block holds only 8 values; its amax is 0.7
    src[36] = -0.35;
    const w = q8(src, 1, 40);
    expect(w.q.length).toBe(40);
    expect(w.scales.length).toBe(2);
    expect(w.q[0]).toBe(-127);
    expect(w.q[1]).toBe(64);
    expect(w.scales[1]).toBe(Math.fround(Math.fround(0.7) / 127));
    expect(w.q[35]).toBe(127);
    expect(w.q[36]).toBe(-64); // -0.35 / (0.7 / 127) = -63.5 -> roundf -> -64
  });

  test('dequantized values are within half a step of the inputs', () => {
    const src = Float32Array.from({ length: 3 * 70 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const w = q8(src, 3, 70);
    const back = dequantize(w);
    for (let i = 0; i < src.length; i++) {
      const d = w.scales[Math.floor(i / 70) * 3 + Math.floor((i % 70) / 32)] as number;
      expect(Math.abs((back[i] as number) - (src[i] as number))).toBeLessThanOrEqual(d * 0.5 + 1e-7);
    }
  });
});

describe('q4 blocks (GGUF Q4_0)', () => {
  test('all zeros: scale -0 (0 / -8, as in C), every nibble 8 (bytes 0x88)', () => {
    const w = q4(new Float32Array(32), 1, 32);
    expect(Array.from(w.scales)).toEqual([-0]);
    expect(Array.from(w.q)).toEqual(new Array(16).fill(0x88));
  });

  test('d takes the sign of the value of largest magnitude: that value maps to nibble 0', () => {
    const pos = q4(block({ 0: 8 }), 1, 32);
    expect(pos.scales[0]).toBe(-1);
    expect(nibble(pos, 0, 0)).toBe(0); // 8 * -1 + 8.5 = 0.5 -> 0; (0 - 8) * -1 = 8
    const neg = q4(block({ 3: -8, 4: 7.6 }), 1, 32);
    expect(neg.scales[0]).toBe(1);
    expect(nibble(neg, 0, 3)).toBe(0); // -8 -> value -8
    expect(nibble(neg, 0, 4)).toBe(15); // 7.6 + 8.5 = 16.1 -> 16 -> clamped to 15 (value 7)
  });

  test('ties round half up (trunc(x / d + 8.5)), unlike q8', () => {
    const w = q4(block({ 0: -8, 1: 2.5, 2: -2.5, 3: 0.5, 4: -0.5, 5: 7.5 }), 1, 32);
    expect(w.scales[0]).toBe(1);
    expect([1, 2, 3, 4, 5].map((k) => nibble(w, 0, k) - 8)).toEqual([3, -2, 1, 0, 7]);
  });

  test('the first value wins a tie in magnitude', () => {
    const w = q4(block({ 2: 5, 7: -5, 9: 4 }), 1, 32);
    expect(w.scales[0]).toBe(Math.fround(5 / -8));
    expect(nibble(w, 0, 2)).toBe(0);
    expect(nibble(w, 0, 7)).toBe(15); // -5 * -1.6 + 8.5 = 16.5 -> 16 -> 15
    expect(nibble(w, 0, 9)).toBe(Math.trunc(Math.fround(Math.fround(4 * Math.fround(1 / Math.fround(-0.625))) + 8.5)));
  });

  test('nibble order: byte j = element j (low) | element j + 16 (high); partial block padded with 8', () => {
    const src = new Float32Array(40);
    src[0] = -8; // d = 1
    src[16] = -7; // high nibble of byte 0: -7 + 8.5 -> 1
    src[1] = 3; // low nibble of byte 1: 11
    src[32] = 1; // block 1: 8 values, d = -1/8: 1 * -8 + 8.5 -> 0
    const w = q4(src, 1, 40);
    expect(w.q.length).toBe(32);
    expect(w.q[0]).toBe(0 | (1 << 4));
    expect(w.q[1]).toBe(11 | (8 << 4));
    expect(w.scales[1]).toBe(-0.125);
    expect(w.q[16]).toBe(0 | (8 << 4)); // element 32 low; element 48 (padding) high = 8
    expect(Array.from(w.q.subarray(24, 32))).toEqual(new Array(8).fill(0x88));
    const row = dequantizeRow(w, 0, new Float32Array(40));
    expect([row[0], row[16], row[1], row[32], row[39]]).toEqual([-8, -7, 3, 1, -0]); // (8 - 8) * -0.125 = -0
  });
});

describe('bf16', () => {
  const f32Bits = (b: number): number => f32BitsToBf16(b);
  test('round to nearest even on bit patterns (normal, subnormal, +-0, inf, overflow)', () => {
    const cases: [number, number][] = [
      [0x3f800000, 0x3f80], // 1.0 exact
      [0x3f808000, 0x3f80], // halfway, lower even: stays
      [0x3f818000, 0x3f82], // halfway, lower odd: rounds up to even
      [0x3f808001, 0x3f81], // above halfway
      [0x3f807fff, 0x3f80], // below halfway
      [0x00008000, 0x0000], // subnormal halfway -> even (0)
      [0x00018000, 0x0002], // subnormal halfway, odd -> up
      [0x00010000, 0x0001], // smallest bf16 subnormal, exact
      [0x80000000, 0x8000], // -0
      [0x7f800000, 0x7f80], // +inf
      [0xff800000, 0xff80], // -inf
      [0x7f7fffff, 0x7f80], // float32 max rounds to inf (past bf16 max + half an ulp)
      [0x7f7f7fff, 0x7f7f], // just below the halfway point: bf16 max
      [0xbf818000, 0xbf82], // negative halfway, odd -> away (to even)
    ];
    for (const [bits, expected] of cases) expect([bits.toString(16), f32Bits(bits)]).toEqual([bits.toString(16), expected]);
  });

  test('NaNs stay NaN with their sign, signalling ones made quiet (never an infinity)', () => {
    expect(f32Bits(0x7fc00000)).toBe(0x7fc0);
    expect(f32Bits(0x7f800001)).toBe(0x7fc0);
    expect(f32Bits(0xff800001)).toBe(0xffc0);
    expect(f32Bits(0x7fa50000)).toBe(0x7fe5);
  });

  test('every bf16 pattern survives float32 -> bf16 unchanged (non-NaN) through packWeight', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const asF32 = new Float32Array(65536);
    new Uint32Array(asF32.buffer).set(Array.from(bits, (b) => b << 16));
    const w = packWeight(asF32, { rows: 256, cols: 256 }, 'bf16') as Bf16Weight;
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      const got = w.bits[i] as number;
      if (isNaN) expect([i, got & 0x8000, (got & 0x7f80) === 0x7f80 && (got & 0x7f) !== 0]).toEqual([i, i & 0x8000, true]);
      else if (got !== i) expect([i, got]).toEqual([i, i]);
    }
    const direct = packWeight({ dtype: 'BF16', bits }, { rows: 256, cols: 256 }, 'bf16') as Bf16Weight;
    expect(direct.bits).toEqual(bits);
  });

  test('float16 sources widen exactly, then round to bf16', () => {
    expect([f16ToF32(0x3c00), f16ToF32(0x0001), f16ToF32(0xfc00), f16ToF32(0x7bff), f16ToF32(0x8000)]).toEqual([1, 2 ** -24, -Infinity, 65504, -0]);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
    const w = packWeight({ dtype: 'F16', bits: Uint16Array.from([0x3c00, 0x0001, 0x3c01, 0x7c00, 0x3c03]) }, { rows: 1, cols: 5 }, 'bf16') as Bf16Weight;
    // 1+2^-10 and 1+3*2^-10 are below bf16's 2^-7 step: both round to 1.0; 2^-24 is exact in bf16.
    expect(Array.from(w.bits)).toEqual([0x3f80, 0x3380, 0x3f80, 0x7f80, 0x3f80]);
    expect(bf16ToF32(0x3380)).toBe(2 ** -24);
  });

  test('q8 from a BF16 source equals q8 from the same values in float32', () => {
    const bits = Uint16Array.from({ length: 64 }, (_, i) => f32BitsToBf16(new Uint32Array(Float32Array.of(Math.cos(i) * 3).buffer)[0] as number));
    const f = Float32Array.from(bits, (b) => bf16ToF32(b));
    const a = packWeight({ dtype: 'BF16', bits }, { rows: 2, cols: 32 }, 'q8') as Q8Weight;
    const b = q8(f, 2, 32);
    expect([a.q, a.scales]).toEqual([b.q, b.scales]);
  });
});

describe('layout and errors', () => {
  test('byte counts: bf16 2/value, q8 1/value + 4/block, q4 16 + 4 per block', () => {
    expect(packedLayout('fp32', { rows: 3, cols: 40 }).bytes).toBe(480);
    expect(packedLayout('bf16', { rows: 3, cols: 40 }).bytes).toBe(240);
    expect(packedLayout('q8', { rows: 3, cols: 40 }).bytes).toBe(120 + 3 * 2 * 4);
    expect(packedLayout('q4', { rows: 3, cols: 40 }).bytes).toBe(3 * 2 * 16 + 3 * 2 * 4);
  });

  test('a wrong source length or destination size is a ShapeError; NaN/inf for q8/q4 a NonFiniteError naming the tensor', () => {
    expect(() => packWeight(new Float32Array(10), { rows: 3, cols: 4 }, 'q8', { name: 'w.up' })).toThrow(ShapeError);
    expect(() => packWeight(new Float32Array(12), { rows: 3, cols: 4 }, 'q8', { into: { q: new Int8Array(11) } })).toThrow(/expected Int8Array\(12\)/);
    const bad = new Float32Array(64);
    bad[40] = NaN;
    expect(() => packWeight(bad, { rows: 2, cols: 32 }, 'q4', { name: 'lm_head.weight' })).toThrow(NonFiniteError);
    expect(() => packWeight(bad, { rows: 2, cols: 32 }, 'q8', { name: 'lm_head.weight' })).toThrow(/lm_head.weight: value NaN at \[1, 8\]/);
    bad[40] = Infinity;
    expect(() => packWeight(bad, { rows: 2, cols: 32 }, 'q8')).toThrow(NonFiniteError);
    expect((packWeight(bad, { rows: 2, cols: 32 }, 'bf16') as Bf16Weight).bits[40]).toBe(0x7f80);
  });

  test('packs into caller-owned arrays', () => {
    const q = new Int8Array(64);
    const scales = new Float32Array(2);
    const w = packWeight(Float32Array.from({ length: 64 }, (_, i) => i - 32), { rows: 2, cols: 32 }, 'q8', { into: { q, scales } }) as Q8Weight;
    expect(w.q).toBe(q);
    expect(w.scales).toBe(scales);
    expect(q[0]).toBe(-127);
  });
});
