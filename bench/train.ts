/**
 * bench train: the same MLP (784-392-10, tanh/sigmoid, MSE, SGD, batch 32, random data) trained
 * with loom-tfjs's `train()` and with `tf.sequential` + `model.fit`, on the same backend in the
 * same run. Reports samples/s for both and ours / fit (target >= 0.9).
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../src/backends';
import { emptyRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { createRng } from '../src/core/rng';
import { Network } from '../src/network/network';
import { train } from '../src/training';
import type { TrainingBatch } from '../src/training';
import { median, type Benchmark, type BenchOptions } from './bench';

const IN = 784;
const HIDDEN = 392;
const OUT = 10;
const BATCH = 32;
const LR = 0.05;

interface BackendResult {
  backend: string;
  samples: number;
  epochs: number;
  repeats: number;
  oursSamplesPerSec: number;
  fitSamplesPerSec: number;
  ratio: number;
  oursRuns: number[];
  fitRuns: number[];
}

function records(rng: () => number): ReturnType<typeof emptyRecord>[] {
  return [
    [IN, HIDDEN, 2],
    [HIDDEN, OUT, 1],
  ].map(([nIn, nOut, act]) => {
    const r = emptyRecord(LayerType.Dense);
    r.activation = act as number;
    r.inputHeight = nIn as number;
    r.outputHeight = nOut as number;
    r.kernel = Float32Array.from({ length: (nIn as number) * (nOut as number) }, () => (rng() * 2 - 1) / Math.sqrt(nIn as number));
    r.bias = new Float32Array(nOut as number);
    return r;
  });
}

async function runOurs(x: tf.Tensor2D, y: tf.Tensor2D, epochs: number, seed: number): Promise<number> {
  const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 2 }, records(createRng(seed)), {
    batchSize: BATCH,
    residualMode: 'none',
  });
  try {
    const t0 = performance.now();
    const n = x.shape[0];
    const batches: TrainingBatch[] = [];
    for (let s = 0; s + BATCH <= n; s += BATCH) {
      batches.push({ input: x.slice([s, 0], [BATCH, IN]), target: y.slice([s, 0], [BATCH, OUT]) });
    }
    await train(net, batches, { epochs, learningRate: LR, loss: 'mse', optimizer: { type: 'sgd' } });
    const dt = (performance.now() - t0) / 1000;
    tf.dispose(batches.flatMap((b) => [b.input as tf.Tensor, b.target as tf.Tensor]));
    return (batches.length * BATCH * epochs) / dt;
  } finally {
    net.dispose();
  }
}

async function runFit(x: tf.Tensor2D, y: tf.Tensor2D, epochs: number): Promise<number> {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [IN], units: HIDDEN, activation: 'tanh' }),
      tf.layers.dense({ units: OUT, activation: 'sigmoid' }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(LR), loss: 'meanSquaredError' });
  try {
    const t0 = performance.now();
    await model.fit(x, y, { batchSize: BATCH, epochs, shuffle: false, verbose: 0 });
    const dt = (performance.now() - t0) / 1000;
    return (Math.floor(x.shape[0] / BATCH) * BATCH * epochs) / dt;
  } finally {
    model.dispose();
  }
}

async function runBackend(backend: string, o: BenchOptions): Promise<BackendResult> {
  await useBackend(backend as BackendName);
  const samples = o.quick ? 32 * 24 : 32 * 96;
  const epochs = o.quick ? 2 : 3;
  const repeats = o.quick ? 2 : 3;
  const rng = createRng(42);
  const xs = Float32Array.from({ length: samples * IN }, () => rng());
  const ys = new Float32Array(samples * OUT);
  for (let i = 0; i < samples; i++) ys[i * OUT + Math.floor(rng() * OUT)] = 1;
  const x = tf.tensor2d(xs, [samples, IN]);
  const y = tf.tensor2d(ys, [samples, OUT]);
  try {
    await runOurs(x, y, 1, 1); // warm-up (kernels, wasm JIT)
    await runFit(x, y, 1);
    const oursRuns: number[] = [];
    const fitRuns: number[] = [];
    for (let r = 0; r < repeats; r++) {
      oursRuns.push(await runOurs(x, y, epochs, r + 2));
      fitRuns.push(await runFit(x, y, epochs));
      o.log(`${backend} run ${r + 1}/${repeats}: ours ${oursRuns[r]?.toFixed(0)} samples/s, fit ${fitRuns[r]?.toFixed(0)} samples/s`);
    }
    const ours = median(oursRuns);
    const fit = median(fitRuns);
    return { backend, samples, epochs, repeats, oursSamplesPerSec: ours, fitSamplesPerSec: fit, ratio: ours / fit, oursRuns, fitRuns };
  } finally {
    x.dispose();
    y.dispose();
  }
}

/** The train benchmark. */
export const trainBenchmark: Benchmark = {
  name: 'train',
  description: 'MLP 784-392-10 SGD batch 32: train() vs tf.sequential + model.fit (samples/s)',
  async run(o) {
    const results: BackendResult[] = [];
    for (const b of o.backends) results.push(await runBackend(b, o));
    return { model: `${IN}-${HIDDEN}-${OUT} tanh/sigmoid, mse, sgd lr ${LR}, batch ${BATCH}`, quick: o.quick, results, target: 'ratio >= 0.9' };
  },
  markdown(r) {
    const rows = (r.results as BackendResult[]).map(
      (x) => `| ${x.backend} | ${x.oursSamplesPerSec.toFixed(0)} | ${x.fitSamplesPerSec.toFixed(0)} | ${x.ratio.toFixed(2)} |`,
    );
    return ['| backend | train() samples/s | model.fit samples/s | ratio |', '|---|---|---|---|', ...rows, ''].join('\n');
  },
};
