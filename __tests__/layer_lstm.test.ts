import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { useBackend } from '../src/backends';
import { ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { LSTM_GATES, lstmKind } from '../layers/lstm';
import { golden, expectClose } from './helpers/fixtures';
import { chain, checkAgainstReference, layerGrads, lstmRef, rngOf, seeded, tensorCount, type RecDims } from './helpers/conv_mha_rnn_ref';

const gateFields = (g: string) => [`weightIH_${g}`, `weightHH_${g}`, `biasH_${g}`] as const;

function lstmRecord(d: RecDims, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.LSTM);
  Object.assign(r, { activation: 2, rnnInputSize: d.I, hiddenSize: d.H, seqLength: d.S });
  const rec = r as unknown as Record<string, unknown>;
  LSTM_GATES.forEach((g, k) => {
    const [ih, hh, b] = gateFields(g);
    rec[ih] = seeded(d.H * d.I, seed + 3 * k, 0.7);
    rec[hh] = seeded(d.H * d.H, seed + 3 * k + 1, 0.7);
    rec[b] = seeded(d.H, seed + 3 * k + 2, 0.4);
  });
  return r;
}

/** The 12 weight arrays in LOOM's gradient order (per gate: W_ih, W_hh, b). */
function lstmParams(r: LayerRecord): Float32Array[] {
  const rec = r as unknown as Record<string, Float32Array>;
  return LSTM_GATES.flatMap((g) => gateFields(g).map((f) => rec[f] as Float32Array));
}

const CASES: Record<string, RecDims> = {
  'batch 2, seq 3, 2 -> 3': { B: 2, S: 3, I: 2, H: 3 },
  'batch 1, seq 4, 3 -> 2': { B: 1, S: 4, I: 3, H: 2 },
};

function caseGrads(d: RecDims, seed: number) {
  const r = lstmRecord(d, seed);
  const x = seeded(d.B * d.S * d.I, seed + 20);
  const g = seeded(d.B * d.S * d.H, seed + 21);
  return { r, x, g, got: layerGrads(r, x, g, d.B) };
}

describe.each(['cpu', 'wasm'] as const)('LSTM golden fixture on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('forward and layer outputs match LOOM, resave is byte-identical', () => {
    const fx = golden('lstm');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    try {
      for (const f of fx.forward) {
        expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 }, 'lstm output');
        const acts = net.getActivations();
        f.layer_outputs?.forEach((lo, i) => expectClose(acts[i + 1] as Float32Array, lo, { atol: 1e-6, rtol: 1e-5 }, `layer ${i}`));
      }
      expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    } finally {
      net.dispose();
    }
  });
});

describe('LSTM gradients against a float64 reference (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test.each(Object.entries(CASES))('%s', (_name, d) => {
    const { r, x, g, got } = caseGrads(d, 71);
    checkAgainstReference('lstm', lstmRef(d), x, lstmParams(r), g, got);
    // LOOM's layout: 12 blocks [dWIH_i, dWHH_i, db_i, dWIH_f, ...], no bias entry
    expect(Array.from(got.kernel!)).toEqual(got.params.flatMap((p) => Array.from(p)));
    expect(got.bias).toBeNull();
  });
});

describe('LSTM on wasm agrees with cpu', () => {
  test.each(Object.entries(CASES))('%s', async (_name, d) => {
    await useBackend('cpu');
    const cpu = caseGrads(d, 81).got;
    await useBackend('wasm');
    const wasm = caseGrads(d, 81).got;
    await useBackend('cpu');
    const tol = { atol: 1e-4, rtol: 1e-4 };
    expectClose(wasm.output, cpu.output, tol, 'output');
    expectClose(wasm.input, cpu.input, tol, 'dx');
    expectClose(wasm.kernel!, cpu.kernel!, tol, 'kernel grads');
  });
});

describe('LSTM layer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('save then load reproduces outputs bit for bit; no tensor leaks', () => {
    const d = CASES['batch 2, seq 3, 2 -> 3'] as RecDims;
    const before = tensorCount();
    const net = chain([lstmRecord(d, 3)], d.B);
    const x = seeded(d.B * d.S * d.I, 4);
    const afterBuild = tensorCount();
    const y = net.forward(x);
    net.backward(seeded(y.length, 5));
    const text = saveModelToString(net, 'l');
    expect(tensorCount()).toBe(afterBuild);
    const again = loadModelFromString(text, 'l');
    expect(Array.from(again.forward(x))).toEqual(Array.from(y));
    net.dispose();
    again.dispose();
    expect(tensorCount()).toBe(before);
  });

  test('typed errors', () => {
    const d = CASES['batch 2, seq 3, 2 -> 3'] as RecDims;
    const r = lstmRecord(d, 1);
    expect(() => lstmKind.fromRecord({ ...r, weightHH_g: new Float32Array(2) }, 'lstm at layer 0')).toThrow(
      /lstm at layer 0: weightHH_g has 2 values, expected \[H=3\]\[H=3\] = 9/,
    );
    expect(() => lstmKind.fromRecord({ ...r, biasH_o: null }, 'w')).toThrow(/not biasH_o/);
    const net = chain([r], 2);
    expect(() => net.forward(new Float32Array(6))).toThrow(ShapeError);
    net.dispose();
  });

  test('InitLSTMLayer: forget bias 1, others 0, tanh; InitializeWeights: all biases 0', () => {
    const init = lstmKind.initFunctions?.find((f) => f.name === 'InitLSTMLayer');
    expect(init?.argTypes).toEqual(['int', 'int', 'int', 'int']);
    const r = init!.create([3, 2, 1, 4], rngOf(9));
    expect([r.activation, r.rnnInputSize, r.hiddenSize, r.seqLength]).toEqual([2, 3, 2, 4]);
    expect(Array.from(r.biasH_f!)).toEqual([1, 1]);
    expect([...r.biasH_i!, ...r.biasH_g!, ...r.biasH_o!]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([r.weightIH_o!.length, r.weightHH_o!.length]).toEqual([6, 4]);
    const w = lstmKind.initializeWeights({ ...emptyRecord(LayerType.LSTM), rnnInputSize: 3, hiddenSize: 2, seqLength: 4 }, rngOf(2));
    expect(lstmParams(w).map((a) => a.length)).toEqual([6, 4, 2, 6, 4, 2, 6, 4, 2, 6, 4, 2]);
    expect(w.biasH_f!.every((v) => v === 0) && w.weightIH_i!.every((v) => Math.abs(v) <= 0.1)).toBe(true);
    const layer = lstmKind.fromRecord(w, 'init');
    expect(layer.params.map((p) => p.name).slice(0, 4)).toEqual(['weightIH_i', 'weightHH_i', 'biasH_i', 'weightIH_f']);
    layer.dispose();
  });
});
