/**
 * A seeded tiny llama checkpoint built in memory (config.json object + safetensors bytes), for
 * hardening tests that need a loadable model without fixtures.
 */
import { saveSafetensors, type TensorToSave } from '../../loaders/safetensors';

/** Sizes of the tiny model. */
export const TINY = { vocab: 16, d: 8, heads: 2, kvHeads: 1, layers: 1, inner: 12 } as const;

/** config.json of the tiny llama (overrides merged in). */
export function tinyLlamaConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'llama', vocab_size: TINY.vocab, hidden_size: TINY.d, num_attention_heads: TINY.heads,
    num_key_value_heads: TINY.kvHeads, num_hidden_layers: TINY.layers, intermediate_size: TINY.inner,
    max_position_embeddings: 64, rms_norm_eps: 1e-6, tie_word_embeddings: false, ...overrides,
  };
}

/** The tiny llama's tensors (`layers` blocks, default 1) with seeded values in [-0.5, 0.5). */
export function tinyLlamaTensors(seed = 1, layers = 1): Record<string, TensorToSave> {
  let s = seed >>> 0;
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  const { vocab, d } = TINY;
  const t = (shape: number[]): TensorToSave => ({ shape, data: rand(shape.reduce((a, b) => a * b, 1)) });
  const out: Record<string, TensorToSave> = {
    'model.embed_tokens.weight': t([vocab, d]),
    'model.norm.weight': t([d]),
    'lm_head.weight': t([vocab, d]),
  };
  for (let l = 0; l < layers; l++) Object.assign(out, blockTensors(`model.layers.${l}.`, t));
  return out;
}

function blockTensors(p: string, t: (shape: number[]) => TensorToSave): Record<string, TensorToSave> {
  const { d, heads, kvHeads, inner } = TINY;
  const hd = d / heads;
  return {
    [`${p}input_layernorm.weight`]: t([d]),
    [`${p}post_attention_layernorm.weight`]: t([d]),
    [`${p}self_attn.q_proj.weight`]: t([heads * hd, d]),
    [`${p}self_attn.k_proj.weight`]: t([kvHeads * hd, d]),
    [`${p}self_attn.v_proj.weight`]: t([kvHeads * hd, d]),
    [`${p}self_attn.o_proj.weight`]: t([d, heads * hd]),
    [`${p}mlp.gate_proj.weight`]: t([inner, d]),
    [`${p}mlp.up_proj.weight`]: t([inner, d]),
    [`${p}mlp.down_proj.weight`]: t([d, inner]),
  };
}

/** safetensors bytes of the tiny llama. */
export function tinyLlamaWeights(seed = 1, layers = 1): Uint8Array {
  return saveSafetensors(tinyLlamaTensors(seed, layers));
}
