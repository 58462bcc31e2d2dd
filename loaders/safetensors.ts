/**
 * safetensors reader and writer. The header is validated completely before any tensor is
 * trusted: length within the file, a JSON object, known dtypes, shape x dtype size equal to
 * the byte range, ranges inside the data section and not overlapping.
 * Ref: https://github.com/huggingface/safetensors (format), loom-spec/transformer.md section 3
 * (LOOM's reader, which lacks these checks: gaps.md D39).
 */
import { SafetensorsError } from '../src/core/errors';
import { readBytes, readText, joinSource, type ByteSource, type ProgressCallback } from './byte_source';
import { parseJsonAs } from './json_read';

/** dtypes this reader decodes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F64', 'F32', 'F16', 'BF16']);

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a validated header. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte range relative to the start of the data section. */
  readonly begin: number;
  readonly end: number;
}

/** A validated header. */
export interface SafetensorsHeader {
  /** Entries by name, in the header's order. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** `__metadata__` (string values only). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the data section (8 + header length). */
  readonly dataOffset: number;
}

/** A decoded tensor: floats widen or narrow to float32, integers to int32. */
export interface DecodedTensor {
  readonly name: string;
  /** dtype stored in the file. */
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/**
 * Reads the 8-byte little-endian header length and checks it against the file size.
 * @returns the length of the JSON header.
 * @throws SafetensorsError when the file is too short or the length points past the end.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file = 'safetensors'): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsError(`${file}: file has ${fileSize} bytes, expected at least 8 (the header length)`);
  }
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`${file}: header length ${hi * 2 ** 32 + lo} is over the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (8 + lo > fileSize) {
    throw new SafetensorsError(`${file}: header length ${lo} points past the end of the file (${fileSize} bytes)`);
  }
  return lo;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates a header. `bytes` holds at least the first 8 + header-length bytes of a
 * file of `fileSize` bytes.
 * @throws SafetensorsError naming the tensor and field at the first problem.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileSize: number = bytes.byteLength, file = 'safetensors'): SafetensorsHeader {
  const n = readHeaderLength(bytes, fileSize, file);
  if (bytes.byteLength < 8 + n) throw new SafetensorsError(`${file}: only ${bytes.byteLength} bytes given, header needs ${8 + n}`);
  const json = parseJsonAs(bytes.subarray(8, 8 + n), `${file}: header is not valid UTF-8 JSON`, SafetensorsError);
  if (!isObject(json)) throw new SafetensorsError(`${file}: header must be a JSON object, got ${Array.isArray(json) ? 'array' : typeof json}`);
  const dataOffset = 8 + n;
  const dataSize = fileSize - dataOffset;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, file);
      continue;
    }
    tensors.set(name, parseEntry(name, raw, dataSize, file));
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new SafetensorsError(
        `${file}: tensor '${cur.name}' data_offsets [${cur.begin}, ${cur.end}] overlap '${prev.name}' [${prev.begin}, ${prev.end}]`,
      );
    }
  }
  return { tensors, metadata, dataOffset };
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  if (!isObject(raw)) throw new SafetensorsError(`${file}: __metadata__ must be an object of strings, got ${typeof raw}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw new SafetensorsError(`${file}: __metadata__.${k} must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, raw: unknown, dataSize: number, file: string): TensorEntry {
  const where = `${file}: tensor '${name}'`;
  if (!isObject(raw)) throw new SafetensorsError(`${where}: entry must be an object, got ${typeof raw}`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
    throw new SafetensorsError(`${where}: dtype ${JSON.stringify(dtype)} is not supported, expected one of ${Object.keys(DTYPE_SIZE).join(', ')}`);
  }
  const dt = dtype as SafetensorsDtype;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)) {
    throw new SafetensorsError(`${where}: data_offsets ${JSON.stringify(offsets)} must be two non-negative integers`);
  }
  const begin = offsets[0] as number;
  const end = offsets[1] as number;
  if (end < begin) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataSize) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes)`);
  let count = 1;
  for (const d of shape as number[]) {
    count *= d;
    if (count * DTYPE_SIZE[dt] > dataSize) break; // already too large; avoids overflow
  }
  if (count * DTYPE_SIZE[dt] !== end - begin) {
    throw new SafetensorsError(
      `${where}: shape [${(shape as number[]).join(', ')}] x ${dt} (${DTYPE_SIZE[dt]} bytes) needs ${count * DTYPE_SIZE[dt]} bytes, data_offsets give ${end - begin}`,
    );
  }
  return { name, dtype: dt, shape: (shape as number[]).slice(), begin, end };
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
 * Decodes one tensor of a validated header from the file's bytes.
 * F32/F16/BF16/F64 -> Float32Array (F64 narrowed), integer types and BOOL -> Int32Array
 * (I64 values must fit in int32).
 * @throws SafetensorsError when an I64 value does not fit.
 */
export function decodeTensor(bytes: Uint8Array, header: SafetensorsHeader, entry: TensorEntry, file = 'safetensors'): DecodedTensor {
  const start = bytes.byteOffset + header.dataOffset + entry.begin;
  const len = entry.end - entry.begin;
  if (header.dataOffset + entry.end > bytes.byteLength) {
    throw new SafetensorsError(`${file}: tensor '${entry.name}' data ends at byte ${header.dataOffset + entry.end}, file has ${bytes.byteLength}`);
  }
  const count = len / DTYPE_SIZE[entry.dtype];
  const dv = new DataView(bytes.buffer, start, len);
  let data: Float32Array | Int32Array;
  switch (entry.dtype) {
    case 'F32': {
      data = new Float32Array(count);
      // Copy bytes (also when unaligned); the platform is little-endian on every tfjs target.
      new Uint8Array(data.buffer).set(bytes.subarray(header.dataOffset + entry.begin, header.dataOffset + entry.end));
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
      new Uint8Array(data.buffer).set(bytes.subarray(header.dataOffset + entry.begin, header.dataOffset + entry.end));
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
  return { name: entry.name, dtype: entry.dtype, shape: entry.shape, data };
}

/** A validated safetensors file in memory; tensors are decoded on request. */
export class SafetensorsFile {
  /** Validates the header of `bytes` (the whole file). @throws SafetensorsError */
  constructor(
    readonly bytes: Uint8Array,
    readonly file = 'safetensors',
  ) {
    this.header = parseSafetensorsHeader(bytes, bytes.byteLength, file);
  }
  readonly header: SafetensorsHeader;

  /** Tensor names in header order. */
  get names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  /** Header entry of `name`. @throws SafetensorsError when absent. */
  entry(name: string): TensorEntry {
    const e = this.header.tensors.get(name);
    if (!e) throw new SafetensorsError(`${this.file}: tensor '${name}' is missing`);
    return e;
  }

  /** Decodes tensor `name`. @throws SafetensorsError when absent. */
  get(name: string): DecodedTensor {
    return decodeTensor(this.bytes, this.header, this.entry(name), this.file);
  }

  /** True when `name` holds floating-point data. */
  isFloat(name: string): boolean {
    return FLOAT_DTYPES.has(this.entry(name).dtype);
  }
}

/** Options of {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  onProgress?: ProgressCallback;
  /** Name used in errors and progress reports. */
  file?: string;
}

/**
 * Reads and validates a safetensors file from a buffer, Blob/File, URL or Node path. The header is
 * checked before the data is read (paths, Blobs and sized URLs).
 * @throws SafetensorsError on any malformed input.
 */
export async function loadSafetensors(src: ByteSource, options: LoadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const file = options.file ?? (typeof src === 'string' ? src : src instanceof URL ? src.href : 'safetensors');
  const bytes = await readBytes(src, {
    onProgress: options.onProgress,
    checkPrefix: (prefix, size) => {
      const n = readHeaderLength(prefix, size, file);
      if (prefix.byteLength < 8 + n) return 8 + n;
      parseSafetensorsHeader(prefix, size, file);
      return undefined;
    },
  });
  return new SafetensorsFile(bytes, file);
}

/** A checkpoint of one or more safetensors files, looked up by tensor name. */
export class SafetensorsCheckpoint {
  private readonly byName = new Map<string, SafetensorsFile>();
  constructor(readonly files: readonly SafetensorsFile[]) {
    for (const f of files) {
      for (const name of f.names) {
        if (this.byName.has(name)) throw new SafetensorsError(`tensor '${name}' appears in both ${this.byName.get(name)!.file} and ${f.file}`);
        this.byName.set(name, f);
      }
    }
  }
  get names(): string[] {
    return [...this.byName.keys()];
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  /** Header entry. @throws SafetensorsError when absent. */
  entry(name: string): TensorEntry {
    const f = this.byName.get(name);
    if (!f) throw new SafetensorsError(`checkpoint: tensor '${name}' is missing`);
    return f.entry(name);
  }
  /** Decoded tensor. @throws SafetensorsError when absent. */
  get(name: string): DecodedTensor {
    const f = this.byName.get(name);
    if (!f) throw new SafetensorsError(`checkpoint: tensor '${name}' is missing`);
    return f.get(name);
  }
}

/**
 * Reads a sharded checkpoint from its `model.safetensors.index.json` (path or URL); shard file
 * names are resolved beside it.
 * @throws SafetensorsError when the index is malformed or a listed tensor is not in its shard.
 */
export async function loadShardedSafetensors(indexSrc: string | URL, options: LoadSafetensorsOptions = {}): Promise<SafetensorsCheckpoint> {
  const indexName = indexSrc instanceof URL ? indexSrc.href : indexSrc;
  const index = parseJsonAs(await readText(indexSrc), `${indexName}: not valid JSON`, SafetensorsError);
  if (!isObject(index) || !isObject(index.weight_map)) throw new SafetensorsError(`${indexName}: expected an object with a 'weight_map' object`);
  const weightMap = index.weight_map;
  const shardNames = new Set<string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard.includes('..')) throw new SafetensorsError(`${indexName}: weight_map['${tensor}'] must be a shard file name, got ${JSON.stringify(shard)}`);
    shardNames.add(shard);
  }
  const base = indexName.replace(/[^/\\]*$/, '');
  const files: SafetensorsFile[] = [];
  for (const shard of [...shardNames].sort()) {
    const src = base === '' ? shard : joinSource(base, shard);
    files.push(await loadSafetensors(src, { ...options, file: shard }));
  }
  const checkpoint = new SafetensorsCheckpoint(files);
  for (const [tensor, shard] of Object.entries(weightMap)) {
    const f = files.find((x) => x.file === shard);
    if (!f?.has(tensor)) throw new SafetensorsError(`${indexName}: tensor '${tensor}' is listed in ${String(shard)} but missing there`);
  }
  return checkpoint;
}

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

/**
 * Reads and validates only the header of a safetensors file at a Node path (no tensor data read).
 * @throws SafetensorsError when the file is missing or its header is malformed.
 */
export async function readSafetensorsHeader(filePath: string): Promise<SafetensorsHeader> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  let fh: import('fs/promises').FileHandle;
  try {
    fh = await fs.promises.open(filePath, 'r');
  } catch (e) {
    throw new SafetensorsError(`${filePath}: cannot open: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const { size } = await fh.stat();
    const first = new Uint8Array(Math.min(8, size));
    await fh.read(first, 0, first.byteLength, 0);
    const n = readHeaderLength(first, size, filePath);
    const prefix = new Uint8Array(8 + n);
    const { bytesRead } = await fh.read(prefix, 0, prefix.byteLength, 0);
    if (bytesRead !== prefix.byteLength) throw new SafetensorsError(`${filePath}: read ${bytesRead} header bytes, expected ${prefix.byteLength}`);
    return parseSafetensorsHeader(prefix, size, filePath);
  } finally {
    await fh.close();
  }
}
