/**
 * GGUF architectures <-> our Hugging Face-named checkpoints: metadata keys to a config.json object,
 * and GGUF tensor names to HF tensor names with the layout change each needs (llama.cpp's Q/K row
 * permutation for the llama family, GPT-2's Conv1D transpose, GPT-NeoX's fused QKV regrouping).
 * One table per architecture; the same tables drive the reader and {@link saveGGUF}.
 * Ref: llama.cpp `convert_hf_to_gguf.py` (LlamaModel.permute, GPT2Model, GPTNeoXModel.modify_tensors),
 * `gguf-py/gguf/constants.py` (tensor and key names), `src/llama-arch.cpp`.
 */
import { GgufError } from '../src/core/errors';
import type { ModelType } from '../src/transformer/types';
import type { GgufValue } from './gguf_format';

/** How a tensor's rows / layout differ between the GGUF file and the HF checkpoint. */
export type GgufTransform = 'none' | 'rope_q' | 'rope_k' | 'transpose' | 'neox_qkv';

/** One tensor of the table: GGUF name, HF name, layout change. */
export interface GgufTensorMapping {
  readonly gguf: string;
  readonly hf: string;
  readonly transform: GgufTransform;
}

/** One architecture's names. */
export interface GgufArchitecture {
  /** `general.architecture`. */
  readonly arch: string;
  readonly modelType: ModelType;
  /** Tensors outside the blocks. */
  readonly globals: readonly GgufTensorMapping[];
  /** Tensors of block `i`. */
  block(i: number): readonly GgufTensorMapping[];
}

const m = (gguf: string, hf: string, transform: GgufTransform = 'none'): GgufTensorMapping => ({ gguf, hf, transform });
const wb = (gguf: string, hf: string, transform: GgufTransform = 'none', biasTransform: GgufTransform = transform === 'transpose' ? 'none' : transform): GgufTensorMapping[] => [
  m(`${gguf}.weight`, `${hf}.weight`, transform),
  m(`${gguf}.bias`, `${hf}.bias`, biasTransform),
];

function llamaLike(arch: string, modelType: ModelType, permute: boolean): GgufArchitecture {
  return {
    arch,
    modelType,
    globals: [m('token_embd.weight', 'model.embed_tokens.weight'), m('output_norm.weight', 'model.norm.weight'), m('output.weight', 'lm_head.weight')],
    block: (i) => {
      const b = `blk.${i}`;
      const h = `model.layers.${i}`;
      return [
        m(`${b}.attn_norm.weight`, `${h}.input_layernorm.weight`),
        ...wb(`${b}.attn_q`, `${h}.self_attn.q_proj`, permute ? 'rope_q' : 'none'),
        ...wb(`${b}.attn_k`, `${h}.self_attn.k_proj`, permute ? 'rope_k' : 'none'),
        ...wb(`${b}.attn_v`, `${h}.self_attn.v_proj`),
        ...wb(`${b}.attn_output`, `${h}.self_attn.o_proj`),
        m(`${b}.ffn_norm.weight`, `${h}.post_attention_layernorm.weight`),
        ...wb(`${b}.ffn_gate`, `${h}.mlp.gate_proj`),
        ...wb(`${b}.ffn_up`, `${h}.mlp.up_proj`),
        ...wb(`${b}.ffn_down`, `${h}.mlp.down_proj`),
      ];
    },
  };
}

