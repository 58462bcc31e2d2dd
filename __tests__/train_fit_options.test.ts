/**
 * tfjs conventions in `train()`: `optimizer: 'adam'`, `loss: 'meanSquaredError'`, `batchSize`,
 * `validationSplit`, `validationData`, `shuffle`, `epochs` (default 1), and unknown keys refused
 * naming the closest. Reference: tfjs-layers' own `model.fit` on the same Dense layer with the
 * same weights and data (a different code path: tfjs's training loop and loss functions).
 */
import * as tf from '@tensorflow/tfjs';
import { train } from '../src/training/train';
import { denseNet, snapshot, uniform } from './helpers/train_nets';
import { createRng } from '../src/core/rng';
import { expectClose } from './helpers/fixtures';
import type { TrainingBatch } from '../src/training/types';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const N = 10;
const rng = createRng(5);
const xs = Array.from({ length: N }, () => uniform(3, rng));
const ys = Array.from({ length: N }, () => uniform(2, rng, -0.5, 0.5));
const batches: TrainingBatch[] = xs.map((x, i) => ({ input: x, target: ys[i] as number[] }));

/** tfjs-layers fit of Dense(3 -> 2, tanh) from `net`'s current weights. */
async function tfjsFit(kernel: Float32Array, bias: Float32Array, compile: tf.ModelCompileArgs, fit: tf.ModelFitArgs): Promise<{ weights: Float32Array[]; history: tf.History }> {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'tanh', weights: [tf.tensor2d(kernel, [3, 2]), tf.tensor1d(bias)] })] });
  model.compile(compile);
  const x = tf.tensor2d(xs);
  const y = tf.tensor2d(ys);
  const history = await model.fit(x, y, fit);
  const weights = model.getWeights().map((w) => new Float32Array(w.dataSync() as Float32Array));
  tf.dispose([x, y]);
  model.dispose();
  return { weights, history };
}

describe('train() with tfjs fit options', () => {
  test("optimizer 'sgd', loss 'meanSquaredError', batchSize 4, validationSplit 0.25: same weights and losses as tfjs fit", async () => {
    const net = denseNet([3, 2], [2], 1, 7); // tanh
    const [k0, b0] = snapshot(net) as [Float32Array, Float32Array];
    const before = tf.memory().numTensors;
    const r = await train(net, batches, { optimizer: 'sgd', learningRate: 0.1, loss: 'meanSquaredError', batchSize: 4, validationSplit: 0.25, epochs: 3, shuffle: false });
    expect(tf.memory().numTensors).toBe(before);
    const ref = await tfjsFit(k0, b0, { optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' }, { batchSize: 4, validationSplit: 0.25, epochs: 3, shuffle: false, verbose: 0 });
    const [k1, b1] = snapshot(net) as [Float32Array, Float32Array];
    expectClose(k1, ref.weights[0] as Float32Array, { atol: 1e-5 }, 'kernel');
    expectClose(b1, ref.weights[1] as Float32Array, { atol: 1e-5 }, 'bias');
    expectClose(r.lossHistory, ref.history.history['loss'] as number[], { atol: 1e-5 }, 'loss');
    expectClose(r.valLossHistory, ref.history.history['val_loss'] as number[], { atol: 1e-5 }, 'val_loss');
    expect(r.stepsCompleted).toBe(3 * 2); // 7 training samples in steps of 4 and 3
    net.dispose();
  });

  test("optimizer 'adam' and snake_case keys: same weights as tfjs fit with tf.train.adam", async () => {
    const net = denseNet([3, 2], [2], 1, 8);
    const [k0, b0] = snapshot(net) as [Float32Array, Float32Array];
    await train(net, batches, { optimizer: 'adam', learning_rate: 0.01, loss: 'meanSquaredError', batch_size: 5, epochs: 2 });
    const ref = await tfjsFit(k0, b0, { optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' }, { batchSize: 5, epochs: 2, shuffle: false, verbose: 0 });
    const [k1, b1] = snapshot(net) as [Float32Array, Float32Array];
    expectClose(k1, ref.weights[0] as Float32Array, { atol: 1e-5 }, 'kernel');
    expectClose(b1, ref.weights[1] as Float32Array, { atol: 1e-5 }, 'bias');
    net.dispose();
  });

  test('validationData is reported as valLoss; epochs defaults to 1 as tfjs', async () => {
    const net = denseNet([3, 2], [2], 1, 9);
    const r = await train(net, batches.slice(0, 6), { optimizer: 'sgd', validationData: batches.slice(6) } as never);
    expect(r.epochsCompleted).toBe(1);
    expect(r.valLossHistory).toHaveLength(1);
    net.dispose();
  });

  test('unknown keys, optimizer and loss names are ConfigErrors naming the closest', async () => {
    const net = denseNet([3, 2], [2], 1, 9);
    await expect(train(net, batches, { epochs: 1, batchsize: 4 } as never)).rejects.toThrow(/train: unknown option 'batchsize'; did you mean 'batch_size'\?/);
    await expect(train(net, batches, { epochs: 1, validationSplt: 0.2 } as never)).rejects.toThrow(/did you mean 'validationSplit'\?/);
    await expect(train(net, batches, { epochs: 1, optimizer: 'adamm' } as never)).rejects.toThrow(/unknown optimizer 'adamm'; did you mean 'adam'\?/);
    await expect(train(net, batches, { epochs: 1, loss: 'meanSquaredErr' } as never)).rejects.toThrow(/unknown loss 'meanSquaredErr'; did you mean 'meanSquaredError'\?/);
    await expect(train(net, batches, { epochs: 1, validationSplit: 1 })).rejects.toThrow(/validationSplit is 1, expected a number in \[0, 1\)/);
    await expect(train(net, batches, { epochs: 1, batchSize: 0 })).rejects.toThrow(/batchSize must be a positive multiple/);
    net.dispose();
  });
});
