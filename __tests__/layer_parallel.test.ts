import * as tf from '@tensorflow/tfjs';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { emptyRecord, type BranchPlacement, type LayerRecord } from '../src/core/layer_record';
import { Activation, LayerType, SOFTMAX_VARIANTS } from '../src/core/types';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { Network } from '../src/network/network';
import { kindByCode, kindByName } from '../layers/index';
import type { GridLayer } from '../layers/layer';
import { golden, expectClose } from './helpers/fixtures';
import { autodiff, checkLayerGradients, dense64, expectSameGrads, seeded, softmax64, testContext, type LayerGrads, type Reference64 } from './helpers/layer_grad_check';

const parallelKind = kindByCode(LayerType.Parallel, 'test');

/** True when a layer type is implemented (not a placeholder of a concurrent helper). */
function runnable(name: string): boolean {
  try {
    const kind = kindByName(name, 'probe');
    const l = kind.fromRecord(emptyRecord(kind.loomType), 'probe');
    const pending = l.summary().detail === 'not executable yet';
    l.dispose();
    return !pending;
  } catch {
    return true;
  }
}

function dense(nIn: number, nOut: number, act: number, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.Dense);
  r.inputHeight = nIn;
  r.outputHeight = nOut;
  r.activation = act;
  r.kernel = Float32Array.from(seeded(nIn * nOut, seed, 0.6));
  r.bias = Float32Array.from(seeded(nOut, seed + 1, 0.2));
  return r;
}

function softmax(): LayerRecord {
  const r = emptyRecord(LayerType.Softmax);
  r.softmaxVariant = SOFTMAX_VARIANTS.indexOf('standard');
  r.temperature = 1;
  return r;
}

function rms(n: number): LayerRecord {
  const r = emptyRecord(LayerType.RMSNorm);
  r.normSize = n;
  r.gamma = Float32Array.from(seeded(n, 31, 0.5).map((v) => v + 1));
  return r;
}

function parallel(branches: LayerRecord[], mode: string, positions: BranchPlacement[] | null = null, grid: [number, number, number] = [0, 0, 0]): LayerRecord {
  const r = emptyRecord(LayerType.Parallel);
  r.parallelBranches = branches;
  r.combineMode = mode;
  r.gridPositions = positions;
  [r.gridOutputRows, r.gridOutputCols, r.gridOutputLayers] = grid;
  return r;
}

const rms64 = (x: ArrayLike<number>, g: ArrayLike<number>, n: number): number[] => {
  const out: number[] = [];
  for (let r = 0; r < x.length / n; r++) {
    const row = Array.from({ length: n }, (_, i) => x[r * n + i] as number);
    const s = Math.sqrt(row.reduce((a, b) => a + b * b, 0) / n + 1e-6);
    row.forEach((v, i) => out.push((v / s) * (g[i] as number)));
  }
  return out;
};

describe.each(['cpu', 'wasm'] as const)('Parallel LOOM fixtures on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('parallel_train_dense: forward, exact branch backward in LOOM layout, byte-identical resave', () => {
    const fx = golden('parallel_train_dense');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    const before = tf.memory().numTensors;
    for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 });
    const b = fx.backward?.[0];
    if (!b) throw new Error('no backward record');
    net.forward(b.input);
    expectClose(net.backward(b.grad_output), b.grad_input, { atol: 1e-6, rtol: 1e-5 }, 'grad input');
    net.kernelGradients().forEach((g, i) => expectClose(g ?? [], b.kernel_gradients[i] ?? [], { atol: 1e-6, rtol: 1e-5 }, `kernel grad ${i}`));
    net.biasGradients().forEach((g, i) => expectClose(g ?? [], b.bias_gradients[i] ?? [], { atol: 1e-6, rtol: 1e-5 }, `bias grad ${i}`));
    expect(tf.memory().numTensors).toBe(before);
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });

  const mixed = ['conv2d', 'rnn', 'lstm'].every(runnable);
  (mixed ? test : test.skip).each(['parallel_concat', 'parallel_add'])('%s: forward matches LOOM; resave keeps what LOOM loses', (name) => {
    const fx = golden(name);
    const net = loadModelFromString(fx.model_json, fx.model_id);
    for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 });
    // LOOM's own resave changes the LSTM branch activation to "relu" (its round trip is lossy); we keep "tanh"
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });

  (runnable('multi_head_attention') ? test : test.skip)('parallel_mha_branch: in-memory LOOM output (we keep HeadDim, LOOM loses it)', () => {
    const fx = golden('parallel_mha_branch');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 });
    expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    net.dispose();
  });
});

// ---------------------------------------------------------------- modes and gradients

