import * as tf from '@tensorflow/tfjs';
import { NewNetwork, LoadModelFromString, CallLayerInit, ListLayerInitFunctions, installGlobals, networkOf, type LoomNetworkObject } from '../src/compat/index';
import { golden, expectClose } from './helpers/fixtures';
import { useBackend } from '../src/backends';

const call = (net: LoomNetworkObject, method: string, args?: unknown[]): unknown =>
  JSON.parse((net[method] as (a?: string) => string)(args === undefined ? undefined : JSON.stringify(args)));

const DENSE = ['activation_leaky_relu', 'activation_scaled_relu', 'activation_sigmoid', 'activation_softplus', 'activation_tanh', 'activation_unknown_type5', 'dense_mlp'];

/** Float64 forward of a Dense chain read from the typed network's records. */
function forward64(net: LoomNetworkObject, x: number[]): number[] {
  const n = networkOf(net)!;
  let a = x.slice();
  for (const r of n.toRecords()) {
    const nIn = r.inputHeight;
    const nOut = r.outputHeight;
    const b = a.length / nIn;
    const y: number[] = [];
    for (let s = 0; s < b; s++) {
      for (let o = 0; o < nOut; o++) {
        let z = r.bias![o]!;
        for (let i = 0; i < nIn; i++) z += a[s * nIn + i]! * r.kernel![i * nOut + o]!;
        const f = [
          (v: number) => Math.max(0, 1.1 * v),
          (v: number) => 1 / (1 + Math.exp(-v)),
          Math.tanh,
          (v: number) => Math.log1p(Math.exp(v)),
          (v: number) => (v < 0 ? 0.1 * v : v),
        ][r.activation] ?? ((v: number) => v);
        y.push(f(z));
      }
    }
    a = y;
  }
  return a;
}

describe.each(['cpu', 'wasm'] as const)('LOOM facade on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test.each(DENSE)('%s: ForwardCPU matches LOOM; BackwardCPU matches finite differences and LOOM; resave exact', (name) => {
    const fx = golden(name);
    const net = LoadModelFromString(fx.model_json, fx.model_id) as LoomNetworkObject;
    expect(typeof net).toBe('object');
    for (const f of fx.forward) {
      const [out, ns] = call(net, 'ForwardCPU', [f.input]) as [number[], number];
      expectClose(out, f.output, { atol: 1e-6, rtol: 1e-5 });
      expect(Number.isInteger(ns)).toBe(true);
    }
    for (const b of fx.backward ?? []) {
      call(net, 'ForwardCPU', [b.input]);
      const [gin] = call(net, 'BackwardCPU', [b.grad_output]) as [number[]];
      expectClose(gin, b.grad_input, { atol: 1e-6, rtol: 1e-4 }, 'grad_input vs LOOM');
      // central differences of sum(forward64(x) * g) in float64
      const h = 1e-6;
      const fd = b.input.map((_, i) => {
        const xp = b.input.slice();
        const xm = b.input.slice();
        xp[i] = xp[i]! + h;
        xm[i] = xm[i]! - h;
        const yp = forward64(net, xp);
        const ym = forward64(net, xm);
        return yp.reduce((s, v, j) => s + (v - ym[j]!) * b.grad_output[j]!, 0) / (2 * h);
      });
      // at a kink (input exactly 0 for relu-type activations) one-sided slopes differ; compare elsewhere
      const smooth = b.input.map((v) => v !== 0);
      expectClose(gin.filter((_, i) => smooth[i]), fd.filter((_, i) => smooth[i]), { atol: 1e-4, rtol: 1e-3 }, 'grad_input vs finite differences');
      const kg = call(net, 'KernelGradients') as [(number[] | null)[]];
      b.kernel_gradients.forEach((k, i) => k && expectClose(kg[0][i]!, k, { atol: 1e-6, rtol: 1e-4 }, `kernel grad ${i}`));
      const bg = call(net, 'BiasGradients') as [(number[] | null)[]];
      b.bias_gradients.forEach((k, i) => k && expectClose(bg[0][i]!, k, { atol: 1e-6, rtol: 1e-4 }, `bias grad ${i}`));
    }
    const [saved, err] = call(net, 'SaveModelToString', [fx.model_id]) as [string, null];
    expect(err).toBeNull();
    expect(saved).toBe(fx.model_json);
    networkOf(net)!.dispose();
  });
});