/** Every GGUF architecture read and written, by `general.architecture`. */
export const GGUF_ARCHITECTURES: Readonly<Record<string, GgufArchitecture>> = {
  llama: llamaLike('llama', 'llama', true),
  qwen2: llamaLike('qwen2', 'qwen2', false),
  gpt2: {
    arch: 'gpt2',
    modelType: 'gpt2',
    globals: [m('token_embd.weight', 'wte.weight'), m('position_embd.weight', 'wpe.weight'), ...wb('output_norm', 'ln_f')],
    block: (i) => [
      ...wb(`blk.${i}.attn_norm`, `h.${i}.ln_1`),
      ...wb(`blk.${i}.attn_qkv`, `h.${i}.attn.c_attn`, 'transpose'),
      ...wb(`blk.${i}.attn_output`, `h.${i}.attn.c_proj`, 'transpose'),
      ...wb(`blk.${i}.ffn_norm`, `h.${i}.ln_2`),
      ...wb(`blk.${i}.ffn_up`, `h.${i}.mlp.c_fc`, 'transpose'),
      ...wb(`blk.${i}.ffn_down`, `h.${i}.mlp.c_proj`, 'transpose'),
    ],
  },
  gptneox: {
    arch: 'gptneox',
    modelType: 'gpt_neox',
    globals: [m('token_embd.weight', 'gpt_neox.embed_in.weight'), ...wb('output_norm', 'gpt_neox.final_layer_norm'), m('output.weight', 'embed_out.weight')],
    block: (i) => {
      const b = `blk.${i}`;
      const h = `gpt_neox.layers.${i}`;
      return [
        ...wb(`${b}.attn_norm`, `${h}.input_layernorm`),
        ...wb(`${b}.attn_qkv`, `${h}.attention.query_key_value`, 'neox_qkv'),
        ...wb(`${b}.attn_output`, `${h}.attention.dense`),
        ...wb(`${b}.ffn_norm`, `${h}.post_attention_layernorm`),
        ...wb(`${b}.ffn_up`, `${h}.mlp.dense_h_to_4h`),
        ...wb(`${b}.ffn_down`, `${h}.mlp.dense_4h_to_h`),
      ];
    },
  },
};

/** The GGUF architecture of an HF model_type (mistral is written as llama, as convert_hf_to_gguf.py does). */
export function ggufArchFor(modelType: ModelType): GgufArchitecture {
  const arch = modelType === 'mistral' ? 'llama' : modelType === 'gpt_neox' ? 'gptneox' : modelType;
  const a = GGUF_ARCHITECTURES[arch];
  if (!a) throw new GgufError(`model_type ${modelType} has no GGUF architecture here, expected one of llama, mistral, qwen2, gpt2, gpt_neox`);
  return a;
}

/** Head counts a row transform needs. */
export interface HeadLayout {
  readonly numHeads: number;
  readonly numKVHeads: number;
  readonly headDim: number;
}

/**
 * For each HF row, the GGUF row it comes from (`hf[r] = gguf[order[r]]`), or undefined when the
 * rows are the same. `rows` is the tensor's first HF dimension (a bias: its length).
 */
export function hfRowOrder(t: GgufTransform, rows: number, h: HeadLayout): Int32Array | undefined {
  if (t === 'rope_q' || t === 'rope_k') {
    const heads = t === 'rope_q' ? h.numHeads : h.numKVHeads;
    const per = rows / heads;
    const half = per / 2;
    const order = new Int32Array(rows);
    // convert_hf_to_gguf permute: gguf row (head, 2i + j) = hf row (head, j * half + i)
    for (let hd = 0; hd < heads; hd++) for (let i = 0; i < half; i++) for (let j = 0; j < 2; j++) order[hd * per + j * half + i] = hd * per + 2 * i + j;
    return order;
  }
  if (t === 'neox_qkv') {
    // gguf rows [q heads | k heads | v heads]; hf rows per head [q | k | v] (GPT-NeoX's fused layout)
    const { numHeads: n, headDim: d } = h;
    const order = new Int32Array(rows);
    for (let hd = 0; hd < n; hd++) for (let part = 0; part < 3; part++) for (let x = 0; x < d; x++) order[(hd * 3 + part) * d + x] = part * n * d + hd * d + x;
    return order;
  }
  return undefined;
}

/** The inverse of a row order (GGUF row r comes from HF row `inv[r]`). */
export function invertOrder(order: Int32Array): Int32Array {
  const inv = new Int32Array(order.length);
  for (let r = 0; r < order.length; r++) inv[order[r]!] = r;
  return inv;
}

