import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { conv2dKind, Conv2DLayer } from '../layers/conv2d';
import { golden, expectClose } from './helpers/fixtures';
import { chain, checkAgainstReference, conv2dRef, layerGrads, rngOf, seeded, tensorCount, type ConvDims } from './helpers/conv_mha_rnn_ref';

function convRecord(d: ConvDims, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.Conv2D);
  Object.assign(r, {
    activation: d.act,
    inputHeight: d.H,
    inputWidth: d.W,
    inputChannels: d.C,
    filters: d.F,
    kernelSize: d.k,
    stride: d.s,
    padding: d.p,
    outputHeight: d.OH,
    outputWidth: d.OW,
  });
  r.kernel = seeded(d.F * d.C * d.k * d.k, seed, 0.5);
  r.bias = seeded(d.F, seed + 1, 0.3);
  return r;
}

const CASES: Record<string, ConvDims> = {
  'stride 2, padding 1, natural size, tanh, batch 2': { B: 2, C: 2, H: 5, W: 4, F: 3, k: 3, s: 2, p: 1, OH: 3, OW: 2, act: 2 },
  'configured output larger than natural (bias-only border), sigmoid': { B: 1, C: 2, H: 4, W: 3, F: 2, k: 3, s: 1, p: 1, OH: 5, OW: 4, act: 1 },
  'configured output smaller than natural (cropped), linear': { B: 2, C: 1, H: 5, W: 5, F: 2, k: 2, s: 1, p: 0, OH: 2, OW: 3, act: 5 },
  'k larger than stride with padding 2, softplus': { B: 1, C: 3, H: 3, W: 3, F: 1, k: 2, s: 3, p: 2, OH: 3, OW: 2, act: 3 },
};

function caseGrads(d: ConvDims, seed: number) {
  const r = convRecord(d, seed);
  const x = seeded(d.B * d.C * d.H * d.W, seed + 2);
  const g = seeded(d.B * d.F * d.OH * d.OW, seed + 3);
  return { r, x, g, got: layerGrads(r, x, g, d.B) };
}

describe.each(['cpu', 'wasm'] as const)('Conv2D golden fixture on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('forward and layer outputs match LOOM, resave is byte-identical', () => {
    const fx = golden('conv2d');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    try {
      for (const f of fx.forward) {
        expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 }, 'conv2d output');
        const acts = net.getActivations();
        f.layer_outputs?.forEach((lo, i) => expectClose(acts[i + 1] as Float32Array, lo, { atol: 1e-6, rtol: 1e-5 }, `layer ${i}`));
      }
      expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    } finally {
      net.dispose();
    }
  });

  test("backward matches LOOM's (exact for Conv2D and Dense)", () => {
    const fx = golden('conv2d');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    try {
      for (const b of fx.backward ?? []) {
        net.forward(b.input);
        const tol = { atol: 1e-5, rtol: 1e-4 };
        expectClose(net.backward(b.grad_output), b.grad_input, tol, 'grad_input');
        const kg = net.kernelGradients();
        const bg = net.biasGradients();
        b.kernel_gradients.forEach((k, i) => k && expectClose(kg[i] as Float32Array, k, tol, `kernel grad ${i}`));
        b.bias_gradients.forEach((k, i) => k && expectClose(bg[i] as Float32Array, k, tol, `bias grad ${i}`));
      }
    } finally {
      net.dispose();
    }
  });
});

describe('Conv2D gradients against a float64 reference (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test.each(Object.entries(CASES))('%s', (_name, d) => {
    const { r, x, g, got } = caseGrads(d, 11);
    checkAgainstReference('conv2d', conv2dRef(d), x, [r.kernel!, r.bias!], g, {
      output: got.output,
      input: got.input,
      params: [got.kernel!, got.bias!],
    });
  });
});

describe('Conv2D on wasm agrees with cpu', () => {
  test.each(Object.entries(CASES))('%s', async (_name, d) => {
    await useBackend('cpu');
    const cpu = caseGrads(d, 21).got;
    await useBackend('wasm');
    const wasm = caseGrads(d, 21).got;
    await useBackend('cpu');
    const tol = { atol: 1e-4, rtol: 1e-4 };
    expectClose(wasm.output, cpu.output, tol, 'output');
    expectClose(wasm.input, cpu.input, tol, 'dx');
    expectClose(wasm.kernel!, cpu.kernel!, tol, 'dK');
    expectClose(wasm.bias!, cpu.bias!, tol, 'db');
  });
});

