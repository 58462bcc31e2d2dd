/**
 * The inverse of {@link checkpointToGridNetwork}: a LOOM grid network of the LLaMA shape
 * ([Dense embedding] + L x [RMSNorm, MHA, RMSNorm, SwiGLU] + [RMSNorm, Dense head], flat order) to a
 * Hugging Face checkpoint (config.json object + safetensors bytes with HF names and PyTorch
 * [out, in] layouts) that {@link loadCausalLM} and transformers load. A trailing Softmax (LOOM
 * networks trained with cross entropy end in one) can be left out: see `dropFinalSoftmax`.
 * Ref: loom-spec/transformer.md section 4 (the mapping, read backwards).
 */
import { ConfigError } from '../src/core/errors';
import type { LayerRecord } from '../src/core/layer_record';
import { Activation, LayerType, SOFTMAX_VARIANTS } from '../src/core/types';
import type { Network } from '../src/network/network';
import type { ArchitectureSpec, GridExportRules } from '../src/transformer/architecture';
import { ARCHITECTURES } from '../src/transformer/architectures';
import { LLAMA_NAMES } from '../src/transformer/llama';
import { transposed } from '../src/transformer/weights';
import { RMS_NORM_DEFAULT_EPSILON } from '../layers/rms_norm';
import { multiHeadAttentionConfigFromRecord } from '../layers/multi_head_attention';
import { GRID_MODEL_TYPES, GridCheckpoint } from './grid_checkpoint';
import { saveSafetensors, type TensorToSave } from './safetensors';

/** Architectures {@link gridNetworkToCheckpoint} writes. */
export type GridExportModelType = 'llama' | 'mistral' | 'qwen2';

/** Options of {@link gridNetworkToCheckpoint}. Values read from the network win; options that contradict them throw. */
export interface GridExportOptions {
  /**
   * `llama` (default) stores any biases (`attention_bias` for q/k/v/o, `mlp_bias`); `qwen2` always
   * stores q/k/v biases and needs zero o/MLP biases; `mistral` needs every bias zero.
   */
  modelType?: GridExportModelType;
  /** Must equal the attention layers' theta when given (LOOM files without it use 1e6). */
  ropeTheta?: number;
  /** Must equal the RMSNorm layers' epsilon when given. */
  rmsNormEps?: number;
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
  /** Default: the checkpoint's when given a {@link GridCheckpoint}, else 2048. */
  maxPositionEmbeddings?: number;
  /** `auto` (default): tie when the head kernel is exactly the embedding transposed. */
  tieWordEmbeddings?: boolean | 'auto';
  /** Stored dtype of every tensor. Default F32. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /**
   * Leave out a last Softmax layer: a `standard` one, or a `grid` one with a row of vocab columns
   * per position, at temperature 1. Hugging Face models return the logits it normalises, and each
   * position's distribution is the same. Default false: a trailing Softmax is an error.
   */
  dropFinalSoftmax?: boolean;
  /** Extra safetensors `__metadata__` entries, stored beside `format: 'pt'` (e.g. training notes). */
  metadata?: Record<string, string>;
}

/** A Hugging Face checkpoint in memory. */
export interface HFCheckpoint {
  /** config.json contents. */
  config: Record<string, unknown>;
  /** model.safetensors bytes. */
  weights: Uint8Array;
}

/** The spec of a grid-exportable architecture. @throws ConfigError for another model type */
function gridArchitecture(modelType: string): ArchitectureSpec & { readonly grid: GridExportRules } {
  const spec = ARCHITECTURES.find((a) => a.modelType === modelType);
  if (!spec?.grid) {
    throw new ConfigError(`gridNetworkToCheckpoint: modelType '${modelType}' is not supported, expected one of ${GRID_MODEL_TYPES.join(', ')}`);
  }
  return spec as ArchitectureSpec & { readonly grid: GridExportRules };
}

const TYPE_NAMES: Readonly<Record<number, string>> = {
  [LayerType.Dense]: 'Dense',
  [LayerType.RMSNorm]: 'RMSNorm',
  [LayerType.MultiHeadAttention]: 'MultiHeadAttention',
  [LayerType.SwiGLU]: 'SwiGLU',
};

function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `layer type ${t}`;
}

function nonZero(a: Float32Array | null): boolean {
  return a !== null && a.some((x) => x !== 0);
}

function need(a: Float32Array | null, what: string): Float32Array {
  if (!a) throw new ConfigError(`gridNetworkToCheckpoint: ${what} has no weights`);
  return a;
}

