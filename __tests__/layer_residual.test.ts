import * as tf from '@tensorflow/tfjs';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { Activation, LayerType } from '../src/core/types';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { Network, type NetworkOptions } from '../src/network/network';
import { residualKind } from '../layers/residual';
import { golden, expectClose } from './helpers/fixtures';
import { act64, dense64, finiteDifferences, seeded } from './helpers/layer_grad_check';

const GRID = { rows: 1, cols: 1, layersPerCell: 3 };

function dense(nIn: number, nOut: number, act: number, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.Dense);
  r.inputHeight = nIn;
  r.outputHeight = nOut;
  r.activation = act;
  r.kernel = Float32Array.from(seeded(nIn * nOut, seed, 0.6));
  r.bias = Float32Array.from(seeded(nOut, seed + 1, 0.2));
  return r;
}

function residual(skip: number, act: number = Activation.Linear): LayerRecord {
  const r = emptyRecord(LayerType.Residual);
  r.residualSkip = skip;
  r.activation = act;
  return r;
}

/** Dense(tanh) -> Dense(sigmoid) -> Residual(skip, leaky): y = leaky(d2) + (skip 1: d1, skip 2: x). */
function net64(x: ArrayLike<number>, p: readonly ArrayLike<number>[], skip: number): number[] {
  const h1 = dense64(x, p[0] as ArrayLike<number>, p[1] as ArrayLike<number>, 4, 4, Activation.Tanh);
  const h2 = dense64(h1, p[2] as ArrayLike<number>, p[3] as ArrayLike<number>, 4, 4, Activation.Sigmoid);
  const src = skip === 1 ? h1 : skip === 2 ? Array.from(x) : new Array<number>(4).fill(0);
  return h2.map((v, i) => act64(Activation.LeakyReLU, v) + (src[i] as number));
}

function makeNet(skip: number, options: NetworkOptions = {}): Network {
  return Network.fromRecords(GRID, [dense(4, 4, Activation.Tanh, 1), dense(4, 4, Activation.Sigmoid, 3), residual(skip, Activation.LeakyReLU)], options);
}

describe.each(['cpu', 'wasm'] as const)('Residual on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('residual_layer_type fixture: loads (LOOM cannot), skip 0 = element-wise activation as LOOM, resave identical', () => {
    const fx = golden('residual_layer_type');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    const before = tf.memory().numTensors;
    for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });

  test.each([1, 2])('skip %i: forward and exact gradients (input and every weight) vs float64 finite differences', (skip) => {
    const net = makeNet(skip);
    const x = seeded(4, 7, 1.5);
    const g = seeded(4, 8);
    const params = net.trainableVariables().map((v) => Array.from(v.dataSync()));
    const fd = finiteDifferences((xx, p) => net64(xx, p, skip), x, params, g);
    const before = tf.memory().numTensors;
    expectClose(net.forward(x), fd.y, { atol: 1e-5, rtol: 1e-5 }, 'forward');
    expectClose(net.backward(g), fd.dx, { atol: 1e-4, rtol: 1e-3 }, 'd input');
    expect(tf.memory().numTensors).toBe(before);
    [0, 1].forEach((layer) =>
      (net.parameterGradients(layer) ?? []).forEach((gr, j) => expectClose(gr, fd.dparams[layer * 2 + j] as Float64Array, { atol: 1e-4, rtol: 1e-3 }, `layer ${layer} param ${j}`)),
    );
    net.dispose();
  });
});

describe('Residual semantics and records', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('loomCompat ignores the skip (LOOM never read ResidualSkip, gaps A5)', () => {
    const net = makeNet(2, { loomCompat: true });
    const x = seeded(4, 7, 1.5);
    const params = net.trainableVariables().map((v) => Array.from(v.dataSync()));
    expectClose(net.forward(x), net64(x, params, 0), { atol: 1e-5 });
    net.dispose();
  });

  test('save/load keeps the skip (extra key) and reproduces outputs bit for bit', () => {
    const net = makeNet(2);
    const x = seeded(4, 9);
    const text = saveModelToString(net, 'res');
    expect(text).toContain('residual_skip');
    const again = loadModelFromString(text, 'res');
    expect(Array.from(again.forward(x))).toEqual(Array.from(net.forward(x)));
    expect(saveModelToString(again, 'res')).toBe(text);
    net.dispose();
    again.dispose();
  });

  test('errors: skip before the network input, size mismatch, negative skip', () => {
    const tooFar = makeNet(3);
    expect(() => tooFar.forward(seeded(4, 1))).toThrow(ConfigError);
    tooFar.dispose();
    const mismatch = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 2 }, [dense(4, 3, Activation.Tanh, 1), residual(1)]);
    expect(() => mismatch.forward(seeded(4, 1))).toThrow(ShapeError);
    mismatch.dispose();
    expect(() => residualKind.fromRecord(residual(-1), 'r')).toThrow(ConfigError);
  });

  test('InitResidualLayer(skip): linear activation, so y = x + skip source', () => {
    const r = residualKind.initFunctions?.[0]?.create([1], Math.random) as LayerRecord;
    expect(r).toMatchObject({ type: 7, residualSkip: 1, activation: Activation.Linear });
    const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 2 }, [dense(3, 3, Activation.Tanh, 5), r]);
    const x = [0.5, -1, 2];
    const p = net.trainableVariables().map((v) => Array.from(v.dataSync()));
    const h = dense64(x, p[0] as number[], p[1] as number[], 3, 3, Activation.Tanh);
    expectClose(net.forward(x), h.map((v, i) => v + (x[i] as number)), { atol: 1e-6 });
    net.dispose();
  });
});
