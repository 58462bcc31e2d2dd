/**
 * Bad input that used to escape the typed-error promise (RangeError from a stack overflow or a
 * typed-array allocation, or silently accepted values that give NaN): each gives a LoomError
 * subclass naming the field now.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, LoomFormatError, SafetensorsError, ShapeError } from '../src/core/errors';
import { previewValue } from '../src/core/preview';
import { readInt, readF32Array } from '../loaders/json_read';
import { buildNetworkFromJSON } from '../loaders/loom_json';
import { parseHFConfig } from '../loaders/hf_config';
import { loadCausalLM } from '../loaders/pretrained';
import { SafetensorsFile } from '../loaders/safetensors';
import { definitionToRecord } from '../src/tfjs_layers/definition';
import { tinyLlamaConfig, tinyLlamaWeights } from './helpers/tiny_llama';

/** `[[[...[1]...]]]` nested `depth` deep, built without recursion. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** JSON text of `nested(depth)` (JSON.stringify itself overflows the stack on such values). */
function nestedText(depth: number): string {
  return '['.repeat(depth) + '1' + ']'.repeat(depth);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

describe('error builders quote a bounded preview', () => {
  test('previewValue is bounded for deep and huge values', () => {
    expect(previewValue(nested(100_000))).toBe('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[...');
    expect(previewValue('x'.repeat(1e6)).length).toBeLessThanOrEqual(43);
    expect(previewValue({ a: [1, 'b', null], c: true })).toBe('{"a":[1,"b",null],"c":true}');
  });

  test('json_read: a field nested 5,000 deep gives LoomFormatError', () => {
    const e = thrown(() => readInt(nested(5000), 'cfg.batch_size'));
    expect(e).toBeInstanceOf(LoomFormatError);
    expect((e as Error).message).toMatch(/cfg.batch_size: expected an integer, got \[\[\[/);
  });

  test('hf_config: hidden_size nested 5,000 deep gives ConfigError', () => {
    const e = thrown(() => parseHFConfig(tinyLlamaConfig({ hidden_size: nested(5000) })));
    expect(e).toBeInstanceOf(ConfigError);
  });

  test('safetensors: a shape nested 5,000 deep gives SafetensorsError', () => {
    const json = new TextEncoder().encode(`{"w":{"dtype":"F32","shape":${nestedText(5000)},"data_offsets":[0,4]}}`);
    const f = new Uint8Array(8 + json.byteLength + 4);
    new DataView(f.buffer).setUint32(0, json.byteLength, true);
    f.set(json, 8);
    expect(thrown(() => new SafetensorsFile(f))).toBeInstanceOf(SafetensorsError);
  });

  test('LOOM JSON: an ext object nested 5,000 deep gives a typed error', () => {
    const layer = `{"type":"dense","input_height":2,"output_height":2,"tfjs_ext":{"a":${nestedText(5000)}}}`;
    const text = `{"batch_size":1,"grid_rows":1,"grid_cols":1,"layers_per_cell":1,"layers":[${layer}]}`;
    expect(thrown(() => buildNetworkFromJSON(text))).toBeInstanceOf(LoomFormatError);
    expect(thrown(() => definitionToRecord({ type: 0, ext: { a: nested(5000) } } as never, 'def'))).toBeInstanceOf(ConfigError);
  });
});

describe('LOOM JSON values', () => {
  const net = (layer: Record<string, unknown>, batch = 1): string =>
    JSON.stringify({ batch_size: batch, grid_rows: 1, grid_cols: 1, layers_per_cell: 1, layers: [layer] });

  test('Parallel branches nested 3,000 deep give LoomFormatError, not a stack overflow', () => {
    const open = '{"type":"parallel","combine_mode":"add","branches":['.repeat(3000);
    const layer = `${open}{"type":"dense","input_height":2,"output_height":2}${']}'.repeat(3000)}`;
    const e = thrown(() => buildNetworkFromJSON(`{"batch_size":1,"grid_rows":1,"grid_cols":1,"layers_per_cell":1,"layers":[${layer}]}`));
    expect(e).toBeInstanceOf(LoomFormatError);
    expect((e as Error).message).toMatch(/nested 65 deep, more than the limit of 64/);
  });

  test('Parallel nested 10 deep still builds and runs', () => {
    let layer: Record<string, unknown> = { type: 'dense', activation: 'linear', input_height: 2, output_height: 2 };
    for (let i = 0; i < 10; i++) layer = { type: 'parallel', combine_mode: 'add', branches: [layer] };
    const n = buildNetworkFromJSON(net(layer));
    n.dispose();
  });

  test('weights beyond float32 range are rejected, not loaded as Infinity', () => {
    expect(thrown(() => readF32Array([1, 3.5e38], 'w'))).toBeInstanceOf(LoomFormatError);
    expect((thrown(() => readF32Array([1, -1e39], 'w')) as Error).message).toMatch(/w\[1\].*float32 range/);
    expect([...readF32Array([3.4e38, -1], 'w')!]).toEqual([Math.fround(3.4e38), -1]);
  });

  test('batch_size -2 is rejected', () => {
    const e = thrown(() => buildNetworkFromJSON(net({ type: 'dense', input_height: 2, output_height: 2 }, -2)));
    expect(e).toBeInstanceOf(LoomFormatError);
    expect((e as Error).message).toMatch(/batch_size: -2 is out of range/);
  });

  test.each([
    ['stride', { stride: 2 ** 30 }],
    ['padding', { padding: 2 ** 20 }],
    ['output size', { output_height: 2 ** 20, output_width: 2 ** 20 }],
  ])('Conv2D with a huge %s gives ConfigError at load, not RangeError at forward', (_what, over) => {
    const conv = { type: 'conv2d', input_channels: 1, filters: 1, kernel_size: 1, stride: 1, padding: 0, input_height: 2, input_width: 2, output_height: 2, output_width: 2, ...over };
    const e = thrown(() => buildNetworkFromJSON(net(conv)));
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/values per sample, more than the limit/);
  });

  test('softmax temperature 1e-45 and entmax alpha 1e38 are refused; sane values run without NaN', () => {
    const sm = (o: Record<string, unknown>): Record<string, unknown> => ({ type: 'softmax', input_height: 4, output_height: 4, ...o });
    expect(thrown(() => buildNetworkFromJSON(net(sm({ softmax_variant: 'temperature', temperature: 1e-45 }))))).toBeInstanceOf(ConfigError);
    expect(thrown(() => buildNetworkFromJSON(net(sm({ softmax_variant: 'entmax', entmax_alpha: 1e38 }))))).toBeInstanceOf(ConfigError);
    const ok = buildNetworkFromJSON(net(sm({ softmax_variant: 'entmax', entmax_alpha: 1.5 })));
    const y = ok.forward(new Float32Array([0.1, 2, -1, 0.5]));
    expect([...y].every(Number.isFinite)).toBe(true);
    ok.dispose();
  });
});

describe('config.json sizes are checked before anything is allocated', () => {
  test.each([
    ['intermediate_size', { intermediate_size: 1e9 }],
    ['head_dim', { head_dim: 2 ** 40 }],
    ['hidden_size', { hidden_size: 1e300 }],
    ['vocab_size', { model_type: 'gpt2', vocab_size: 2 ** 31, n_embd: 8, n_layer: 1, n_head: 2 }],
    ['rope_theta', { rope_theta: 1e-300 }],
  ])('%s out of range gives ConfigError', (key, over) => {
    const e = thrown(() => parseHFConfig(tinyLlamaConfig(over)));
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain(key);
  });

  test('a config implying matrices larger than the whole checkpoint gives ShapeError before building', async () => {
    const before = tf.memory().numTensors;
    const err = await loadCausalLM({ config: tinyLlamaConfig({ intermediate_size: 100_000 }), weights: tinyLlamaWeights() }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as Error).message).toMatch(/MLP projection.*800000 values.*holds only/);
    expect(tf.memory().numTensors).toBe(before);
  });

});
