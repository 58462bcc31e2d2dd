/**
 * Configurations loom-tfjs cannot compute exactly are refused with a typed error naming the field,
 * instead of running with different semantics.
 */
import { parseHFConfig } from '../loaders/hf_config';
import { checkGridConfig } from '../loaders/grid_checkpoint';
import { ConfigError } from '../src/core/errors';

const base = {
  vocab_size: 32,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 64,
};

test('qwen2 with per-layer sliding attention is refused; off or window >= positions loads', () => {
  const on = { ...base, model_type: 'qwen2', use_sliding_window: true, sliding_window: 8, max_window_layers: 1 };
  expect(() => parseHFConfig(on)).toThrow(ConfigError);
  expect(() => parseHFConfig(on)).toThrow(/use_sliding_window with sliding_window 8 < max_position_embeddings 64/);
  expect(parseHFConfig({ ...on, use_sliding_window: false }).slidingWindow).toBeUndefined();
  expect(() => parseHFConfig({ ...on, sliding_window: 64 })).not.toThrow();
  expect(() => parseHFConfig({ ...on, max_window_layers: 2 })).not.toThrow(); // no layer reaches it
});

test('mistral: sliding_window is read; the grid path refuses a window shorter than the context', () => {
  const cfg = parseHFConfig({ ...base, model_type: 'mistral', sliding_window: 8 });
  expect(cfg.slidingWindow).toBe(8);
  expect(() => checkGridConfig(cfg)).toThrow(/sliding_window 8 \(< 64 positions\) is not supported by the grid path/);
  expect(() => checkGridConfig(parseHFConfig({ ...base, model_type: 'mistral', sliding_window: 64 }))).not.toThrow();
  expect(parseHFConfig({ ...base, model_type: 'mistral', sliding_window: null }).slidingWindow).toBeUndefined();
});
