/**
 * A network holding every layer type: save then load reproduces outputs bit for bit (on the same
 * backend), the resaved text is identical, and gradients flow to every layer's parameters.
 */
import * as tf from '@tensorflow/tfjs';
import { NewNetwork, LoadModelFromString, CallLayerInit, networkOf, type LoomNetworkObject } from '../src/compat/index';
import { LAYER_KINDS } from '../layers/index';
import { useBackend } from '../src/backends';

const call = (net: LoomNetworkObject, method: string, args?: unknown[]): unknown =>
  JSON.parse((net[method] as (a?: string) => string)(args === undefined ? undefined : JSON.stringify(args)));

/** Init calls that chain on 8 values per layer. */
const LAYERS: [string, unknown[]][] = [
  ['InitDenseLayer', [8, 8, 2]],
  ['InitConv2DLayer', [2, 2, 2, 1, 1, 0, 2, 2]], // (H, W, C, k, stride, pad, filters, act): 2x2x2 -> 2x2x2
  ['InitMultiHeadAttentionLayer', [4, 2, 1, 2]], // 2 tokens of 4
  ['InitRNNLayer', [4, 4, 1, 2]], // 2 steps of 4 -> 2 x 4
  ['InitLSTMLayer', [4, 4, 1, 2]],
  ['InitLayerNormLayer', [8, 1e-5]],
  ['InitRMSNormLayer', [8, 1e-6]],
  ['InitSwiGLULayer', [8, 12]],
  ['InitResidualLayer', [1]],
  [
    'InitParallelLayer',
    [
      [
        { Type: 0, Activation: 1, InputHeight: 8, OutputHeight: 4, Kernel: Array.from({ length: 32 }, (_, i) => Math.sin(i) / 4), Bias: [0.1, 0, -0.1, 0.2] },
        { Type: 0, Activation: 2, InputHeight: 8, OutputHeight: 4, Kernel: Array.from({ length: 32 }, (_, i) => Math.cos(i) / 4), Bias: [0, 0.1, 0.2, 0] },
      ],
      'concat',
    ],
  ],
  ['InitEntmaxLayer', [1.5]],
];

describe.each(['cpu', 'wasm'] as const)('every layer type in one network (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('covers every registered kind; save -> load is bit-exact; gradients reach every layer; no leaks', () => {
    const before = tf.memory().numTensors;
    const net = NewNetwork(8, 1, 1, LAYERS.length) as LoomNetworkObject;
    LAYERS.forEach(([fn, args], i) => {
      const cfg = CallLayerInit(fn, JSON.stringify(args));
      expect([fn, call(net, 'SetLayer', [0, 0, i, JSON.parse(cfg)])]).toEqual([fn, []]);
    });
    const typed = networkOf(net)!;
    expect(new Set(typed.allLayers().map((l) => l.kind.name))).toEqual(new Set(LAYER_KINDS.map((k) => k.name)));

    const x = Array.from({ length: 8 }, (_, i) => Math.sin(i + 1));
    const [y1] = call(net, 'ForwardCPU', [x]) as [number[]];
    expect(y1).toHaveLength(8);
    expect(y1.every(Number.isFinite)).toBe(true);
    const [saved] = call(net, 'SaveModelToString', ['all']) as [string];
    const again = LoadModelFromString(saved, 'all') as LoomNetworkObject;
    const [y2] = call(again, 'ForwardCPU', [x]) as [number[]];
    expect(y2).toEqual(y1);
    expect((call(again, 'SaveModelToString', ['all']) as [string])[0]).toBe(saved);

    call(net, 'BackwardCPU', [[1, -1, 0.5, 0, 0, 0.25, 0, 1]]);
    typed.allLayers().forEach((l, i) => {
      const g = typed.parameterGradients(i);
      if (l.params.length === 0) return;
      expect([l.kind.name, g !== null && g.some((a) => a.some((v) => v !== 0))]).toEqual([l.kind.name, true]);
    });
    typed.dispose();
    networkOf(again)!.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
