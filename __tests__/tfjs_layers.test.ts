import * as tf from '@tensorflow/tfjs';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType, SOFTMAX_VARIANTS } from '../src/core/types';
import { ConfigError } from '../src/core/errors';
import { useBackend } from '../src/backends';
import { LAYER_KINDS, kindByCode, type ForwardContext } from '../layers/index';
import {
  LOOM_TFJS_LAYER_CLASSES,
  LoomRMSNorm,
  LoomTfjsLayer,
  loomTfjsLayer,
  decodeDefinition,
  encodeDefinition,
  recordToDefinition,
} from '../src/tfjs_layers/index';
import { expectClose } from './helpers/fixtures';
import { lstmRef, rngOf, seeded } from './helpers/conv_mha_rnn_ref';

/** A record from a kind's LOOM-style constructor (`Init*Layer`), seeded. */
function init(type: number, fn: string, args: readonly unknown[], seed = 1): LayerRecord {
  const f = kindByCode(type, 'test').initFunctions?.find((x) => x.name === fn);
  if (!f) throw new Error(`no init function ${fn}`);
  return f.create(args, rngOf(seed));
}

function softmaxRecord(variant: (typeof SOFTMAX_VARIANTS)[number], fill: (r: LayerRecord) => void = () => {}): LayerRecord {
  const r = emptyRecord(LayerType.Softmax);
  r.softmaxVariant = SOFTMAX_VARIANTS.indexOf(variant);
  r.temperature = 1;
  fill(r);
  return r;
}

/** Saves into memory and loads back with `tf.loadLayersModel`. */
async function roundTrip(model: tf.LayersModel): Promise<{ loaded: tf.LayersModel; artifacts: tf.io.ModelArtifacts }> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('nothing saved');
  const artifacts: tf.io.ModelArtifacts = saved;
  return { loaded: await tf.loadLayersModel(tf.io.fromMemory(artifacts)), artifacts };
}

/** Per-sample reference: a fresh grid layer from the same record, one LOOM call (batch 1) per sample. */
function gridReference(record: LayerRecord, x: Float32Array, batch: number): Float32Array {
  const grid = kindByCode(record.type, 'ref').fromRecord(record, 'ref');
  const ctx: ForwardContext = { batchSize: 1, where: 'ref', training: false, loomCompat: false };
  const n = x.length / batch;
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    const y = tf.tidy(() => grid.apply(tf.tensor1d(x.subarray(b * n, (b + 1) * n)), ctx));
    out.push(...(y.dataSync() as Float32Array));
    y.dispose();
  }
  grid.dispose();
  return Float32Array.from(out);
}

