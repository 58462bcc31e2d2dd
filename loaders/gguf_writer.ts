/**
 * Writes a checkpoint (typed config + HF-named weights + tokenizer) as a GGUF v3 file llama.cpp
 * loads: llama.cpp's tensor names and layouts (Q/K rows permuted for llama, GPT-2 Conv1D weights
 * transposed, GPT-NeoX QKV grouped), its metadata keys, 2-D tensors in F32/F16/BF16/Q8_0/Q4_0 (rows
 * not a multiple of 32 and 1-D tensors stay F32, as llama-quantize leaves norms).
 * Ref: llama.cpp `convert_hf_to_gguf.py`, `gguf-py/gguf/gguf_writer.py`; ggml `docs/gguf.md`.
 */
import { GgufError } from '../src/core/errors';
import type { ModelConfig } from '../src/transformer/config';
import type { WeightSource } from '../src/transformer/weights';
import { ggufArchFor, hfRowOrder } from './gguf_arch';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE_TYPE, GGML_TYPES } from './gguf_format';
import { floatToBf16, floatToHalf, quantizeQ4_0, quantizeQ8_0 } from './gguf_quant';
import { tokenizerMetadata, type GgufMetaEntry } from './gguf_tokenizer_write';
import { resolvePretrained } from './pretrained';
import { parseJsonAs } from './json_read';

/** Tensor storage types {@link saveGGUF} writes. */
export type GgufWriteType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0';

/** What {@link saveGGUF} writes. */
export interface GgufWriteSource {
  config: ModelConfig;
  weights: WeightSource;
  /** tokenizer.json and tokenizer_config.json objects; without them the file has `no_vocab`. */
  tokenizer?: { tokenizerJson: Record<string, unknown>; tokenizerConfig?: Record<string, unknown> };
  /** `general.name`. */
  name?: string;
}

/** Options of {@link saveGGUF}. */
export interface SaveGgufOptions {
  /** Type of 2-D tensors; default F32. */
  type?: GgufWriteType;
  /** Type of token_embd (and a tied head); default `type`. */
  embeddingType?: GgufWriteType;
  /**
   * Encodes a tensor itself (e.g. in a type this writer has no quantizer for): gets the GGUF name,
   * GGML dims and float32 data in file layout, returns the ggml type name and the bytes, or
   * undefined to use `type`. The byte count is checked against the type's block size.
   */
  encodeTensor?: (name: string, ne: readonly number[], data: Float32Array) => { type: string; bytes: Uint8Array } | undefined;
}

const FILE_TYPE: Readonly<Record<GgufWriteType, number>> = { F32: 0, F16: 1, BF16: 32, Q4_0: 2, Q8_0: 7 }; // llama_ftype
const TYPE_ID: Readonly<Record<GgufWriteType, number>> = { F32: 0, F16: 1, BF16: 30, Q4_0: 2, Q8_0: 8 };

class ByteWriter {
  readonly parts: Uint8Array[] = [];
  size = 0;
  raw(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.byteLength;
  }
  private num(n: number, fn: (dv: DataView) => void): void {
    const b = new Uint8Array(n);
    fn(new DataView(b.buffer));
    this.raw(b);
  }
  u32(v: number): void {
    this.num(4, (d) => d.setUint32(0, v, true));
  }
  i32(v: number): void {
    this.num(4, (d) => d.setInt32(0, v, true));
  }
  f32(v: number): void {
    this.num(4, (d) => d.setFloat32(0, v, true));
  }
  u64(v: number): void {
    this.num(8, (d) => d.setBigUint64(0, BigInt(v), true));
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.byteLength);
    this.raw(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.size % alignment)) % alignment;
    if (n) this.raw(new Uint8Array(n));
  }
  entry(e: GgufMetaEntry): void {
    this.str(e.key);
    const T = GGUF_VALUE_TYPE;
    switch (e.type) {
      case 'u32': this.u32(T.UINT32); this.u32(e.value); break;
      case 'i32': this.u32(T.INT32); this.i32(e.value); break;
      case 'f32': this.u32(T.FLOAT32); this.f32(e.value); break;
      case 'bool': this.u32(T.BOOL); this.raw(new Uint8Array([e.value ? 1 : 0])); break;
      case 'str': this.u32(T.STRING); this.str(e.value); break;
      case 'arr_str': this.u32(T.ARRAY); this.u32(T.STRING); this.u64(e.value.length); for (const s of e.value) this.str(s); break;
      case 'arr_i32': this.u32(T.ARRAY); this.u32(T.INT32); this.u64(e.value.length); for (const v of e.value) this.i32(v); break;
      case 'arr_f32': this.u32(T.ARRAY); this.u32(T.FLOAT32); this.u64(e.value.length); for (const v of e.value) this.f32(v); break;
    }
  }
}

