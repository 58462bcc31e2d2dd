/**
 * train(): exact gradients (finite differences in float64), LOOM loss gradients, optimizers,
 * schedules, callbacks, abort, NaN handling, shuffling, tensor batches, progress, leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { TrainingError, ConfigError } from '../src/core/errors';
import { createRng } from '../src/core/rng';
import {
  train,
  trainSync,
  crossEntropyLoss,
  mseLoss,
  loomLossGradient,
  learningRateAt,
  progressBar,
  eventProgress,
  type TrainingBatch,
  type LossType,
  type OptimizerConfig,
} from '../src/training';
import { Network } from '../src/network/network';
import { emptyRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { expectClose } from './helpers/fixtures';
import { denseNet, snapshot, uniform } from './helpers/train_nets';

const SIGMOID = 1;
const TANH = 2;

/** float64 reference: 3 -> 4 (tanh) -> 2 (sigmoid), batch B, LOOM's loss. */
function refLoss(w: Float64Array[], x: number[], t: number[], B: number, loss: LossType): number {
  const [k0, b0, k1, b1] = w as [Float64Array, Float64Array, Float64Array, Float64Array];
  const y: number[] = [];
  for (let s = 0; s < B; s++) {
    const h: number[] = [];
    for (let o = 0; o < 4; o++) {
      let z = b0[o] as number;
      for (let i = 0; i < 3; i++) z += (x[s * 3 + i] as number) * (k0[i * 4 + o] as number);
      h.push(Math.tanh(z));
    }
    for (let o = 0; o < 2; o++) {
      let z = b1[o] as number;
      for (let i = 0; i < 4; i++) z += (h[i] as number) * (k1[i * 2 + o] as number);
      y.push(1 / (1 + Math.exp(-z)));
    }
  }
  let sum = 0;
  y.forEach((v, i) => {
    const tv = t[i] as number;
    if (loss === 'mse') sum += (v - tv) ** 2;
    else if (tv > 0) sum -= tv * Math.log(Math.min(Math.max(v, 1e-7), 1 - 1e-7));
  });
  return sum / y.length;
}

function fdGrads(w: Float64Array[], x: number[], t: number[], B: number, loss: LossType): Float64Array[] {
  const h = 1e-6;
  return w.map((arr) =>
    Float64Array.from(arr, (_, j) => {
      const keep = arr[j] as number;
      arr[j] = keep + h;
      const up = refLoss(w, x, t, B, loss);
      arr[j] = keep - h;
      const down = refLoss(w, x, t, B, loss);
      arr[j] = keep;
      return (up - down) / (2 * h);
    }),
  );
}

function batchesFor(net: Network, n: number, nIn: number, nOut: number, seed: number): TrainingBatch[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => ({
    input: uniform(net.batchSize * nIn, rng),
    target: uniform(net.batchSize * nOut, rng, 0.05, 0.95),
  }));
}

