/**
 * Every layer type trains with exact gradients: for each kind in the registry, a small
 * regression task `Dense -> KIND -> Dense(sigmoid)` whose MSE falls by >= 10x with Adam, and the
 * kind's own parameters change (LOOM's trainer leaves Conv2D/RNN/LSTM/norm/SwiGLU weights untouched).
 * Kinds that cannot run yet (pending placeholders) are skipped with a message.
 */
import * as tf from '@tensorflow/tfjs';
import { LAYER_KINDS } from '../layers/index';
import { useBackend } from '../src/backends';
import { UnsupportedLayerError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { createRng } from '../src/core/rng';
import { Network } from '../src/network/network';
import { trainSync, type TrainingBatch } from '../src/training';
import { uniform } from './helpers/train_nets';

const LINEAR = 5;
const TANH = 2;
const SIGMOID = 1;

function rec(type: number, fields: Partial<LayerRecord>): LayerRecord {
  return { ...emptyRecord(type as LayerRecord['type']), ...fields };
}

function dense(nIn: number, nOut: number, activation: number): LayerRecord {
  return rec(LayerType.Dense, { inputHeight: nIn, outputHeight: nOut, activation });
}

/** Per kind: the layer under test, the size it consumes and the size it produces (batch 1). */
const CASES: Record<string, { layer: () => LayerRecord; inSize: number; outSize: number }> = {
  dense: { layer: () => dense(6, 6, TANH), inSize: 6, outSize: 6 },
  conv2d: {
    layer: () =>
      rec(LayerType.Conv2D, {
        inputChannels: 1, inputHeight: 4, inputWidth: 4, filters: 2, kernelSize: 3, stride: 1, padding: 1,
        outputHeight: 4, outputWidth: 4, activation: TANH,
      }),
    inSize: 16,
    outSize: 32,
  },
  multi_head_attention: {
    layer: () => rec(LayerType.MultiHeadAttention, { dModel: 4, numHeads: 2, numKVHeads: 2, headDim: 2, seqLength: 3 }),
    inSize: 12,
    outSize: 12,
  },
  rnn: { layer: () => rec(LayerType.RNN, { rnnInputSize: 2, hiddenSize: 3, seqLength: 3 }), inSize: 6, outSize: 9 },
  lstm: { layer: () => rec(LayerType.LSTM, { rnnInputSize: 2, hiddenSize: 3, seqLength: 3 }), inSize: 6, outSize: 9 },
  softmax: { layer: () => rec(LayerType.Softmax, { softmaxVariant: 0 }), inSize: 6, outSize: 6 },
  layer_norm: { layer: () => rec(LayerType.LayerNorm, { normSize: 6, epsilon: 1e-5 }), inSize: 6, outSize: 6 },
  residual: { layer: () => rec(LayerType.Residual, { activation: TANH }), inSize: 6, outSize: 6 },
  rms_norm: { layer: () => rec(LayerType.RMSNorm, { normSize: 6, epsilon: 1e-6 }), inSize: 6, outSize: 6 },
  swiglu: { layer: () => rec(LayerType.SwiGLU, { inputHeight: 6, outputHeight: 8 }), inSize: 6, outSize: 6 },
  parallel: {
    layer: () => rec(LayerType.Parallel, { parallelBranches: [dense(6, 3, TANH), dense(6, 2, TANH)], combineMode: 'concat' }),
    inSize: 6,
    outSize: 5,
  },
};

const IN = 5;
const OUT = 2;

function build(kind: string): Network {
  const c = CASES[kind];
  if (!c) throw new Error(`no training case for layer kind '${kind}': add one to CASES`);
  const records = [dense(IN, c.inSize, LINEAR), c.layer(), dense(c.outSize, OUT, SIGMOID)];
  const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 3 }, records, { batchSize: 1, residualMode: 'none' });
  net.initializeWeights(createRng(5));
  return net;
}

function layerParams(net: Network): Float32Array[] {
  return (net.layerAt(1)?.params ?? []).map((p) => new Float32Array(p.variable.dataSync() as Float32Array));
}

describe('every layer type trains with Adam (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('every registered kind has a training case', () => {
    for (const k of LAYER_KINDS) expect(Object.keys(CASES)).toContain(k.name);
  });

  test.each(LAYER_KINDS.map((k) => k.name))('%s: loss falls >= 10x and its own weights move', (kind) => {
    const net = build(kind);
    try {
      try {
        net.forward(new Float32Array(IN));
      } catch (e) {
        if (e instanceof UnsupportedLayerError) {
          console.warn(`${kind} skipped: ${e.message}`);
          return;
        }
        throw e;
      }
      const rng = createRng(17);
      const batches: TrainingBatch[] = Array.from({ length: 4 }, () => ({
        input: uniform(IN, rng),
        target: uniform(OUT, rng, 0.1, 0.9),
      }));
      const before = layerParams(net);
      const tensorsBefore = tf.memory().numTensors;
      const first = trainSync(net, batches, { epochs: 1, learningRate: 0, optimizer: { type: 'sgd' } }).finalLoss;
      const r = trainSync(net, batches, {
        epochs: 600,
        learningRate: 0.01,
        optimizer: { type: 'adam' },
        callbacks: { onEpochEnd: (e) => (e.loss < first / 20 ? 'stop' : undefined) },
      });
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(r.finalLoss).toBeLessThanOrEqual(first / 10);
      const after = layerParams(net);
      const moved = before.map((b, i) => Math.max(...Array.from(b, (v, j) => Math.abs(v - (after[i]?.[j] as number)))));
      moved.forEach((m, i) => expect({ param: i, moved: m > 1e-4 }).toEqual({ param: i, moved: true }));
    } finally {
      net.dispose();
    }
  });
});
