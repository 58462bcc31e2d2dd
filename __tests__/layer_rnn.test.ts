import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { rnnKind } from '../layers/rnn';
import { golden, expectClose } from './helpers/fixtures';
import { chain, checkAgainstReference, layerGrads, rngOf, rnnRef, seeded, tensorCount, type RecDims } from './helpers/conv_mha_rnn_ref';

function rnnRecord(d: RecDims, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.RNN);
  Object.assign(r, { activation: 0, rnnInputSize: d.I, hiddenSize: d.H, seqLength: d.S });
  r.weightIH = seeded(d.H * d.I, seed, 0.7);
  r.weightHH = seeded(d.H * d.H, seed + 1, 0.7);
  r.biasH = seeded(d.H, seed + 2, 0.3);
  return r;
}

const CASES: Record<string, RecDims> = {
  'batch 2, seq 3, 3 -> 4': { B: 2, S: 3, I: 3, H: 4 },
  'batch 1, seq 5, 1 -> 2': { B: 1, S: 5, I: 1, H: 2 },
};

function caseGrads(d: RecDims, seed: number) {
  const r = rnnRecord(d, seed);
  const x = seeded(d.B * d.S * d.I, seed + 3);
  const g = seeded(d.B * d.S * d.H, seed + 4);
  return { r, x, g, got: layerGrads(r, x, g, d.B) };
}

describe.each(['cpu', 'wasm'] as const)('RNN golden fixture on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('forward and layer outputs match LOOM, resave is byte-identical', () => {
    const fx = golden('rnn');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    try {
      for (const f of fx.forward) {
        expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 }, 'rnn output');
        const acts = net.getActivations();
        f.layer_outputs?.forEach((lo, i) => expectClose(acts[i + 1] as Float32Array, lo, { atol: 1e-6, rtol: 1e-5 }, `layer ${i}`));
      }
      expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    } finally {
      net.dispose();
    }
  });

  test('layers.md 3.4 example: forward as LOOM, gradients as textbook BPTT (LOOM gives db 0.6905, gaps.md B14)', () => {
    const r = emptyRecord(LayerType.RNN);
    Object.assign(r, { rnnInputSize: 1, hiddenSize: 1, seqLength: 2 });
    Object.assign(r, { weightIH: Float32Array.of(1), weightHH: Float32Array.of(0.5), biasH: Float32Array.of(0) });
    const got = layerGrads(r, Float32Array.of(1, 1), Float32Array.of(0, 1));
    expectClose(got.output, [0.7615942, 0.8811296]);
    const h1 = Math.tanh(1);
    const h2 = Math.tanh(1 + 0.5 * h1);
    const gp2 = 1 - h2 * h2;
    const gp1 = 0.5 * gp2 * (1 - h1 * h1);
    const tol = { atol: 1e-6, rtol: 1e-5 };
    expectClose(got.input, [gp1, gp2], tol, 'dx');
    expectClose(got.kernel!, [gp1 + gp2, gp2 * h1, gp1 + gp2], tol, 'kernel grads (dWIH, dWHH, db)');
    expect(got.bias).toBeNull();
    expect(Math.abs(gp1 + gp2 - 0.2705)).toBeLessThan(1e-4); // the spec's textbook value, truncated
  });
});

describe('RNN gradients against a float64 reference (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test.each(Object.entries(CASES))('%s', (_name, d) => {
    const { r, x, g, got } = caseGrads(d, 51);
    checkAgainstReference('rnn', rnnRef(d), x, [r.weightIH!, r.weightHH!, r.biasH!], g, got);
    expect(Array.from(got.kernel!)).toEqual([...got.params[0]!, ...got.params[1]!, ...got.params[2]!]);
  });
});

describe('RNN on wasm agrees with cpu', () => {
  test.each(Object.entries(CASES))('%s', async (_name, d) => {
    await useBackend('cpu');
    const cpu = caseGrads(d, 61).got;
    await useBackend('wasm');
    const wasm = caseGrads(d, 61).got;
    await useBackend('cpu');
    const tol = { atol: 1e-4, rtol: 1e-4 };
    expectClose(wasm.output, cpu.output, tol, 'output');
    expectClose(wasm.input, cpu.input, tol, 'dx');
    expectClose(wasm.kernel!, cpu.kernel!, tol, 'kernel grads');
  });
});

describe('RNN layer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('always tanh, whatever the stored activation; save/load bit for bit; no leaks', () => {
    const d = CASES['batch 2, seq 3, 3 -> 4'] as RecDims;
    const before = tensorCount();
    const r = rnnRecord(d, 7);
    const net = chain([r], d.B);
    const x = seeded(d.B * d.S * d.I, 8);
    const afterBuild = tensorCount();
    const y = net.forward(x);
    expectClose(y, rnnRef(d)(Float64Array.from(x), [r.weightIH!, r.weightHH!, r.biasH!].map((a) => Float64Array.from(a))), { atol: 1e-6, rtol: 1e-5 });
    net.backward(seeded(y.length, 9));
    const text = saveModelToString(net, 'r');
    expect(tensorCount()).toBe(afterBuild);
    const again = loadModelFromString(text, 'r');
    expect(Array.from(again.forward(x))).toEqual(Array.from(y));
    net.dispose();
    again.dispose();
    expect(tensorCount()).toBe(before);
  });

  test('typed errors', () => {
    const d = CASES['batch 2, seq 3, 3 -> 4'] as RecDims;
    const r = rnnRecord(d, 1);
    expect(() => rnnKind.fromRecord({ ...r, weightHH: new Float32Array(3) }, 'rnn at layer 0')).toThrow(
      /rnn at layer 0: weightHH has 3 values, expected \[H=4\]\[H=4\] = 16/,
    );
    expect(() => rnnKind.fromRecord({ ...r, biasH: null }, 'w')).toThrow(ShapeError);
    expect(() => rnnKind.fromRecord({ ...r, hiddenSize: -1 }, 'w')).toThrow(ConfigError);
    const net = chain([r], 1);
    expect(() => net.forward(new Float32Array(5))).toThrow(ShapeError);
    net.dispose();
  });

  test('InitRNNLayer(inputSize, hiddenSize, batchSize, seqLength) and InitializeWeights', () => {
    const init = rnnKind.initFunctions?.find((f) => f.name === 'InitRNNLayer');
    expect(init?.argTypes).toEqual(['int', 'int', 'int', 'int']);
    const r = init!.create([3, 4, 7, 5], rngOf(2));
    expect([r.activation, r.rnnInputSize, r.hiddenSize, r.seqLength, r.weightIH!.length, r.weightHH!.length]).toEqual([2, 3, 4, 5, 12, 16]);
    expect(Array.from(r.biasH!)).toEqual([0, 0, 0, 0]);
    const w = rnnKind.initializeWeights({ ...r, weightIH: null, weightHH: null, biasH: null }, rngOf(3));
    expect(w.weightIH!.every((v) => Math.abs(v) <= 0.1) && w.weightHH!.length === 16 && w.biasH!.every((v) => v === 0)).toBe(true);
  });
});
