/**
 * An LSTM on a sequence task: is the sum of 6 numbers in [-1, 1] positive? A LOOM grid of an LSTM
 * (1 input, 8 hidden units, 6 steps) and a Dense read-out over all hidden states, batch of 16.
 *
 * Run: npm run build && node dist/examples/lstm_sequence.js
 */
import { buildNetworkFromJSON, useBackend, createRng } from '../src/index';
import { train, type TrainingBatch } from '../src/index';
import { runMain, sparkline } from './example_util';

const STEPS = 6;
const HIDDEN = 8;
const BATCH = 16;

runMain(async () => {
  await useBackend('cpu');
  const rng = createRng(5);
  const batches: TrainingBatch[] = Array.from({ length: 8 }, () => {
    const input: number[] = [];
    const target: number[] = [];
    for (let s = 0; s < BATCH; s++) {
      const seq = Array.from({ length: STEPS }, () => rng() * 2 - 1);
      input.push(...seq); // (BATCH, STEPS, 1) flattened sample-major
      target.push(seq.reduce((a, b) => a + b, 0) > 0 ? 1 : 0);
    }
    return { input, target };
  });
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: BATCH,
      grid_rows: 1,
      grid_cols: 1,
      layers_per_cell: 2,
      layers: [
        { type: 'lstm', activation: 'tanh', input_size: 1, hidden_size: HIDDEN, seq_length: STEPS },
        { type: 'dense', activation: 'sigmoid', input_height: STEPS * HIDDEN, output_height: 1 },
      ],
    }),
    { residualMode: 'none' },
  );
  net.initializeWeights(createRng(1));
  const r = await train(net, batches, { epochs: 40, learningRate: 0.03, optimizer: { type: 'adam' } });
  let ok = 0;
  for (const b of batches) {
    const y = net.forward(b.input as number[]);
    (b.target as number[]).forEach((t, i) => (ok += Number((y[i] as number) > 0.5) === t ? 1 : 0));
  }
  const acc = ok / (batches.length * BATCH);
  console.log(`lstm: loss ${r.lossHistory[0]?.toFixed(4)} -> ${r.finalLoss.toFixed(4)} ${sparkline(r.lossHistory.filter((_, i) => i % 3 === 0))}`);
  console.log(`lstm: accuracy on the training sequences ${(acc * 100).toFixed(1)}%`);
  net.dispose();
  if (acc < 0.85) throw new Error(`the LSTM did not learn the task (accuracy ${acc})`);
});
