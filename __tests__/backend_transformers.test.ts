/**
 * Every transformer architecture gives the same logits (within 1e-4 relative to the logits'
 * scale) and the same greedy tokens (KV-cache decoding) on cpu, wasm and webgpu (when an adapter
 * exists): tiny-random-gpt2, LOOM's llama_tiny, and tiny random gpt_neox / qwen2 checkpoints.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM, type PretrainedSource } from '../loaders/pretrained';
import { saveSafetensors, type TensorToSave } from '../loaders/safetensors';
import type { BackendName } from '../src/backends';
import { checkpointShapes, type BenchModelShape } from '../bench/decode_models';
import { availableBackends, onEachBackend, relativeError } from './helpers/backend_compare';
import { FIXTURES } from './helpers/fixtures';

const FIX = FIXTURES;
const GOLD = path.join(FIX, 'loom-golden');

/** Seeded random checkpoint of a bench shape, plus q/k/v biases for qwen2. */
function tinyCheckpoint(shape: BenchModelShape, seed: number): Uint8Array {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
  const shapes = checkpointShapes(shape);
  if (shape.config.model_type === 'qwen2') {
    const hd = shape.hidden / shape.heads;
    for (let i = 0; i < shape.layers; i++) {
      shapes.set(`model.layers.${i}.self_attn.q_proj.bias`, [shape.heads * hd]);
      shapes.set(`model.layers.${i}.self_attn.k_proj.bias`, [shape.kvHeads * hd]);
      shapes.set(`model.layers.${i}.self_attn.v_proj.bias`, [shape.kvHeads * hd]);
    }
  }
  const tensors: Record<string, TensorToSave> = {};
  for (const [name, dims] of shapes) {
    const n = dims.reduce((a, b) => a * b, 1);
    const gain = dims.length === 1 && /norm.*\.weight$/.test(name);
    const scale = dims.length === 2 ? 1.5 / Math.sqrt(dims[1]!) : gain ? 0.3 : 0.2;
    tensors[name] = { shape: dims, data: Float32Array.from({ length: n }, () => (gain ? 1 : 0) + scale * rand()) };
  }
  return saveSafetensors(tensors);
}

const TINY_NEOX: BenchModelShape = {
  name: 'pythia-70m-shape', family: 'gpt_neox', hidden: 32, layers: 2, heads: 4, kvHeads: 4, intermediate: 64, vocab: 64, tied: false,
  config: {
    model_type: 'gpt_neox', vocab_size: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64,
    rotary_pct: 0.5, rotary_emb_base: 100, layer_norm_eps: 1e-5, hidden_act: 'gelu', use_parallel_residual: true,
    max_position_embeddings: 64, tie_word_embeddings: false,
  },
};
const TINY_QWEN2: BenchModelShape = {
  name: 'smollm2-135m-shape', family: 'llama', hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48, vocab: 64, tied: true,
  config: {
    model_type: 'qwen2', vocab_size: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    intermediate_size: 48, rms_norm_eps: 1e-6, rope_theta: 10000, hidden_act: 'silu', max_position_embeddings: 64, tie_word_embeddings: true,
  },
};

interface ArchCase {
  name: string;
  source: () => PretrainedSource;
  prompt: number[];
}

const CASES: ArchCase[] = [
  { name: 'gpt2 (tiny-random-gpt2)', source: () => path.join(FIX, 'tiny-random-gpt2'), prompt: [0, 0, 0, 52, 7, 300] },
  {
    name: 'llama (loom-golden llama_tiny)',
    source: () => ({ config: fs.readFileSync(path.join(GOLD, 'llama_tiny.config.json'), 'utf8'), weights: new Uint8Array(fs.readFileSync(path.join(GOLD, 'llama_tiny.safetensors'))) }),
    prompt: [1, 5, 17, 42, 100],
  },
  { name: 'gpt_neox (tiny random, partial rotary, parallel residual)', source: () => ({ config: TINY_NEOX.config, weights: tinyCheckpoint(TINY_NEOX, 3) }), prompt: [3, 17, 42, 0, 9, 31] },
  { name: 'qwen2 (tiny random, q/k/v bias, GQA 4:2, tied)', source: () => ({ config: TINY_QWEN2.config, weights: tinyCheckpoint(TINY_QWEN2, 5) }), prompt: [5, 1, 60, 22, 8] },
];

interface ArchResult {
  logits: Float32Array;
  greedy: number[];
}

async function runArch(c: ArchCase): Promise<ArchResult> {
  const before = tf.memory().numTensors;
  const model = await loadCausalLM(c.source());
  try {
    const all = model.forward([c.prompt], { allPositions: true }); // (1, T, V)
    const logits = new Float32Array((await all.data()) as Float32Array);
    all.dispose();
    const cache = model.createCache(1, c.prompt.length + 8);
    const greedy: number[] = [];
    let step = model.forward([c.prompt], { cache }); // (1, V)
    for (let i = 0; i < 6; i++) {
      const idT = tf.argMax(step, -1);
      const id = ((await idT.data()) as Int32Array)[0]!;
      idT.dispose();
      step.dispose();
      greedy.push(id);
      step = model.forward([[id]], { cache });
    }
    step.dispose();
    cache.dispose();
    return { logits, greedy };
  } finally {
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }
}

let backends: BackendName[] = ['cpu', 'wasm'];
beforeAll(async () => {
  backends = await availableBackends();
});

describe.each(CASES)('$name', (c) => {
  test('logits within 1e-4 relative and identical greedy tokens on every backend', async () => {
    const results = await onEachBackend(backends, () => runArch(c));
    const ref = results.get('cpu')!;
    for (const [b, got] of results) {
      expect({ backend: b, ok: relativeError(got.logits, ref.logits) <= 1e-4, err: relativeError(got.logits, ref.logits) }).toMatchObject({ backend: b, ok: true });
      expect({ backend: b, greedy: got.greedy }).toEqual({ backend: b, greedy: ref.greedy });
    }
  });
});
