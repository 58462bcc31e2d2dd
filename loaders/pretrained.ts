/**
 * Loads a Hugging Face causal LM (config.json + safetensors) into a {@link DecoderLM}: from a
 * folder path, a URL folder, or files/objects already in memory.
 */
import { ConfigError, GgufError, SafetensorsError } from '../src/core/errors';
import { normalizeOptionKeys } from '../src/core/option_keys';
import { buildCausalLM } from '../src/transformer/architectures';
import type { DecoderLM } from '../src/transformer/model';
import type { WeightSource } from '../src/transformer/weights';
import { kernelsByDefault, type KernelOptions } from '../src/transformer/kernel_options';
import { kernelUnsupportedReason } from '../src/transformer/kernel_decoder';
import { parseHFConfig, type ModelConfig } from './hf_config';
import { QuantizedWeightSource, readQuantizationConfig, type QuantizationConfig } from './quantized_checkpoint';
import { parseJsonAs } from './json_read';
import { isUrlString, joinSource, readText, readTextIfPresent, type ByteSource, type ProgressCallback } from './byte_source';
import { loadSafetensors, loadShardedSafetensors } from './safetensors';
import { checkConfigAgainstWeights, isShapeListing } from './config_limits';
import { asOutOfMemory, assertModelFits, floatValues, KERNEL_BYTES_PER_WEIGHT } from './memory_budget';
import { resolveHubCheckpoint, resolveHubGguf } from './hub';
import { ggufCheckpoint, isGgufSource, loadGguf } from './gguf';
import type { HubOptions } from './hub_env';

/** Files or objects of a checkpoint given directly. */
export interface PretrainedFiles {
  /** Parsed config.json, its text, or a source to read it from. */
  config: Record<string, unknown> | string | ByteSource;
  generationConfig?: Record<string, unknown> | string | ByteSource;
  /** A safetensors file (any byte source) or a ready weight source. */
  weights: ByteSource | WeightSource;
}

/**
 * A folder (Node path or URL) holding config.json and model.safetensors (or the sharded index),
 * a Hugging Face hub id (`org/name`, fetched through the hub cache), a GGUF file (path or URL
 * ending in `.gguf`, its bytes, or `org/name/file.gguf` in a hub repo), or files given directly.
 */
export type PretrainedSource = string | URL | PretrainedFiles | Uint8Array | ArrayBuffer;

/**
 * Options of {@link loadCausalLM}: `kernels` / `dtype` pick the engine (see {@link KernelOptions});
 * progress; for hub ids the revision, cache folder and offline mode.
 */
export interface LoadCausalLMOptions extends KernelOptions, HubOptions {
  onProgress?: ProgressCallback;
  /**
   * Bytes the model may use; default: what the backend can hold (wasm: its 4 GiB heap). A model whose
   * float32 weights need more is refused with OutOfMemoryError before anything is allocated.
   */
  memoryLimitBytes?: number;
  /** Skip the NaN/Inf scan of safetensors weights (only for files you trust; it costs one pass over the data). */
  checkFinite?: boolean;
}

/** Every key of {@link LoadCausalLMOptions} (unknown keys are refused naming the closest). */
const LOAD_OPTION_KEYS = ['onProgress', 'memoryLimitBytes', 'checkFinite', 'kernels', 'dtype', 'moduleDtypes', 'revision', 'cacheDir', 'localFilesOnly'] as const satisfies readonly (keyof LoadCausalLMOptions)[];

/** A checkpoint already parsed: typed config plus any weight source (e.g. a {@link SafetensorsFile}). */
export interface ParsedCheckpoint {
  config: ModelConfig;
  weights: WeightSource;
  /** The checkpoint's `quantization_config` (packed weights, see loaders/quantized_checkpoint.ts). */
  quantization?: QuantizationConfig;
}

/** Widens a quantized checkpoint's packed tensors when config.json says it has them. */
function withQuantization(raw: unknown, parsed: ParsedCheckpoint): ParsedCheckpoint {
  const quantization = readQuantizationConfig(raw);
  return quantization ? { ...parsed, weights: new QuantizedWeightSource(parsed.weights, quantization), quantization } : parsed;
}

function isWeightSource(w: unknown): w is WeightSource {
  return typeof w === 'object' && w !== null && typeof (w as WeightSource).get === 'function' && typeof (w as WeightSource).has === 'function';
}

function parseJson(text: string, file: string): unknown {
  return parseJsonAs(text, `${file}: not valid JSON`, ConfigError);
}

async function jsonFrom(v: Record<string, unknown> | string | ByteSource, file: string): Promise<unknown> {
  if (typeof v === 'string') {
    const t = v.trimStart();
    if (t.startsWith('{')) return parseJson(v, file);
    return parseJson(await readText(v), file);
  }
  if (v instanceof Uint8Array || v instanceof ArrayBuffer || v instanceof URL || (typeof Blob !== 'undefined' && v instanceof Blob)) {
    return parseJson(await readText(v), file);
  }
  return v;
}

