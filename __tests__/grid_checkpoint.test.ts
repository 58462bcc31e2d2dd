import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { checkpointToGridNetwork, tokenCrossEntropy, GRID_MODEL_TYPES, GridCheckpoint } from '../loaders/grid_checkpoint';
import { gridNetworkToCheckpoint } from '../loaders/grid_checkpoint_export';
import { loadCausalLM } from '../loaders/pretrained';
import { parseHFConfig } from '../loaders/hf_config';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { saveSafetensors, SafetensorsFile, type TensorToSave } from '../loaders/safetensors';
import { ConfigError, SafetensorsError } from '../src/core/errors';
import { emptyRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { Network } from '../src/network/network';
import { expectClose, GOLDEN } from './helpers/fixtures';

const ref = JSON.parse(fs.readFileSync(path.join(GOLDEN, 'llama_tiny.json'), 'utf8')) as {
  prompt_tokens: number[];
  hf_reference: { logits_all_positions: number[][] };
};
const configText = fs.readFileSync(path.join(GOLDEN, 'llama_tiny.config.json'), 'utf8');
const weightBytes = new Uint8Array(fs.readFileSync(path.join(GOLDEN, 'llama_tiny.safetensors')));
const hfLogits = ref.hf_reference.logits_all_positions.flat();
const ids = ref.prompt_tokens;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Logits of all positions from the fast path: (S*V). */
async function fastLogits(config: Record<string, unknown> | string, weights: Uint8Array, tokens: number[]): Promise<Float32Array> {
  const model = await loadCausalLM({ config, weights });
  const t = model.forward([tokens], { allPositions: true }); // (1, S, V)
  const out = new Float32Array(t.dataSync() as Float32Array);
  t.dispose();
  model.dispose();
  return out;
}

/** Seeded uniform [-a, a). */
function rngArray(n: number, seed: number, a = 0.3): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * a;
  }
  return out;
}

/** A random tiny qwen2 checkpoint (q/k/v biases, GQA 4:2, untied head, theta 1e6). */
function tinyQwen2(): { config: Record<string, unknown>; weights: Uint8Array } {
  const [d, hq, hkv, m, v, layers] = [16, 4, 2, 24, 32, 2];
  const hd = d / hq;
  const kv = hkv * hd;
  const t: Record<string, TensorToSave> = {};
  let seed = 1;
  const put = (name: string, shape: number[], around = 0): void => {
    const data = rngArray(shape.reduce((a, b) => a * b, 1), seed++);
    if (around) for (let i = 0; i < data.length; i++) data[i]! += around;
    t[name] = { shape, data };
  };
  put('model.embed_tokens.weight', [v, d]);
  put('lm_head.weight', [v, d]);
  put('model.norm.weight', [d], 1);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    put(`${p}.input_layernorm.weight`, [d], 1);
    put(`${p}.post_attention_layernorm.weight`, [d], 1);
    put(`${p}.self_attn.q_proj.weight`, [d, d]);
    put(`${p}.self_attn.q_proj.bias`, [d]);
    put(`${p}.self_attn.k_proj.weight`, [kv, d]);
    put(`${p}.self_attn.k_proj.bias`, [kv]);
    put(`${p}.self_attn.v_proj.weight`, [kv, d]);
    put(`${p}.self_attn.v_proj.bias`, [kv]);
    put(`${p}.self_attn.o_proj.weight`, [d, d]);
    put(`${p}.mlp.gate_proj.weight`, [m, d]);
    put(`${p}.mlp.up_proj.weight`, [m, d]);
    put(`${p}.mlp.down_proj.weight`, [d, m]);
  }
  const config = {
    model_type: 'qwen2', hidden_size: d, intermediate_size: m, num_hidden_layers: layers, num_attention_heads: hq,
    num_key_value_heads: hkv, vocab_size: v, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: false,
    max_position_embeddings: 64, eos_token_id: 2,
  };
  return { config, weights: saveSafetensors(t) };
}

