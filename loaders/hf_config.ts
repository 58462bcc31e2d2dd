/**
 * Hugging Face `config.json` (+ `generation_config.json`) to one typed, architecture-neutral
 * {@link ModelConfig}: a typed reader plus dispatch to the architecture's spec
 * (src/transformer/<arch>.ts owns its key names, defaults and rules).
 * Ref: transformers' LlamaConfig, MistralConfig, Qwen2Config, GPT2Config, GPTNeoXConfig defaults;
 * loom-spec/transformer.md section 2 (LOOM reads only a few of these keys: gaps.md D34, D37).
 */
import { parseGenerationDefaults } from './generation_config';
import { ConfigError } from '../src/core/errors';
import type { ModelType } from '../src/transformer/types';
import type { ArchitectureRope, HFConfigReader } from '../src/transformer/architecture';
import { architectureOf, MODEL_TYPES } from '../src/transformer/architectures';
import { HIDDEN_ACTS } from '../src/transformer/config';
import type { HiddenAct, ModelConfig, RopeConfig, RopeScaling } from '../src/transformer/config';
import { parseJsonAs } from './json_read';
import { previewValue } from '../src/core/preview';
import { checkConfigLimits } from './config_limits';

export type { HiddenAct, ModelConfig, RopeConfig, RopeScaling } from '../src/transformer/config';

/** Architectures accepted in `model_type`. */
export const SUPPORTED_MODEL_TYPES: readonly ModelType[] = MODEL_TYPES;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The typed reader of one JSON object that architecture specs read through. */
class Reader implements HFConfigReader {
  constructor(
    readonly obj: Json,
    readonly file: string,
  ) {}
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }
  int(key: string, fallback?: number, min = 1): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new ConfigError(`${this.file}: '${key}' is missing, expected an integer >= ${min}`);
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ConfigError(`${this.file}: '${key}' is ${previewValue(v)}, expected an integer >= ${min}`);
    }
    return v;
  }
  num(key: string, fallback: number, positive = true): number {
    const v = this.obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
      throw new ConfigError(`${this.file}: '${key}' is ${previewValue(v)}, expected a ${positive ? 'positive ' : ''}number`);
    }
    return v;
  }
  bool(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new ConfigError(`${this.file}: '${key}' is ${previewValue(v)}, expected true or false`);
    return v;
  }
  ids(key: string): number[] | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    const arr = Array.isArray(v) ? v : [v];
    for (const x of arr) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new ConfigError(`${this.file}: '${key}' is ${previewValue(v)}, expected a token id or a list of them`);
    }
    return arr as number[];
  }
}

function parseScaling(raw: Json, file: string, where: string, maxPositions: number): RopeScaling {
  const r = new Reader(raw, `${file} ${where}`);
  const type = raw.rope_type ?? raw.type ?? 'default';
  switch (type) {
    case 'default':
      return { type: 'default' };
    case 'linear':
      return { type: 'linear', factor: r.num('factor', 1) };
    case 'dynamic':
      // transformers' _compute_dynamic_ntk_parameters takes the trained length from
      // max_position_embeddings (rope_scaling.original_max_position_embeddings is not read).
      return { type: 'dynamic', factor: r.num('factor', 1), originalMaxPositions: maxPositions };
    case 'llama3':
      return {
        type: 'llama3',
        factor: r.num('factor', 8),
        lowFreqFactor: r.num('low_freq_factor', 1),
        highFreqFactor: r.num('high_freq_factor', 4),
        originalMaxPositions: r.int('original_max_position_embeddings', 8192),
      };
    default:
      throw new ConfigError(`${file}: ${where} rope type ${previewValue(type)} is not supported, expected default, linear, dynamic or llama3`);
  }
}

/**
 * Builds the typed config from parsed `config.json` (and optionally `generation_config.json`,
 * whose token ids win): the sizes every architecture has, then the architecture's own fields
 * ({@link ArchitectureSpec.readFields}), then RoPE and token ids.
 * @throws ConfigError naming the field: unknown `model_type` (listing the supported ones), missing
 *   or invalid sizes, heads that do not divide, unknown activation or rope type.
 */
