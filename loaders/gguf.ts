/**
 * GGUF files (llama.cpp) as Hugging Face-named checkpoints: the validated header, a
 * {@link WeightSource} under HF tensor names with llama.cpp's layout changes undone, the config,
 * and the tokenizer. Tensors are decoded on request.
 *
 * Quantized tensors (Q8_0, Q4_0): `get()` dequantizes to float32 (the interim path every model
 * uses today, exact: value = q * d with d the block's float16 scale); `getQuantized()` hands the
 * same blocks over in the layout of our q8/q4 kernels, unchanged, for when those land.
 * Ref: ggml `docs/gguf.md`; llama.cpp `convert_hf_to_gguf.py`.
 */
import { ConfigError, GgufError } from '../src/core/errors';
import type { SourceTensor, WeightSource } from '../src/transformer/weights';
import { readBytes, type ByteSource, type ProgressCallback } from './byte_source';
import { GGUF_ARCHITECTURES, ggufToHFConfig, hfRowOrder, type GgufArchitecture, type GgufTensorMapping, type HeadLayout } from './gguf_arch';
import { parseGgufHeader, GGUF_MAGIC, type GgufHeader, type GgufTensorInfo, type GgufValue } from './gguf_format';
import { dequantize, rawBlocks, type QuantizedWeights } from './gguf_quant';
import { parseHFConfig, type ModelConfig } from './hf_config';

/** True when `bytes` start with the GGUF magic. */
export function isGgufBytes(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === GGUF_MAGIC;
}

/** A validated GGUF file in memory. */
export class GgufFile {
  readonly header: GgufHeader;
  /** Validates the header of `bytes` (the whole file). @throws GgufError */
  constructor(
    readonly bytes: Uint8Array,
    readonly file = 'gguf',
  ) {
    this.header = parseGgufHeader(bytes, file);
  }
  get metadata(): ReadonlyMap<string, GgufValue> {
    return this.header.metadata;
  }
  /** `general.architecture`. */
  get architecture(): string {
    const a = this.metadata.get('general.architecture');
    return typeof a === 'string' ? a : '';
  }
  tensor(name: string): GgufTensorInfo | undefined {
    return this.header.tensors.get(name);
  }
}

/** The checkpoint of a GGUF file: typed config, HF-named weights, and the file. */
export interface GgufCheckpoint {
  config: ModelConfig;
  /** The config.json object (HF keys) the metadata maps to. */
  hfConfig: Record<string, unknown>;
  weights: GgufWeights;
  gguf: GgufFile;
}

/** A GGUF file's tensors under Hugging Face names, decoded on request. */
export class GgufWeights implements WeightSource {
  private readonly byHf = new Map<string, { info: GgufTensorInfo; map: GgufTensorMapping }>();

  constructor(
    readonly gguf: GgufFile,
    readonly arch: GgufArchitecture,
    private readonly heads: HeadLayout,
    numLayers: number,
  ) {
    const maps = [...arch.globals];
    for (let i = 0; i < numLayers; i++) maps.push(...arch.block(i));
    for (const map of maps) {
      const info = gguf.tensor(map.gguf);
      if (info) this.byHf.set(map.hf, { info, map });
    }
  }

  /** HF names present. */
  get names(): string[] {
    return [...this.byHf.keys()];
  }

  has(name: string): boolean {
    return this.byHf.has(name);
  }

  /** The GGUF tensor behind an HF name. */
  ggufTensor(name: string): GgufTensorInfo | undefined {
    return this.byHf.get(name)?.info;
  }

  /**
   * Tensor `name` (HF name, HF shape) as float32; quantized blocks are dequantized.
   * @throws GgufError when absent or of a type without a decoder.
   */
  get(name: string): SourceTensor {
    const e = this.byHf.get(name);
    if (!e) throw new GgufError(`${this.gguf.file}: tensor '${name}' is missing`);
    const { info, map } = e;
    const count = info.ne.reduce((a, b) => a * b, 1);
    const flat = dequantize(info.type, this.gguf.bytes, info.begin, info.end, count, info.name);
    const shape = [...info.ne].reverse(); // GGML ne0 is the innermost dimension
    if (map.transform === 'transpose') {
      const [rows, cols] = shape as [number, number]; // (out, in) in the file; HF Conv1D wants (in, out)
      const out = new Float32Array(count);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = flat[r * cols + c]!;
      return { shape: [cols, rows], data: out, dtype: info.type.name };
    }
    const order = hfRowOrder(map.transform, shape[0]!, this.heads);
    if (!order) return { shape, data: flat, dtype: info.type.name };
    const rowLen = count / shape[0]!;
    const out = new Float32Array(count);
    for (let r = 0; r < order.length; r++) out.set(flat.subarray(order[r]! * rowLen, (order[r]! + 1) * rowLen), r * rowLen);
    return { shape, data: out, dtype: info.type.name };
  }

