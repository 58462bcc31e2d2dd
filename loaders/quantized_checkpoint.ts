/**
 * Quantized checkpoints: a Hugging Face checkpoint whose weight matrices are stored packed (bf16 as
 * BF16 tensors; q8 / q4 as `<name>.qcodes` (U8 bytes; int8 for q8) + `<name>.qscales` (F32) in the Q8_0 / Q4_0 block layout of
 * src/kernels/quantize.ts), described by a `quantization_config` in config.json:
 *
 *   { "quant_method": "loom-blocks", "block_size": 32, "dtype": "q4", "module_dtypes": { "lm_head": "q8" },
 *     "tensors": { "model.layers.0.mlp.up_proj.weight": { "dtype": "q4", "shape": [1536, 576], "transposed": false } } }
 *
 * `shape` is the tensor as Hugging Face stores it; `transposed` marks GPT-2's Conv1D weights, packed as
 * [out, in] (blocks always run along the input dimension). A browser app can ship such a folder (q4 is
 * ~6.4x smaller than fp32); loading widens each tensor back to float32 for the architecture builders
 * and the kernels pack it again, which reproduces q4 / bf16 blocks bit for bit (q8 scales may move by
 * one float32 ulp).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, SafetensorsError } from '../src/core/errors';
import { resolveDtypePlan, WEIGHT_DTYPES, type DtypeOptions, type ModuleDtypes, type WeightModule } from '../src/kernels/dtype_plan';
import { dequantize } from '../src/kernels/dequantize';
import { blocksPerRow, packWeight, type Q4Weight, type Q8Weight, type WeightDtype } from '../src/kernels/quantize';
import type { SourceTensor, WeightSource } from '../src/transformer/weights';
import { SafetensorsFile, saveSafetensors, type TensorToSave } from './safetensors';

/** `quant_method` of the checkpoints written here. */
export const LOOM_QUANT_METHOD = 'loom-blocks';

/** One q8 / q4 tensor's record (bf16 tensors are stored natively as BF16 and need none). */
export interface QuantizedTensorInfo {
  readonly dtype: 'q8' | 'q4';
  /** Shape as Hugging Face stores the tensor. */
  readonly shape: readonly [number, number];
  /** Stored transposed ([out, in] of a GPT-2 Conv1D [in, out] weight). */
  readonly transposed: boolean;
}

/** The `quantization_config` of config.json. */
export interface QuantizationConfig {
  readonly quant_method: typeof LOOM_QUANT_METHOD;
  readonly block_size: 32;
  readonly dtype: WeightDtype;
  readonly module_dtypes?: ModuleDtypes;
  readonly tensors: Readonly<Record<string, QuantizedTensorInfo>>;
}

/** The module a Hugging Face tensor name belongs to; null for tensors kept as stored (norms, positions). */
export function weightModuleOf(name: string): WeightModule | null {
  if (/(^|\.)wpe\.weight$/.test(name)) return null;
  if (/embed_tokens|(^|\.)wte\.|embed_in/.test(name)) return 'embed';
  if (/(^|\.)lm_head\.|embed_out/.test(name)) return 'lm_head';
  if (/attn|attention/.test(name)) return 'attention';
  if (/mlp/.test(name)) return 'mlp';
  return null;
}

function transposedCopy(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/** Weight names and tensors of a checkpoint, as read tensor by tensor. */
export interface NamedWeights extends WeightSource {
  readonly names: readonly string[];
}

/**
 * Packs a checkpoint's weight matrices (one tensor at a time) for `options`; returns the tensors to
 * save and the `quantization_config`.
 * @throws ConfigError for a bad dtype plan; NonFiniteError for non-finite q8 / q4 weights.
 */
export function quantizeCheckpoint(weights: NamedWeights, modelType: string, options: DtypeOptions): { tensors: Record<string, TensorToSave>; config: QuantizationConfig } {
  const tied = !weights.names.some((n) => weightModuleOf(n) === 'lm_head');
  const plan = resolveDtypePlan(options, tied);
  const tensors: Record<string, TensorToSave> = {};
  const records: Record<string, QuantizedTensorInfo> = {};
  for (const name of weights.names) {
    const t = weights.get(name);
    const module = weightModuleOf(name);
    const dtype = module ? plan.modules[tied && module === 'embed' ? 'lm_head' : module] : 'fp32';
    if (t.shape.length !== 2 || dtype === 'fp32' || !(t.data instanceof Float32Array)) {
      tensors[name] = { shape: t.shape, data: t.data, ...(t.dtype === 'F16' || t.dtype === 'BF16' ? { dtype: t.dtype } : {}) };
      continue;
    }
    if (dtype === 'bf16') {
      // Stored natively as BF16 (saveSafetensors rounds to nearest even, as packWeight does).
      tensors[name] = { shape: t.shape, data: t.data, dtype: 'BF16' };
      continue;
    }
    const [a, b] = t.shape as [number, number];
    const transposed = modelType === 'gpt2' && /^(transformer\.)?h\.\d+\./.test(name);
    const rows = transposed ? b : a;
    const cols = transposed ? a : b;
    const src = transposed ? transposedCopy(t.data, a, b) : t.data;
    const packed = packWeight(src, { rows, cols }, dtype, { name }) as Q8Weight | Q4Weight;
    records[name] = { dtype, shape: [a, b], transposed };
    const codes = packed.dtype === 'q8' ? new Uint8Array(packed.q.buffer, packed.q.byteOffset, packed.q.length) : packed.q;
    tensors[`${name}.qcodes`] = { shape: [rows, codes.length / rows], data: codes, dtype: 'U8' };
    tensors[`${name}.qscales`] = { shape: [rows, blocksPerRow(cols)], data: packed.scales };
  }
  const config: QuantizationConfig = {
    quant_method: LOOM_QUANT_METHOD, block_size: 32, dtype: plan.dtype,
    ...(options.moduleDtypes ? { module_dtypes: options.moduleDtypes } : {}),
    tensors: records,
  };
  return { tensors, config };
}

/**
 * Writes a quantized copy of the checkpoint folder `srcDir` into `outDir`: model.safetensors with the
 * packed tensors, config.json with `quantization_config`, other files (tokenizer, generation config) copied.
 * @throws ConfigError / SafetensorsError for unreadable inputs or a bad dtype plan.
 */
export function saveQuantizedCheckpoint(srcDir: string, outDir: string, options: DtypeOptions): QuantizationConfig {
  const configPath = path.join(srcDir, 'config.json');
  const weightsPath = path.join(srcDir, 'model.safetensors');
  if (!fs.existsSync(configPath) || !fs.existsSync(weightsPath)) {
    throw new ConfigError(`${srcDir}: needs config.json and model.safetensors (sharded checkpoints are not supported here)`);
  }
  const raw = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  if (raw.quantization_config !== undefined) throw new ConfigError(`${srcDir}: config.json already has a quantization_config`);
  const file = new SafetensorsFile(fs.readFileSync(weightsPath), weightsPath);
  const { tensors, config } = quantizeCheckpoint(file, String(raw.model_type), options);
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of fs.readdirSync(srcDir)) {
    if (f !== 'config.json' && f !== 'model.safetensors' && fs.statSync(path.join(srcDir, f)).isFile()) fs.copyFileSync(path.join(srcDir, f), path.join(outDir, f));
  }
  fs.writeFileSync(path.join(outDir, 'model.safetensors'), saveSafetensors(tensors));
  fs.writeFileSync(path.join(outDir, 'config.json'), JSON.stringify({ ...raw, quantization_config: config }, null, 2) + '\n');
  return config;
}

