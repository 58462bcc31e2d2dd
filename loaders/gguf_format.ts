/**
 * GGUF (llama.cpp's file format) header reader, versions 2 and 3. Everything is checked against
 * the bytes actually present before anything is allocated: counts against the bytes left, string
 * and array lengths against the bytes left, tensor dims (1..4, positive) and types, data ranges
 * aligned, inside the file and not overlapping.
 * Ref: ggml `docs/gguf.md` and `gguf.c` (gguf_init_from_file_impl); ggml.h `ggml_type`.
 */
import { GgufError } from '../src/core/errors';

/** "GGUF" as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Default alignment of tensor data (`general.alignment` overrides it). */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf_type: the metadata value types. */
export const GGUF_VALUE_TYPE = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;

/** Byte size of each fixed-size value type (STRING and ARRAY are variable). */
const VALUE_SIZE: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** A ggml tensor type: elements per block and bytes per block. */
export interface GgmlTypeInfo {
  readonly name: string;
  readonly id: number;
  readonly blockSize: number;
  readonly typeSize: number;
}

/** ggml types by id (ggml.h). Those without a decoder here are still listed so errors can name them. */
export const GGML_TYPES: Readonly<Record<number, GgmlTypeInfo>> = Object.fromEntries(
  ([
    ['F32', 0, 1, 4], ['F16', 1, 1, 2], ['Q4_0', 2, 32, 18], ['Q4_1', 3, 32, 20], ['Q5_0', 6, 32, 22], ['Q5_1', 7, 32, 24],
    ['Q8_0', 8, 32, 34], ['Q8_1', 9, 32, 36], ['Q2_K', 10, 256, 84], ['Q3_K', 11, 256, 110], ['Q4_K', 12, 256, 144],
    ['Q5_K', 13, 256, 176], ['Q6_K', 14, 256, 210], ['Q8_K', 15, 256, 292], ['I8', 24, 1, 1], ['I16', 25, 1, 2],
    ['I32', 26, 1, 4], ['I64', 27, 1, 8], ['F64', 28, 1, 8], ['BF16', 30, 1, 2],
  ] as const).map(([name, id, blockSize, typeSize]) => [id, { name, id, blockSize, typeSize }]),
);

/** A metadata value: numbers (64-bit integers as numbers, checked to be safe), booleans, strings, arrays. */
export type GgufValue = number | boolean | string | readonly GgufValue[];

/** One tensor's header entry. */
export interface GgufTensorInfo {
  readonly name: string;
  /** GGML dims: `ne[0]` is the row length (the innermost dimension). */
  readonly ne: readonly number[];
  readonly type: GgmlTypeInfo;
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

/** A validated GGUF header. */
export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
}