describe('Conv2D layer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('save then load reproduces outputs bit for bit; no tensor leaks', () => {
    const d = CASES['stride 2, padding 1, natural size, tanh, batch 2'] as ConvDims;
    const before = tensorCount();
    const net = chain([convRecord(d, 5)], d.B);
    const x = seeded(d.B * d.C * d.H * d.W, 6);
    const afterBuild = tensorCount();
    const y = net.forward(x);
    expect(tensorCount()).toBe(afterBuild);
    net.backward(seeded(y.length, 7));
    expect(tensorCount()).toBe(afterBuild);
    const text = saveModelToString(net, 'c');
    expect(tensorCount()).toBe(afterBuild);
    const again = loadModelFromString(text, 'c');
    expect(Array.from(again.forward(x))).toEqual(Array.from(y));
    net.dispose();
    again.dispose();
    expect(tensorCount()).toBe(before);
  });

  test('toRecord returns the LOOM-layout kernel unchanged', () => {
    const d = CASES['k larger than stride with padding 2, softplus'] as ConvDims;
    const r = convRecord(d, 3);
    const layer = conv2dKind.fromRecord(r, 'here');
    const back = layer.toRecord();
    expect(Array.from(back.kernel!)).toEqual(Array.from(r.kernel!));
    expect(Array.from(back.bias!)).toEqual(Array.from(r.bias!));
    expect(layer.summary().inputSize(2)).toBe(2 * 3 * 3 * 3);
    layer.dispose();
  });

  test('typed errors name the layer and the sizes', () => {
    const d = CASES['stride 2, padding 1, natural size, tanh, batch 2'] as ConvDims;
    const r = convRecord(d, 3);
    expect(() => conv2dKind.fromRecord({ ...r, kernel: new Float32Array(5) }, 'conv2d at layer 0')).toThrow(ShapeError);
    expect(() => conv2dKind.fromRecord({ ...r, kernel: new Float32Array(5) }, 'conv2d at layer 0')).toThrow(/conv2d at layer 0: kernel has 5 values, expected \[F=3\]\[C=2\]\[k=3\]\[k=3\] = 54/);
    expect(() => conv2dKind.fromRecord({ ...r, bias: null }, 'w')).toThrow(/not bias/);
    expect(() => conv2dKind.fromRecord({ ...r, stride: 0 }, 'w')).toThrow(ConfigError);
    const net = chain([r], 1);
    expect(() => net.forward(new Float32Array(10))).toThrow(ShapeError);
    net.dispose();
  });

  test('InitConv2DLayer: sizes by truncating division, He-normal kernel, zero bias', () => {
    const init = conv2dKind.initFunctions?.find((f) => f.name === 'InitConv2DLayer');
    expect(init?.argTypes).toEqual(['int', 'int', 'int', 'int', 'int', 'int', 'int', 'nn.ActivationType']);
    const r = init!.create([28, 27, 1, 3, 2, 0, 4, 0], rngOf(1));
    expect([r.outputHeight, r.outputWidth]).toEqual([13, 13]);
    expect(r.kernel!.length).toBe(4 * 1 * 3 * 3);
    expect(Array.from(r.bias!)).toEqual([0, 0, 0, 0]);
    const layer = conv2dKind.fromRecord(r, 'init');
    expect(layer.params.length).toBe(2);
    layer.dispose();
  });

  test('InitializeWeights: U(-1/(C*k*k), 1/(C*k*k)) kernel, U(0, 0.01) bias; no-op without sizes', () => {
    const d = CASES['stride 2, padding 1, natural size, tanh, batch 2'] as ConvDims;
    const r = { ...convRecord(d, 1), kernel: null, bias: null };
    const w = conv2dKind.initializeWeights(r, rngOf(3));
    const s = 1 / (d.C * d.k * d.k);
    expect(w.kernel!.length).toBe(54);
    expect(w.kernel!.every((v) => Math.abs(v) <= s)).toBe(true);
    expect(w.bias!.every((v) => v >= 0 && v < 0.01)).toBe(true);
    const empty = emptyRecord(LayerType.Conv2D);
    expect(conv2dKind.initializeWeights(empty, rngOf(3))).toBe(empty);
    expect(Conv2DLayer.className).toBe('Conv2D');
  });
});