/** A layer record (with weights) for every kind, and the per-sample input shape it takes. */
const CASES: readonly { name: string; record: () => LayerRecord; inShape: number[]; outShape: number[] }[] = [
  { name: 'dense', record: () => init(LayerType.Dense, 'InitDenseLayer', [6, 4, 2]), inShape: [6], outShape: [4] },
  { name: 'conv2d', record: () => init(LayerType.Conv2D, 'InitConv2DLayer', [5, 5, 2, 3, 1, 1, 3, 0]), inShape: [2, 5, 5], outShape: [3, 5, 5] },
  {
    name: 'multi_head_attention',
    record: () => init(LayerType.MultiHeadAttention, 'InitGQAAttentionLayer', [8, 4, 2, 3]),
    inShape: [3, 8],
    outShape: [3, 8],
  },
  { name: 'rnn', record: () => init(LayerType.RNN, 'InitRNNLayer', [3, 4, 1, 5]), inShape: [5, 3], outShape: [5, 4] },
  { name: 'lstm', record: () => init(LayerType.LSTM, 'InitLSTMLayer', [3, 4, 1, 5]), inShape: [5, 3], outShape: [5, 4] },
  { name: 'softmax standard', record: () => softmaxRecord('standard'), inShape: [6], outShape: [6] },
  { name: 'softmax entmax 1.5', record: () => softmaxRecord('entmax', (r) => (r.entmaxAlpha = 1.5)), inShape: [6], outShape: [6] },
  { name: 'softmax grid', record: () => softmaxRecord('grid', (r) => Object.assign(r, { softmaxRows: 2, softmaxCols: 3 })), inShape: [6], outShape: [6] },
  { name: 'layer_norm', record: () => init(LayerType.LayerNorm, 'InitLayerNormLayer', [4, 1e-5]), inShape: [2, 4], outShape: [2, 4] },
  { name: 'rms_norm', record: () => init(LayerType.RMSNorm, 'InitRMSNormLayer', [4, 1e-6]), inShape: [2, 4], outShape: [2, 4] },
  { name: 'swiglu', record: () => init(LayerType.SwiGLU, 'InitSwiGLULayer', [4, 6]), inShape: [3, 4], outShape: [3, 4] },
  { name: 'residual', record: () => Object.assign(emptyRecord(LayerType.Residual), { activation: 2 }), inShape: [5], outShape: [5] },
  {
    name: 'parallel concat',
    record: () =>
      Object.assign(emptyRecord(LayerType.Parallel), {
        combineMode: 'concat',
        parallelBranches: [init(LayerType.Dense, 'InitDenseLayer', [6, 2, 1]), init(LayerType.Dense, 'InitDenseLayer', [6, 3, 2], 2)],
      }),
    inShape: [6],
    outShape: [5],
  },
  {
    name: 'parallel grid_scatter (nested add)',
    record: () =>
      Object.assign(emptyRecord(LayerType.Parallel), {
        combineMode: 'grid_scatter',
        gridOutputRows: 1,
        gridOutputCols: 2,
        gridOutputLayers: 1,
        gridPositions: [
          { branchIndex: 1, targetRow: 0, targetCol: 0, targetLayer: 0 },
          { branchIndex: 0, targetRow: 0, targetCol: 1, targetLayer: 0 },
        ],
        parallelBranches: [
          init(LayerType.Dense, 'InitDenseLayer', [6, 2, 1]),
          Object.assign(emptyRecord(LayerType.Parallel), {
            combineMode: 'add',
            parallelBranches: [init(LayerType.Dense, 'InitDenseLayer', [6, 3, 2], 3), init(LayerType.Dense, 'InitDenseLayer', [6, 3, 0], 4)],
          }),
        ],
      }),
    inShape: [6],
    outShape: [5],
  },
];