describe.each(['cpu', 'wasm'] as const)('train() on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test.each([
    ['mse', 0],
    ['cross_entropy', 0],
    ['mse', 0.01],
  ] as const)('SGD step equals finite-difference gradient of %s (clip %s)', (loss, clip) => {
    const net = denseNet([3, 4, 2], [TANH, SIGMOID], 2, 7);
    try {
      const [batch] = batchesFor(net, 1, 3, 2, 11) as [TrainingBatch];
      const before = snapshot(net);
      const fd = fdGrads(
        before.map((a) => Float64Array.from(a)),
        batch.input as number[],
        (batch.target as number[]).map(Math.fround),
        2,
        loss,
      );
      let scale = 1;
      if (clip > 0) {
        const norm = Math.sqrt(fd.reduce((s, g) => s + g.reduce((a, v) => a + v * v, 0), 0));
        expect(norm).toBeGreaterThan(clip); // the clip is active
        scale = clip / norm;
      }
      trainSync(net, [batch], { epochs: 1, learningRate: 1, loss, gradientClip: clip });
      const after = snapshot(net);
      before.forEach((b, i) => {
        const step = Array.from(b, (v, j) => v - (after[i]?.[j] as number));
        expectClose(step, Array.from(fd[i] as Float64Array, (g) => g * scale), { atol: 2e-6, rtol: 1e-3 }, `param ${i}`);
      });
    } finally {
      net.dispose();
    }
  });

  test('cross-entropy gradient is LOOM\'s, including the clamp regions', () => {
    const cases: [number[], number[]][] = [
      [[0.3, 0.6, 0.1], [1, 0, 0.5]],
      [[1, 0, 0.5], [1, 1, 0]], // y = 1 (above 1 - 1e-7) and y = 0 (below 1e-7)
      [[0.2, 0.7], [0.4, -1]], // negative targets are ignored
    ];
    for (const [y, t] of cases) {
      const g = tf.tidy(() => tf.grad((yy: tf.Tensor) => crossEntropyLoss(yy as tf.Tensor1D, tf.tensor1d(t)))(tf.tensor1d(y)).dataSync());
      expectClose(g, loomLossGradient(y, t, 'cross_entropy'), { atol: 1e-6, rtol: 1e-6 }, `ce grad ${JSON.stringify(y)}`);
      const gm = tf.tidy(() => tf.grad((yy: tf.Tensor) => mseLoss(yy as tf.Tensor1D, tf.tensor1d(t)))(tf.tensor1d(y)).dataSync());
      expectClose(gm, loomLossGradient(y, t, 'mse'), { atol: 1e-7, rtol: 1e-6 }, 'mse grad');
    }
    // target shorter than output: divide by len(output), zero gradient past the target
    const g = tf.tidy(() => tf.grad((yy: tf.Tensor) => mseLoss(yy as tf.Tensor1D, tf.tensor1d([1])))(tf.tensor1d([0.5, 2])).dataSync());
    expectClose(g, [-0.5, 0]);
  });

  test.each<[OptimizerConfig, number]>([
    [{ type: 'sgd' }, 0.5],
    [{ type: 'momentum', momentum: 0.9 }, 0.1],
    [{ type: 'adam' }, 0.02],
    [{ type: 'adamw', weightDecay: 0.01 }, 0.02],
    [{ type: 'rmsprop' }, 0.01],
  ])('optimizer %j lowers the loss', async (optimizer, learningRate) => {
    const net = denseNet([3, 8, 2], [TANH, SIGMOID], 1, 3);
    try {
      const batches = batchesFor(net, 8, 3, 2, 5);
      const r = await train(net, batches, { epochs: 40, learningRate, optimizer });
      expect(r.stopReason).toBe('completed');
      expect(r.lossHistory).toHaveLength(40);
      expect(r.finalLoss).toBeLessThan((r.lossHistory[0] as number) * 0.7);
    } finally {
      net.dispose();
    }
  });

  test('adamw decays weights relative to adam', () => {
    const make = (): Network => denseNet([3, 4, 2], [TANH, SIGMOID], 1, 9);
    const a = make();
    const b = make();
    try {
      const batches = batchesFor(a, 2, 3, 2, 1);
      trainSync(a, batches, { epochs: 5, learningRate: 0.01, optimizer: { type: 'adam' } });
      trainSync(b, batches, { epochs: 5, learningRate: 0.01, optimizer: { type: 'adamw', weightDecay: 0.5 } });
      const norm = (n: Network): number => snapshot(n).reduce((s, w) => s + w.reduce((x, v) => x + v * v, 0), 0);
      expect(norm(b)).toBeLessThan(norm(a));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('abort mid-epoch: result holds the epochs done, no tensors leak', async () => {
    const net = denseNet([3, 4, 2], [TANH, SIGMOID], 2, 2);
    const batches = batchesFor(net, 5, 3, 2, 3);
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    const r = await train(net, batches, {
      epochs: 10,
      learningRate: 0.1,
      optimizer: { type: 'adam' },
      signal: ac.signal,
      callbacks: {
        onBatchEnd: ({ epoch, batch }) => {
          if (epoch === 2 && batch === 1) ac.abort();
        },
      },
    });
    expect(r.stopReason).toBe('aborted');
    expect(r.epochsCompleted).toBe(2);
    expect(r.lossHistory).toHaveLength(2);
    expect(r.stepsCompleted).toBe(12);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  test('abort from a timer stops a long async run between batches', async () => {
    const net = denseNet([3, 4, 2], [TANH, SIGMOID], 1, 2);
    const batches = batchesFor(net, 4, 3, 2, 3);
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await train(net, batches, { epochs: 1_000_000, learningRate: 0.1, signal: ac.signal, yieldEveryMs: 10 });
    expect(r.stopReason).toBe('aborted');
    expect(r.epochsCompleted).toBeLessThan(1_000_000);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  test('NaN loss throws a TrainingError naming epoch and batch; weights stay finite; nothing leaks', async () => {
    const net = denseNet([3, 4, 2], [TANH, SIGMOID], 1, 2);
    const batches = batchesFor(net, 4, 3, 2, 3);
    batches[2] = { input: (batches[2] as TrainingBatch).input, target: [0.5, Number.NaN] };
    const before = tf.memory().numTensors;
    await expect(train(net, batches, { epochs: 3, learningRate: 0.1 })).rejects.toThrow(
      /loss is NaN at epoch 1\/3, batch 3\/4 \(batch index 2/,
    );
    await expect(train(net, batches, { epochs: 3 })).rejects.toBeInstanceOf(TrainingError);
    expect(snapshot(net).every((w) => w.every(Number.isFinite))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });

  test('tensor batches train exactly like array batches', () => {
    const a = denseNet([3, 4, 2], [TANH, SIGMOID], 2, 4);
    const b = denseNet([3, 4, 2], [TANH, SIGMOID], 2, 4);
    try {
      const arr = batchesFor(a, 3, 3, 2, 8);
      const tens = arr.map((x) => ({
        input: tf.tensor2d(x.input as number[], [2, 3]),
        target: tf.tensor2d(x.target as number[], [2, 2]),
      }));
      const ra = trainSync(a, arr, { epochs: 3, learningRate: 0.3 });
      const rb = trainSync(b, tens, { epochs: 3, learningRate: 0.3 });
      expect(rb.lossHistory).toEqual(ra.lossHistory);
      expect(tens.every((t) => !t.input.isDisposed)).toBe(true); // the caller's tensors are not ours to free
      tf.dispose(tens.flatMap((t) => [t.input, t.target]));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('seeded shuffling is reproducible and changes the order', () => {
    const orders = (seed: number): number[] => {
      const net = denseNet([3, 4, 2], [TANH, SIGMOID], 1, 4);
      const seen: number[] = [];
      trainSync(net, batchesFor(net, 6, 3, 2, 8), {
        epochs: 2,
        shuffle: true,
        seed,
        callbacks: { onBatchEnd: (i) => seen.push(i.batchIndex) },
      });
      net.dispose();
      return seen;
    };
    expect(orders(1)).toEqual(orders(1));
    expect(orders(1)).not.toEqual(orders(2));
    expect([...orders(3)].slice(0, 6).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('schedule drives the learning rate; validation, early stopping and callback stop', () => {
    const net = denseNet([3, 4, 2], [TANH, SIGMOID], 1, 4);
    try {
      const batches = batchesFor(net, 2, 3, 2, 8);
      const lrs: number[] = [];
      trainSync(net, batches, {
        epochs: 4,
        learningRate: 0.1,
        schedule: { type: 'step', everyEpochs: 2, gamma: 0.5, warmupSteps: 2 },
        callbacks: { onBatchEnd: (i) => lrs.push(i.learningRate) },
      });
      expectClose(lrs, [0.05, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]);
      // lr 0: nothing improves, so early stopping fires after patience + 1 epochs
      const es = trainSync(net, batches, {
        epochs: 20,
        learningRate: 0,
        validation: { batches },
        earlyStopping: { patience: 2 },
      });
      expect(es.stopReason).toBe('early_stopping');
      expect(es.epochsCompleted).toBe(4);
      expect(es.valLossHistory).toHaveLength(4);
      const cb = trainSync(net, batches, { epochs: 5, callbacks: { onEpochEnd: (e) => (e.epoch === 1 ? 'stop' : undefined) } });
      expect(cb.stopReason).toBe('callback');
      expect(cb.epochsCompleted).toBe(2);
    } finally {
      net.dispose();
    }
  });
});

describe('train() options and reporters (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('learningRateAt: warmup, step, cosine', () => {
    const st = (step: number, epoch = 0): { step: number; epoch: number; totalSteps: number } => ({ step, epoch, totalSteps: 100 });
    expect(learningRateAt(undefined, 0.1, st(5))).toBe(0.1);
    expect(learningRateAt({ type: 'constant', warmupSteps: 4 }, 0.1, st(0))).toBeCloseTo(0.025);
    expect(learningRateAt({ type: 'step', everyEpochs: 3, gamma: 0.1 }, 1, st(0, 7))).toBeCloseTo(0.01);
    expect(learningRateAt({ type: 'cosine' }, 1, st(0))).toBeCloseTo(1);
    expect(learningRateAt({ type: 'cosine' }, 1, st(50))).toBeCloseTo(0.5);
    expect(learningRateAt({ type: 'cosine', minLearningRate: 0.1 }, 1, st(100))).toBeCloseTo(0.1);
  });

  test('bad options are ConfigErrors; empty batch list is a TrainingError', async () => {
    const net = denseNet([3, 2], [SIGMOID], 1, 1);
    const b = batchesFor(net, 1, 3, 2, 1);
    expect(() => trainSync(net, b, { epochs: 0 })).toThrow(ConfigError);
    expect(() => trainSync(net, b, { epochs: 1, optimizer: { type: 'nope' } as unknown as OptimizerConfig })).toThrow(ConfigError);
    expect(() => trainSync(net, b, { epochs: 1, earlyStopping: { patience: 1, monitor: 'valLoss' } })).toThrow(ConfigError);
    expect(() => trainSync(net, [{ input: [1, 2], target: [0, 1] }], { epochs: 1 })).toThrow(/batch 0: input has 2 values, expected 3/);
    await expect(train(net, [], { epochs: 1 })).rejects.toBeInstanceOf(TrainingError);
    net.dispose();
  });

  test('progress bar writes to its stream; events reach an EventTarget', () => {
    const net = denseNet([3, 2], [SIGMOID], 1, 1);
    const out: string[] = [];
    const target = new EventTarget();
    const seen: string[] = [];
    for (const n of ['train-start', 'train-batch', 'train-epoch', 'train-end']) target.addEventListener(n, () => seen.push(n));
    const b = batchesFor(net, 2, 3, 2, 1);
    trainSync(net, b, { epochs: 2, progress: progressBar({ stream: { write: (s: string) => out.push(s), isTTY: true }, intervalMs: 0 }) });
    trainSync(net, b, { epochs: 1, progress: eventProgress(target) });
    expect(out.join('')).toMatch(/epoch 2\/2 \[=+>?\s*\] 2\/2 loss/);
    expect(out.join('')).toMatch(/epoch 2\/2 loss \d/);
    expect(seen).toEqual(['train-start', 'train-batch', 'train-batch', 'train-epoch', 'train-end']);
    net.dispose();
  });

  test('a network without parameters reports its loss and takes no step', () => {
    const r0 = { ...emptyRecord(LayerType.Softmax) };
    const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 1 }, [r0]);
    const r = trainSync(net, [{ input: [0, 0], target: [1, 0] }], { epochs: 2, loss: 'cross_entropy', gradientClip: 1 });
    expectClose(r.lossHistory, [Math.log(2) / 2, Math.log(2) / 2]);
    net.dispose();
  });

  test('a user optimizer keeps its own learning rate and is not disposed', () => {
    const net = denseNet([3, 2], [SIGMOID], 1, 1);
    const opt = tf.train.adam(0.05);
    const r = trainSync(net, batchesFor(net, 2, 3, 2, 1), { epochs: 2, optimizer: opt });
    expect(r.epochsCompleted).toBe(2);
    expect((opt as unknown as { learningRate: number }).learningRate).toBe(0.05);
    opt.dispose();
    net.dispose();
  });
});