interface ModeCase {
  name: string;
  record: LayerRecord;
  batch: number;
  input: number[];
  ref: Reference64;
  loomCompat?: boolean;
}

const d0 = dense(4, 3, Activation.Tanh, 1);
const d1 = dense(4, 3, Activation.Sigmoid, 3);
const d2 = dense(4, 2, Activation.LeakyReLU, 5);
const pos = (branchIndex: number, targetRow: number, targetCol: number, targetLayer = 0): BranchPlacement => ({ branchIndex, targetRow, targetCol, targetLayer });

const CASES: ModeCase[] = [
  {
    name: 'concat (dense, softmax, rms_norm)',
    record: parallel([d0, softmax(), rms(4)], 'concat'),
    batch: 1,
    input: seeded(4, 40, 1.5),
    ref: (x, p) => [...dense64(x, p[0] as Float64Array, p[1] as Float64Array, 4, 3, Activation.Tanh), ...softmax64(x), ...rms64(x, p[2] as Float64Array, 4)],
  },
  {
    name: 'add',
    record: parallel([d0, d1], 'add'),
    batch: 2,
    input: seeded(8, 41, 1.5),
    ref: (x, p) => {
      const a = dense64(x, p[0] as Float64Array, p[1] as Float64Array, 4, 3, Activation.Tanh, 2);
      const b = dense64(x, p[2] as Float64Array, p[3] as Float64Array, 4, 3, Activation.Sigmoid, 2);
      return a.map((v, i) => v + (b[i] as number));
    },
  },
  {
    name: 'avg with a nested add',
    record: parallel([d0, parallel([d1, dense(4, 3, Activation.Linear, 7)], 'add')], 'average'),
    batch: 1,
    input: seeded(4, 42, 1.5),
    ref: (x, p) => {
      const a = dense64(x, p[0] as Float64Array, p[1] as Float64Array, 4, 3, Activation.Tanh);
      const b = dense64(x, p[2] as Float64Array, p[3] as Float64Array, 4, 3, Activation.Sigmoid);
      const c = dense64(x, p[4] as Float64Array, p[5] as Float64Array, 4, 3, Activation.Linear);
      return a.map((v, i) => (v + (b[i] as number) + (c[i] as number)) / 2);
    },
  },
  {
    // branch 1 -> cell 0, branch 0 -> cell 2, branch 2 -> cell 1 (by branchIndex); per-sample blocks
    name: 'grid_scatter honouring branchIndex, B = 2',
    record: parallel([d0, d1, d2], 'grid_scatter', [pos(1, 0, 0), pos(0, 1, 0), pos(2, 0, 1)], [2, 2, 1]),
    batch: 2,
    input: seeded(8, 43, 1.5),
    ref: (x, p) => {
      const a = dense64(x, p[0] as Float64Array, p[1] as Float64Array, 4, 3, Activation.Tanh, 2);
      const b = dense64(x, p[2] as Float64Array, p[3] as Float64Array, 4, 3, Activation.Sigmoid, 2);
      const c = dense64(x, p[4] as Float64Array, p[5] as Float64Array, 4, 2, Activation.LeakyReLU, 2);
      return [0, 1].flatMap((s) => [...b.slice(s * 3, s * 3 + 3), ...c.slice(s * 2, s * 2 + 2), ...a.slice(s * 3, s * 3 + 3)]);
    },
  },
  {
    // LOOM: entry i places branch i whatever its branchIndex (gaps A8)
    name: 'grid_scatter, loomCompat ignores branchIndex',
    record: parallel([d0, d1, d2], 'grid_scatter', [pos(1, 0, 0), pos(0, 1, 0), pos(2, 0, 1)], [2, 2, 1]),
    batch: 1,
    input: seeded(4, 44, 1.5),
    loomCompat: true,
    ref: (x, p) => [
      ...dense64(x, p[0] as Float64Array, p[1] as Float64Array, 4, 3, Activation.Tanh),
      ...dense64(x, p[4] as Float64Array, p[5] as Float64Array, 4, 2, Activation.LeakyReLU),
      ...dense64(x, p[2] as Float64Array, p[3] as Float64Array, 4, 3, Activation.Sigmoid),
    ],
  },
];

