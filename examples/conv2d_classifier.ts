/**
 * A Conv2D classifier on generated 6x6 images: a horizontal bar (class 0) or a vertical bar
 * (class 1) at a random place, with noise. Conv2D (4 filters 3x3) -> Dense -> sigmoid.
 *
 * Run: npm run build && node dist/examples/conv2d_classifier.js
 */
import { buildNetworkFromJSON, useBackend, createRng } from '../src/index';
import { train, type TrainingBatch } from '../src/index';
import { runMain, sparkline } from './example_util';

const SIZE = 6;
const BATCH = 8;

/** One image (SIZE*SIZE values, row-major, one channel) with a bar; returns [pixels, class]. */
function image(rng: () => number): [number[], number] {
  const vertical = rng() < 0.5 ? 1 : 0;
  const at = Math.floor(rng() * SIZE);
  const px = Array.from({ length: SIZE * SIZE }, () => rng() * 0.3);
  for (let i = 0; i < SIZE; i++) px[vertical ? i * SIZE + at : at * SIZE + i] = 1;
  return [px, vertical];
}

runMain(async () => {
  await useBackend('cpu');
  const rng = createRng(11);
  const makeBatches = (n: number): TrainingBatch[] =>
    Array.from({ length: n }, () => {
      const imgs = Array.from({ length: BATCH }, () => image(rng));
      return { input: imgs.flatMap(([p]) => p), target: imgs.map(([, c]) => c) };
    });
  const trainSet = makeBatches(12);
  const testSet = makeBatches(4);
  const out = SIZE - 2; // 3x3 kernel, stride 1, no padding
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: BATCH,
      grid_rows: 1,
      grid_cols: 1,
      layers_per_cell: 2,
      layers: [
        {
          type: 'conv2d', activation: 'relu', input_height: SIZE, input_width: SIZE, input_channels: 1,
          filters: 4, kernel_size: 3, stride: 1, padding: 0, output_height: out, output_width: out,
        },
        { type: 'dense', activation: 'sigmoid', input_height: 4 * out * out, output_height: 1 },
      ],
    }),
    { residualMode: 'none' },
  );
  net.initializeWeights(createRng(2));
  const r = await train(net, trainSet, { epochs: 40, learningRate: 0.01, optimizer: { type: 'adam' } });
  let ok = 0;
  for (const b of testSet) {
    const y = net.forward(b.input as number[]);
    (b.target as number[]).forEach((t, i) => (ok += Number((y[i] as number) > 0.5) === t ? 1 : 0));
  }
  const acc = ok / (testSet.length * BATCH);
  console.log(`conv2d: loss ${r.finalLoss.toFixed(4)} ${sparkline(r.lossHistory.filter((_, i) => i % 2 === 0))}`);
  console.log(`conv2d: accuracy on ${testSet.length * BATCH} new images ${(acc * 100).toFixed(1)}%`);
  net.dispose();
  if (acc < 0.9) throw new Error(`the classifier did not learn (accuracy ${acc})`);
});
