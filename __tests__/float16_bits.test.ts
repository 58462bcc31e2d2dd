/**
 * F16 / BF16 decoding and encoding against the format definitions and against torch.
 *
 * Definitions: IEEE 754-2008 binary16 (sign 1, exponent 5 bias 15, fraction 10: normal
 * (-1)^s 2^(e-15) (1 + f/1024), subnormal (-1)^s 2^-14 f/1024, e = 31 inf / NaN) and bfloat16
 * (the upper 16 bits of an IEEE binary32: exponent 8 bias 127, fraction 7). The bit patterns
 * and values below are those definitions worked out by hand (the binary16 ones are the
 * examples table of the binary16 format, e.g. 0x3555 = 0.333251953125, 0x7bff = 65504).
 * Encoding is round to nearest, ties to even (IEEE 754 default rounding).
 *
 * torch: fixtures/torch_reference/float16/torch_values.safetensors holds bytes written by torch's
 * own float32 -> float16 / bfloat16 conversion and the float64 values torch decodes them to
 * (scripts/torch_reference.py).
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadSafetensors, saveSafetensors } from '../src/index';

/**
 * Decoding options: `file` names the source in errors; `checkFinite: false` lets inf / NaN through
 * where the loader rejects non-finite weights by default (these tests decode them on purpose).
 */
const DECODE_OPTIONS = { file: 'float16 test', checkFinite: false };

/** A safetensors file holding one 1-D tensor `t` of raw 16-bit patterns, written here byte by byte. */
function rawFile(dtype: 'F16' | 'BF16', bits: readonly number[]): Uint8Array {
  let json = JSON.stringify({ t: { dtype, shape: [bits.length], data_offsets: [0, bits.length * 2] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + bits.length * 2);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true); // u64 little-endian, high word 0
  for (let i = 0; i < json.length; i++) out[8 + i] = json.charCodeAt(i);
  bits.forEach((b, i) => dv.setUint16(8 + json.length + 2 * i, b, true));
  return out;
}

async function decode(dtype: 'F16' | 'BF16', bits: readonly number[]): Promise<Float32Array> {
  return (await loadSafetensors(rawFile(dtype, bits), DECODE_OPTIONS)).get('t').data as Float32Array;
}

/** The raw 16-bit patterns of tensor `name` in safetensors `bytes`, read here from the format. */
function rawBits(bytes: Uint8Array, name: string): { dtype: string; bits: number[] } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const e = header[name];
  if (!e) throw new Error(`no tensor '${name}'`);
  const [begin, end] = e.data_offsets;
  return { dtype: e.dtype, bits: Array.from({ length: (end - begin) / 2 }, (_, i) => dv.getUint16(8 + n + begin + 2 * i, true)) };
}

/** The 16-bit patterns saveSafetensors writes for `values` stored as `dtype`. */
function encode(dtype: 'F16' | 'BF16', values: readonly number[] | Float32Array): number[] {
  const r = rawBits(saveSafetensors({ t: { shape: [values.length], data: Float32Array.from(values), dtype } }), 't');
  expect(r.dtype).toBe(dtype);
  return r.bits;
}

function expectSame(actual: number, expected: number, what: string): void {
  // Object.is: NaN equals NaN, and -0 differs from +0
  if (!Object.is(actual, expected)) throw new Error(`${what}: got ${actual}, expected ${expected}`);
}

const hex = (b: number): string => `0x${b.toString(16).padStart(4, '0')}`;

// [bits, value] from the binary16 definition
const F16_TABLE: [number, number][] = [
  [0x0000, 0], [0x8000, -0],
  [0x0001, 2 ** -24], // smallest subnormal 5.960464477539063e-8
  [0x8001, -(2 ** -24)],
  [0x03ff, 1023 * 2 ** -24], // largest subnormal 6.097555160522461e-5
  [0x0400, 2 ** -14], // smallest normal 6.103515625e-5
  [0x3555, 0.333251953125], [0x3bff, 0.99951171875], [0x3c00, 1], [0x3c01, 1.0009765625],
  [0x4000, 2], [0xc000, -2], [0x4248, 3.140625],
  [0x7bff, 65504], [0xfbff, -65504], // largest finite
  [0x7c00, Infinity], [0xfc00, -Infinity],
  [0x7e00, NaN], [0x7c01, NaN], [0xfe00, NaN], [0x7fff, NaN],
];

// [bits, value] from the bfloat16 definition (upper half of binary32)
const BF16_TABLE: [number, number][] = [
  [0x0000, 0], [0x8000, -0],
  [0x0001, 2 ** -133], // smallest subnormal 9.183549615799121e-41
  [0x007f, 127 * 2 ** -133], // largest subnormal
  [0x0080, 2 ** -126], // smallest normal 1.1754943508222875e-38
  [0x3f80, 1], [0x3f81, 1.0078125], [0xc000, -2], [0x4049, 3.140625], [0x3eab, 0.333984375],
  [0x7f7f, 255 * 2 ** 120], // largest finite 3.3895313892515355e38
  [0xff7f, -255 * 2 ** 120],
  [0x7f80, Infinity], [0xff80, -Infinity],
  [0x7fc0, NaN], [0x7f81, NaN], [0xffff, NaN],
];

