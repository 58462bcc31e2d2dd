/**
 * Model shapes of the decode benchmark and a fast random checkpoint maker: Hugging Face
 * config.json objects plus safetensors bytes with HF tensor names, fp32, random values.
 * The values only need to be finite and small; speed does not depend on them.
 */
import { saveSafetensors, type TensorToSave } from '../loaders/safetensors';

/** Names of the benchmarked shapes (the JSON `model` field). */
export type BenchModelName = 'smollm2-135m-shape' | 'pythia-70m-shape' | 'smollm2-360m-shape';

/** One benchmarked shape: its HF config.json and how to name its tensors. */
export interface BenchModelShape {
  readonly name: BenchModelName;
  readonly family: 'llama' | 'gpt_neox';
  /** Hugging Face config.json (snake_case, as the loader reads it). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly intermediate: number;
  readonly vocab: number;
  readonly tied: boolean;
}

function llamaShape(name: BenchModelName, hidden: number, layers: number, heads: number, kvHeads: number, intermediate: number): BenchModelShape {
  const vocab = 49152;
  return {
    name, family: 'llama', hidden, layers, heads, kvHeads, intermediate, vocab, tied: true,
    config: {
      model_type: 'llama', hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: heads,
      num_key_value_heads: kvHeads, intermediate_size: intermediate, vocab_size: vocab, tie_word_embeddings: true,
      rms_norm_eps: 1e-5, rope_theta: 100000, hidden_act: 'silu', max_position_embeddings: 8192,
      bos_token_id: 0, eos_token_id: 0,
    },
  };
}

/** SmolLM2-135M: hidden 576, 30 layers, 9 heads, 3 KV heads, intermediate 1536, vocab 49152, tied. */
export const SMOLLM2_135M = llamaShape('smollm2-135m-shape', 576, 30, 9, 3, 1536);
/** SmolLM2-360M: hidden 960, 32 layers, 15 heads, 5 KV heads, intermediate 2560, vocab 49152, tied. */
export const SMOLLM2_360M = llamaShape('smollm2-360m-shape', 960, 32, 15, 5, 2560);
/** Pythia-70M: GPT-NeoX, hidden 512, 6 layers, 8 heads, intermediate 2048, vocab 50304, untied, rotary 25%. */
export const PYTHIA_70M: BenchModelShape = {
  name: 'pythia-70m-shape', family: 'gpt_neox', hidden: 512, layers: 6, heads: 8, kvHeads: 8, intermediate: 2048, vocab: 50304, tied: false,
  config: {
    model_type: 'gpt_neox', hidden_size: 512, num_hidden_layers: 6, num_attention_heads: 8, intermediate_size: 2048,
    vocab_size: 50304, rotary_pct: 0.25, rotary_emb_base: 10000, layer_norm_eps: 1e-5, hidden_act: 'gelu',
    use_parallel_residual: true, max_position_embeddings: 2048, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 0,
  },
};

/** Every shape, in benchmark order. */
export const BENCH_MODELS: readonly BenchModelShape[] = [SMOLLM2_135M, PYTHIA_70M, SMOLLM2_360M];

/** Tensor shapes of a checkpoint of `m`, HF names and [out, in] layouts. */
export function checkpointShapes(m: BenchModelShape): Map<string, number[]> {
  const { hidden: d, intermediate: f, vocab: v } = m;
  const hd = d / m.heads;
  const out = new Map<string, number[]>();
  if (m.family === 'llama') {
    out.set('model.embed_tokens.weight', [v, d]);
    out.set('model.norm.weight', [d]);
    for (let i = 0; i < m.layers; i++) {
      const p = `model.layers.${i}.`;
      out.set(`${p}input_layernorm.weight`, [d]);
      out.set(`${p}post_attention_layernorm.weight`, [d]);
      out.set(`${p}self_attn.q_proj.weight`, [m.heads * hd, d]);
      out.set(`${p}self_attn.k_proj.weight`, [m.kvHeads * hd, d]);
      out.set(`${p}self_attn.v_proj.weight`, [m.kvHeads * hd, d]);
      out.set(`${p}self_attn.o_proj.weight`, [d, m.heads * hd]);
      out.set(`${p}mlp.gate_proj.weight`, [f, d]);
      out.set(`${p}mlp.up_proj.weight`, [f, d]);
      out.set(`${p}mlp.down_proj.weight`, [d, f]);
    }
    return out;
  }
  out.set('gpt_neox.embed_in.weight', [v, d]);
  out.set('embed_out.weight', [v, d]);
  out.set('gpt_neox.final_layer_norm.weight', [d]);
  out.set('gpt_neox.final_layer_norm.bias', [d]);
  for (let i = 0; i < m.layers; i++) {
    const p = `gpt_neox.layers.${i}.`;
    for (const n of ['input_layernorm', 'post_attention_layernorm']) {
      out.set(`${p}${n}.weight`, [d]);
      out.set(`${p}${n}.bias`, [d]);
    }
    out.set(`${p}attention.query_key_value.weight`, [3 * d, d]);
    out.set(`${p}attention.query_key_value.bias`, [3 * d]);
    out.set(`${p}attention.dense.weight`, [d, d]);
    out.set(`${p}attention.dense.bias`, [d]);
    out.set(`${p}mlp.dense_h_to_4h.weight`, [f, d]);
    out.set(`${p}mlp.dense_h_to_4h.bias`, [f]);
    out.set(`${p}mlp.dense_4h_to_h.weight`, [d, f]);
    out.set(`${p}mlp.dense_4h_to_h.bias`, [d]);
  }
  return out;
}

/** Parameters of a checkpoint of `m`. */
export function parameterCount(m: BenchModelShape): number {
  let n = 0;
  for (const s of checkpointShapes(m).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Bytes of weights a decode step reads: every block matrix and vector, the final norm and the
 * (D, V) output projection; of an untied input embedding only one row (negligible).
 */
export function bytesReadPerToken(m: BenchModelShape): number {
  let n = 0;
  for (const [name, s] of checkpointShapes(m)) {
    if (!m.tied && (name === 'model.embed_tokens.weight' || name === 'gpt_neox.embed_in.weight')) continue;
    n += s.reduce((a, b) => a * b, 1);
  }
  return n * 4;
}

/**
 * Safetensors bytes of a random fp32 checkpoint of `m` (seeded). Values are uniform in
 * [-scale, scale) with scale 1/sqrt(fan-in) for matrices, 1 +- 0.1 for norm gains, 0 +- 0.01 for biases.
 */
export function randomCheckpoint(m: BenchModelShape, seed = 1): Uint8Array {
  let s = seed >>> 0;
  // One pool of uniform values in [-1, 1), tiled into every tensor (fast for 100M+ values).
  const pool = new Float32Array(1 << 20);
  for (let i = 0; i < pool.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    pool[i] = s / 2 ** 31 - 1;
  }
  const tensors = new Map<string, TensorToSave>();
  let offset = 0;
  for (const [name, shape] of checkpointShapes(m)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let at = 0; at < n; ) {
      const start = offset % pool.length;
      const take = Math.min(n - at, pool.length - start);
      data.set(pool.subarray(start, start + take), at);
      at += take;
      offset += take + 7; // shift so tensors do not repeat each other exactly
    }
    const isNormGain = shape.length === 1 && /norm.*\.weight$/.test(name);
    const scale = shape.length === 2 ? 1 / Math.sqrt(shape[1]!) : isNormGain ? 0.1 : 0.01;
    const shift = isNormGain ? 1 : 0;
    for (let i = 0; i < n; i++) data[i] = shift + scale * data[i]!;
    tensors.set(name, { shape, data });
  }
  return saveSafetensors(tensors);
}
