/**
 * Every registered layer kind (LAYER_KINDS) round-trips through the three places that serialise
 * layers, driven by the registry: LOOM JSON (save -> load -> identical text and outputs), the tfjs
 * wrapper (getConfig/fromConfig, model.save/tf.loadLayersModel) and the LOOM facade (a wrapped
 * network's SaveModelToString / LoadModelFromString / ForwardCPU), and its typed config names it.
 * A kind added to the registry without a sample below fails the first test.
 * References: the outputs of the original layer (same backend, bit for bit) and the saved text.
 */
import * as tf from '@tensorflow/tfjs';
import { LAYER_KINDS, type LayerKind } from '../layers/index';
import type { LayerRecord } from '../src/core/layer_record';
import { createRng } from '../src/core/rng';
import { Network } from '../src/network/network';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { loomTfjsLayer, loomTfjsLayerClass, type LoomTfjsLayer } from '../src/tfjs_layers/index';
import { LoadModelFromString, wrapNetwork, type LoomNetworkObject } from '../src/compat/index';
import { useBackend } from '../src/backends';

/** A sample of one kind: an init function call and the per-sample input shape it takes. */
interface Sample {
  readonly init: string;
  readonly args: (kinds: readonly LayerKind[]) => unknown[];
  readonly inputShape: number[];
}

const denseBranch = (kinds: readonly LayerKind[], act: number): LayerRecord => record(kinds, 'InitDenseLayer', [8, 4, act]);

/** One sample per kind name; 8 values in per sample. */
const SAMPLES: Readonly<Record<string, Sample>> = {
  dense: { init: 'InitDenseLayer', args: () => [8, 6, 2], inputShape: [8] },
  conv2d: { init: 'InitConv2DLayer', args: () => [2, 2, 2, 1, 1, 0, 2, 2], inputShape: [2, 2, 2] },
  multi_head_attention: { init: 'InitGQAAttentionLayer', args: () => [4, 2, 1, 2], inputShape: [2, 4] },
  rnn: { init: 'InitRNNLayer', args: () => [4, 3, 1, 2], inputShape: [2, 4] },
  lstm: { init: 'InitLSTMLayer', args: () => [4, 3, 1, 2], inputShape: [2, 4] },
  softmax: { init: 'InitGridSoftmaxLayer', args: () => [2, 4], inputShape: [8] },
  layer_norm: { init: 'InitLayerNormLayer', args: () => [4, 1e-5], inputShape: [8] },
  residual: { init: 'InitResidualLayer', args: () => [0], inputShape: [8] },
  rms_norm: { init: 'InitRMSNormLayer', args: () => [4, 1e-6], inputShape: [8] },
  swiglu: { init: 'InitSwiGLULayer', args: () => [4, 6], inputShape: [8] },
  parallel: { init: 'InitParallelLayer', args: (kinds) => [[denseBranch(kinds, 1), denseBranch(kinds, 2)], 'concat'], inputShape: [8] },
};

/** A record from a kind's Init* function, with LOOM's InitializeWeights filling what it leaves empty. */
function record(kinds: readonly LayerKind[], init: string, args: unknown[]): LayerRecord {
  const kind = kinds.find((k) => k.initFunctions?.some((f) => f.name === init));
  const fn = kind?.initFunctions?.find((f) => f.name === init);
  if (!kind || !fn) throw new Error(`no kind has ${init}`);
  const rng = createRng(5);
  return kind.initializeWeights(fn.create(args, rng), rng);
}

function sampleOf(kind: LayerKind): { rec: LayerRecord; sample: Sample } {
  const sample = SAMPLES[kind.name];
  if (!sample) throw new Error(`layer kind '${kind.name}' has no sample in __tests__/layer_kinds_registry.test.ts`);
  const rec = record(LAYER_KINDS, sample.init, sample.args(LAYER_KINDS));
  expect(rec.type).toBe(kind.loomType);
  return { rec, sample };
}

