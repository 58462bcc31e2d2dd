/**
 * Loads a Hugging Face causal LM (config.json + safetensors) into a {@link DecoderLM}: from a
 * folder path, a URL folder, or files/objects already in memory.
 */
import { ConfigError, SafetensorsError } from '../src/core/errors';
import { normalizeOptionKeys } from '../src/core/option_keys';
import { buildCausalLM } from '../src/transformer/architectures';
import type { DecoderLM } from '../src/transformer/model';
import type { WeightSource } from '../src/transformer/weights';
import { parseHFConfig, type ModelConfig } from './hf_config';
import { parseJsonAs } from './json_read';
import { isUrlString, joinSource, readText, readTextIfPresent, type ByteSource, type ProgressCallback } from './byte_source';
import { loadSafetensors, loadShardedSafetensors } from './safetensors';

/** Files or objects of a checkpoint given directly. */
export interface PretrainedFiles {
  /** Parsed config.json, its text, or a source to read it from. */
  config: Record<string, unknown> | string | ByteSource;
  generationConfig?: Record<string, unknown> | string | ByteSource;
  /** A safetensors file (any byte source) or a ready weight source. */
  weights: ByteSource | WeightSource;
}

/** A folder (Node path or URL) holding config.json and model.safetensors (or the sharded index). */
export type PretrainedSource = string | URL | PretrainedFiles;

/** Options of {@link loadCausalLM}. */
export interface LoadCausalLMOptions {
  onProgress?: ProgressCallback;
}

/** A checkpoint already parsed: typed config plus any weight source (e.g. a {@link SafetensorsFile}). */
export interface ParsedCheckpoint {
  config: ModelConfig;
  weights: WeightSource;
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
  // one GET per file (no HEAD probes, which pages log as aborted requests)
  const configText = await readTextIfPresent(joinSource(dir, 'config.json'));
  if (configText === undefined) throw new ConfigError(`${String(dir)}: config.json not found`);
  const genText = await readTextIfPresent(joinSource(dir, 'generation_config.json'));
  const gen = genText === undefined ? undefined : parseJson(genText, 'generation_config.json');
  return parseHFConfig(parseJson(configText, 'config.json'), gen);
}

/**
 * The typed config and weight source of a checkpoint, without building a model: a folder (Node path
 * or URL) with config.json (+ generation_config.json) and model.safetensors or the sharded
 * index, or files / objects given directly. The weights are opened (headers parsed), not checked
 * against the config.
 * @throws ConfigError when config.json is missing or invalid; SafetensorsError when a folder holds
 *   neither model.safetensors nor model.safetensors.index.json, or a file is malformed.
 */
export async function resolvePretrained(source: PretrainedSource, options: LoadCausalLMOptions = {}): Promise<ParsedCheckpoint> {
  if (typeof source === 'string' || source instanceof URL) {
    const config = await loadModelConfig(source);
    const single = joinSource(source, 'model.safetensors');
    const index = joinSource(source, 'model.safetensors.index.json');
    if (isUrlString(single)) {
      // GET model.safetensors directly; only a 404 sends us to the sharded index
      try {
        return { config, weights: await loadSafetensors(single, { onProgress: options.onProgress, file: single }) };
      } catch (e) {
        if (!(e instanceof SafetensorsError && / HTTP 404 /.test(e.message))) throw e;
      }
      try {
        return { config, weights: await loadShardedSafetensors(index, { onProgress: options.onProgress }) };
      } catch (e) {
        if (!(e instanceof SafetensorsError && / HTTP 404 /.test(e.message))) throw e;
      }
    } else if (await exists(single)) return { config, weights: await loadSafetensors(single, { onProgress: options.onProgress, file: single }) };
    else if (await exists(index)) return { config, weights: await loadShardedSafetensors(index, { onProgress: options.onProgress }) };
    throw new SafetensorsError(`${String(source)}: neither model.safetensors nor model.safetensors.index.json found`);
  }
  const gen = source.generationConfig === undefined ? undefined : await jsonFrom(source.generationConfig, 'generation_config.json');
  const config = parseHFConfig(await jsonFrom(source.config, 'config.json'), gen);
  const weights = isWeightSource(source.weights) ? source.weights : await loadSafetensors(source.weights, { onProgress: options.onProgress });
  return { config, weights };
}

/**
 * Loads a causal LM. The weights are validated (names, dtypes, shapes against config.json) before
 * the model is returned; on any error nothing stays allocated.
 * @throws ConfigError for config problems or an unknown option key (`device` explained), SafetensorsError for malformed or missing tensors,
 *   ShapeError for tensors whose shapes contradict config.json.
 */
export async function loadCausalLM(source: PretrainedSource, rawOptions: LoadCausalLMOptions = {}): Promise<DecoderLM> {
  if (rawOptions && typeof rawOptions === 'object' && ('device' in rawOptions || 'dtype' in rawOptions)) {
    throw new ConfigError("loadCausalLM: no 'device' / 'dtype' option: the tfjs backend is global (call useBackend('webgpu') first), weights run in float32; pipeline('text-generation', dir, { device, dtype }) takes both");
  }
  const options = normalizeOptionKeys(rawOptions, { keys: ['onProgress'], aliases: { progress_callback: 'onProgress' }, where: 'loadCausalLM' }) as LoadCausalLMOptions;
  const { config, weights } = await resolvePretrained(source, options);
  return buildCausalLM(config, weights);
}