/**
 * The `quantization_config` of a raw config.json object, validated; undefined when there is none.
 * @throws ConfigError for another quant_method or a malformed record.
 */
export function readQuantizationConfig(raw: unknown): QuantizationConfig | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const q = (raw as { quantization_config?: unknown }).quantization_config;
  if (q === undefined) return undefined;
  const bad = (what: string): never => {
    throw new ConfigError(`config.json quantization_config: ${what}`);
  };
  if (typeof q !== 'object' || q === null) return bad('expected an object');
  const c = q as Record<string, unknown>;
  if (c.quant_method !== LOOM_QUANT_METHOD) return bad(`quant_method ${JSON.stringify(c.quant_method)} is not supported, expected '${LOOM_QUANT_METHOD}'`);
  if (c.block_size !== 32) return bad(`block_size ${JSON.stringify(c.block_size)}, expected 32`);
  if (!(WEIGHT_DTYPES as readonly unknown[]).includes(c.dtype)) return bad(`dtype ${JSON.stringify(c.dtype)}, expected one of ${WEIGHT_DTYPES.join(', ')}`);
  if (typeof c.tensors !== 'object' || c.tensors === null) return bad('tensors: expected an object');
  for (const [name, t] of Object.entries(c.tensors as Record<string, unknown>)) {
    const r = t as Partial<QuantizedTensorInfo> | null;
    const ok = r !== null && typeof r === 'object' && ['q8', 'q4'].includes(r.dtype as string) && Array.isArray(r.shape) && r.shape.length === 2
      && r.shape.every((n) => Number.isInteger(n) && n > 0) && typeof r.transposed === 'boolean';
    if (!ok) bad(`tensors['${name}']: expected { dtype: q8 | q4, shape: [rows, cols], transposed: boolean }`);
  }
  return q as QuantizationConfig;
}

/**
 * A weight source over a quantized checkpoint: packed tensors are widened back to float32 in their
 * Hugging Face layout (one tensor per call), the others pass through.
 */
export class QuantizedWeightSource implements WeightSource {
  constructor(
    private readonly inner: WeightSource,
    readonly quantization: QuantizationConfig,
  ) {}

  has(name: string): boolean {
    return name in this.quantization.tensors || this.inner.has(name);
  }

  /** @throws SafetensorsError when a packed tensor's parts are missing or their shapes disagree with the record. */
  get(name: string): SourceTensor {
    const info = this.quantization.tensors[name];
    if (!info) return this.inner.get(name);
    const [a, b] = info.shape;
    const rows = info.transposed ? b : a;
    const cols = info.transposed ? a : b;
    const codes = this.inner.get(`${name}.qcodes`);
    const scales = this.inner.get(`${name}.qscales`);
    const nb = blocksPerRow(cols);
    const codesPerRow = info.dtype === 'q8' ? cols : nb * 16;
    if (codes.data.length !== rows * codesPerRow || scales.data.length !== rows * nb || !(scales.data instanceof Float32Array)) {
      throw new SafetensorsError(`${name}: packed ${info.dtype} parts hold ${codes.data.length} codes and ${scales.data.length} scales, expected ${rows * codesPerRow} and ${rows * nb}`);
    }
    const c = codes.data;
    const floats = info.dtype === 'q8'
      ? dequantize({ dtype: 'q8', rows, cols, q: Int8Array.from(c, (v) => (v << 24) >> 24), scales: scales.data })
      : dequantize({ dtype: 'q4', rows, cols, q: Uint8Array.from(c), scales: scales.data });
    return { shape: info.shape, data: info.transposed ? transposedCopy(floats, rows, cols) : floats, dtype: 'F32' };
  }
}
