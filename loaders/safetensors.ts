/**
 * safetensors reader. The header is validated completely before any tensor is trusted, with the
 * reference Rust implementation's rules (`Metadata::validate`, `read_metadata`): length within the
 * file, a JSON object, known dtypes, shape x dtype size equal to the byte range, and the ranges,
 * sorted, tile the data section exactly (first at 0, no gaps, no overlaps, no trailing bytes).
 * Tensor bytes are read by range, one tensor at a time (never the whole file in one buffer), and
 * float tensors are checked finite when decoded.
 * Ref: https://github.com/huggingface/safetensors (format, safetensors/src/tensor.rs),
 * loom-spec/transformer.md section 3 (LOOM's reader, which lacks these checks: gaps.md D39).
 */
import { SafetensorsError } from '../src/core/errors';
import { previewValue } from '../src/core/preview';
import { isUrlString, readText, joinSource, type ByteSource, type ProgressCallback } from './byte_source';
import { blobRanges, memoryRanges, pathRanges, urlRanges, type ChunkPlan, type RangeReader } from './byte_ranges';
import { parseJsonAs } from './json_read';
import {
  DTYPE_SIZE,
  FLOAT_DTYPES,
  decodeTensorBytes,
  type TensorDecodeOptions,
  type DecodedTensor,
  type SafetensorsDtype,
  type TensorEntry,
} from './safetensors_decode';

