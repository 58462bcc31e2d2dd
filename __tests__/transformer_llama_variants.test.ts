import { useBackend } from '../src/backends';
import { loadCausalLM } from '../loaders/pretrained';
import { saveSafetensors, SafetensorsFile, type TensorToSave } from '../loaders/safetensors';
import { llamaReference } from './helpers/decoder_f64';

interface Variant {
  name: string;
  modelType: 'llama' | 'qwen2' | 'mistral';
  heads: number;
  kvHeads: number;
  headDim: number;
  tied: boolean;
  attentionBias: boolean;
  ropeScaling?: Record<string, unknown>;
  slidingWindow?: number;
  invFreq: (hd: number, theta: number) => number[];
}

const defaultFreq = (hd: number, theta: number): number[] => Array.from({ length: hd / 2 }, (_, i) => 1 / theta ** ((2 * i) / hd));
/** transformers' _compute_llama3_parameters, written out independently. */
const llama3Freq = (factor: number, low: number, high: number, orig: number) => (hd: number, theta: number): number[] =>
  defaultFreq(hd, theta).map((f) => {
    const wl = (2 * Math.PI) / f;
    if (wl < orig / high) return f;
    if (wl > orig / low) return f / factor;
    const s = (orig / wl - low) / (high - low);
    return (1 - s) * (f / factor) + s * f;
  });

const VARIANTS: Variant[] = [
  { name: 'qwen2: q/k/v bias, GQA 4:2, untied', modelType: 'qwen2', heads: 4, kvHeads: 2, headDim: 8, tied: false, attentionBias: false, invFreq: defaultFreq },
  { name: 'llama: attention_bias (with o_proj), MQA, tied, llama3 scaling', modelType: 'llama', heads: 4, kvHeads: 1, headDim: 8, tied: true, attentionBias: true,
    ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 }, invFreq: llama3Freq(8, 1, 4, 16) },
  { name: 'mistral: head_dim != hidden/heads, linear scaling', modelType: 'mistral', heads: 2, kvHeads: 2, headDim: 12, tied: false, attentionBias: false,
    ropeScaling: { type: 'linear', factor: 2 }, invFreq: (hd, th) => defaultFreq(hd, th).map((f) => f / 2) },
  { name: 'mistral: sliding window 4 over 12 tokens, GQA 4:2', modelType: 'mistral', heads: 4, kvHeads: 2, headDim: 4, tied: false, attentionBias: false,
    slidingWindow: 4, invFreq: defaultFreq },
];

function build(v: Variant, d: number, layers: number, vocab: number, inner: number, seed: number): Uint8Array {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const t = (shape: number[], scale = 0.5, offset = 0): TensorToSave => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * rand()) });
  const hd = v.headDim;
  const m: Record<string, TensorToSave> = { 'model.embed_tokens.weight': t([vocab, d], 2), 'model.norm.weight': t([d], 0.5, 1) };
  if (!v.tied) m['lm_head.weight'] = t([vocab, d]);
  const qkvBias = v.modelType === 'qwen2' || v.attentionBias;
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
    if (qkvBias) {
      Object.assign(m, { [`${n}self_attn.q_proj.bias`]: t([v.heads * hd]), [`${n}self_attn.k_proj.bias`]: t([v.kvHeads * hd]), [`${n}self_attn.v_proj.bias`]: t([v.kvHeads * hd]) });
    }
    if (v.attentionBias) m[`${n}self_attn.o_proj.bias`] = t([d]);
  }
  return saveSafetensors(m);
}

describe.each(['wasm', 'cpu'] as const)('llama family variants on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  test.each(VARIANTS.map((v) => [v.name, v] as const))('%s: logits vs float64 reference', async (_name, v) => {
    const d = 16;
    const layers = 2;
    const vocab = 40;
    const inner = 24;
    const theta = 50;
    const config = {
      model_type: v.modelType, vocab_size: vocab, hidden_size: d, num_hidden_layers: layers, num_attention_heads: v.heads, num_key_value_heads: v.kvHeads,
      head_dim: v.headDim, intermediate_size: inner, rms_norm_eps: 1e-6, rope_theta: theta, tie_word_embeddings: v.tied, attention_bias: v.attentionBias,
      max_position_embeddings: 64, ...(v.ropeScaling ? { rope_scaling: v.ropeScaling } : {}),
      ...(v.slidingWindow ? { sliding_window: v.slidingWindow } : {}),
    };
    const bytes = build(v, d, layers, vocab, inner, 99);
    const model = await loadCausalLM({ config, weights: bytes });
    const file = new SafetensorsFile(bytes);
    const ids = [1, 5, 39, 0, 22, 7, 7, 13, 2, 30, 11, 4];
    const ref = llamaReference((n) => Float64Array.from(file.get(n).data), {
      d, heads: v.heads, kvHeads: v.kvHeads, headDim: v.headDim, layers, vocab, inner, eps: 1e-6, invFreq: v.invFreq(v.headDim, theta),
      qkvBias: v.modelType === 'qwen2' || v.attentionBias, oBias: v.attentionBias, tied: v.tied,
      ...(v.slidingWindow ? { slidingWindow: v.slidingWindow } : {}),
    }, ids);
    const got = model.forward([ids], { allPositions: true });
    const data = got.dataSync();
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(data[i]! - ref[i]!));
    expect(worst).toBeLessThan(1e-4);
    got.dispose();
    // the same logits token by token through the KV cache (the window must hold at decode time too)
    const cache = model.createCache(1, ids.length);
    ids.forEach((id, t) => {
      const step = model.forward([[id]], { cache });
      const row = step.dataSync();
      for (let j = 0; j < vocab; j++) worst = Math.max(worst, Math.abs(row[j]! - ref[t * vocab + j]!));
      step.dispose();
    });
    cache.dispose();
    expect(worst).toBeLessThan(1e-4);
    model.dispose();
  });
});