describe('Parallel modes: forward and gradients vs float64 finite differences (cpu), wasm within 1e-4', () => {
  const cpu = new Map<string, LayerGrads>();
  const build = (c: ModeCase): GridLayer => parallelKind.fromRecord(c.record, c.name);

  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await useBackend('cpu');
    const layer = build(c);
    cpu.set(c.name, checkLayerGradients(layer, c.ref, c.input, testContext(c.batch, c.loomCompat ?? false)));
    layer.dispose();
  });

  test('wasm gives the same gradients as cpu for every mode', async () => {
    await useBackend('wasm');
    for (const c of CASES) {
      const layer = build(c);
      const ref = cpu.get(c.name) as LayerGrads;
      expectSameGrads(autodiff(layer, c.input, seeded(ref.y.length, 99), testContext(c.batch, c.loomCompat ?? false)), ref);
      layer.dispose();
    }
    await useBackend('cpu');
  });
});

describe('Parallel records and rules', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('grid_scatter positions survive save/load (LOOM drops them, gaps C26); outputs bit-exact', () => {
    const c = CASES[3] as ModeCase;
    const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 1 }, [c.record], { batchSize: 2 });
    const text = saveModelToString(net, 'gs');
    expect(text).toContain('grid_positions');
    const again = loadModelFromString(text, 'gs');
    expect(again.batchSize).toBe(2);
    expect(Array.from(again.forward(c.input))).toEqual(Array.from(net.forward(c.input)));
    expect(saveModelToString(again, 'gs')).toBe(text);
    net.dispose();
    again.dispose();
  });

  test('grid_scatter without positions: branch i at cell i; loomCompat passes the input through as LOOM', () => {
    const layer = parallelKind.fromRecord(parallel([d0, d2], 'grid_scatter'), 'gs');
    const x = seeded(8, 50);
    const out = tf.tidy(() => Array.from(layer.apply(tf.tensor1d(x), testContext(2)).dataSync()));
    const p = layer.params.map((q) => Array.from(q.variable.dataSync()));
    const a = dense64(x, p[0] as number[], p[1] as number[], 4, 3, Activation.Tanh, 2);
    const b = dense64(x, p[2] as number[], p[3] as number[], 4, 2, Activation.LeakyReLU, 2);
    expectClose(out, [...a.slice(0, 3), ...b.slice(0, 2), ...a.slice(3), ...b.slice(2)], { atol: 1e-6 });
    const through = tf.tidy(() => Array.from(layer.apply(tf.tensor1d(x), testContext(2, true)).dataSync()));
    expect(through).toEqual(x);
    layer.dispose();
  });

  test('errors: unknown combine mode, unequal add, position outside the grid', () => {
    expect(() => parallelKind.fromRecord(parallel([d0], 'max'), 'p')).toThrow(ConfigError);
    const add = parallelKind.fromRecord(parallel([d0, d2], 'add'), 'p');
    expect(() => tf.tidy(() => add.apply(tf.zeros([4]) as tf.Tensor1D, testContext()))).toThrow(ShapeError);
    add.dispose();
    const gs = parallelKind.fromRecord(parallel([d0], 'grid_scatter', [pos(0, 3, 0)], [1, 1, 1]), 'p');
    expect(() => tf.tidy(() => gs.apply(tf.zeros([4]) as tf.Tensor1D, testContext()))).toThrow(ConfigError);
    gs.dispose();
  });

  test('params, LOOM gradient layout, InitializeWeights recursion, InitParallelLayer', () => {
    const layer = parallelKind.fromRecord(parallel([d0, parallel([d1, softmax()], 'concat')], 'concat'), 'p');
    expect(layer.params.map((p) => p.name)).toEqual(['branch0.kernel', 'branch0.bias', 'branch1.branch0.kernel', 'branch1.branch0.bias']);
    const grads = layer.params.map((p, i) => new Float32Array(p.variable.size).fill(i + 1));
    const g = layer.loomGradients(grads);
    expect(Array.from(g.kernel ?? [])).toEqual([...new Array(12).fill(1), ...new Array(12).fill(3)]);
    expect(Array.from(g.bias ?? [])).toEqual([...new Array(3).fill(2), ...new Array(3).fill(4)]);
    layer.dispose();
    const bare = parallel([{ ...emptyRecord(LayerType.Dense), inputHeight: 2, outputHeight: 2 }, parallel([{ ...emptyRecord(LayerType.RMSNorm), normSize: 2 }], 'add')], 'concat');
    const init = parallelKind.initializeWeights(bare, () => 0.5);
    expect(init.parallelBranches?.[0]?.kernel?.length).toBe(4);
    expect(Array.from(init.parallelBranches?.[1]?.parallelBranches?.[0]?.gamma ?? [])).toEqual([1, 1]);
    const made = parallelKind.initFunctions?.[0]?.create([[d0, d1], 'add'], Math.random) as LayerRecord;
    expect(made).toMatchObject({ type: 10, combineMode: 'add' });
    expect(made.parallelBranches?.length).toBe(2);
  });
});