  /**
   * The raw Q8_0 / Q4_0 blocks of matrix `name` in our kernels' layout (HF row order), or
   * undefined when it is not a Q8_0/Q4_0 matrix or its layout change is not a row permutation
   * (GPT-2's transposed Conv1D weights).
   */
  getQuantized(name: string): QuantizedWeights | undefined {
    const e = this.byHf.get(name);
    if (!e || e.info.ne.length !== 2 || e.map.transform === 'transpose') return undefined;
    const [k, n] = e.info.ne as [number, number];
    return rawBlocks(e.info.type, this.gguf.bytes, e.info.begin, e.info.end, n, k, hfRowOrder(e.map.transform, n, this.heads));
  }
}

/**
 * The checkpoint of a parsed GGUF file: architecture and metadata to a typed config (through
 * parseHFConfig), tensors to HF names.
 * @throws GgufError for an unsupported architecture, missing metadata, or a tokenizer whose size
 *   does not match the embedding; ConfigError when the derived config is invalid.
 */
export function ggufCheckpoint(gguf: GgufFile): GgufCheckpoint {
  const arch = GGUF_ARCHITECTURES[gguf.architecture];
  if (!arch) throw new GgufError(`${gguf.file}: general.architecture ${JSON.stringify(gguf.architecture)} is not supported, expected one of ${Object.keys(GGUF_ARCHITECTURES).join(', ')}`);
  const embed = gguf.tensor('token_embd.weight');
  if (!embed || embed.ne.length !== 2) throw new GgufError(`${gguf.file}: tensor token_embd.weight is missing or not 2-D`);
  const rows = embed.ne[1]!;
  const tokens = gguf.metadata.get('tokenizer.ggml.tokens');
  if (Array.isArray(tokens) && tokens.length !== rows) {
    throw new GgufError(`${gguf.file}: the tokenizer has ${tokens.length} tokens, token_embd.weight has ${rows} rows; expected the same vocabulary size`);
  }
  const declared = gguf.metadata.get(`${arch.arch}.vocab_size`);
  if (declared !== undefined && declared !== rows) throw new GgufError(`${gguf.file}: ${arch.arch}.vocab_size is ${JSON.stringify(declared)}, token_embd.weight has ${rows} rows`);
  if (arch.modelType === 'gpt2' && gguf.tensor('output.weight')) {
    const out = gguf.tensor('output.weight')!;
    const same = out.end - out.begin === embed.end - embed.begin && gguf.bytes.subarray(out.begin, out.end).every((b, i) => b === gguf.bytes[embed.begin + i]);
    if (!same) throw new GgufError(`${gguf.file}: gpt2 output.weight differs from token_embd.weight; this runner ties GPT-2's LM head to the embedding`);
  }
  let config: ModelConfig;
  const hfConfig = ggufToHFConfig(arch, gguf.metadata, (n) => gguf.tensor(n) !== undefined, rows, gguf.file);
  try {
    config = parseHFConfig(hfConfig, undefined, `${gguf.file} (metadata)`);
  } catch (e) {
    if (e instanceof ConfigError) throw new GgufError(e.message);
    throw e;
  }
  const weights = new GgufWeights(gguf, arch, config, config.numLayers);
  return { config, hfConfig, weights, gguf };
}

/** Options of {@link loadGguf}. */
export interface LoadGgufOptions {
  onProgress?: ProgressCallback;
}

/**
 * Reads and validates a GGUF file from bytes, a Blob, a URL or a Node path.
 * @throws GgufError when the file is malformed; SafetensorsError (from the byte source) when it cannot be read.
 */
export async function loadGguf(src: ByteSource, options: LoadGgufOptions = {}): Promise<GgufFile> {
  const file = typeof src === 'string' ? src : src instanceof URL ? src.href : 'gguf';
  const bytes = await readBytes(src, {
    onProgress: options.onProgress,
    checkPrefix: (prefix) => {
      if (prefix.byteLength >= 4 && !isGgufBytes(prefix)) throw new GgufError(`${file}: not a GGUF file (no "GGUF" magic)`);
    },
  });
  return new GgufFile(bytes, file);
}

/** True for a source that names a GGUF file (by extension) or holds GGUF bytes. */
export function isGgufSource(src: unknown): src is ByteSource {
  if (typeof src === 'string') return /\.gguf(\?.*)?$/i.test(src);
  if (src instanceof URL) return /\.gguf$/i.test(src.pathname);
  if (src instanceof Uint8Array) return isGgufBytes(src);
  if (src instanceof ArrayBuffer) return isGgufBytes(new Uint8Array(src));
  return false;
}
