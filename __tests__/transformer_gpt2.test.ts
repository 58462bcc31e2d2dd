import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { loadCausalLM } from '../loaders/pretrained';
import { SafetensorsFile } from '../loaders/safetensors';
import { gpt2Reference } from './helpers/decoder_f64';
import { TINY_GPT2 } from './helpers/fixtures';

const DIR = TINY_GPT2;
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected-greedy.json'), 'utf8')) as { input_ids: number[][]; expected_output_ids: number[][] };

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe.each(['cpu', 'wasm'] as const)('tiny-random-gpt2 on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('greedy continuation of [0,0,0,52] equals expected-greedy.json; no leaks', async () => {
    const before = tf.memory().numTensors;
    const model = await loadCausalLM(DIR);
    expect(model.config.modelType).toBe('gpt2');
    const seq = [...expected.input_ids[0]!];
    const cache = model.createCache(1, 16);
    let logits = model.forward([seq], { cache });
    while (seq.length < expected.expected_output_ids[0]!.length) {
      const next = argmax(logits.dataSync());
      logits.dispose();
      seq.push(next);
      logits = model.forward([[next]], { cache });
    }
    logits.dispose();
    expect(seq).toEqual(expected.expected_output_ids[0]);
    cache.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('logits of every position match a float64 re-computation', async () => {
    const model = await loadCausalLM(DIR);
    const file = new SafetensorsFile(new Uint8Array(fs.readFileSync(path.join(DIR, 'model.safetensors'))));
    const ids = [0, 0, 0, 52, 204, 17, 998, 5];
    const ref = gpt2Reference((n) => Float64Array.from(file.get(n).data), { d: 32, heads: 4, layers: 5, vocab: 1000, eps: 1e-5 }, ids);
    const got = model.forward([ids], { allPositions: true });
    expect(got.shape).toEqual([1, ids.length, 1000]);
    const data = got.dataSync();
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(data[i]! - ref[i]!));
    expect(worst).toBeLessThan(1e-4);
    got.dispose();
    model.dispose();
  });
});