/** Bounded little-endian reader: every read checks the bytes left first. */
class Cursor {
  private readonly dv: DataView;
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get left(): number {
    return this.bytes.byteLength - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.left) throw new GgufError(`${this.file}: ${what} needs ${n} bytes at offset ${this.pos}, the file has ${this.left} left (truncated or lying header)`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.dv.getUint8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${this.file}: ${what} is ${v}, larger than any file this reader accepts`);
    return Number(v);
  }
  i64(what: string): number {
    this.need(8, what);
    const v = this.dv.getBigInt64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`${this.file}: ${what} is ${v}, outside the exactly representable range`);
    return Number(v);
  }
  string(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, `${what} (a string claiming ${n} bytes)`);
    const s = new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  scalar(type: number, what: string): number | boolean | string {
    const dv = this.dv;
    const size = VALUE_SIZE[type];
    if (type === GGUF_VALUE_TYPE.STRING) return this.string(what);
    if (size === undefined) throw new GgufError(`${this.file}: ${what} has value type ${type}, expected one of 0..12 (gguf_type)`);
    if (type === GGUF_VALUE_TYPE.UINT64) return this.u64(what);
    if (type === GGUF_VALUE_TYPE.INT64) return this.i64(what);
    this.need(size, what);
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case 0: return dv.getUint8(p);
      case 1: return dv.getInt8(p);
      case 2: return dv.getUint16(p, true);
      case 3: return dv.getInt16(p, true);
      case 4: return dv.getUint32(p, true);
      case 5: return dv.getInt32(p, true);
      case 6: return dv.getFloat32(p, true);
      case 7: {
        const b = dv.getUint8(p);
        if (b > 1) throw new GgufError(`${this.file}: ${what} is a bool stored as ${b}, expected 0 or 1`);
        return b === 1;
      }
      default: return dv.getFloat64(p, true);
    }
  }
  value(type: number, what: string, depth = 0): GgufValue {
    if (type !== GGUF_VALUE_TYPE.ARRAY) return this.scalar(type, what);
    if (depth > 2) throw new GgufError(`${this.file}: ${what} nests arrays more than 2 deep`);
    const elemType = this.u32(`${what} element type`);
    const count = this.u64(`${what} element count`);
    // Smallest possible encoding of each element (a string is at least its 8-byte length).
    const min = elemType === GGUF_VALUE_TYPE.STRING || elemType === GGUF_VALUE_TYPE.ARRAY ? 8 : VALUE_SIZE[elemType];
    if (min === undefined) throw new GgufError(`${this.file}: ${what} has element type ${elemType}, expected one of 0..12 (gguf_type)`);
    this.need(count * min, `${what} (an array claiming ${count} elements)`);
    const out: GgufValue[] = new Array<GgufValue>(count);
    for (let i = 0; i < count; i++) out[i] = this.value(elemType, `${what}[${i}]`, depth + 1);
    return out;
  }
}

/**
 * Parses and validates the header of a GGUF file held in `bytes` (the whole file).
 * @throws GgufError naming the field at the first problem: bad magic, version other than 2/3,
 *   counts or lengths larger than the bytes left, unknown value or tensor types, dims, misaligned,
 *   out-of-file or overlapping tensor data.
 */
export function parseGgufHeader(bytes: Uint8Array, file = 'gguf'): GgufHeader {
  const c = new Cursor(bytes, file);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) throw new GgufError(`${file}: magic is 0x${magic.toString(16)}, expected 0x${GGUF_MAGIC.toString(16)} ("GGUF")`);
  const version = c.u32('version');
  if (version !== 2 && version !== 3) throw new GgufError(`${file}: GGUF version ${version} is not supported, expected 2 or 3`);
  const tensorCount = c.u64('tensor count');
  const kvCount = c.u64('metadata count');
  // A key-value needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info 8 + 4 + 8 + 4 + 8.
  c.need(kvCount * 13, `${kvCount} metadata entries`);
  c.need(kvCount * 13 + tensorCount * 32, `${tensorCount} tensor infos`);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string(`metadata key ${i}`);
    if (metadata.has(key)) throw new GgufError(`${file}: metadata key '${key}' appears twice`);
    const type = c.u32(`metadata '${key}' type`);
    metadata.set(key, c.value(type, `metadata '${key}'`));
  }
  const alignRaw = metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  if (typeof alignRaw !== 'number' || !Number.isInteger(alignRaw) || alignRaw <= 0 || (alignRaw & (alignRaw - 1)) !== 0) {
    throw new GgufError(`${file}: general.alignment is ${JSON.stringify(alignRaw)}, expected a power of two`);
  }
  const alignment = alignRaw;
  const infos: { name: string; ne: number[]; type: GgmlTypeInfo; offset: number; size: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.string(`tensor ${i} name`);
    if (names.has(name)) throw new GgufError(`${file}: tensor '${name}' appears twice`);
    names.add(name);
    const nDims = c.u32(`tensor '${name}' dim count`);
    if (nDims < 1 || nDims > 4) throw new GgufError(`${file}: tensor '${name}' has ${nDims} dims, expected 1 to 4`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const n = c.u64(`tensor '${name}' dim ${d}`);
      if (n < 1) throw new GgufError(`${file}: tensor '${name}' dim ${d} is ${n}, expected a positive size`);
      ne.push(n);
    }
    const typeId = c.u32(`tensor '${name}' type`);
    const type = GGML_TYPES[typeId];
    if (!type) throw new GgufError(`${file}: tensor '${name}' has unknown ggml type ${typeId}`);
    const offset = c.u64(`tensor '${name}' offset`);
    if (ne[0]! % type.blockSize !== 0) throw new GgufError(`${file}: tensor '${name}' row length ${ne[0]} is not a multiple of the ${type.name} block size ${type.blockSize}`);
    let count = 1;
    for (const n of ne) {
      count *= n;
      if (count > bytes.byteLength * type.blockSize) throw new GgufError(`${file}: tensor '${name}' dims [${ne.join(', ')}] need more bytes than the file has (${bytes.byteLength})`);
    }
    if (offset % alignment !== 0) throw new GgufError(`${file}: tensor '${name}' offset ${offset} is not a multiple of the alignment ${alignment}`);
    infos.push({ name, ne, type, offset, size: (count / type.blockSize) * type.typeSize });
  }
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const dataSize = bytes.byteLength - dataOffset;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of infos) {
    if (t.offset + t.size > dataSize) {
      throw new GgufError(`${file}: tensor '${t.name}' data [${t.offset}, ${t.offset + t.size}) runs past the data section (${Math.max(0, dataSize)} bytes): truncated file or lying offset`);
    }
    tensors.set(t.name, { name: t.name, ne: t.ne, type: t.type, begin: dataOffset + t.offset, end: dataOffset + t.offset + t.size });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.begin < sorted[i - 1]!.end) throw new GgufError(`${file}: tensor '${sorted[i]!.name}' data overlaps '${sorted[i - 1]!.name}'`);
  }
  return { version, metadata, tensors, alignment, dataOffset };
}
