import * as tf from '@tensorflow/tfjs';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { Network } from '../src/network/network';
import { layerNormKind } from '../layers/layer_norm';
import { golden, expectClose } from './helpers/fixtures';
import { autodiff, checkLayerGradients, expectSameGrads, seeded, testContext, type LayerGrads } from './helpers/layer_grad_check';

/** float64 LayerNorm of every row. */
function layerNorm64(x: ArrayLike<number>, n: number, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, eps = 1e-5): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from({ length: n }, (_, i) => x[r * n + i] as number);
    const mean = row.reduce((a, b) => a + b, 0) / n;
    const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    row.forEach((val, i) => out.push(((val - mean) / Math.sqrt(v + eps)) * (gamma ? (gamma[i] as number) : 1) + (beta ? (beta[i] as number) : 0)));
  }
  return out;
}

function record(n: number, gamma: number[] | null, beta: number[] | null, eps = 1e-5): LayerRecord {
  const r = emptyRecord(LayerType.LayerNorm);
  r.normSize = n;
  r.epsilon = Math.fround(eps);
  r.gamma = gamma ? Float32Array.from(gamma) : null;
  r.beta = beta ? Float32Array.from(beta) : null;
  return r;
}

describe.each(['cpu', 'wasm'] as const)('LayerNorm on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('layer_norm fixture: loomCompat reproduces LOOM (rows past BatchSize are 0); resave is byte-identical', () => {
    const fx = golden('layer_norm');
    const net = loadModelFromString(fx.model_json, fx.model_id, { loomCompat: true });
    const before = tf.memory().numTensors;
    for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });

  test('default normalises every row (gaps A4 fixed): float64 reference, LOOM rows identical', () => {
    const fx = golden('layer_norm');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    const rec = net.toRecords()[0] as LayerRecord;
    for (const f of fx.forward) {
      const out = net.forward(f.input);
      expectClose(out, layerNorm64(f.input.map(Math.fround), 6, rec.gamma, rec.beta), { atol: 1e-5, rtol: 1e-5 });
      expectClose(out.slice(0, 12), f.output.slice(0, 12), { atol: 1e-6, rtol: 1e-5 });
    }
    net.dispose();
  });
});

describe('LayerNorm gradients and records', () => {
  const cpu: LayerGrads[] = [];
  const input = seeded(12, 3, 2);
  const gamma = seeded(4, 5, 1).map((v) => v + 1);
  const beta = seeded(4, 6, 0.5);

  test('autodiff matches float64 finite differences (input, gamma, beta) on cpu', async () => {
    await useBackend('cpu');
    const layer = layerNormKind.fromRecord(record(4, gamma, beta, 1e-3), 'ln');
    cpu.push(checkLayerGradients(layer, (x, [g, b]) => layerNorm64(x, 4, g ?? null, b ?? null, Math.fround(1e-3)), input, testContext(3)));
    expect(layer.loomGradients(cpu[0]?.dparams ?? [])).toEqual({ kernel: cpu[0]?.dparams[0], bias: cpu[0]?.dparams[1] });
    layer.dispose();
  });

  test('wasm gradients equal cpu within 1e-4', async () => {
    await useBackend('wasm');
    const layer = layerNormKind.fromRecord(record(4, gamma, beta, 1e-3), 'ln');
    expectSameGrads(autodiff(layer, input, seeded(12, 99), testContext(3)), cpu[0] as LayerGrads);
    layer.dispose();
    await useBackend('cpu');
  });

  test('save/load bit-exact, ext loomCompat flag, validation, init', () => {
    const r = record(4, gamma, beta);
    r.ext = { loomCompat: true };
    const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 1 }, [r], { batchSize: 1 });
    const out = net.forward(input);
    expect(Array.from(out.slice(4))).toEqual(new Array(8).fill(0)); // per-layer LOOM quirk on
    const again = loadModelFromString(saveModelToString(net, 'x'), 'x', { batchSize: 1 });
    expect(Array.from(again.forward(input))).toEqual(Array.from(out));
    expect(again.toRecords()[0]?.ext).toEqual({ loomCompat: true });
    net.dispose();
    again.dispose();
    expect(() => layerNormKind.fromRecord(record(4, [1, 2], null), 'ln')).toThrow(ShapeError);
    expect(() => layerNormKind.fromRecord(record(0, null, null), 'ln')).toThrow(ConfigError);
    const l = layerNormKind.fromRecord(record(4, null, null), 'ln');
    expect(() => tf.tidy(() => l.apply(tf.zeros([6]) as tf.Tensor1D, testContext()))).toThrow(ShapeError);
    const init = layerNormKind.initFunctions?.find((f) => f.name === 'InitLayerNormLayer');
    const made = init?.create([4, 1e-5], Math.random) as LayerRecord;
    expect(made).toMatchObject({ type: 6, normSize: 4, epsilon: Math.fround(1e-5) });
    expect(Array.from(made.gamma ?? [])).toEqual([1, 1, 1, 1]);
    expect(Array.from(made.beta ?? [])).toEqual([0, 0, 0, 0]);
  });

  test("LOOM residual wiring: RMSNorm -> LayerNorm normalises rms(x) + x (network.md 4)", () => {
    const rms = emptyRecord(LayerType.RMSNorm);
    rms.normSize = 2;
    const ln = record(2, null, null);
    const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 2 }, [rms, ln]);
    const r = Math.sqrt((1 + 9) / 2 + 1e-6);
    expectClose(net.forward([1, 3]), layerNorm64([1 / r + 1, 3 / r + 3], 2, null, null), { atol: 1e-5 });
    net.dispose();
  });
});