function expectType(r: LayerRecord, type: number, i: number, role: string): void {
  if (r.type !== type) {
    throw new ConfigError(`gridNetworkToCheckpoint: layer ${i} should be the ${role} (${typeName(type)}), got ${typeName(r.type)}`);
  }
}

/**
 * `recs` without a last Softmax layer that only normalises each position's logits.
 * @throws ConfigError when there is one and `drop` is false, or when it is another softmax.
 */
function withoutFinalSoftmax(recs: LayerRecord[], drop: boolean): LayerRecord[] {
  const i = recs.length - 1;
  const last = recs[i];
  if (!last || last.type !== LayerType.Softmax) return recs;
  if (!drop) {
    throw new ConfigError(`gridNetworkToCheckpoint: layer ${i} is a Softmax, but Hugging Face models output logits; pass dropFinalSoftmax: true to export the network before it`);
  }
  const variant = SOFTMAX_VARIANTS[last.softmaxVariant] ?? `variant ${last.softmaxVariant}`;
  const vocab = recs[0]?.inputHeight;
  const perPosition = variant === 'standard' || (variant === 'grid' && last.softmaxCols === vocab);
  const t = last.temperature === 0 ? 1 : last.temperature; // LOOM reads temperature 0 as 1
  if (!perPosition || t !== 1) {
    throw new ConfigError(
      `gridNetworkToCheckpoint: layer ${i} (Softmax ${variant}, ${last.softmaxCols} columns, temperature ${t}) is not a plain softmax of the logits; ` +
        `only standard or grid (vocab ${vocab} columns) at temperature 1 can be dropped`,
    );
  }
  return recs.slice(0, i);
}

/** Equality at float32 precision (LOOM JSON stores epsilon as float32). */
function sameF32(a: number, b: number): boolean {
  return Math.fround(a) === Math.fround(b);
}

/**
 * Writes a grid network of the LLaMA shape as a Hugging Face checkpoint. The embedding Dense may
 * have a bias (folded into embed_tokens: row v = W[v] + b, exact for one-hot inputs); MHA biases
 * give `attention_bias: true`, SwiGLU biases `mlp_bias: true` (all-zero biases are dropped for
 * `llama`/`mistral`); the head Dense must have no (or an all-zero) bias; every Dense must be linear.
 * @throws ConfigError naming the layer when the network has another shape, inconsistent layers
 *   (heads, theta, epsilon), or weights the chosen architecture cannot store.
 */