export function parseHFConfig(config: unknown, generationConfig?: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(config)) throw new ConfigError(`${file}: expected a JSON object, got ${Array.isArray(config) ? 'array' : typeof config}`);
  const modelType = config.model_type;
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(`${file}: model_type ${previewValue(modelType)} is not supported, expected one of ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  const arch = architectureOf(modelType);
  const { configKeys: keys, defaults } = arch;
  const r = new Reader(config, file);
  const sizes = { hiddenSize: r.int(keys.hidden), numLayers: r.int(keys.layers), numHeads: r.int(keys.heads) };
  const fields = arch.readFields(r, sizes);
  const maxPositions = r.int(keys.positions, defaults.maxPositions);
  const epsKey = keys.eps.find((k) => r.has(k)) ?? ['rms_norm_eps', 'layer_norm_eps', 'layer_norm_epsilon'].find((k) => r.has(k));
  const eps = epsKey ? r.num(epsKey, defaults.eps) : defaults.eps;
  const actRaw = config[keys.act] ?? defaults.act;
  if (typeof actRaw !== 'string' || !(HIDDEN_ACTS as readonly string[]).includes(actRaw)) {
    throw new ConfigError(`${file}: ${keys.act} ${previewValue(actRaw)} is not supported, expected one of ${HIDDEN_ACTS.join(', ')}`);
  }
  const rope = fields.rope ? parseRope(config, r, fields.rope, fields.headDim, maxPositions) : undefined;
  // Dynamic NTK scaling exists to run past max_position_embeddings (the base grows with the
  // length); the context it is configured for is factor x that length.
  const contextPositions = rope?.scaling.type === 'dynamic' ? Math.max(maxPositions, Math.floor(rope.scaling.factor * maxPositions)) : maxPositions;

  const g = isObject(generationConfig) ? new Reader(generationConfig, 'generation_config.json') : undefined;
  const eos = g?.ids('eos_token_id') ?? r.ids('eos_token_id') ?? [];
  const bos = (g?.ids('bos_token_id') ?? r.ids('bos_token_id'))?.[0];
  const pad = (g?.ids('pad_token_id') ?? r.ids('pad_token_id'))?.[0];
  return checkConfigLimits({
    modelType: arch.modelType,
    vocabSize: r.int('vocab_size'),
    maxPositions: contextPositions,
    eosTokenIds: eos,
    ...(bos !== undefined ? { bosTokenId: bos } : {}),
    ...(pad !== undefined ? { padTokenId: pad } : {}),
    ...(isObject(generationConfig) ? { generationDefaults: parseGenerationDefaults(generationConfig) } : {}),
    ...sizes,
    numKVHeads: fields.numKVHeads,
    headDim: fields.headDim,
    intermediateSize: fields.intermediateSize,
    norm: { kind: defaults.norm, eps },
    hiddenAct: actRaw as HiddenAct,
    ...(rope ? { rope } : {}),
    parallelResidual: fields.parallelResidual,
    tieWordEmbeddings: r.bool('tie_word_embeddings', defaults.tieWordEmbeddings),
    qkvBias: fields.qkvBias,
    attnOutBias: fields.attnOutBias,
    mlpBias: fields.mlpBias,
    ...(fields.slidingWindow !== undefined ? { slidingWindow: fields.slidingWindow } : {}),
  }, file);
}

/**
 * RoPE settings: the architecture's base and rotary fraction, overridden by `rope_theta`,
 * `partial_rotary_factor` and transformers v5's `rope_parameters`; scaling from `rope_scaling`.
 * @throws ConfigError for a rotary fraction above 1, an odd or empty rotary dimension, or an unknown scaling type
 */
function parseRope(config: Json, r: Reader, archRope: ArchitectureRope, headDim: number, maxPositions: number): RopeConfig {
  const file = r.file;
  // transformers v5 moves theta and scaling into rope_parameters.
  const params = isObject(config.rope_parameters) ? config.rope_parameters : undefined;
  const pr = params ? new Reader(params, `${file} rope_parameters`) : undefined;
  let theta = r.num('rope_theta', archRope.theta);
  if (pr?.has('rope_theta')) theta = pr.num('rope_theta', theta);
  let pct = archRope.partialRotary;
  if (pr?.has('partial_rotary_factor')) pct = pr.num('partial_rotary_factor', pct);
  else if (r.has('partial_rotary_factor')) pct = r.num('partial_rotary_factor', pct);
  if (pct > 1) throw new ConfigError(`${file}: rotary_pct ${pct} must be in (0, 1]`);
  const rotaryDim = Math.floor(headDim * pct);
  if (rotaryDim % 2 !== 0 || rotaryDim === 0) throw new ConfigError(`${file}: rotary dimension ${rotaryDim} (head_dim ${headDim} x ${pct}) must be even and positive`);
  const scalingRaw = isObject(config.rope_scaling) ? config.rope_scaling : params;
  const scaling = scalingRaw ? parseScaling(scalingRaw, file, isObject(config.rope_scaling) ? 'rope_scaling' : 'rope_parameters', maxPositions) : { type: 'default' as const };
  return { theta, rotaryDim, scaling };
}

/**
 * Parses `config.json` text (and optional `generation_config.json` text).
 * @throws ConfigError when the text is not JSON or the config is invalid.
 */
export function parseHFConfigText(configText: string, generationConfigText?: string): ModelConfig {
  const parse = (t: string, f: string): unknown => parseJsonAs(t, `${f}: not valid JSON`, ConfigError);
  return parseHFConfig(parse(configText, 'config.json'), generationConfigText === undefined ? undefined : parse(generationConfigText, 'generation_config.json'));
}
