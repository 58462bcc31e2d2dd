/**
 * Seeded tiny random checkpoints (HF names and layouts) of every architecture, for tests that compare
 * two engines on the same weights. Each returns a config.json object and safetensors bytes.
 */
import { saveSafetensors, type TensorToSave } from '../../loaders/safetensors';

/** A checkpoint in memory. */
export interface TinyCheckpoint {
  name: string;
  config: Record<string, unknown>;
  weights: Uint8Array;
}

function tensors(seed: number): (shape: number[], scale?: number, offset?: number) => TensorToSave {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  return (shape, scale = 0.5, offset = 0) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * rand()) });
}

interface LlamaShape {
  modelType: 'llama' | 'mistral' | 'qwen2';
  heads: number;
  kvHeads: number;
  headDim: number;
  tied: boolean;
  bias: boolean;
  extra?: Record<string, unknown>;
}

function llamaFamily(name: string, v: LlamaShape, seed: number): TinyCheckpoint {
  const d = 24, layers = 2, vocab = 48, inner = 40;
  const t = tensors(seed);
  const hd = v.headDim;
  const m: Record<string, TensorToSave> = { 'model.embed_tokens.weight': t([vocab, d], 2), 'model.norm.weight': t([d], 0.5, 1) };
  if (!v.tied) m['lm_head.weight'] = t([vocab, d]);
  for (let l = 0; l < layers; l++) {
    const n = `model.layers.${l}.`;
    Object.assign(m, {
      [`${n}input_layernorm.weight`]: t([d], 0.5, 1),
      [`${n}post_attention_layernorm.weight`]: t([d], 0.5, 1),
      [`${n}self_attn.q_proj.weight`]: t([v.heads * hd, d], 0.8),
      [`${n}self_attn.k_proj.weight`]: t([v.kvHeads * hd, d], 0.8),
      [`${n}self_attn.v_proj.weight`]: t([v.kvHeads * hd, d]),
      [`${n}self_attn.o_proj.weight`]: t([d, v.heads * hd]),
      [`${n}mlp.gate_proj.weight`]: t([inner, d]),
      [`${n}mlp.up_proj.weight`]: t([inner, d]),
      [`${n}mlp.down_proj.weight`]: t([d, inner]),
    });
    if (v.bias) Object.assign(m, { [`${n}self_attn.q_proj.bias`]: t([v.heads * hd]), [`${n}self_attn.k_proj.bias`]: t([v.kvHeads * hd]), [`${n}self_attn.v_proj.bias`]: t([v.kvHeads * hd]) });
  }
  const config = {
    model_type: v.modelType, vocab_size: vocab, hidden_size: d, num_hidden_layers: layers, num_attention_heads: v.heads, num_key_value_heads: v.kvHeads,
    head_dim: hd, intermediate_size: inner, rms_norm_eps: 1e-6, rope_theta: 50, tie_word_embeddings: v.tied, max_position_embeddings: 64, ...v.extra,
  };
  return { name, config, weights: saveSafetensors(m) };
}

function gpt2(seed: number): TinyCheckpoint {
  const d = 32, layers = 2, vocab = 50, inner = 64, positions = 64;
  const t = tensors(seed);
  const m: Record<string, TensorToSave> = {
    'wte.weight': t([vocab, d], 2), 'wpe.weight': t([positions, d], 0.5), 'ln_f.weight': t([d], 0.5, 1), 'ln_f.bias': t([d], 0.2),
  };
  for (let l = 0; l < layers; l++) {
    const n = `h.${l}.`;
    Object.assign(m, {
      [`${n}ln_1.weight`]: t([d], 0.5, 1), [`${n}ln_1.bias`]: t([d], 0.2), [`${n}ln_2.weight`]: t([d], 0.5, 1), [`${n}ln_2.bias`]: t([d], 0.2),
      [`${n}attn.c_attn.weight`]: t([d, 3 * d], 0.8), [`${n}attn.c_attn.bias`]: t([3 * d], 0.2),
      [`${n}attn.c_proj.weight`]: t([d, d]), [`${n}attn.c_proj.bias`]: t([d], 0.2),
      [`${n}mlp.c_fc.weight`]: t([d, inner]), [`${n}mlp.c_fc.bias`]: t([inner], 0.2),
      [`${n}mlp.c_proj.weight`]: t([inner, d]), [`${n}mlp.c_proj.bias`]: t([d], 0.2),
    });
  }
  const config = { model_type: 'gpt2', vocab_size: vocab, n_embd: d, n_layer: layers, n_head: 4, n_inner: inner, n_positions: positions, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };
  return { name: 'gpt2: learned positions, LayerNorm, gelu_new', config, weights: saveSafetensors(m) };
}