export { DTYPE_SIZE, decodeTensorBytes };
export type { TensorDecodeOptions, DecodedTensor, SafetensorsDtype, TensorEntry };
export { saveSafetensors, type TensorToSave } from './safetensors_write';

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** A validated header. */
export interface SafetensorsHeader {
  /** Entries by name, in the header's order. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** `__metadata__` (string values only). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the data section (8 + header length). */
  readonly dataOffset: number;
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
  let at = 0;
  for (let i = 0; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i]!;
    if (prev && cur.begin < prev.end) {
      throw new SafetensorsError(
        `${file}: tensor '${cur.name}' data_offsets [${cur.begin}, ${cur.end}] overlap '${prev.name}' [${prev.begin}, ${prev.end}]`,
      );
    }
    if (cur.begin !== at) {
      throw new SafetensorsError(
        `${file}: tensor '${cur.name}' data_offsets [${cur.begin}, ${cur.end}] leave a gap: expected it to begin at ${at}` +
          (prev ? ` (where '${prev.name}' ends)` : ' (the start of the data section)'),
      );
    }
    at = cur.end;
  }
  if (at !== dataSize) {
    throw new SafetensorsError(
      `${file}: data section has ${dataSize} bytes but the tensors cover ${at}: the header length is wrong or the file has trailing bytes`,
    );
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
    throw new SafetensorsError(`${where}: dtype ${previewValue(dtype)} is not supported, expected one of ${Object.keys(DTYPE_SIZE).join(', ')}`);
  }
  const dt = dtype as SafetensorsDtype;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw new SafetensorsError(`${where}: shape ${previewValue(shape)} must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)) {
    throw new SafetensorsError(`${where}: data_offsets ${previewValue(offsets)} must be two non-negative integers`);
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

/**
 * Decodes one tensor of a validated header from the whole file's bytes.
 * @throws SafetensorsError when the bytes end early, an I64 value does not fit, or a float is non-finite.
 */
export function decodeTensor(bytes: Uint8Array, header: SafetensorsHeader, entry: TensorEntry, file = 'safetensors', options: TensorDecodeOptions = {}): DecodedTensor {
  if (header.dataOffset + entry.end > bytes.byteLength) {
    throw new SafetensorsError(`${file}: tensor '${entry.name}' data ends at byte ${header.dataOffset + entry.end}, file has ${bytes.byteLength}`);
  }
  return decodeTensorBytes(bytes.subarray(header.dataOffset + entry.begin, header.dataOffset + entry.end), entry, file, options);
}

/** Options of a {@link SafetensorsFile}. */
export type SafetensorsFileOptions = TensorDecodeOptions;

/**
 * A validated safetensors file; tensors are read (by byte range) and decoded on request. Backed by
 * bytes in memory, a Node path read by range, or the per-tensor chunks of a Blob or URL.
 */
export class SafetensorsFile {
  private readonly ranges: RangeReader;
  readonly header: SafetensorsHeader;

  /**
   * Validates the header of `source` (the whole file's bytes, or a range reader over it).
   * @throws SafetensorsError
   */
  constructor(
    source: Uint8Array | RangeReader,
    readonly file = 'safetensors',
    private readonly options: SafetensorsFileOptions = {},
  ) {
    this.ranges = source instanceof Uint8Array ? memoryRanges(source, file) : source;
    const size = this.ranges.size;
    const first = this.ranges.read(0, Math.min(8, size));
    const n = readHeaderLength(first, size, file);
    this.header = parseSafetensorsHeader(this.ranges.read(0, 8 + n), size, file);
  }

  /** Size of the file in bytes. */
  get byteLength(): number {
    return this.ranges.size;
  }

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

  /**
   * Reads and decodes tensor `name` (floats checked finite unless the file was opened with
   * `checkFinite: false`). @throws SafetensorsError when absent, unreadable or non-finite.
   */
  get(name: string): DecodedTensor {
    const e = this.entry(name);
    const at = this.header.dataOffset;
    return decodeTensorBytes(this.ranges.read(at + e.begin, at + e.end), e, this.file, this.options);
  }

  /** True when `name` holds floating-point data. */
  isFloat(name: string): boolean {
    return FLOAT_DTYPES.has(this.entry(name).dtype);
  }
}

/** Options of {@link loadSafetensors}. */
export interface LoadSafetensorsOptions extends SafetensorsFileOptions {
  onProgress?: ProgressCallback;
  /** Name used in errors and progress reports. */
  file?: string;
}

/** The tensor ranges of a header, once the prefix holds it (else the prefix length still needed). */
function planRanges(file: string): (prefix: Uint8Array, size: number) => number | ChunkPlan {
  return (prefix, size) => {
    const n = readHeaderLength(prefix, size, file);
    if (prefix.byteLength < 8 + n) return 8 + n;
    const h = parseSafetensorsHeader(prefix, size, file);
    const ranges = [...h.tensors.values()].map((e) => ({ begin: h.dataOffset + e.begin, end: h.dataOffset + e.end }));
    return { ranges: ranges.sort((a, b) => a.begin - b.begin) };
  };
}

/**
 * Opens and validates a safetensors file from a buffer, Blob/File, URL or Node path. The header is
 * checked before any tensor data is read, and no source is read into one whole-file buffer, so
 * files over 4 GiB load: a Node path is read by range when each tensor is requested (the file must
 * stay in place while the model loads); a Blob is sliced and a URL body streamed into one buffer
 * per tensor. Float tensors are checked finite when decoded (`checkFinite: false` skips that).
 * @throws SafetensorsError on any malformed input.
 */
export async function loadSafetensors(src: ByteSource, options: LoadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const file = options.file ?? (typeof src === 'string' ? src : src instanceof URL ? src.href : 'safetensors');
  const { onProgress } = options;
  const decode: SafetensorsFileOptions = { checkFinite: options.checkFinite };
  const done = (size: number): void => onProgress?.({ status: 'done', file, loaded: size, total: size, progress: 100 });
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) {
    const f = new SafetensorsFile(src instanceof Uint8Array ? src : new Uint8Array(src), file, decode);
    done(f.byteLength);
    return f;
  }
  if (typeof Blob !== 'undefined' && src instanceof Blob) {
    return new SafetensorsFile(await blobRanges(src, file, planRanges(file), onProgress), file, decode);
  }
  if (src instanceof URL || (typeof src === 'string' && isUrlString(src))) {
    const url = src instanceof URL ? src.href : src;
    return new SafetensorsFile(await urlRanges(url, planRanges(file), onProgress), file, decode);
  }
  if (typeof src !== 'string') throw new SafetensorsError(`unsupported byte source: ${Object.prototype.toString.call(src)}`);
  const ranges = pathRanges(src);
  onProgress?.({ status: 'initiate', file, loaded: 0, total: ranges.size, progress: 0 });
  const f = new SafetensorsFile(ranges, file, decode);
  done(f.byteLength);
  return f;
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
    if (typeof shard !== 'string' || shard.includes('..')) throw new SafetensorsError(`${indexName}: weight_map['${tensor}'] must be a shard file name, got ${previewValue(shard)}`);
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