export function gridNetworkToCheckpoint(source: Network | GridCheckpoint, options: GridExportOptions = {}): HFCheckpoint {
  const network = source instanceof GridCheckpoint ? source.network : source;
  const base = source instanceof GridCheckpoint ? source.config : undefined;
  const modelType = options.modelType ?? 'llama';
  const arch = gridArchitecture(String(modelType));
  const recs = withoutFinalSoftmax(network.toRecords(), options.dropFinalSoftmax === true);
  const nBlocks = (recs.length - 3) / 4;
  if (!Number.isInteger(nBlocks) || nBlocks < 1) {
    throw new ConfigError(
      `gridNetworkToCheckpoint: expected Dense embedding + 4 layers per block + RMSNorm + Dense head (4L + 3 layers), got ${recs.length} layers`,
    );
  }
  const embedRec = recs[0] as LayerRecord;
  expectType(embedRec, LayerType.Dense, 0, 'embedding');
  const headRec = recs[recs.length - 1] as LayerRecord;
  expectType(headRec, LayerType.Dense, recs.length - 1, 'LM head');
  const finalNorm = recs[recs.length - 2] as LayerRecord;
  expectType(finalNorm, LayerType.RMSNorm, recs.length - 2, 'final norm');
  const v = embedRec.inputHeight;
  const d = embedRec.outputHeight;
  for (const [r, i, role] of [[embedRec, 0, 'embedding'], [headRec, recs.length - 1, 'LM head']] as const) {
    if (r.activation !== Activation.Linear) throw new ConfigError(`gridNetworkToCheckpoint: layer ${i} (${role}) must be linear, got activation ${r.activation}`);
  }
  if (headRec.inputHeight !== d || headRec.outputHeight !== v) {
    throw new ConfigError(`gridNetworkToCheckpoint: LM head is ${headRec.inputHeight} -> ${headRec.outputHeight}, expected hidden ${d} -> vocab ${v}`);
  }
  if (nonZero(headRec.bias)) throw new ConfigError(`gridNetworkToCheckpoint: layer ${recs.length - 1} (LM head) has a nonzero bias; Hugging Face LM heads have none`);

  const tensors = new Map<string, TensorToSave>();
  const dtype = options.dtype ?? 'F32';
  const put = (name: string, shape: number[], data: Float32Array): void => {
    tensors.set(name, { shape, data, dtype });
  };

  // Embedding (V, D): one-hot row v gives W[v] + b.
  const embed = new Float32Array(need(embedRec.kernel, 'layer 0 (embedding)'));
  if (embedRec.bias) for (let r = 0; r < v; r++) for (let c = 0; c < d; c++) embed[r * d + c]! += embedRec.bias[c]!;
  put(LLAMA_NAMES.embed, [v, d], embed);

  let hq = 0;
  let hkv = 0;
  let m = 0;
  let theta = NaN;
  let eps = NaN;
  let attnBias = false;
  let mlpBias = false;
  const checkEps = (r: LayerRecord, i: number): void => {
    if (r.normSize !== d) throw new ConfigError(`gridNetworkToCheckpoint: layer ${i} (RMSNorm) has size ${r.normSize}, expected hidden ${d}`);
    const e = r.epsilon === 0 ? RMS_NORM_DEFAULT_EPSILON : r.epsilon;
    if (Number.isNaN(eps)) eps = e;
    else if (!sameF32(e, eps)) throw new ConfigError(`gridNetworkToCheckpoint: layer ${i} (RMSNorm) has epsilon ${e}, layer 1 has ${eps}`);
  };
  const blocks: { norm1: LayerRecord; mha: LayerRecord; norm2: LayerRecord; mlp: LayerRecord }[] = [];
  for (let b = 0; b < nBlocks; b++) {
    const at = 1 + 4 * b;
    const [norm1, mha, norm2, mlp] = recs.slice(at, at + 4) as [LayerRecord, LayerRecord, LayerRecord, LayerRecord];
    expectType(norm1, LayerType.RMSNorm, at, `block ${b} input norm`);
    expectType(mha, LayerType.MultiHeadAttention, at + 1, `block ${b} attention`);
    expectType(norm2, LayerType.RMSNorm, at + 2, `block ${b} post-attention norm`);
    expectType(mlp, LayerType.SwiGLU, at + 3, `block ${b} MLP`);
    checkEps(norm1, at);
    checkEps(norm2, at + 2);
    const where = `layer ${at + 1} (block ${b} attention)`;
    const kvHeads = mha.numKVHeads === 0 ? mha.numHeads : mha.numKVHeads;
    const headDim = mha.headDim === 0 ? Math.floor(mha.dModel / Math.max(1, mha.numHeads)) : mha.headDim;
    if (mha.dModel !== d || mha.numHeads * headDim !== d) {
      throw new ConfigError(`gridNetworkToCheckpoint: ${where} has dModel ${mha.dModel}, ${mha.numHeads} heads x ${headDim}; expected heads x headDim = dModel = ${d}`);
    }
    const attention = multiHeadAttentionConfigFromRecord(mha, where); // the record's typed settings
    if (!attention.rope || !attention.causal) throw new ConfigError(`gridNetworkToCheckpoint: ${where} must use RoPE and a causal mask`);
    const t = attention.ropeTheta;
    if (b === 0) [hq, hkv, theta] = [mha.numHeads, kvHeads, t];
    else if (mha.numHeads !== hq || kvHeads !== hkv || t !== theta) {
      throw new ConfigError(`gridNetworkToCheckpoint: ${where} has ${mha.numHeads} heads / ${kvHeads} kv heads / theta ${t}, block 0 has ${hq} / ${hkv} / ${theta}`);
    }
    if (mlp.inputHeight !== d) throw new ConfigError(`gridNetworkToCheckpoint: layer ${at + 3} (block ${b} MLP) has input ${mlp.inputHeight}, expected hidden ${d}`);
    if (b === 0) m = mlp.outputHeight;
    else if (mlp.outputHeight !== m) throw new ConfigError(`gridNetworkToCheckpoint: layer ${at + 3} (block ${b} MLP) has intermediate ${mlp.outputHeight}, block 0 has ${m}`);
    attnBias ||= [mha.qBias, mha.kBias, mha.vBias, mha.outputBias].some(nonZero);
    mlpBias ||= [mlp.gateBias, mlp.upBias, mlp.downBias].some(nonZero);
    blocks.push({ norm1, mha, norm2, mlp });
  }
  checkEps(finalNorm, recs.length - 2);
  if (options.ropeTheta !== undefined && options.ropeTheta !== theta) {
    throw new ConfigError(`gridNetworkToCheckpoint: ropeTheta ${options.ropeTheta} contradicts the attention layers' theta ${theta}`);
  }
  if (options.rmsNormEps !== undefined && !sameF32(options.rmsNormEps, eps)) {
    throw new ConfigError(`gridNetworkToCheckpoint: rmsNormEps ${options.rmsNormEps} contradicts the RMSNorm layers' epsilon ${eps}`);
  }
  // Prefer the checkpoint's exact epsilon over its float32 rounding (LOOM JSON stores float32).
  if (base && sameF32(base.norm.eps, eps)) eps = base.norm.eps;
  if (options.rmsNormEps !== undefined) eps = options.rmsNormEps;

  const hasOutBias = blocks.some((bl) => nonZero(bl.mha.outputBias));
  const stored = arch.grid.biases({ attention: attnBias, out: hasOutBias, mlp: mlpBias });
  const qkvBias = stored.qkv;
  const outBias = stored.out;
  const kv = hkv * (d / hq);

  blocks.forEach(({ norm1, mha, norm2, mlp }, i) => {
    const n = LLAMA_NAMES.block(i);
    const w = (a: Float32Array | null, what: string): Float32Array => need(a, `block ${i} ${what}`);
    put(n.norm1, [d], w(norm1.gamma, 'input norm'));
    put(n.norm2, [d], w(norm2.gamma, 'post-attention norm'));
    put(`${n.q}.weight`, [d, d], transposed(w(mha.qWeights, 'q'), d, d));
    put(`${n.k}.weight`, [kv, d], transposed(w(mha.kWeights, 'k'), d, kv));
    put(`${n.v}.weight`, [kv, d], transposed(w(mha.vWeights, 'v'), d, kv));
    put(`${n.o}.weight`, [d, d], transposed(w(mha.outputWeight, 'o'), d, d));
    if (qkvBias) {
      put(`${n.q}.bias`, [d], w(mha.qBias, 'q bias'));
      put(`${n.k}.bias`, [kv], w(mha.kBias, 'k bias'));
      put(`${n.v}.bias`, [kv], w(mha.vBias, 'v bias'));
    }
    if (outBias) put(`${n.o}.bias`, [d], w(mha.outputBias, 'o bias'));
    put(`${n.gate}.weight`, [m, d], transposed(w(mlp.gateWeights, 'gate'), d, m));
    put(`${n.up}.weight`, [m, d], transposed(w(mlp.upWeights, 'up'), d, m));
    put(`${n.down}.weight`, [d, m], transposed(w(mlp.downWeights, 'down'), m, d));
    if (stored.mlp) {
      put(`${n.gate}.bias`, [m], w(mlp.gateBias, 'gate bias'));
      put(`${n.up}.bias`, [m], w(mlp.upBias, 'up bias'));
      put(`${n.down}.bias`, [d], w(mlp.downBias, 'down bias'));
    }
  });
  put(LLAMA_NAMES.finalNorm, [d], need(finalNorm.gamma, 'final norm'));

  const head = transposed(need(headRec.kernel, 'LM head'), d, v); // (V, D)
  const exactTie = head.every((x, i) => x === embed[i]);
  const tie = options.tieWordEmbeddings === undefined || options.tieWordEmbeddings === 'auto' ? exactTie : options.tieWordEmbeddings;
  if (tie && !exactTie) throw new ConfigError('gridNetworkToCheckpoint: tieWordEmbeddings is true but the LM head differs from the embedding');
  if (!tie) put(LLAMA_NAMES.lmHead, [v, d], head);

  const eos = options.eosTokenId ?? (base && base.eosTokenIds.length > 0 ? (base.eosTokenIds.length === 1 ? base.eosTokenIds[0] : [...base.eosTokenIds]) : undefined);
  const bos = options.bosTokenId ?? base?.bosTokenId;
  const pad = options.padTokenId ?? base?.padTokenId;
  const config: Record<string, unknown> = {
    architectures: [arch.hfClass],
    model_type: modelType,
    hidden_size: d,
    intermediate_size: m,
    num_hidden_layers: nBlocks,
    num_attention_heads: hq,
    num_key_value_heads: hkv,
    head_dim: d / hq,
    hidden_act: 'silu',
    max_position_embeddings: options.maxPositionEmbeddings ?? base?.maxPositions ?? 2048,
    rms_norm_eps: eps,
    rope_theta: theta,
    tie_word_embeddings: tie,
    vocab_size: v,
    torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16',
    ...stored.configEntries,
    ...(bos !== undefined ? { bos_token_id: bos } : {}),
    ...(eos !== undefined ? { eos_token_id: eos } : {}),
    ...(pad !== undefined ? { pad_token_id: pad } : {}),
  };
  return { config, weights: saveSafetensors(tensors, { format: 'pt', ...options.metadata }) };
}
