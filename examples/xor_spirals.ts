/**
 * XOR and two spirals with a LOOM grid network: a 1x3 grid (one Dense layer per cell), built from
 * a LOOM JSON description, trained with `train()` (Adam), then checked for accuracy.
 *
 * Run: npm run build && node dist/examples/xor_spirals.js
 */
import { buildNetworkFromJSON, useBackend, type Network, createRng } from '../src/index';
import { train, type TrainingBatch } from '../src/index';
import { runMain, sparkline } from './example_util';

/** A 1x3 grid: 2 -> hidden (tanh) -> hidden (tanh) -> 1 (sigmoid). */
function gridNetwork(hidden: number, seed: number, batchSize = 1): Network {
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: batchSize,
      grid_rows: 1,
      grid_cols: 3,
      layers_per_cell: 1,
      layers: [
        { type: 'dense', activation: 'tanh', input_height: 2, output_height: hidden },
        { type: 'dense', activation: 'tanh', input_height: hidden, output_height: hidden },
        { type: 'dense', activation: 'sigmoid', input_height: hidden, output_height: 1 },
      ],
    }),
    { residualMode: 'none' },
  );
  net.initializeWeights(createRng(seed));
  return net;
}

/** Share of samples classified right (each batch holds `net.batchSize` samples). */
function accuracy(net: Network, data: readonly TrainingBatch[]): number {
  let ok = 0;
  let n = 0;
  for (const b of data) {
    const y = net.forward(b.input as number[]);
    (b.target as number[]).forEach((t, i) => {
      ok += Number((y[i] as number) > 0.5) === t ? 1 : 0;
      n++;
    });
  }
  return ok / n;
}

/** Groups samples into batches of `size` (inputs and targets concatenated sample by sample). */
function batches(samples: readonly TrainingBatch[], size: number): TrainingBatch[] {
  const out: TrainingBatch[] = [];
  for (let i = 0; i + size <= samples.length; i += size) {
    const part = samples.slice(i, i + size);
    out.push({ input: part.flatMap((s) => [...(s.input as number[])]), target: part.flatMap((s) => [...(s.target as number[])]) });
  }
  return out;
}

/** Two interleaved spirals, `n` points each; class = which spiral. */
function spirals(n: number, rng: () => number): TrainingBatch[] {
  const out: TrainingBatch[] = [];
  for (let i = 0; i < n; i++) {
    const r = ((i / n) * 1.0 + 0.05) * 2;
    const t = (i / n) * 2 * Math.PI + rng() * 0.1;
    for (const c of [0, 1]) {
      const s = c === 0 ? 1 : -1;
      out.push({ input: [s * r * Math.cos(t), s * r * Math.sin(t)], target: [c] });
    }
  }
  return out;
}

runMain(async () => {
  await useBackend('cpu');
  const xor: TrainingBatch[] = [
    { input: [0, 0], target: [0] },
    { input: [0, 1], target: [1] },
    { input: [1, 0], target: [1] },
    { input: [1, 1], target: [0] },
  ];
  const a = gridNetwork(8, 1);
  const r1 = await train(a, xor, { epochs: 300, learningRate: 0.05, optimizer: { type: 'adam' } });
  console.log(`xor: loss ${r1.finalLoss.toFixed(5)} ${sparkline(r1.lossHistory.filter((_, i) => i % 15 === 0))}`);
  for (const s of xor) console.log(`  xor(${(s.input as number[]).join(', ')}) = ${(a.forward(s.input as number[])[0] as number).toFixed(3)}`);
  const xorAcc = accuracy(a, xor);
  a.dispose();

  // 240 points in batches of 20 samples: one forward pass per batch.
  const data = batches(spirals(120, createRng(7)), 20);
  const b = gridNetwork(32, 2, 20);
  const r2 = await train(b, data, { epochs: 250, learningRate: 0.03, optimizer: { type: 'adam' }, shuffle: true, seed: 3 });
  const spiralAcc = accuracy(b, data);
  console.log(`spirals: loss ${r2.finalLoss.toFixed(4)} ${sparkline(r2.lossHistory.filter((_, i) => i % 20 === 0))} accuracy ${(spiralAcc * 100).toFixed(1)}%`);
  b.dispose();
  if (xorAcc < 1 || spiralAcc < 0.9) throw new Error(`did not learn: xor ${xorAcc}, spirals ${spiralAcc}`);
});
