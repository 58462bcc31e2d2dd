import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../src/core/errors';
import { parseHFConfig, parseHFConfigText } from '../loaders/hf_config';
import { FIXTURES } from './helpers/fixtures';

const FIX = FIXTURES;
const json = (...p: string[]): unknown => JSON.parse(fs.readFileSync(path.join(FIX, ...p), 'utf8'));

describe('parseHFConfig on real configs', () => {
  test('GPT-2 124M', () => {
    const c = parseHFConfig(json('gpt2-config', 'config.json'), json('gpt2-config', 'generation_config.json'));
    expect(c).toMatchObject({
      modelType: 'gpt2', vocabSize: 50257, hiddenSize: 768, numLayers: 12, numHeads: 12, numKVHeads: 12, headDim: 64,
      intermediateSize: 3072, maxPositions: 1024, norm: { kind: 'layer', eps: 1e-5 }, hiddenAct: 'gelu_new',
      tieWordEmbeddings: true, qkvBias: true, attnOutBias: true, mlpBias: true, parallelResidual: false,
      eosTokenIds: [50256], bosTokenId: 50256,
    });
    expect(c.rope).toBeUndefined();
  });

  test('tiny-random-gpt2 (n_inner null, intermediate_size ignored)', () => {
    const c = parseHFConfig(json('tiny-random-gpt2', 'config.json'), json('tiny-random-gpt2', 'generation_config.json'));
    expect(c).toMatchObject({ hiddenSize: 32, numLayers: 5, numHeads: 4, headDim: 8, intermediateSize: 128, vocabSize: 1000, maxPositions: 512, eosTokenIds: [98], padTokenId: 98 });
  });

  test('SmolLM2-135M, transformers v5 rope_parameters', () => {
    const c = parseHFConfig(json('smollm2-config', 'SmolLM2-135M.transformers-v5.config.json'));
    expect(c).toMatchObject({
      modelType: 'llama', vocabSize: 49152, hiddenSize: 576, numLayers: 30, numHeads: 9, numKVHeads: 3, headDim: 64,
      intermediateSize: 1536, maxPositions: 8192, norm: { kind: 'rms', eps: 1e-5 }, hiddenAct: 'silu',
      rope: { theta: 100000, rotaryDim: 64, scaling: { type: 'default' } }, tieWordEmbeddings: true,
      qkvBias: false, attnOutBias: false, mlpBias: false, eosTokenIds: [0], bosTokenId: 0,
    });
    expect(c.padTokenId).toBeUndefined();
  });

  test('llama_tiny', () => {
    const c = parseHFConfig(json('loom-golden', 'llama_tiny.config.json'));
    expect(c).toMatchObject({ hiddenSize: 64, numHeads: 4, numKVHeads: 2, headDim: 16, rope: { theta: 10000, rotaryDim: 16 }, norm: { eps: 1e-5 }, tieWordEmbeddings: true });
  });
});

describe('parseHFConfig per-architecture semantics', () => {
  const llama = { model_type: 'llama', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
  test('llama defaults: kv heads = heads, theta 1e4, eps 1e-6, untied; eos array from generation_config', () => {
    const c = parseHFConfig({ ...llama, eos_token_id: 2 }, { eos_token_id: [2, 7] });
    expect(c).toMatchObject({ numKVHeads: 2, rope: { theta: 10000 }, norm: { eps: 1e-6 }, tieWordEmbeddings: false, eosTokenIds: [2, 7] });
  });
  test('llama3 rope scaling and attention/mlp biases', () => {
    const c = parseHFConfig({ ...llama, attention_bias: true, mlp_bias: true, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
    expect(c.rope).toEqual({ theta: 500000, rotaryDim: 4, scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } });
    expect(c).toMatchObject({ qkvBias: true, attnOutBias: true, mlpBias: true });
  });
  test('linear scaling with the older "type" key', () => {
    expect(parseHFConfig({ ...llama, rope_scaling: { type: 'linear', factor: 2 } }).rope?.scaling).toEqual({ type: 'linear', factor: 2 });
  });
  test('qwen2: q/k/v bias, no o_proj bias', () => {
    expect(parseHFConfig({ ...llama, model_type: 'qwen2' })).toMatchObject({ qkvBias: true, attnOutBias: false, mlpBias: false });
  });
  test('gpt_neox: rotary_pct, parallel residual, layer_norm_eps, untied', () => {
    const c = parseHFConfig({ model_type: 'gpt_neox', vocab_size: 50304, hidden_size: 512, num_hidden_layers: 6, num_attention_heads: 8, intermediate_size: 2048, rotary_pct: 0.25, rotary_emb_base: 10000, layer_norm_eps: 1e-5, hidden_act: 'gelu', max_position_embeddings: 2048 });
    expect(c).toMatchObject({ headDim: 64, rope: { theta: 10000, rotaryDim: 16 }, parallelResidual: true, tieWordEmbeddings: false, qkvBias: true, attnOutBias: true, mlpBias: true, norm: { kind: 'layer', eps: 1e-5 } });
    expect(parseHFConfig({ model_type: 'gpt_neox', vocab_size: 5, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8, use_parallel_residual: false, rope_parameters: { rope_theta: 500, partial_rotary_factor: 0.5 } })).toMatchObject({ parallelResidual: false, rope: { theta: 500, rotaryDim: 2 } });
  });
});

describe('parseHFConfig errors', () => {
  test('unknown model_type lists the supported ones', () => {
    expect(() => parseHFConfig({ model_type: 'bert' })).toThrow(ConfigError);
    expect(() => parseHFConfig({ model_type: 'bert' })).toThrow(/'?bert'?.*llama, mistral, qwen2, gpt2, gpt_neox/);
  });
  test('missing and invalid fields are named', () => {
    expect(() => parseHFConfig({ model_type: 'llama', hidden_size: 8 })).toThrow(/'num_hidden_layers' is missing/);
    expect(() => parseHFConfig({ model_type: 'llama', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 3, num_key_value_heads: 2, intermediate_size: 4 })).toThrow(/not a multiple of num_key_value_heads/);
    expect(() => parseHFConfig({ model_type: 'llama', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 4, hidden_act: 'swish2' })).toThrow(/hidden_act "swish2"/);
    expect(() => parseHFConfig({ model_type: 'llama', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 4, rope_scaling: { rope_type: 'yarn' } })).toThrow(/rope type "yarn"/);
    expect(() => parseHFConfigText('{nope')).toThrow(/config.json: not valid JSON/);
  });
});