describe('F16 / BF16 decoding: bit patterns from the definitions', () => {
  test.each([['F16', F16_TABLE], ['BF16', BF16_TABLE]] as const)('%s', async (dtype, table) => {
    const got = await decode(dtype, table.map(([b]) => b));
    table.forEach(([b, v], i) => expectSame(got[i]!, v, `${dtype} ${hex(b)}`));
  });

  test('every F16 pattern decodes to the definition (all 65536)', async () => {
    const bits = Array.from({ length: 65536 }, (_, i) => i);
    const got = await decode('F16', bits);
    for (const b of bits) {
      const s = b & 0x8000 ? -1 : 1;
      const e = (b >> 10) & 0x1f;
      const f = b & 0x3ff;
      const v = e === 31 ? (f ? NaN : s * Infinity) : e === 0 ? s * 2 ** -14 * (f / 1024) : s * 2 ** (e - 15) * (1 + f / 1024);
      expectSame(got[b]!, v, `F16 ${hex(b)}`);
    }
  });
});

describe('F16 / BF16 encoding: round to nearest, ties to even', () => {
  // [value, bits]
  const f16: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2^-10: to the even 1
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: to the even 0x3c02
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above halfway
    [65519, 0x7bff], // below halfway to 65536
    [65520, 0x7c00], // halfway between 65504 and 65536 (even): overflows to inf
    [1e6, 0x7c00], [-1e6, 0xfc00],
    [2 ** -25, 0x0000], // halfway between 0 and the smallest subnormal: to the even 0
    [-(2 ** -25), 0x8000],
    [3 * 2 ** -25, 0x0002], // halfway between 0x0001 and 0x0002
    [2 ** -25 * (1 + 2 ** -20), 0x0001],
    [2 ** -14 - 2 ** -25, 0x0400], // halfway between the largest subnormal (odd) and the smallest normal
    [1e-45, 0x0000],
    [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00], [NaN, 0x7e00],
  ];
  const bf16: [number, number][] = [
    [1 + 2 ** -8, 0x3f80], // halfway: to the even 1
    [1 + 3 * 2 ** -8, 0x3f82],
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [Math.PI, 0x4049], // float32 pi = 0x40490fdb: lower half below halfway
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up past bf16 max: inf
    [255 * 2 ** 120, 0x7f7f],
    [2 ** -134, 0x0000], // halfway between 0 and the smallest subnormal
    [3 * 2 ** -134, 0x0002],
    [-0, 0x8000], [Infinity, 0x7f80], [-Infinity, 0xff80],
  ];
  test.each([['F16', f16], ['BF16', bf16]] as const)('%s', (dtype, table) => {
    const got = encode(dtype, table.map(([v]) => v));
    table.forEach(([v, b], i) => expect(`${v} -> ${hex(got[i]!)}`).toBe(`${v} -> ${hex(b)}`));
  });

  test('NaN stays NaN through BF16', () => {
    const [b] = encode('BF16', [NaN]);
    expect((b! & 0x7f80) === 0x7f80 && (b! & 0x7f) !== 0).toBe(true);
  });
});

describe('F16 / BF16 against bytes torch wrote', () => {
  const bytes = new Uint8Array(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_reference', 'float16', 'torch_values.safetensors')));
  let file: Awaited<ReturnType<typeof loadSafetensors>>;
  let source: Float32Array;
  let n: number;
  beforeAll(async () => {
    file = await loadSafetensors(bytes, DECODE_OPTIONS);
    source = file.get('source_f32').data as Float32Array;
    n = source.length;
  });

  test.each([['F16', 'torch_f16'], ['BF16', 'torch_bf16']] as const)('%s: torch bytes decode to the values torch decodes them to', (dtype, name) => {
    expect(file.get(name).dtype).toBe(dtype);
    const got = file.get(name).data;
    const want = file.get(`${name}_as_f64`).data; // F64 narrowed to float32: exact, every F16/BF16 value is a float32
    expect(got).toHaveLength(n);
    for (let i = 0; i < n; i++) expectSame(got[i]!, want[i]!, `${name}[${i}] (source ${source[i]})`);
  });

  test.each([['F16', 'torch_f16'], ['BF16', 'torch_bf16']] as const)('%s: our encoder writes the bytes torch wrote', (dtype, name) => {
    const torchBits = rawBits(bytes, name);
    expect(torchBits.dtype).toBe(dtype);
    const ours = encode(dtype, source);
    let nans = 0;
    for (let i = 0; i < n; i++) {
      const theirs = torchBits.bits[i]!;
      if (Number.isNaN(source[i]!)) {
        // torch's vectorised converter writes NaN as 0xffff, its scalar one as 0x7fc0: any NaN will do
        nans++;
        continue;
      }
      if (ours[i] !== theirs) throw new Error(`${dtype} of ${source[i]}: ours ${hex(ours[i]!)}, torch ${hex(theirs)}`);
    }
    expect(nans).toBe(1);
  });
});
