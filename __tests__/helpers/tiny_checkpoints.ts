/**
 * Tiny random Hugging Face checkpoints (config.json object + safetensors bytes) of each
 * architecture, with sizes that are multiples of 32 so every matrix can be Q8_0/Q4_0 quantized.
 * Weights come from a seeded LCG, so every run writes the same files.
 */
import { saveSafetensors, type TensorToSave } from '../../loaders/safetensors';

/** One tiny checkpoint. */
export interface TinyCheckpoint {
  config: Record<string, unknown>;
  weights: Uint8Array;
  /** The tensors written (HF names). */
  tensors: Record<string, TensorToSave>;
}

/** Kinds {@link tinyCheckpoint} builds. */
export type TinyKind = 'llama' | 'qwen2' | 'gpt2' | 'gpt_neox';

/** Sizes shared by every kind. */
export const TINY = { d: 64, layers: 2, vocab: 96, inner: 128, heads: 4, kvHeads: 2, headDim: 16, positions: 64 } as const;

/** A random checkpoint of `kind` (llama: GQA 4:2, untied; qwen2: q/k/v biases, tied). */
export function tinyCheckpoint(kind: TinyKind, seed = 7, vocabSize: number = TINY.vocab, sizes: { d?: number; inner?: number; layers?: number } = {}): TinyCheckpoint {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const t = (shape: number[], scale = 0.5, offset = 0): TensorToSave => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * rand()) });
  const { heads, kvHeads, positions } = TINY;
  const { d = TINY.d, inner = TINY.inner, layers = TINY.layers } = sizes;
  const hd = d / heads;
  const vocab = vocabSize;
  const m: Record<string, TensorToSave> = {};
  let config: Record<string, unknown>;
  if (kind === 'llama' || kind === 'qwen2') {
    const tied = kind === 'qwen2';
    config = {
      model_type: kind, vocab_size: vocab, hidden_size: d, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kvHeads, head_dim: hd,
      intermediate_size: inner, rms_norm_eps: 1e-6, rope_theta: 50, tie_word_embeddings: tied, max_position_embeddings: positions, bos_token_id: 1, eos_token_id: 2,
    };
    m['model.embed_tokens.weight'] = t([vocab, d], 2);
    m['model.norm.weight'] = t([d], 0.5, 1);
    if (!tied) m['lm_head.weight'] = t([vocab, d]);
    for (let l = 0; l < layers; l++) {
      const n = `model.layers.${l}.`;
      Object.assign(m, {
        [`${n}input_layernorm.weight`]: t([d], 0.5, 1), [`${n}post_attention_layernorm.weight`]: t([d], 0.5, 1),
        [`${n}self_attn.q_proj.weight`]: t([heads * hd, d], 0.8), [`${n}self_attn.k_proj.weight`]: t([kvHeads * hd, d], 0.8),
        [`${n}self_attn.v_proj.weight`]: t([kvHeads * hd, d]), [`${n}self_attn.o_proj.weight`]: t([d, heads * hd]),
        [`${n}mlp.gate_proj.weight`]: t([inner, d]), [`${n}mlp.up_proj.weight`]: t([inner, d]), [`${n}mlp.down_proj.weight`]: t([d, inner]),
      });
      if (kind === 'qwen2') Object.assign(m, { [`${n}self_attn.q_proj.bias`]: t([heads * hd]), [`${n}self_attn.k_proj.bias`]: t([kvHeads * hd]), [`${n}self_attn.v_proj.bias`]: t([kvHeads * hd]) });
    }
  } else if (kind === 'gpt2') {
    config = { model_type: 'gpt2', vocab_size: vocab, n_embd: d, n_layer: layers, n_head: heads, n_inner: inner, n_positions: positions, layer_norm_epsilon: 1e-5, bos_token_id: 1, eos_token_id: 2 };
    Object.assign(m, { 'wte.weight': t([vocab, d], 2), 'wpe.weight': t([positions, d]), 'ln_f.weight': t([d], 0.5, 1), 'ln_f.bias': t([d]) });
    for (let l = 0; l < layers; l++) {
      const n = `h.${l}.`;
      Object.assign(m, {
        [`${n}ln_1.weight`]: t([d], 0.5, 1), [`${n}ln_1.bias`]: t([d]), [`${n}ln_2.weight`]: t([d], 0.5, 1), [`${n}ln_2.bias`]: t([d]),
        [`${n}attn.c_attn.weight`]: t([d, 3 * d], 0.8), [`${n}attn.c_attn.bias`]: t([3 * d]), [`${n}attn.c_proj.weight`]: t([d, d]), [`${n}attn.c_proj.bias`]: t([d]),
        [`${n}mlp.c_fc.weight`]: t([d, inner]), [`${n}mlp.c_fc.bias`]: t([inner]), [`${n}mlp.c_proj.weight`]: t([inner, d]), [`${n}mlp.c_proj.bias`]: t([d]),
      });
    }
  } else {
    config = {
      model_type: 'gpt_neox', vocab_size: vocab, hidden_size: d, num_hidden_layers: layers, num_attention_heads: heads, intermediate_size: inner,
      max_position_embeddings: positions, layer_norm_eps: 1e-5, rotary_pct: 0.5, rotary_emb_base: 100, use_parallel_residual: true, hidden_act: 'gelu', bos_token_id: 1, eos_token_id: 2,
    };
    Object.assign(m, { 'gpt_neox.embed_in.weight': t([vocab, d], 2), 'embed_out.weight': t([vocab, d]), 'gpt_neox.final_layer_norm.weight': t([d], 0.5, 1), 'gpt_neox.final_layer_norm.bias': t([d]) });
    for (let l = 0; l < layers; l++) {
      const n = `gpt_neox.layers.${l}.`;
      Object.assign(m, {
        [`${n}input_layernorm.weight`]: t([d], 0.5, 1), [`${n}input_layernorm.bias`]: t([d]), [`${n}post_attention_layernorm.weight`]: t([d], 0.5, 1), [`${n}post_attention_layernorm.bias`]: t([d]),
        [`${n}attention.query_key_value.weight`]: t([3 * d, d], 0.8), [`${n}attention.query_key_value.bias`]: t([3 * d]),
        [`${n}attention.dense.weight`]: t([d, d]), [`${n}attention.dense.bias`]: t([d]),
        [`${n}mlp.dense_h_to_4h.weight`]: t([inner, d]), [`${n}mlp.dense_h_to_4h.bias`]: t([inner]), [`${n}mlp.dense_4h_to_h.weight`]: t([d, inner]), [`${n}mlp.dense_4h_to_h.bias`]: t([d]),
      });
    }
  }
  return { config, weights: saveSafetensors(m), tensors: m };
}
