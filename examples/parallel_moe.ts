/**
 * A Parallel layer as a mixture of experts: three Dense experts read the same hidden features
 * and their outputs are averaged (`combine_mode: "avg"`); trained to fit y = sin(3x) on [-1, 1].
 *
 * Run: npm run build && node dist/examples/parallel_moe.js
 */
import { buildNetworkFromJSON, useBackend, createRng } from '../src/index';
import { train, type TrainingBatch } from '../src/index';
import { runMain, sparkline } from './example_util';

const BATCH = 16;

runMain(async () => {
  await useBackend('cpu');
  const expert = (act: string) => ({ type: 'dense', activation: act, input_height: 16, output_height: 1 });
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: BATCH,
      grid_rows: 1,
      grid_cols: 1,
      layers_per_cell: 2,
      layers: [
        { type: 'dense', activation: 'tanh', input_height: 1, output_height: 16 },
        { type: 'parallel', combine_mode: 'avg', branches: [expert('linear'), expert('tanh'), expert('linear')] },
      ],
    }),
    { residualMode: 'none' },
  );
  net.initializeWeights(createRng(3));
  const rng = createRng(4);
  const batches: TrainingBatch[] = Array.from({ length: 6 }, () => {
    const xs = Array.from({ length: BATCH }, () => rng() * 2 - 1);
    return { input: xs, target: xs.map((x) => Math.sin(3 * x)) };
  });
  const r = await train(net, batches, { epochs: 150, learningRate: 0.02, optimizer: { type: 'adam' } });
  console.log(`moe: ${net.describe().layers.length} grid layers, loss ${r.lossHistory[0]?.toFixed(4)} -> ${r.finalLoss.toFixed(5)}`);
  console.log(`moe: ${sparkline(r.lossHistory.filter((_, i) => i % 8 === 0))}`);
  const xs = Array.from({ length: BATCH }, (_, i) => -1 + (2 * i) / (BATCH - 1));
  const ys = net.forward(xs);
  for (const i of [0, 5, 10, 15]) console.log(`  f(${(xs[i] as number).toFixed(2)}) = ${(ys[i] as number).toFixed(3)}  (sin: ${Math.sin(3 * (xs[i] as number)).toFixed(3)})`);
  net.dispose();
  if (!(r.finalLoss < 0.02)) throw new Error(`the mixture did not fit (loss ${r.finalLoss})`);
});