function num(meta: ReadonlyMap<string, GgufValue>, key: string, file: string, required: boolean): number | undefined {
  const v = meta.get(key);
  if (v === undefined) {
    if (required) throw new GgufError(`${file}: metadata '${key}' is missing`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new GgufError(`${file}: metadata '${key}' is ${JSON.stringify(v).slice(0, 60)}, expected one number`);
  return v;
}

/**
 * A config.json object (HF keys) from GGUF metadata, for parseHFConfig.
 * @throws GgufError for a missing or non-numeric key, or rope scaling this runner cannot compute.
 */
export function ggufToHFConfig(a: GgufArchitecture, meta: ReadonlyMap<string, GgufValue>, has: (gguf: string) => boolean, vocabSize: number, file: string): Record<string, unknown> {
  const p = a.arch;
  const req = (k: string): number => num(meta, `${p}.${k}`, file, true)!;
  const opt = (k: string): number | undefined => num(meta, `${p}.${k}`, file, false);
  const hidden = req('embedding_length');
  const heads = req('attention.head_count');
  const ids = (k: string): number | undefined => num(meta, `tokenizer.ggml.${k}`, file, false);
  const tokens: Record<string, unknown> = {
    ...(ids('bos_token_id') !== undefined ? { bos_token_id: ids('bos_token_id') } : {}),
    ...(ids('eos_token_id') !== undefined ? { eos_token_id: ids('eos_token_id') } : {}),
    ...(ids('padding_token_id') !== undefined ? { pad_token_id: ids('padding_token_id') } : {}),
  };
  const scaling = meta.get(`${p}.rope.scaling.type`);
  if (scaling !== undefined && scaling !== 'none' && scaling !== 'linear') {
    throw new GgufError(`${file}: ${p}.rope.scaling.type ${JSON.stringify(scaling)} is not supported, expected none or linear`);
  }
  if (has('rope_freqs.weight')) throw new GgufError(`${file}: rope_freqs.weight (Llama 3.1 rope scaling factors) is not supported`);
  const ropeScaling = scaling === 'linear' ? { rope_scaling: { rope_type: 'linear', factor: req('rope.scaling.factor') } } : {};
  if (a.modelType === 'gpt2') {
    return {
      model_type: 'gpt2', vocab_size: vocabSize, n_embd: hidden, n_layer: req('block_count'), n_head: heads, n_inner: req('feed_forward_length'),
      n_positions: req('context_length'), layer_norm_epsilon: opt('attention.layer_norm_epsilon') ?? 1e-5, activation_function: 'gelu_new', ...tokens,
    };
  }
  const headDim = opt('attention.key_length') ?? hidden / heads;
  const ropeDims = opt('rope.dimension_count') ?? headDim;
  if (a.modelType === 'gpt_neox') {
    const parallel = meta.get(`${p}.use_parallel_residual`);
    return {
      model_type: 'gpt_neox', vocab_size: vocabSize, hidden_size: hidden, num_hidden_layers: req('block_count'), num_attention_heads: heads,
      intermediate_size: req('feed_forward_length'), max_position_embeddings: req('context_length'), layer_norm_eps: opt('attention.layer_norm_epsilon') ?? 1e-5,
      rotary_pct: ropeDims / headDim, rotary_emb_base: opt('rope.freq_base') ?? 10000, use_parallel_residual: parallel === undefined ? true : parallel === true,
      tie_word_embeddings: !has('output.weight'), hidden_act: 'gelu', attention_bias: has('blk.0.attn_qkv.bias'), ...ropeScaling, ...tokens,
    };
  }
  return {
    model_type: a.modelType, vocab_size: vocabSize, hidden_size: hidden, num_hidden_layers: req('block_count'), num_attention_heads: heads,
    num_key_value_heads: opt('attention.head_count_kv') ?? heads, head_dim: headDim, intermediate_size: req('feed_forward_length'),
    max_position_embeddings: req('context_length'), rms_norm_eps: opt('attention.layer_norm_rms_epsilon') ?? 1e-6, rope_theta: opt('rope.freq_base') ?? 10000,
    partial_rotary_factor: ropeDims / headDim, hidden_act: 'silu', tie_word_embeddings: !has('output.weight'),
    ...(a.modelType === 'llama' ? { attention_bias: has('blk.0.attn_q.bias'), mlp_bias: has('blk.0.ffn_up.bias') } : {}), ...ropeScaling, ...tokens,
  };
}