describe('LOOM facade API', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('training.md worked example: backward gradients and UpdateWeights', () => {
    const net = NewNetwork(3, 1, 1, 2) as LoomNetworkObject;
    call(net, 'SetLayer', [0, 0, 0, { Type: 0, Activation: 2, InputHeight: 3, OutputHeight: 2, Kernel: [0.5, -0.25, 0.125, 0.75, -1, 0.1], Bias: [0.1, -0.2] }]);
    call(net, 'SetLayer', [0, 0, 1, { Type: 0, Activation: 1, InputHeight: 2, OutputHeight: 2, Kernel: [1, -1, 0.5, 2], Bias: [0, 0.25] }]);
    expect(call(net, 'Activations')).toEqual([[null, null, null]]);
    call(net, 'ForwardCPU', [[1, 2, 3]]);
    const acts = (call(net, 'Activations') as number[][][])[0]!;
    expectClose(acts.flat(), [1, 2, 3, -0.9732262, 0.87405324, 0.3690721, 0.9512621]);
    const [gin] = call(net, 'BackwardCPU', [[1, 0]]) as [number[]];
    expectClose(gin, [-0.00071917893, 0.022148382, -0.009553975], { atol: 1e-8, rtol: 1e-5 });
    const [kg] = call(net, 'KernelGradients') as [number[][]];
    expectClose(kg.flat(), [0.012302059, 0.027480833, 0.024604117, 0.054961666, 0.036906175, 0.0824425, -0.2266234, 0, 0.2035302, 0]);
    call(net, 'UpdateWeights', [0.1]);
    const [l0] = call(net, 'GetLayer', [0, 0, 0]) as [{ Kernel: number[]; Bias: number[] }];
    expectClose(l0.Kernel, [0.4987698, -0.25274807, 0.12253959, 0.74450386, -1.0036906, 0.09175575]);
    expectClose(l0.Bias, [0.0987698, -0.20274809]);
    call(net, 'ZeroGradients');
    expect((call(net, 'KernelGradients') as number[][][])[0]!.flat().every((v) => v === 0)).toBe(true);
    expect(call(net, 'GetActivation', [0, 0, 1])).toEqual([1]);
    expect(call(net, 'TotalLayers')).toEqual([2]);
    expect(call(net, 'GetLayer', [5, 0, 0])).toEqual([null]);
    networkOf(net)!.dispose();
  });

  test.each(['dense_mlp', 'parallel_train_dense'])('%s: Train through the facade reproduces LOOM loss history and final outputs', (name) => {
    const fx = golden(name);
    const t = fx.train!;
    const net = LoadModelFromString(fx.model_json, fx.model_id) as LoomNetworkObject;
    const batches = t.batches.map((b) => ({ Input: b.input, Target: b.target }));
    const [result, err] = call(net, 'Train', [batches, t.config]) as [{ LossHistory: number[]; FinalLoss: number; BestLoss: number; TotalTime: number; EvalMetrics: null }, null];
    expect(err).toBeNull();
    expectClose(result.LossHistory, t.loss_history, { atol: 0, rtol: 1e-4 }, 'LossHistory');
    expectClose([result.FinalLoss, result.BestLoss], [t.final_loss, t.best_loss], { atol: 0, rtol: 1e-4 });
    expect(Number.isInteger(result.TotalTime)).toBe(true);
    t.batches.forEach((b, k) => {
      const [out] = call(net, 'ForwardCPU', [b.input]) as [number[]];
      expectClose(out, t.final_outputs[k]!, { atol: 1e-6, rtol: 1e-4 }, `final output ${k}`);
    });
    // EvaluateNetwork runs one sample at a time (batch 1), as LOOM does
    const oneSample = t.batches[0]!.input.slice(0, t.batches[0]!.input.length / networkOf(net)!.batchSize);
    const metrics = call(net, 'EvaluateNetwork', [[oneSample], [0]]) as [{ score: number } | null, unknown];
    expect(metrics).toEqual([expect.objectContaining({ total_samples: 1 }), null]);
    networkOf(net)!.dispose();
  });

  test('fresh NewNetwork returns [] and backward of [] works (LOOM behaviour)', () => {
    const net = NewNetwork(4, 2, 2, 2) as LoomNetworkObject;
    expect((call(net, 'ForwardCPU', [[1, 2, 3, 4]]) as unknown[])[0]).toEqual([]);
    expect((call(net, "BackwardCPU", [[]]) as unknown[])[0]).toEqual([0, 0, 0, 0]); // the exact gradient: the output does not depend on the input
    expect(call(net, 'GetActivation', [0, 1, 1])).toEqual([3]);
    networkOf(net)!.dispose();
  });

  test('introspection: ListMethods, GetMethods, HasMethod, GetMethodSignature', () => {
    const net = NewNetwork(4, 1, 1, 1) as LoomNetworkObject;
    const names = JSON.parse(net['ListMethods']!() as string) as string[];
    expect(names).toEqual([...names].sort());
    expect(names).toHaveLength(27);
    expect(names).toContain('ForwardCPU');
    const methods = JSON.parse(net['GetMethods']!() as string) as { method_name: string; parameters: unknown[]; returns: string[] }[];
    expect(methods.map((m) => m.method_name)).toEqual(names);
    expect(methods.find((m) => m.method_name === 'ForwardCPU')).toEqual({ method_name: 'ForwardCPU', parameters: [{ name: 'param0', type: '[]float32' }], returns: ['[]float32', 'time.Duration'] });
    expect(net['HasMethod']!('ForwardCPU')).toBe(true);
    expect(net['HasMethod']!('Nope')).toBe(false);
    expect(net['GetMethodSignature']!('ForwardCPU')).toBe('ForwardCPU([]float32) ([]float32, time.Duration)');
    expect(net['GetMethodSignature']!(JSON.stringify(['ForwardCPU']))).toBe('ForwardCPU([]float32) ([]float32, time.Duration)');
    expect(net['GetMethodSignature']!('HasMethod')).toBe('HasMethod(string) bool');
    expect(net['GetMethodSignature']!('InitializeWeights')).toBe('InitializeWeights()');
    expect(net['GetMethodSignature']!('Zz')).toBe('Error: method Zz not found');
    networkOf(net)!.dispose();
  });

  test('CallLayerInit and the seed README pattern SetLayer(JSON.parse(layerConfig))', () => {
    const cfg = CallLayerInit('InitDenseLayer', JSON.stringify([2, 1, 1]));
    const parsed = JSON.parse(cfg) as { Type: number; Activation: number; Kernel: number[]; Bias: number[]; InputHeight: number; OutputHeight: number }[];
    expect(parsed[0]).toMatchObject({ Type: 0, Activation: 1, InputHeight: 2, OutputHeight: 1, Bias: [0] });
    expect(parsed[0]!.Kernel).toHaveLength(2);
    expect(Object.keys(parsed[0]!).slice(0, 3)).toEqual(['Type', 'Activation', 'KernelSize']);
    expect(JSON.parse(CallLayerInit('InitDenseLayer', '["2",1,1]')).error).toBe('Error converting parameter 0: parameter 0: expected int, got string');
    expect(JSON.parse(CallLayerInit('Nope', '[]')).error).toBe('Error: function Nope not found in registry');
    expect(JSON.parse(CallLayerInit('InitDenseLayer', '[1]')).error).toBe('Error: InitDenseLayer expects 3 parameters, got 1');
    const list = JSON.parse(ListLayerInitFunctions()) as { Name: string; NumArgs: number; ArgTypes: string[] }[];
    expect(list).toContainEqual({ Name: 'InitDenseLayer', NumArgs: 3, ArgTypes: ['int', 'int', 'nn.ActivationType'] });

    const net = NewNetwork(784, 1, 1, 2) as LoomNetworkObject;
    const layer0Config = CallLayerInit('InitDenseLayer', JSON.stringify([784, 392, 0]));
    const layer1Config = CallLayerInit('InitDenseLayer', JSON.stringify([392, 10, 1]));
    expect(call(net, 'SetLayer', [0, 0, 0, JSON.parse(layer0Config)])).toEqual([]);
    expect(call(net, 'SetLayer', [0, 0, 1, JSON.parse(layer1Config)])).toEqual([]);
    const input = new Array(784).fill(0).map(() => Math.random());
    const [out] = call(net, 'ForwardCPU', [input]) as [number[]];
    expect(out).toHaveLength(10);
    networkOf(net)!.dispose();
  });

  test('every registered init function is callable by name and its config loads with SetLayer', () => {
    const sample: Record<string, unknown> = {
      int: 4,
      'nn.ActivationType': 1,
      float32: 1.5,
      string: 'add',
      '[]int': [2, 2],
      '[][]int': [[0, 1], [2, 3]],
      '[]float32': [0.5, 0.5],
      '[]nn.LayerConfig': [{ Type: 0, Activation: 2, InputHeight: 4, OutputHeight: 4, Kernel: new Array(16).fill(0.1), Bias: [0, 0, 0, 0] }],
    };
    const list = JSON.parse(ListLayerInitFunctions()) as { Name: string; ArgTypes: string[] }[];
    expect(list.length).toBeGreaterThanOrEqual(20);
    for (const fn of list) {
      const args = fn.ArgTypes.map((t) => {
        expect(sample).toHaveProperty([t]);
        return sample[t];
      });
      const out = JSON.parse(CallLayerInit(fn.Name, JSON.stringify(args))) as unknown;
      expect([fn.Name, Array.isArray(out)]).toEqual([fn.Name, true]);
      const net = NewNetwork(4, 1, 1, 1) as LoomNetworkObject;
      expect([fn.Name, call(net, 'SetLayer', [0, 0, 0, out])]).toEqual([fn.Name, []]);
      networkOf(net)!.dispose();
    }
  });

  test('errors come back as {error} JSON naming what went wrong', () => {
    const net = NewNetwork(3, 1, 1, 1) as LoomNetworkObject;
    call(net, 'SetLayer', [0, 0, 0, { Type: 0, InputHeight: 3, OutputHeight: 1, Kernel: [1, 2, 3], Bias: [0] }]);
    expect(call(net, 'ForwardCPU', [[1, 2]])).toEqual({ error: expect.stringMatching(/input has 2 values, expected 3/) });
    expect(call(net, 'ForwardCPU')).toEqual({ error: 'No arguments provided' });
    expect(JSON.parse(net['ForwardCPU']!('oops') as string)).toEqual({ error: expect.stringMatching(/^Invalid JSON input/) });
    expect(call(net, 'ForwardCPU', [[1], [2]])).toEqual({ error: 'Expected 1 parameters, got 2' });
    expect(call(net, 'SetLayer', [0, 0, 0, { Type: 0, InputHeight: 3, OutputHeight: 1, Kernel: [1, 2], Bias: [0] }])).toEqual({ error: expect.stringMatching(/kernel has 2 values, expected 3\*1 = 3/) });
    expect(call(net, 'SetLayer', [0, 0, 0, { Type: 42 }])).toEqual({ error: expect.stringMatching(/unsupported layer type '42'/) });
    expect(JSON.parse(LoadModelFromString('{', 'x') as string).error).toMatch(/^Error loading model: failed to unmarshal bundle/);
    networkOf(net)!.dispose();
  });

  test('no tensor leaks over forward/backward/save/load', () => {
    const fx = golden('dense_mlp');
    const cycle = (): void => {
      const net = LoadModelFromString(fx.model_json, fx.model_id) as LoomNetworkObject;
      call(net, 'ForwardCPU', [fx.forward[0]!.input]);
      call(net, 'BackwardCPU', [fx.backward![0]!.grad_output]);
      call(net, 'UpdateWeights', [0.01]);
      call(net, 'SaveModelToString', ['m']);
      networkOf(net)!.dispose();
    };
    cycle();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) cycle();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('installGlobals puts LOOM globals on a target', () => {
    const target: Record<string, unknown> = {};
    installGlobals(target);
    for (const name of ['NewNetwork', 'LoadModelFromString', 'BuildNetworkFromJSON', 'CallLayerInit', 'ListLayerInitFunctions', 'InitDenseLayer']) {
      expect(typeof target[name]).toBe('function');
    }
    const cfg = JSON.parse((target['InitDenseLayer'] as (...a: number[]) => string)(4, 2, 0)) as { OutputHeight: number }[];
    expect(cfg[0]!.OutputHeight).toBe(2);
  });
});