describe('checkpointToGridNetwork (llama_tiny)', () => {
  test('layout: 1x1 grid, embedding + 4 layers per block + final norm + head, theta and GQA from config.json', async () => {
    const before = tf.memory().numTensors;
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const net = g.network;
    expect(net.grid).toEqual({ rows: 1, cols: 1, layersPerCell: 2 * 4 + 3 });
    expect(net.residualMode).toBe('loom');
    const types = net.toRecords().map((r) => r.type);
    const block = [LayerType.RMSNorm, LayerType.MultiHeadAttention, LayerType.RMSNorm, LayerType.SwiGLU];
    expect(types).toEqual([LayerType.Dense, ...block, ...block, LayerType.RMSNorm, LayerType.Dense]);
    const mha = net.toRecords()[2]!;
    expect(mha.numKVHeads).toBe(2);
    expect(mha.ext['rope_theta']).toBe(10000);
    expect(g.vocabSize).toBe(256);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('logits equal hf_reference (1e-4) and loadCausalLM; network.forward(oneHot) too', async () => {
    const before = tf.memory().numTensors;
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const logits = g.forwardIds(ids);
    expect(g.seqLength).toBe(ids.length);
    expectClose(logits, hfLogits, { atol: 1e-4, rtol: 0 }, 'grid vs hf_reference');
    expectClose(logits, await fastLogits(configText, weightBytes, ids), { atol: 1e-4, rtol: 0 }, 'grid vs loadCausalLM');
    expectClose(g.network.forward(g.oneHot(ids)), logits, { atol: 1e-6, rtol: 0 }, 'network.forward');
    // A new length only needs a new batch size (forwardIds sets it).
    const short = g.forwardIds(ids.slice(0, 3));
    expectClose(short, hfLogits.slice(0, 3 * 256), { atol: 1e-4, rtol: 0 }, 'prefix');
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('parsed ModelConfig + SafetensorsFile; without embedding and head the output is the hidden state', async () => {
    const before = tf.memory().numTensors;
    const config = parseHFConfig(JSON.parse(configText));
    const file = new SafetensorsFile(weightBytes);
    const full = await checkpointToGridNetwork({ config, weights: file });
    const bare = await checkpointToGridNetwork({ config, weights: file }, { includeEmbedding: false, includeHead: false });
    expect(bare.network.totalLayers()).toBe(8);
    expect(() => bare.forwardIds(ids)).toThrow(ConfigError);
    full.setSequenceLength(ids.length);
    full.network.forward(full.oneHot(ids));
    const acts = full.network.getActivations();
    const embedded = acts[1]!; // (S*D) output of the embedding layer
    const lastBlock = acts[9]!; // output of block 1's SwiGLU
    bare.setSequenceLength(ids.length);
    expectClose(bare.network.forward(embedded), lastBlock, { atol: 1e-5, rtol: 0 }, 'hidden state');
    full.dispose();
    bare.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('LOOM JSON save/load keeps logits (theta and kv heads survive)', async () => {
    const before = tf.memory().numTensors;
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const json = saveModelToString(g.network, 'llama_tiny');
    g.dispose();
    const net = loadModelFromString(json, 'llama_tiny');
    const mha = net.toRecords()[2]!;
    expect(mha.ext['rope_theta']).toBe(10000);
    expect(mha.numKVHeads).toBe(2);
    net.batchSize = ids.length;
    const x = new Float32Array(ids.length * 256);
    ids.forEach((id, s) => (x[s * 256 + id] = 1));
    expectClose(net.forward(x), hfLogits, { atol: 1e-4, rtol: 0 }, 'reloaded');
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('train() on a tiny next-token task lowers the loss; no leaks', async () => {
    const before = tf.memory().numTensors;
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const seqs = [
      [1, 5, 17, 42, 100, 7, 9],
      [1, 8, 17, 42, 100, 7, 3],
    ];
    const batches = seqs.map((s) => g.nextTokenBatch(s));
    const res = await g.network.train(batches, {
      epochs: 6,
      learningRate: 0.01,
      optimizer: { type: 'adam' },
      loss: tokenCrossEntropy(g.vocabSize),
    });
    expect(res.lossHistory).toHaveLength(6);
    expect(res.finalLoss).toBeLessThan(res.lossHistory[0]! * 0.7);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('grid -> checkpoint -> loadCausalLM gives the grid logits (also after training, with biases)', async () => {
    const before = tf.memory().numTensors;
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const untrained = gridNetworkToCheckpoint(g);
    expect(untrained.config).toMatchObject({
      model_type: 'llama', hidden_size: 64, num_key_value_heads: 2, rope_theta: 10000, rms_norm_eps: 1e-5,
      tie_word_embeddings: true, attention_bias: false, mlp_bias: false, bos_token_id: 1, eos_token_id: 2, max_position_embeddings: 128,
    });
    expect(new SafetensorsFile(untrained.weights).has('lm_head.weight')).toBe(false);
    expectClose(await fastLogits(untrained.config, untrained.weights, ids), hfLogits, { atol: 1e-4, rtol: 0 }, 'exported');

    await g.network.train([g.nextTokenBatch([1, 5, 17, 42, 100, 7])], { epochs: 2, learningRate: 0.01, optimizer: { type: 'adam' }, loss: tokenCrossEntropy(256) });
    const trained = gridNetworkToCheckpoint(g);
    expect(trained.config).toMatchObject({ attention_bias: true, mlp_bias: true, tie_word_embeddings: false });
    const file = new SafetensorsFile(trained.weights);
    expect(file.has('model.layers.0.self_attn.o_proj.bias')).toBe(true);
    expect(file.has('model.layers.1.mlp.down_proj.bias')).toBe(true);
    expectClose(await fastLogits(trained.config, trained.weights, ids), g.forwardIds(ids), { atol: 1e-4, rtol: 0 }, 'trained export');
    expect(() => gridNetworkToCheckpoint(g, { modelType: 'mistral' })).toThrow(/mistral stores no biases/);
    expect(() => gridNetworkToCheckpoint(g, { ropeTheta: 1e6 })).toThrow(ConfigError);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('export of a LOOM-JSON-reloaded network (plain Network, options for the token ids)', async () => {
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const net = loadModelFromString(saveModelToString(g.network, 'm'), 'm');
    g.dispose();
    const out = gridNetworkToCheckpoint(net, { bosTokenId: 1, eosTokenId: 2, maxPositionEmbeddings: 128, dtype: 'F32' });
    net.dispose();
    expect(out.config).toMatchObject({ rms_norm_eps: Math.fround(1e-5), rope_theta: 10000, bos_token_id: 1, eos_token_id: 2 });
    expectClose(await fastLogits(out.config, out.weights, ids), hfLogits, { atol: 1e-4, rtol: 0 }, 'reloaded export');
  });

  test('a final per-position Softmax is an error unless dropFinalSoftmax; metadata reaches the header', async () => {
    const before = tf.memory().numTensors;
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    const base = g.network.toRecords();
    g.dispose();
    const withSoftmax = (fields: { softmaxVariant: number; softmaxCols: number; temperature: number }): Network => {
      const sm = { ...emptyRecord(LayerType.Softmax), softmaxRows: ids.length, ...fields };
      return Network.fromRecords({ rows: 1, cols: 1, layersPerCell: base.length + 1 }, [...base, sm], { residualMode: 'loom', batchSize: ids.length });
    };
    const grid = withSoftmax({ softmaxVariant: 1, softmaxCols: 256, temperature: 1 });
    expect(() => gridNetworkToCheckpoint(grid)).toThrow(/layer 11 is a Softmax.*dropFinalSoftmax/);
    const out = gridNetworkToCheckpoint(grid, { dropFinalSoftmax: true, metadata: { note: 'names' } });
    expect(new SafetensorsFile(out.weights).header.metadata).toEqual({ format: 'pt', note: 'names' });
    expectClose(await fastLogits(out.config, out.weights, ids), hfLogits, { atol: 1e-4, rtol: 0 }, 'export without the softmax');
    grid.dispose();
    const standard = withSoftmax({ softmaxVariant: 0, softmaxCols: 0, temperature: 0 });
    expect(gridNetworkToCheckpoint(standard, { dropFinalSoftmax: true }).config).toMatchObject({ num_hidden_layers: 2, vocab_size: 256 });
    standard.dispose();
    for (const [fields, message] of [
      [{ softmaxVariant: 1, softmaxCols: 256, temperature: 2 }, /Softmax grid, 256 columns, temperature 2\) is not a plain softmax/],
      [{ softmaxVariant: 1, softmaxCols: 128, temperature: 1 }, /grid \(vocab 256 columns\)/],
    ] as const) {
      const net = withSoftmax(fields);
      expect(() => gridNetworkToCheckpoint(net, { dropFinalSoftmax: true })).toThrow(message);
      net.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('checkpointToGridNetwork (other sources)', () => {
  test('a folder path with config.json + model.safetensors, written by gridNetworkToCheckpoint (mistral)', async () => {
    const os = await import('os');
    const g = await checkpointToGridNetwork({ config: { ...JSON.parse(configText), model_type: 'mistral' }, weights: weightBytes });
    const out = gridNetworkToCheckpoint(g, { modelType: 'mistral' });
    g.dispose();
    expect(out.config).toMatchObject({ model_type: 'mistral', architectures: ['MistralForCausalLM'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grid-ckpt-'));
    try {
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(out.config));
      fs.writeFileSync(path.join(dir, 'model.safetensors'), out.weights);
      const before = tf.memory().numTensors;
      const again = await checkpointToGridNetwork(dir);
      expect(again.config.modelType).toBe('mistral');
      expectClose(again.forwardIds(ids), hfLogits, { atol: 1e-4, rtol: 0 }, 'from folder');
      again.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkpointToGridNetwork (random tiny qwen2 with q/k/v biases)', () => {
  test('logits equal loadCausalLM; export as qwen2 round-trips', async () => {
    const before = tf.memory().numTensors;
    const q = tinyQwen2();
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const g = await checkpointToGridNetwork(q);
    const logits = g.forwardIds(tokens);
    expect(g.network.toRecords()[2]!.qBias!.some((x) => x !== 0)).toBe(true);
    expectClose(logits, await fastLogits(q.config, q.weights, tokens), { atol: 1e-4, rtol: 0 }, 'qwen2 grid vs fast path');
    const out = gridNetworkToCheckpoint(g, { modelType: 'qwen2' });
    expect(out.config).toMatchObject({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], tie_word_embeddings: false, rope_theta: 1e6, eos_token_id: 2 });
    const file = new SafetensorsFile(out.weights);
    expect(file.has('model.layers.0.self_attn.q_proj.bias')).toBe(true);
    expect(file.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expectClose(await fastLogits(out.config, out.weights, tokens), logits, { atol: 1e-4, rtol: 0 }, 'qwen2 export');
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('errors', () => {
  test('unsupported architectures name the supported ones', async () => {
    const gpt2 = JSON.stringify({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, vocab_size: 32 });
    await expect(checkpointToGridNetwork({ config: gpt2, weights: weightBytes })).rejects.toThrow(ConfigError);
    await expect(checkpointToGridNetwork({ config: gpt2, weights: weightBytes })).rejects.toThrow(/'gpt2' is not supported by the grid path.*llama, mistral, qwen2/);
    const neox = JSON.stringify({ model_type: 'gpt_neox', hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, vocab_size: 32 });
    await expect(checkpointToGridNetwork({ config: neox, weights: weightBytes })).rejects.toThrow(/gpt_neox/);
    expect(GRID_MODEL_TYPES).toEqual(['llama', 'mistral', 'qwen2']);
    const scaled = JSON.stringify({ ...JSON.parse(configText), rope_scaling: { rope_type: 'llama3', factor: 8 } });
    await expect(checkpointToGridNetwork({ config: scaled, weights: weightBytes })).rejects.toThrow(/rope scaling 'llama3'/);
  });

  test('a missing tensor is a SafetensorsError naming it; nothing leaks', async () => {
    const before = tf.memory().numTensors;
    const file = new SafetensorsFile(weightBytes);
    const tensors: Record<string, TensorToSave> = {};
    for (const name of file.names) {
      if (name === 'model.layers.1.mlp.up_proj.weight') continue;
      const t = file.get(name);
      tensors[name] = { shape: t.shape, data: t.data as Float32Array };
    }
    const broken = saveSafetensors(tensors);
    await expect(checkpointToGridNetwork({ config: configText, weights: broken })).rejects.toThrow(SafetensorsError);
    await expect(checkpointToGridNetwork({ config: configText, weights: broken })).rejects.toThrow(/model\.layers\.1\.mlp\.up_proj\.weight/);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('export rejects networks of another shape', () => {
    const net = Network.create({ rows: 1, cols: 1, layersPerCell: 3 });
    expect(() => gridNetworkToCheckpoint(net)).toThrow(/4L \+ 3 layers/);
    net.dispose();
    const seven = Network.create({ rows: 1, cols: 1, layersPerCell: 7 });
    expect(() => gridNetworkToCheckpoint(seven)).toThrow(/layer 5 should be the final norm \(RMSNorm\), got Dense/);
    seven.dispose();
  });

  test('token helpers validate ids', async () => {
    const g = await checkpointToGridNetwork({ config: configText, weights: weightBytes });
    expect(g).toBeInstanceOf(GridCheckpoint);
    expect(() => g.oneHot([256])).toThrow(/outside the vocabulary/);
    expect(() => g.nextTokenBatch([1])).toThrow(/at least 2/);
    g.dispose();
  });
});
