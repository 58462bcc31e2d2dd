import * as tf from '@tensorflow/tfjs';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { useBackend } from '../src/backends';
import { ShapeError } from '../src/core/errors';
import { swigluKind } from '../layers/swiglu';
import { golden, expectClose } from './helpers/fixtures';
import { autodiff, checkLayerGradients, expectSameGrads, seeded, testContext, type LayerGrads } from './helpers/layer_grad_check';

/** float64 SwiGLU; params in the layer's order: gate, up, down, gateBias, upBias, downBias. */
function swiglu64(x: ArrayLike<number>, p: readonly ArrayLike<number>[], d: number, m: number): number[] {
  const [wg, wu, wd, bg, bu, bd] = p as [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>];
  const out: number[] = [];
  for (let s = 0; s < x.length / d; s++) {
    const h: number[] = [];
    for (let j = 0; j < m; j++) {
      let g = bg[j] as number;
      let u = bu[j] as number;
      for (let i = 0; i < d; i++) {
        g += (x[s * d + i] as number) * (wg[i * m + j] as number);
        u += (x[s * d + i] as number) * (wu[i * m + j] as number);
      }
      h.push((g / (1 + Math.exp(-g))) * u);
    }
    for (let i = 0; i < d; i++) {
      let y = bd[i] as number;
      for (let j = 0; j < m; j++) y += (h[j] as number) * (wd[j * d + i] as number);
      out.push(y);
    }
  }
  return out;
}

function record(d: number, m: number, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.SwiGLU);
  r.inputHeight = d;
  r.outputHeight = m;
  r.gateWeights = Float32Array.from(seeded(d * m, seed, 0.5));
  r.upWeights = Float32Array.from(seeded(d * m, seed + 1, 0.5));
  r.downWeights = Float32Array.from(seeded(m * d, seed + 2, 0.5));
  r.gateBias = Float32Array.from(seeded(m, seed + 3, 0.2));
  r.upBias = Float32Array.from(seeded(m, seed + 4, 0.2));
  r.downBias = Float32Array.from(seeded(d, seed + 5, 0.2));
  return r;
}

describe.each(['cpu', 'wasm'] as const)('SwiGLU on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('swiglu fixture: forward matches LOOM and a float64 reference; resave byte-identical', () => {
    const fx = golden('swiglu');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    const layer = net.layerAt(0);
    const params = layer?.params.map((p) => Array.from(p.variable.dataSync())) ?? [];
    const before = tf.memory().numTensors;
    for (const f of fx.forward) {
      const out = net.forward(f.input);
      expectClose(out, f.output, { atol: 1e-6, rtol: 1e-5 });
      expectClose(out, swiglu64(f.input.map(Math.fround), params, 6, 10), { atol: 1e-5, rtol: 1e-5 });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });
});

describe('SwiGLU gradients and records', () => {
  const cpu: LayerGrads[] = [];
  const input = seeded(8, 3, 1.5);

  test('autodiff matches float64 finite differences (input and all six tensors) on cpu', async () => {
    await useBackend('cpu');
    const layer = swigluKind.fromRecord(record(4, 3, 10), 'swiglu');
    cpu.push(checkLayerGradients(layer, (x, p) => swiglu64(x, p, 4, 3), input, testContext()));
    const g = layer.loomGradients(cpu[0]?.dparams ?? []);
    expect(g.kernel?.length).toBe(4 * 3 * 3);
    expect(g.bias?.length).toBe(3 + 3 + 4);
    layer.dispose();
  });

  test('wasm gradients equal cpu within 1e-4', async () => {
    await useBackend('wasm');
    const layer = swigluKind.fromRecord(record(4, 3, 10), 'swiglu');
    expectSameGrads(autodiff(layer, input, seeded(8, 99), testContext()), cpu[0] as LayerGrads);
    layer.dispose();
    await useBackend('cpu');
  });

  test('round trip, validation, init, InitializeWeights', () => {
    const layer = swigluKind.fromRecord(record(4, 3, 10), 'swiglu');
    const copy = swigluKind.fromRecord(layer.toRecord(), 'swiglu');
    const run = (l: typeof layer): number[] => tf.tidy(() => Array.from(l.apply(tf.tensor1d(input), testContext()).dataSync()));
    expect(run(copy)).toEqual(run(layer));
    expect(() => tf.tidy(() => layer.apply(tf.zeros([5]) as tf.Tensor1D, testContext()))).toThrow(ShapeError);
    layer.dispose();
    copy.dispose();
    const bad = record(4, 3, 1);
    bad.upBias = null;
    expect(() => swigluKind.fromRecord(bad, 'swiglu')).toThrow(ShapeError);
    const made = swigluKind.initFunctions?.[0]?.create([4, 6], Math.random) as LayerRecord;
    expect(made).toMatchObject({ type: 9, inputHeight: 4, outputHeight: 6 });
    expect([made.gateWeights?.length, made.upWeights?.length, made.downWeights?.length, made.downBias?.length]).toEqual([24, 24, 24, 4]);
    const init = swigluKind.initializeWeights({ ...emptyRecord(LayerType.SwiGLU), inputHeight: 2, outputHeight: 3 }, Math.random);
    expect(Array.from(init.gateWeights ?? []).every((v) => Math.abs(v) <= 0.1)).toBe(true);
    expect(Array.from(init.gateBias ?? [])).toEqual([0, 0, 0]);
  });
});