describe('tfjs interop: LOOM layers as tf.layers.Layer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('every layer kind has one registered class with a stable className', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect([...LOOM_TFJS_LAYER_CLASSES.keys()]).toEqual(LAYER_KINDS.map((k) => k.name));
    for (const [name, cls] of LOOM_TFJS_LAYER_CLASSES) {
      expect(cls.className).toMatch(/^Loom[A-Z]/);
      expect(cls.kind.name).toBe(name);
      expect(map[cls.className]?.[0]).toBe(cls);
    }
    expect(LoomRMSNorm.className).toBe('LoomRMSNorm');
    expect(LOOM_TFJS_LAYER_CLASSES.get('lstm')?.className).toBe('LoomLSTM');
    expect(LOOM_TFJS_LAYER_CLASSES.get('multi_head_attention')?.className).toBe('LoomMultiHeadAttention');
  });

  test('definition string survives tfjs case conversion and keeps what it must', () => {
    const r = init(LayerType.MultiHeadAttention, 'InitGQAAttentionLayer', [8, 4, 2, 3]);
    r.ext = { rope_theta: 10000, causal: false, note: 'Grid_Scatter ü' };
    const grid = kindByCode(r.type, 't').fromRecord(r, 't');
    const text = encodeDefinition(recordToDefinition(grid.toRecord(), grid.params.map((p) => p.name), 't'));
    grid.dispose();
    expect(text).not.toMatch(/[A-Z_]/); // so toSnakeCase / toCamelCase leave it alone
    const back = decodeDefinition(text, 't');
    expect(back.numKVHeads).toBe(2);
    expect(back.ext).toEqual(r.ext);
    expect(back.qWeights?.length).toBe(64); // weights come back as zeros of their length
    expect(Array.from(back.qWeights ?? [])).toEqual(new Array(64).fill(0));
    expect(() => decodeDefinition('{"type":8,"bogus":1}', 't')).toThrow(ConfigError);
    expect(() => decodeDefinition('{^q', 't')).toThrow(ConfigError);
  });

  test('a record of another type is refused', () => {
    expect(() => new LoomRMSNorm({ record: init(LayerType.Dense, 'InitDenseLayer', [2, 2, 0]) })).toThrow(ConfigError);
    expect(() => new LoomRMSNorm({})).toThrow(ConfigError);
  });

  test.each(CASES)('$name: wrapped output equals the grid layer per sample, shape and save/load round trip', async ({ record, inShape, outShape }) => {
    const rec = record();
    const batch = 3;
    const n = inShape.reduce((a, b) => a * b, 1);
    const xData = seeded(batch * n, 7);
    const before = tf.memory().numTensors;
    const layer = loomTfjsLayer(rec, { inputShape: inShape, seed: 5 });
    const model = tf.sequential({ layers: [layer] });
    expect(model.outputs[0]?.shape).toEqual([null, ...outShape]);
    const x = tf.tensor(xData, [batch, ...inShape]);
    const y = model.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([batch, ...outShape]);
    const yData = y.dataSync() as Float32Array;
    // the reference uses the layer's weights as a plain LOOM record (missing ones were seeded)
    const ref = gridReference(layer.gridLayer().toRecord(), xData, batch);
    expectClose(yData, ref, { atol: 1e-6, rtol: 1e-5 }, 'wrapped vs grid');

    const { loaded, artifacts } = await roundTrip(model);
    expect(JSON.stringify(artifacts.modelTopology)).toContain(`"class_name":"${layer.getClassName()}"`);
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(Array.from(y2.dataSync())).toEqual(Array.from(yData)); // bit for bit
    tf.dispose([x, y, y2]);
    loaded.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('batched kinds give the same values as one LOOM call per sample', () => {
    for (const name of ['dense', 'conv2d', 'rnn', 'lstm', 'rms_norm', 'swiglu']) {
      const c = CASES.find((k) => k.name === name);
      if (!c) throw new Error(name);
      const rec = c.record();
      const n = c.inShape.reduce((a, b) => a * b, 1);
      const xData = seeded(4 * n, 11);
      const layer = loomTfjsLayer(rec, { inputShape: c.inShape });
      const model = tf.sequential({ layers: [layer] });
      const y = tf.tidy(() => (model.predict(tf.tensor(xData, [4, ...c.inShape])) as tf.Tensor).dataSync() as Float32Array);
      expectClose(y, gridReference(rec, xData, 4), { atol: 1e-6, rtol: 1e-5 }, name);
      model.dispose();
    }
  });

  test('LSTM output equals an independent float64 LSTM', () => {
    const rec = init(LayerType.LSTM, 'InitLSTMLayer', [3, 4, 1, 5], 9);
    const d = { B: 2, S: 5, I: 3, H: 4 };
    const xData = seeded(d.B * d.S * d.I, 3);
    const layer = loomTfjsLayer(rec, { inputShape: [5, 3] });
    const model = tf.sequential({ layers: [layer] });
    const y = tf.tidy(() => (model.predict(tf.tensor(xData, [2, 5, 3])) as tf.Tensor).dataSync() as Float32Array);
    const p = (['i', 'f', 'g', 'o'] as const).flatMap((g) =>
      [rec[`weightIH_${g}`], rec[`weightHH_${g}`], rec[`biasH_${g}`]].map((w) => Float64Array.from(w ?? [])),
    );
    expectClose(y, lstmRef(d)(Float64Array.from(xData), p), { atol: 1e-5, rtol: 1e-5 }, 'lstm');
    model.dispose();
  });

  test('gradients reach the grid layer variables', () => {
    const layer = loomTfjsLayer(init(LayerType.RMSNorm, 'InitRMSNormLayer', [4, 1e-6]), { inputShape: [4] });
    const model = tf.sequential({ layers: [layer] });
    const [w] = layer.trainableWeights;
    if (!w) throw new Error('no weight');
    expect(w.read()).toBe(layer.gridLayer().params[0]?.variable); // one variable, two views
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x) as tf.Tensor, tf.tensor1d([1, -1, 2, 0]))) as tf.Scalar);
    const g = grads[(w.read() as tf.Variable).name];
    // d/dgamma_i of sum(c_i * x_i / rms * gamma_i) = c_i * x_i / rms
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4 + 1e-6);
    expectClose(g?.dataSync() ?? [], [1 / rms, -2 / rms, 6 / rms, 0], { atol: 1e-6 }, 'dGamma');
    tf.dispose([x, value, ...Object.values(grads)]);
    model.dispose();
  });

  test('Dense -> LOOM RMSNorm -> LOOM Dense -> LOOM entmax trains with fit and reloads identically', async () => {
    const before = tf.memory().numTensors;
    const xs = tf.tensor2d(seeded(16 * 4, 21), [16, 4]);
    const target = tf.tidy(() => tf.oneHot(tf.argMax(tf.matMul(xs, tf.tensor2d(seeded(12, 5), [4, 3])), 1), 3).toFloat());
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, inputShape: [4], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        new LoomRMSNorm({ record: init(LayerType.RMSNorm, 'InitRMSNormLayer', [8, 1e-6]) }),
        loomTfjsLayer(init(LayerType.Dense, 'InitDenseLayer', [8, 3, 5], 4)),
        loomTfjsLayer(softmaxRecord('entmax', (r) => (r.entmaxAlpha = 1.5))),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
    const gamma0 = Array.from(model.layers[1]?.getWeights()[0]?.dataSync() ?? []);
    const hist = await model.fit(xs, target, { epochs: 12, batchSize: 8, shuffle: false, verbose: 0 });
    const losses = hist.history['loss'] as number[];
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) * 0.7);
    const gamma1 = Array.from(model.layers[1]?.getWeights()[0]?.dataSync() ?? []);
    expect(gamma1).not.toEqual(gamma0); // the LOOM layer's own weights were trained

    const { loaded } = await roundTrip(model);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(['Dense', 'LoomRMSNorm', 'LoomDense', 'LoomSoftmax']);
    const a = model.predict(xs) as tf.Tensor;
    const b = loaded.predict(xs) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, xs, target]);
    loaded.dispose();
    model.optimizer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('sequence model LSTM -> MHA -> LayerNorm -> flatten -> dense trains and reloads identically', async () => {
    const before = tf.memory().numTensors;
    const xs = tf.tensor3d(seeded(16 * 4 * 3, 31), [16, 4, 3]);
    const ys = tf.tidy(() => tf.sum(xs, [1, 2]).reshape([16, 1]));
    const model = tf.sequential({
      layers: [
        loomTfjsLayer(init(LayerType.LSTM, 'InitLSTMLayer', [3, 4, 1, 4], 2), { inputShape: [4, 3] }),
        loomTfjsLayer(init(LayerType.MultiHeadAttention, 'InitMultiHeadAttentionLayer', [4, 2, 1, 4], 3)),
        loomTfjsLayer(init(LayerType.LayerNorm, 'InitLayerNormLayer', [4, 1e-5])),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    expect(model.layers[1]?.outputShape).toEqual([null, 4, 4]);
    model.compile({ optimizer: tf.train.adam(0.03), loss: 'meanSquaredError' });
    const hist = await model.fit(xs, ys, { epochs: 15, batchSize: 8, shuffle: false, verbose: 0 });
    const losses = hist.history['loss'] as number[];
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) * 0.8);

    const { loaded } = await roundTrip(model);
    const a = model.predict(xs) as tf.Tensor;
    const b = loaded.predict(xs) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, xs, ys]);
    loaded.dispose();
    model.optimizer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('setWeights writes the grid variables; a frozen layer is not trained', async () => {
    const layer = loomTfjsLayer(init(LayerType.Dense, 'InitDenseLayer', [3, 2, 5]), { inputShape: [3], trainable: false });
    const model = tf.sequential({ layers: [layer] });
    const trainable = tf.sequential({ layers: [model, tf.layers.dense({ units: 2 })] });
    expect(layer.trainableWeights).toHaveLength(0);
    expect(layer.nonTrainableWeights.map((w) => w.originalName)).toEqual([`${layer.name}/kernel`, `${layer.name}/bias`]);
    tf.tidy(() => layer.setWeights([tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), tf.tensor1d([0.5, -0.5])]));
    expect(Array.from(layer.gridLayer().toRecord().kernel ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    const x = tf.tensor2d([[1, 0, -1]]);
    const y = model.predict(x) as tf.Tensor;
    expectClose(y.dataSync(), [1 - 5 + 0.5, 2 - 6 - 0.5], {}, 'linear dense'); // activation 5 = linear
    trainable.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const t = tf.zeros([1, 2]);
    await trainable.fit(x, t, { epochs: 2, verbose: 0 });
    expect(Array.from(layer.gridLayer().toRecord().kernel ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([x, y, t]);
    trainable.dispose();
  });

  test('predict does not leak and the layer is a LoomTfjsLayer', () => {
    const layer = loomTfjsLayer(softmaxRecord('sparse'), { inputShape: [5] });
    const model = tf.sequential({ layers: [layer] });
    expect(layer).toBeInstanceOf(LoomTfjsLayer);
    const x = tf.tensor2d(seeded(10, 2), [2, 5]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) (model.predict(x) as tf.Tensor).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});
