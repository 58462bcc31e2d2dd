/**
 * Quick start (the README's main job): build a small LOOM grid network of Dense layers, train it
 * on XOR with LOOM's manual loop (forward, backward, update), print the loss, save it in LOOM's
 * JSON format, reload it and check the reloaded network answers the same.
 *
 * Run: npm run example
 */
import { Activation, DenseLayer, Network, createRng, loadModelFromString, saveModelToString, useBackend } from '../src/index';

async function main(): Promise<void> {
  await useBackend('wasm');
  // A 1x1 grid with 2 layers per cell: Dense 2 -> 8 (tanh), Dense 8 -> 1 (sigmoid).
  const net = Network.create({ rows: 1, cols: 1, layersPerCell: 2 }, { residualMode: 'none' });
  const rng = createRng(42);
  const init = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
  net.setLayer(0, new DenseLayer({ type: 'dense', inputSize: 2, outputSize: 8, activation: Activation.Tanh }, { kernel: init(16, 1), bias: init(8, 0.1) }));
  net.setLayer(1, new DenseLayer({ type: 'dense', inputSize: 8, outputSize: 1, activation: Activation.Sigmoid }, { kernel: init(8, 1), bias: init(1, 0.1) }));

  const data: [number[], number][] = [
    [[0, 0], 0],
    [[0, 1], 1],
    [[1, 0], 1],
    [[1, 1], 0],
  ];
  for (let epoch = 1; epoch <= 2000; epoch++) {
    let loss = 0;
    for (const [x, t] of data) {
      const [y] = net.forward(x) as unknown as [number];
      loss += (y - t) ** 2;
      net.backward([2 * (y - t)]); // d(MSE)/dy
      net.updateWeights(0.5);
    }
    if (epoch % 400 === 0) console.log(`epoch ${epoch}: loss ${(loss / data.length).toFixed(5)}`);
  }
  for (const [x, t] of data) console.log(`xor(${x.join(', ')}) = ${net.forward(x)[0]!.toFixed(3)} (target ${t})`);

  const json = saveModelToString(net, 'xor');
  const again = loadModelFromString(json, 'xor', { residualMode: 'none' });
  const same = data.every(([x]) => again.forward(x)[0] === net.forward(x)[0]);
  console.log(`saved ${json.length} bytes of LOOM JSON; reloaded network gives identical outputs: ${same}`);
  net.dispose();
  again.dispose();
  if (!same) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
