/**
 * Hugging Face `config.json` (+ `generation_config.json`) to one typed, architecture-neutral
 * {@link ModelConfig}. Upstream snake_case keys appear only in this file.
 * Ref: transformers' LlamaConfig, MistralConfig, Qwen2Config, GPT2Config, GPTNeoXConfig defaults;
 * loom-spec/transformer.md section 2 (LOOM reads only a few of these keys: gaps.md D34, D37).
 */
import { parseGenerationDefaults } from './generation_config';
import { ConfigError } from '../src/core/errors';
import type { ModelType } from '../src/transformer/types';
import { HIDDEN_ACTS } from '../src/transformer/config';
import type { HiddenAct, ModelConfig, RopeConfig, RopeScaling } from '../src/transformer/config';
import { parseJsonAs } from './json_read';
import { previewValue } from '../src/core/preview';
import { checkConfigLimits } from './config_limits';

export type { HiddenAct, ModelConfig, RopeConfig, RopeScaling } from '../src/transformer/config';

/** Architectures accepted in `model_type`. */
export const SUPPORTED_MODEL_TYPES: readonly ModelType[] = ['llama', 'mistral', 'qwen2', 'gpt2', 'gpt_neox'];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
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

/** Per-architecture key names and defaults (transformers' config classes). */
interface ArchDefaults {
  hidden: string;
  layers: string;
  heads: string;
  inner: string | null;
  positions: string;
  eps: readonly string[];
  epsDefault: number;
  norm: 'rms' | 'layer';
  act: string;
  actDefault: HiddenAct;
  tieDefault: boolean;
  maxPosDefault: number;
}

const LLAMA_LIKE: ArchDefaults = {
  hidden: 'hidden_size', layers: 'num_hidden_layers', heads: 'num_attention_heads', inner: 'intermediate_size',
  positions: 'max_position_embeddings', eps: ['rms_norm_eps'], epsDefault: 1e-6, norm: 'rms', act: 'hidden_act',
  actDefault: 'silu', tieDefault: false, maxPosDefault: 2048,
};

const ARCH: Readonly<Record<ModelType, ArchDefaults>> = {
  llama: LLAMA_LIKE,
  mistral: { ...LLAMA_LIKE, maxPosDefault: 4096 * 32 },
  qwen2: { ...LLAMA_LIKE, maxPosDefault: 32768 },
  gpt2: {
    hidden: 'n_embd', layers: 'n_layer', heads: 'n_head', inner: 'n_inner', positions: 'n_positions',
    eps: ['layer_norm_epsilon'], epsDefault: 1e-5, norm: 'layer', act: 'activation_function', actDefault: 'gelu_new',
    tieDefault: true, maxPosDefault: 1024,
  },
  gpt_neox: {
    hidden: 'hidden_size', layers: 'num_hidden_layers', heads: 'num_attention_heads', inner: 'intermediate_size',
    positions: 'max_position_embeddings', eps: ['layer_norm_eps'], epsDefault: 1e-5, norm: 'layer', act: 'hidden_act',
    actDefault: 'gelu', tieDefault: false, maxPosDefault: 2048,
  },
};

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
 * whose token ids win).
 * @throws ConfigError naming the field: unknown `model_type` (listing the supported ones), missing
 *   or invalid sizes, heads that do not divide, unknown activation or rope type.
 */