function modelMetadata(c: ModelConfig, arch: string, type: GgufWriteType, name: string): GgufMetaEntry[] {
  const u = (key: string, value: number): GgufMetaEntry => ({ key: `${arch}.${key}`, type: 'u32', value });
  const f = (key: string, value: number): GgufMetaEntry => ({ key: `${arch}.${key}`, type: 'f32', value });
  if (c.slidingWindow !== undefined && c.slidingWindow < c.maxPositions) throw new GgufError(`GGUF ${arch}: a sliding window (${c.slidingWindow}) has no llama.cpp key here; expected none`);
  const out: GgufMetaEntry[] = [
    { key: 'general.architecture', type: 'str', value: arch },
    { key: 'general.name', type: 'str', value: name },
    { key: 'general.file_type', type: 'u32', value: FILE_TYPE[type] },
    { key: 'general.quantization_version', type: 'u32', value: 2 },
    { key: 'general.alignment', type: 'u32', value: GGUF_DEFAULT_ALIGNMENT },
    u('vocab_size', c.vocabSize), u('context_length', c.maxPositions), u('embedding_length', c.hiddenSize), u('block_count', c.numLayers),
    u('feed_forward_length', c.intermediateSize), u('attention.head_count', c.numHeads),
  ];
  if (c.norm.kind === 'rms') out.push(u('attention.head_count_kv', c.numKVHeads), u('attention.key_length', c.headDim), u('attention.value_length', c.headDim), f('attention.layer_norm_rms_epsilon', c.norm.eps));
  else out.push(f('attention.layer_norm_epsilon', c.norm.eps));
  if (c.rope) {
    out.push(f('rope.freq_base', c.rope.theta), u('rope.dimension_count', c.rope.rotaryDim));
    const s = c.rope.scaling;
    if (s.type === 'linear') out.push({ key: `${arch}.rope.scaling.type`, type: 'str', value: 'linear' }, f('rope.scaling.factor', s.factor));
    else if (s.type !== 'default') throw new GgufError(`GGUF ${arch}: rope scaling ${s.type} cannot be written, expected default or linear`);
  }
  if (arch === 'gptneox') out.push({ key: 'gptneox.use_parallel_residual', type: 'bool', value: c.parallelResidual });
  if (c.modelType === 'gpt_neox' && !c.qkvBias) throw new GgufError('GGUF gptneox: attention without biases cannot be written (llama.cpp requires them)');
  return out;
}

function encode(type: GgufWriteType, x: Float32Array): Uint8Array {
  if (type === 'Q8_0') return quantizeQ8_0(x);
  if (type === 'Q4_0') return quantizeQ4_0(x);
  if (type === 'F16' || type === 'BF16') {
    const out = new Uint8Array(x.length * 2);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < x.length; i++) dv.setUint16(i * 2, type === 'F16' ? floatToHalf(x[i]!) : floatToBf16(x[i]!), true);
    return out;
  }
  return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
}

/**
 * The bytes of a GGUF v3 file of `src`.
 * @throws GgufError for an architecture, rope scaling or tokenizer that cannot be written.
 */