const input = (n: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 0.7);
const GRID = { rows: 1, cols: 1, layersPerCell: 1 };

beforeAll(async () => {
  await useBackend('cpu');
});

test('every registered kind has a sample, a tfjs class named by the kind, and LOOM JSON keys', () => {
  for (const kind of LAYER_KINDS) {
    expect([kind.name, SAMPLES[kind.name] !== undefined]).toEqual([kind.name, true]);
    expect(loomTfjsLayerClass(kind.name).className).toBe(kind.tfjsClassName);
    expect(kind.loomJsonKeys.definition.length + kind.loomJsonKeys.weights.length).toBeGreaterThan(0);
  }
  expect(new Set(LAYER_KINDS.map((k) => k.tfjsClassName)).size).toBe(LAYER_KINDS.length);
});

describe.each(LAYER_KINDS.map((k) => [k.name, k] as const))('%s', (_name, kind) => {
  test('LOOM JSON: save -> load gives the same outputs and the same text; no leaks', () => {
    const before = tf.memory().numTensors;
    const { rec, sample } = sampleOf(kind);
    const net = Network.fromRecords(GRID, [rec]);
    const layer = net.allLayers()[0];
    expect(layer?.kind).toBe(kind);
    expect(layer?.getConfig().type).toBe(kind.name); // the typed config is discriminated by the kind's name
    const x = input(sample.inputShape.reduce((a, b) => a * b, 1));
    const y = net.forward(x);
    const text = saveModelToString(net, 'k');
    const again = loadModelFromString(text, 'k', { residualMode: 'none' });
    expect(Array.from(again.forward(x))).toEqual(Array.from(y));
    expect(saveModelToString(again, 'k')).toBe(text);
    net.dispose();
    again.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('LOOM facade: SaveModelToString / LoadModelFromString / ForwardCPU match the typed network', () => {
    const { rec, sample } = sampleOf(kind);
    const net = Network.fromRecords(GRID, [rec]);
    const x = input(sample.inputShape.reduce((a, b) => a * b, 1));
    const obj = wrapNetwork(net);
    const [text] = JSON.parse((obj['SaveModelToString'] as (a: string) => string)(JSON.stringify(['k']))) as [string];
    expect(text).toBe(saveModelToString(net, 'k'));
    const loaded = LoadModelFromString(text, 'k') as LoomNetworkObject;
    const [y] = JSON.parse((loaded['ForwardCPU'] as (a: string) => string)(JSON.stringify([x]))) as [number[]];
    const typed = loadModelFromString(text, 'k');
    // the facade prints float32 values (Go's shortest form): equal after rounding back to float32
    expect(y.map(Math.fround)).toEqual(Array.from(typed.forward(x)));
    typed.dispose();
    net.dispose();
  });

  test('tfjs wrapper: getConfig/fromConfig and model.save/tf.loadLayersModel keep the layer and its outputs', async () => {
    const { rec, sample } = sampleOf(kind);
    const layer = loomTfjsLayer(rec, { inputShape: sample.inputShape });
    const model = tf.sequential({ layers: [layer] });
    const x = tf.tensor([input(sample.inputShape.reduce((a, b) => a * b, 1))]).reshape([1, ...sample.inputShape]);
    const y = model.predict(x) as tf.Tensor;
    const cls = loomTfjsLayerClass(kind.name);
    const copy = cls.fromConfig(cls, layer.getConfig());
    expect(copy.loomLayer).toBe(layer.loomLayer); // unbuilt: holds no tensors
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved as unknown as tf.io.ModelArtifacts));
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(y2.shape).toEqual(y.shape);
    expect(Array.from(y2.dataSync())).toEqual(Array.from(y.dataSync()));
    expect((loaded.layers[0] as LoomTfjsLayer).loomLayer).toBe(layer.loomLayer);
    tf.dispose([x, y, y2]);
    model.dispose();
    loaded.dispose();
  });
});