export function parseHFConfig(config: unknown, generationConfig?: unknown, file = 'config.json'): ModelConfig {
  if (!isObject(config)) throw new ConfigError(`${file}: expected a JSON object, got ${Array.isArray(config) ? 'array' : typeof config}`);
  const modelType = config.model_type;
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(`${file}: model_type ${previewValue(modelType)} is not supported, expected one of ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  const mt = modelType as ModelType;
  const a = ARCH[mt];
  const r = new Reader(config, file);
  if (mt === 'qwen2' && r.bool('use_sliding_window', false)) {
    const window = r.int('sliding_window', Number.MAX_SAFE_INTEGER);
    const positions = r.int('max_position_embeddings', Number.MAX_SAFE_INTEGER);
    if (window < positions && r.int('max_window_layers', 0, 0) < r.int('num_hidden_layers')) {
      throw new ConfigError(
        `${file}: use_sliding_window with sliding_window ${window} < max_position_embeddings ${positions} (per-layer sliding attention) is not supported, expected use_sliding_window: false`,
      );
    }
  }
  const hiddenSize = r.int(a.hidden);
  const numLayers = r.int(a.layers);
  const numHeads = r.int(a.heads);
  const numKVHeads = mt === 'gpt2' || mt === 'gpt_neox' ? numHeads : r.int('num_key_value_heads', numHeads);
  if (numHeads % numKVHeads !== 0) throw new ConfigError(`${file}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKVHeads}`);
  const defaultHeadDim = Math.floor(hiddenSize / numHeads);
  const headDim = mt === 'gpt2' || mt === 'gpt_neox' ? defaultHeadDim : r.int('head_dim', defaultHeadDim);
  if ((mt === 'gpt2' || mt === 'gpt_neox') && hiddenSize % numHeads !== 0) {
    throw new ConfigError(`${file}: ${a.hidden} ${hiddenSize} is not a multiple of ${a.heads} ${numHeads}`);
  }
  const intermediateSize = a.inner === null || !r.has(a.inner) ? (mt === 'gpt2' ? 4 * hiddenSize : r.int(a.inner ?? 'intermediate_size')) : r.int(a.inner);
  const maxPositions = r.int(a.positions, a.maxPosDefault);
  const epsKey = a.eps.find((k) => r.has(k)) ?? ['rms_norm_eps', 'layer_norm_eps', 'layer_norm_epsilon'].find((k) => r.has(k));
  const eps = epsKey ? r.num(epsKey, a.epsDefault) : a.epsDefault;
  const actRaw = config[a.act] ?? (mt === 'gpt2' ? undefined : config.hidden_act) ?? a.actDefault;
  if (typeof actRaw !== 'string' || !(HIDDEN_ACTS as readonly string[]).includes(actRaw)) {
    throw new ConfigError(`${file}: ${a.act} ${previewValue(actRaw)} is not supported, expected one of ${HIDDEN_ACTS.join(', ')}`);
  }

  if (mt === 'gpt2' && (r.bool('scale_attn_by_inverse_layer_idx', false) || !r.bool('scale_attn_weights', true))) {
    throw new ConfigError(`${file}: scale_attn_by_inverse_layer_idx true / scale_attn_weights false are not supported, expected the defaults (false / true)`);
  }

  let rope: RopeConfig | undefined;
  if (mt !== 'gpt2') {
    // transformers v5 moves theta and scaling into rope_parameters.
    const params = isObject(config.rope_parameters) ? config.rope_parameters : undefined;
    const pr = params ? new Reader(params, `${file} rope_parameters`) : undefined;
    const thetaDefault = 10000;
    let theta = r.num('rope_theta', mt === 'gpt_neox' ? r.num('rotary_emb_base', thetaDefault) : thetaDefault);
    if (pr?.has('rope_theta')) theta = pr.num('rope_theta', theta);
    let pct = 1;
    if (mt === 'gpt_neox') pct = r.num('rotary_pct', 0.25);
    if (pr?.has('partial_rotary_factor')) pct = pr.num('partial_rotary_factor', pct);
    else if (r.has('partial_rotary_factor')) pct = r.num('partial_rotary_factor', pct);
    if (pct > 1) throw new ConfigError(`${file}: rotary_pct ${pct} must be in (0, 1]`);
    const rotaryDim = Math.floor(headDim * pct);
    if (rotaryDim % 2 !== 0 || rotaryDim === 0) throw new ConfigError(`${file}: rotary dimension ${rotaryDim} (head_dim ${headDim} x ${pct}) must be even and positive`);
    const scalingRaw = isObject(config.rope_scaling) ? config.rope_scaling : params;
    const scaling = scalingRaw ? parseScaling(scalingRaw, file, isObject(config.rope_scaling) ? 'rope_scaling' : 'rope_parameters', maxPositions) : { type: 'default' as const };
    rope = { theta, rotaryDim, scaling };
  }
  // Dynamic NTK scaling exists to run past max_position_embeddings (the base grows with the
  // length); the context it is configured for is factor x that length.
  const contextPositions = rope?.scaling.type === 'dynamic' ? Math.max(maxPositions, Math.floor(rope.scaling.factor * maxPositions)) : maxPositions;

  const g = isObject(generationConfig) ? new Reader(generationConfig, 'generation_config.json') : undefined;
  const eos = g?.ids('eos_token_id') ?? r.ids('eos_token_id') ?? [];
  const bos = (g?.ids('bos_token_id') ?? r.ids('bos_token_id'))?.[0];
  const pad = (g?.ids('pad_token_id') ?? r.ids('pad_token_id'))?.[0];

  const biasAll = mt === 'gpt2' || (mt === 'gpt_neox' && r.bool('attention_bias', true));
  const llamaBias = (mt === 'llama' || mt === 'mistral') && r.bool('attention_bias', false);
  return checkConfigLimits({
    modelType: mt,
    vocabSize: r.int('vocab_size'),
    maxPositions: contextPositions,
    eosTokenIds: eos,
    ...(bos !== undefined ? { bosTokenId: bos } : {}),
    ...(pad !== undefined ? { padTokenId: pad } : {}),
    ...(isObject(generationConfig) ? { generationDefaults: parseGenerationDefaults(generationConfig) } : {}),
    hiddenSize,
    numLayers,
    numHeads,
    numKVHeads,
    headDim,
    intermediateSize,
    norm: { kind: a.norm, eps },
    hiddenAct: actRaw as HiddenAct,
    ...(rope ? { rope } : {}),
    parallelResidual: mt === 'gpt_neox' ? r.bool('use_parallel_residual', true) : false,
    tieWordEmbeddings: r.bool('tie_word_embeddings', a.tieDefault),
    qkvBias: biasAll || llamaBias || mt === 'qwen2',
    attnOutBias: biasAll || llamaBias,
    mlpBias: mt === 'gpt2' || mt === 'gpt_neox' || ((mt === 'llama' || mt === 'mistral') && r.bool('mlp_bias', false)),
    // Mistral's window (null = none). Qwen2 configs carry one too, applied by transformers only with
    // use_sliding_window (per layer, from max_window_layers): refused at the top rather than run wrongly.
    ...(mt === 'mistral' && r.has('sliding_window') ? { slidingWindow: r.int('sliding_window') } : {}),
  }, file);
}

/**
 * Parses `config.json` text (and optional `generation_config.json` text).
 * @throws ConfigError when the text is not JSON or the config is invalid.
 */
export function parseHFConfigText(configText: string, generationConfigText?: string): ModelConfig {
  const parse = (t: string, f: string): unknown => parseJsonAs(t, `${f}: not valid JSON`, ConfigError);
  return parseHFConfig(parse(configText, 'config.json'), generationConfigText === undefined ? undefined : parse(generationConfigText, 'generation_config.json'));
}
