import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { loadCausalLM } from '../loaders/pretrained';
import { saveSafetensors, SafetensorsFile, type TensorToSave } from '../loaders/safetensors';
import { gptNeoxReference } from './helpers/decoder_f64';

/** A tiny random GPT-NeoX checkpoint (seeded), as HF names and layouts it. */
function tinyNeox(seed: number, d: number, layers: number, vocab: number, inner: number): Uint8Array {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const t = (shape: number[], scale = 0.4, offset = 0): TensorToSave => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { shape, data: Float32Array.from({ length: n }, () => offset + scale * rand()) };
  };
  const m: Record<string, TensorToSave> = {
    'gpt_neox.embed_in.weight': t([vocab, d], 2),
    'gpt_neox.final_layer_norm.weight': t([d], 0.5, 1),
    'gpt_neox.final_layer_norm.bias': t([d], 0.2),
    'embed_out.weight': t([vocab, d]),
  };
  for (let l = 0; l < layers; l++) {
    const n = `gpt_neox.layers.${l}.`;
    Object.assign(m, {
      [`${n}input_layernorm.weight`]: t([d], 0.5, 1),
      [`${n}input_layernorm.bias`]: t([d], 0.2),
      [`${n}post_attention_layernorm.weight`]: t([d], 0.5, 1),
      [`${n}post_attention_layernorm.bias`]: t([d], 0.2),
      [`${n}attention.query_key_value.weight`]: t([3 * d, d], 0.8),
      [`${n}attention.query_key_value.bias`]: t([3 * d], 0.2),
      [`${n}attention.dense.weight`]: t([d, d]),
      [`${n}attention.dense.bias`]: t([d], 0.2),
      [`${n}mlp.dense_h_to_4h.weight`]: t([inner, d]),
      [`${n}mlp.dense_h_to_4h.bias`]: t([inner], 0.2),
      [`${n}mlp.dense_4h_to_h.weight`]: t([d, inner]),
      [`${n}mlp.dense_4h_to_h.bias`]: t([d], 0.2),
    });
  }
  return saveSafetensors(m);
}

describe.each(['cpu', 'wasm'] as const)('gpt_neox on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test.each([true, false])('partial rotary, parallel residual %s: logits vs float64 reference; KV cache agrees', async (parallel) => {
    const d = 32;
    const heads = 4;
    const layers = 2;
    const vocab = 50;
    const inner = 64;
    const config = {
      model_type: 'gpt_neox', vocab_size: vocab, hidden_size: d, num_hidden_layers: layers, num_attention_heads: heads,
      intermediate_size: inner, rotary_pct: 0.5, rotary_emb_base: 100, layer_norm_eps: 1e-5, hidden_act: 'gelu',
      use_parallel_residual: parallel, max_position_embeddings: 64, tie_word_embeddings: false,
    };
    const bytes = tinyNeox(parallel ? 7 : 8, d, layers, vocab, inner);
    const before = tf.memory().numTensors;
    const model = await loadCausalLM({ config, weights: bytes });
    const file = new SafetensorsFile(bytes);
    const ids = [3, 17, 42, 0, 9, 9, 31, 5, 12, 48];
    const ref = gptNeoxReference((n) => Float64Array.from(file.get(n).data), { d, heads, layers, vocab, inner, eps: 1e-5, rotaryPct: 0.5, base: 100, parallel }, ids);
    const got = model.forward([ids], { allPositions: true });
    const data = got.dataSync();
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(data[i]! - ref[i]!));
    expect(worst).toBeLessThan(1e-4);
    got.dispose();
    // Decoding token by token through the cache reproduces every position.
    const cache = model.createCache(1, 16);
    let worstCached = 0;
    for (const [t, id] of ids.entries()) {
      const step = model.forward([[id]], { cache });
      const row = step.dataSync();
      for (let v = 0; v < vocab; v++) worstCached = Math.max(worstCached, Math.abs(row[v]! - ref[t * vocab + v]!));
      step.dispose();
    }
    expect(worstCached).toBeLessThan(1e-4);
    cache.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