export function ggufBytes(src: GgufWriteSource, options: SaveGgufOptions = {}): Uint8Array {
  const c = src.config;
  const a = ggufArchFor(c.modelType);
  const type = options.type ?? 'F32';
  const embType = options.embeddingType ?? type;
  const hfName = (n: string): string | undefined => (src.weights.has(n) ? n : a.arch === 'gpt2' && src.weights.has(`transformer.${n}`) ? `transformer.${n}` : undefined);
  const maps = [...a.globals];
  for (let i = 0; i < c.numLayers; i++) maps.push(...a.block(i));
  const tensors: { name: string; ne: number[]; typeId: number; data: Uint8Array }[] = [];
  for (const m of maps) {
    const name = hfName(m.hf);
    if (name === undefined) continue;
    const t = src.weights.get(name);
    if (!(t.data instanceof Float32Array)) throw new GgufError(`tensor '${name}': integer data cannot be written as a weight`);
    let data = t.data;
    let shape = [...t.shape];
    if (m.transform === 'transpose') {
      const [rows, cols] = shape as [number, number]; // HF Conv1D (in, out) -> file (out, in)
      data = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) data[k * rows + r] = t.data[r * cols + k]!;
      shape = [cols, rows];
    } else {
      const order = hfRowOrder(m.transform, shape[0]!, c);
      if (order) {
        const rowLen = data.length / shape[0]!;
        const out = new Float32Array(data.length);
        for (let r = 0; r < order.length; r++) out.set(data.subarray(r * rowLen, (r + 1) * rowLen), order[r]! * rowLen);
        data = out;
      }
    }
    const ne = shape.reverse();
    const custom = options.encodeTensor?.(m.gguf, ne, data);
    if (custom) {
      const info = Object.values(GGML_TYPES).find((g) => g.name === custom.type);
      if (!info) throw new GgufError(`encodeTensor('${m.gguf}'): unknown ggml type ${custom.type}`);
      tensors.push({ name: m.gguf, ne, typeId: info.id, data: custom.bytes });
      continue;
    }
    const want = m.gguf === 'token_embd.weight' ? embType : type;
    const storage: GgufWriteType = ne.length === 2 && (want === 'F16' || want === 'BF16' || ne[0]! % 32 === 0) ? want : 'F32';
    tensors.push({ name: m.gguf, ne, typeId: TYPE_ID[storage], data: encode(storage, data) });
  }
  const meta = modelMetadata(c, a.arch, type, src.name ?? `loom-tfjs ${c.modelType}`);
  if (src.tokenizer) meta.push(...tokenizerMetadata(src.tokenizer.tokenizerJson, src.tokenizer.tokenizerConfig));
  else meta.push({ key: 'tokenizer.ggml.model', type: 'str', value: 'no_vocab' });
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.length);
  for (const e of meta) w.entry(e);
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.ne.length);
    for (const n of t.ne) w.u64(n);
    w.u32(t.typeId);
    w.u64(offset);
    const info = GGML_TYPES[t.typeId]!;
    if (t.ne[0]! % info.blockSize !== 0) throw new GgufError(`tensor '${t.name}': row length ${t.ne[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
    const size = (t.ne.reduce((x, y) => x * y, 1) / info.blockSize) * info.typeSize;
    if (size !== t.data.byteLength) throw new GgufError(`tensor '${t.name}': encoded ${t.data.byteLength} bytes, expected ${size}`);
    offset += Math.ceil(size / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
  }
  w.pad(GGUF_DEFAULT_ALIGNMENT);
  for (const t of tensors) {
    w.raw(t.data);
    w.pad(GGUF_DEFAULT_ALIGNMENT);
  }
  const out = new Uint8Array(w.size);
  let at = 0;
  for (const p of w.parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Writes `src` (a checkpoint, or a Hugging Face folder path whose tokenizer.json is included) as a
 * GGUF file at `path` (Node).
 * @throws GgufError when the model cannot be written; loader errors for a bad folder.
 */
export async function saveGGUF(src: GgufWriteSource | string, path: string, options: SaveGgufOptions = {}): Promise<void> {
  const fs = require('fs') as typeof import('fs');
  const nodePath = require('path') as typeof import('path');
  let source: GgufWriteSource;
  if (typeof src === 'string') {
    const { config, weights } = await resolvePretrained(src);
    const read = (f: string): Record<string, unknown> | undefined => {
      const p = nodePath.join(src, f);
      return fs.existsSync(p) ? (parseJsonAs(fs.readFileSync(p, 'utf8'), `${p}: not valid JSON`, GgufError) as Record<string, unknown>) : undefined;
    };
    const tj = read('tokenizer.json');
    source = { config, weights, name: nodePath.basename(src), ...(tj ? { tokenizer: { tokenizerJson: tj, tokenizerConfig: read('tokenizer_config.json') ?? {} } } : {}) };
  } else {
    source = src;
  }
  const bytes = ggufBytes(source, options);
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, path);
}