async function exists(src: string): Promise<boolean> {
  if (isUrlString(src)) {
    try {
      const res = await fetch(src, { method: 'HEAD' });
      return res.ok;
    } catch {
      return false;
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  return fs.existsSync(src);
}

/**
 * Reads config.json (+ generation_config.json when present) of a folder.
 * @throws ConfigError when config.json is missing or invalid.
 */
export async function loadModelConfig(dir: string | URL): Promise<ModelConfig> {
  return (await readFolderConfig(dir)).config;
}

/** config.json of a folder as parsed JSON (for fields the typed config does not keep) and typed. */
async function readFolderConfig(dir: string | URL): Promise<{ raw: unknown; config: ModelConfig }> {
  // one GET per file (no HEAD probes, which pages log as aborted requests)
  const configText = await readTextIfPresent(joinSource(dir, 'config.json'));
  if (configText === undefined) throw new ConfigError(`${String(dir)}: config.json not found`);
  const genText = await readTextIfPresent(joinSource(dir, 'generation_config.json'));
  const gen = genText === undefined ? undefined : parseJson(genText, 'generation_config.json');
  const raw = parseJson(configText, 'config.json');
  return { raw, config: parseHFConfig(raw, gen) };
}

/**
 * The typed config and weight source of a checkpoint, without building a model: a folder (Node path
 * or URL) with config.json (+ generation_config.json) and model.safetensors or the sharded
 * index, a hub id (see {@link resolveHubCheckpoint}), or files / objects given directly. The weights
 * are opened (headers parsed), not checked against the config.
 * @throws ConfigError when config.json is missing or invalid; SafetensorsError when a folder holds
 *   neither model.safetensors nor model.safetensors.index.json, or a file is malformed.
 */
export async function resolvePretrained(source: PretrainedSource, options: LoadCausalLMOptions = {}): Promise<ParsedCheckpoint> {
  const hub = typeof source === 'string' ? ((await resolveHubGguf(source, options)) ?? (await resolveHubCheckpoint(source, options))) : undefined;
  // the hub reported its own progress (through 'ready'); reading the local snapshot adds none
  if (hub !== undefined) return resolvePretrained(hub, options.checkFinite === undefined ? {} : { checkFinite: options.checkFinite });
  if (isGgufSource(source)) {
    const { config, weights } = ggufCheckpoint(await loadGguf(source, options));
    return { config, weights };
  }
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) throw new GgufError('checkpoint bytes: not a GGUF file (no "GGUF" magic); pass safetensors bytes as { config, weights }');
  if (typeof source === 'string' || source instanceof URL) {
    const { raw, config } = await readFolderConfig(source);
    const single = joinSource(source, 'model.safetensors');
    const index = joinSource(source, 'model.safetensors.index.json');
    const read = { onProgress: options.onProgress, checkFinite: options.checkFinite };
    if (isUrlString(single)) {
      // GET model.safetensors directly; only a 404 sends us to the sharded index
      try {
        return withQuantization(raw, { config, weights: await loadSafetensors(single, { ...read, file: single }) });
      } catch (e) {
        if (!(e instanceof SafetensorsError && / HTTP 404 /.test(e.message))) throw e;
      }
      try {
        return withQuantization(raw, { config, weights: await loadShardedSafetensors(index, read) });
      } catch (e) {
        if (!(e instanceof SafetensorsError && / HTTP 404 /.test(e.message))) throw e;
      }
    } else if (await exists(single)) return withQuantization(raw, { config, weights: await loadSafetensors(single, { ...read, file: single }) });
    else if (await exists(index)) return withQuantization(raw, { config, weights: await loadShardedSafetensors(index, read) });
    throw new SafetensorsError(`${String(source)}: neither model.safetensors nor model.safetensors.index.json found`);
  }
  const gen = source.generationConfig === undefined ? undefined : await jsonFrom(source.generationConfig, 'generation_config.json');
  const raw = await jsonFrom(source.config, 'config.json');
  const config = parseHFConfig(raw, gen);
  const weights = isWeightSource(source.weights) ? source.weights : await loadSafetensors(source.weights, { onProgress: options.onProgress, checkFinite: options.checkFinite });
  return withQuantization(raw, { config, weights });
}

/**
 * Loads a causal LM. The weights are validated (names, dtypes, shapes against config.json) before
 * the model is returned; on any error nothing stays allocated.
 * @throws ConfigError for config problems or an unknown option key (`device` explained),
 *   SafetensorsError for malformed, missing or non-finite tensors, ShapeError for tensors whose
 *   shapes contradict config.json, OutOfMemoryError when the weights would not fit on the backend
 *   (checked from the header, before allocating), HubError when a hub file cannot be had.
 */
export async function loadCausalLM(source: PretrainedSource, rawOptions: LoadCausalLMOptions = {}): Promise<DecoderLM> {
  if (rawOptions && typeof rawOptions === 'object' && 'device' in rawOptions) {
    throw new ConfigError("loadCausalLM: no 'device' option: the tfjs backend is global (call useBackend('webgpu') first); pipeline('text-generation', dir, { device }) takes one");
  }
  const options = normalizeOptionKeys(rawOptions, { keys: LOAD_OPTION_KEYS, aliases: { progress_callback: 'onProgress' }, where: 'loadCausalLM' }) as LoadCausalLMOptions;
  const { config, weights, quantization } = await resolvePretrained(source, options);
  // A quantized checkpoint loads in its own dtypes unless the options say otherwise.
  const dtypes = quantization && options.dtype === undefined && options.moduleDtypes === undefined
    ? { dtype: quantization.dtype, ...(quantization.module_dtypes ? { moduleDtypes: quantization.module_dtypes } : {}) }
    : {};
  const buildOptions = { ...options, ...dtypes };
  const what = `${config.modelType} checkpoint`;
  if (isShapeListing(weights)) {
    checkConfigAgainstWeights(config, weights);
    const onKernels = buildOptions.kernels ?? (kernelsByDefault() && kernelUnsupportedReason(config) === undefined);
    assertModelFits(floatValues(weights), what, {
      limitBytes: options.memoryLimitBytes,
      ...(onKernels ? { kernelBytesPerWeight: KERNEL_BYTES_PER_WEIGHT[buildOptions.dtype ?? 'fp32'] } : {}),
    });
  }
  try {
    return buildCausalLM(config, weights, buildOptions);
  } catch (e) {
    // The builder frees what it made; a failed host allocation becomes typed.
    throw asOutOfMemory(e, what);
  }
}