function gptNeox(seed: number, parallel: boolean): TinyCheckpoint {
  const d = 32, layers = 2, vocab = 50, inner = 64;
  const t = tensors(seed);
  const m: Record<string, TensorToSave> = {
    'gpt_neox.embed_in.weight': t([vocab, d], 2), 'gpt_neox.final_layer_norm.weight': t([d], 0.5, 1), 'gpt_neox.final_layer_norm.bias': t([d], 0.2), 'embed_out.weight': t([vocab, d]),
  };
  for (let l = 0; l < layers; l++) {
    const n = `gpt_neox.layers.${l}.`;
    Object.assign(m, {
      [`${n}input_layernorm.weight`]: t([d], 0.5, 1), [`${n}input_layernorm.bias`]: t([d], 0.2),
      [`${n}post_attention_layernorm.weight`]: t([d], 0.5, 1), [`${n}post_attention_layernorm.bias`]: t([d], 0.2),
      [`${n}attention.query_key_value.weight`]: t([3 * d, d], 0.8), [`${n}attention.query_key_value.bias`]: t([3 * d], 0.2),
      [`${n}attention.dense.weight`]: t([d, d]), [`${n}attention.dense.bias`]: t([d], 0.2),
      [`${n}mlp.dense_h_to_4h.weight`]: t([inner, d]), [`${n}mlp.dense_h_to_4h.bias`]: t([inner], 0.2),
      [`${n}mlp.dense_4h_to_h.weight`]: t([d, inner]), [`${n}mlp.dense_4h_to_h.bias`]: t([d], 0.2),
    });
  }
  const config = {
    model_type: 'gpt_neox', vocab_size: vocab, hidden_size: d, num_hidden_layers: layers, num_attention_heads: 4, intermediate_size: inner,
    rotary_pct: 0.5, rotary_emb_base: 100, layer_norm_eps: 1e-5, hidden_act: 'gelu', use_parallel_residual: parallel, max_position_embeddings: 64, tie_word_embeddings: false,
  };
  return { name: `gpt_neox: partial rotary, ${parallel ? 'parallel' : 'sequential'} residual, gelu`, config, weights: saveSafetensors(m) };
}

/** One tiny checkpoint per architecture variant. */
export function tinyDecoders(): TinyCheckpoint[] {
  return [
    llamaFamily('llama: GQA 4:2, tied, llama3 rope scaling', { modelType: 'llama', heads: 4, kvHeads: 2, headDim: 8, tied: true, bias: false,
      extra: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } } }, 11),
    llamaFamily('qwen2: q/k/v biases, MQA, untied', { modelType: 'qwen2', heads: 4, kvHeads: 1, headDim: 6, tied: false, bias: true }, 12),
    llamaFamily('mistral: sliding window 3, head_dim 12', { modelType: 'mistral', heads: 2, kvHeads: 2, headDim: 12, tied: false, bias: false, extra: { sliding_window: 3 } }, 13),
    gpt2(14),
    gptNeox(15, true),
    gptNeox(16, false),
  ];
}
