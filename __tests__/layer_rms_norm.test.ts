import * as tf from '@tensorflow/tfjs';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { useBackend } from '../src/backends';
import { ShapeError } from '../src/core/errors';
import { rmsNormKind } from '../layers/rms_norm';
import { golden, expectClose } from './helpers/fixtures';
import { autodiff, checkLayerGradients, expectSameGrads, seeded, testContext, type LayerGrads } from './helpers/layer_grad_check';

function rmsNorm64(x: ArrayLike<number>, n: number, gamma: ArrayLike<number> | null, eps = 1e-6): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from({ length: n }, (_, i) => x[r * n + i] as number);
    const rms = Math.sqrt(row.reduce((a, b) => a + b * b, 0) / n + eps);
    row.forEach((v, i) => out.push((v / rms) * (gamma ? (gamma[i] as number) : 1)));
  }
  return out;
}

function record(n: number, gamma: number[] | null, eps = 0): LayerRecord {
  const r = emptyRecord(LayerType.RMSNorm);
  r.normSize = n;
  r.epsilon = Math.fround(eps);
  r.gamma = gamma ? Float32Array.from(gamma) : null;
  return r;
}

describe.each(['cpu', 'wasm'] as const)('RMSNorm on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('rms_norm fixture: forward matches LOOM and a float64 reference; resave byte-identical', () => {
    const fx = golden('rms_norm');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    const gamma = net.toRecords()[0]?.gamma ?? null;
    const before = tf.memory().numTensors;
    for (const f of fx.forward) {
      const out = net.forward(f.input);
      expectClose(out, f.output, { atol: 1e-6, rtol: 1e-5 });
      expectClose(out, rmsNorm64(f.input.map(Math.fround), 6, gamma), { atol: 1e-5, rtol: 1e-5 });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });
});

describe('RMSNorm gradients and records', () => {
  const cpu: LayerGrads[] = [];
  const input = seeded(10, 3, 2);
  const gamma = seeded(5, 5, 1).map((v) => v + 1);

  test('autodiff matches float64 finite differences (input, gamma) on cpu; eps 0 means 1e-6', async () => {
    await useBackend('cpu');
    const layer = rmsNormKind.fromRecord(record(5, gamma), 'rms');
    cpu.push(checkLayerGradients(layer, (x, [g]) => rmsNorm64(x, 5, g ?? null), input, testContext()));
    expect(layer.loomGradients(cpu[0]?.dparams ?? []).kernel).toBe(cpu[0]?.dparams[0]);
    layer.dispose();
  });

  test('wasm gradients equal cpu within 1e-4', async () => {
    await useBackend('wasm');
    const layer = rmsNormKind.fromRecord(record(5, gamma), 'rms');
    expectSameGrads(autodiff(layer, input, seeded(10, 99), testContext()), cpu[0] as LayerGrads);
    layer.dispose();
    await useBackend('cpu');
  });

  test('round trip, validation, init', () => {
    const layer = rmsNormKind.fromRecord(record(5, gamma, 1e-4), 'rms');
    const copy = rmsNormKind.fromRecord(layer.toRecord(), 'rms');
    const run = (l: typeof layer): number[] => tf.tidy(() => Array.from(l.apply(tf.tensor1d(input), testContext()).dataSync()));
    expect(run(copy)).toEqual(run(layer));
    expect(() => tf.tidy(() => layer.apply(tf.zeros([7]) as tf.Tensor1D, testContext()))).toThrow(ShapeError);
    expect(() => rmsNormKind.fromRecord(record(5, [1]), 'rms')).toThrow(ShapeError);
    layer.dispose();
    copy.dispose();
    const made = rmsNormKind.initFunctions?.[0]?.create([3, 1e-6], Math.random) as LayerRecord;
    expect(made).toMatchObject({ type: 8, normSize: 3, epsilon: Math.fround(1e-6) });
    expect(Array.from(made.gamma ?? [])).toEqual([1, 1, 1]);
    expect(rmsNormKind.initializeWeights(record(2, null), Math.random).gamma).toEqual(Float32Array.from([1, 1]));
  });
});
