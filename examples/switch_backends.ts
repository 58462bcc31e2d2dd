/**
 * Switching backends: the same LOOM network and the same transformer on every tfjs backend that
 * works here (cpu and wasm in Node; webgpu where a GPU and Dawn are present), with timings and a
 * check that the answers agree.
 *
 * Run: npm run build && node dist/examples/switch_backends.js [MODEL_DIR] [--webgpu]
 */
import { buildNetworkFromJSON, builtinModelPath, currentBackend, loadCausalLM, useBackend, type BackendName, createRng } from '../src/index';
import { runMain } from './example_util';

runMain(async () => {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--')) ?? builtinModelPath(); // the built-in model
  const backends: BackendName[] = args.includes('--webgpu') ? ['cpu', 'wasm', 'webgpu'] : ['cpu', 'wasm'];
  const x = Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const results: { backend: string; net: number[]; next: number }[] = [];
  for (const b of backends) {
    await useBackend(b);
    const net = buildNetworkFromJSON(
      JSON.stringify({
        batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: 2,
        layers: [
          { type: 'dense', activation: 'tanh', input_height: 64, output_height: 32 },
          { type: 'dense', activation: 'sigmoid', input_height: 32, output_height: 4 },
        ],
      }),
    );
    net.initializeWeights(createRng(1)); // same seed: same weights on every backend
    let t = performance.now();
    const y = Array.from(net.forward(x));
    const netMs = performance.now() - t;
    net.dispose();
    const model = await loadCausalLM(dir);
    t = performance.now();
    const out = model.forward([[1, 19, 33, 50]]); // "<s>Mar" (1, V): the last position's logits
    const logits = Array.from(await out.data());
    out.dispose();
    const lmMs = performance.now() - t;
    const next = logits.indexOf(Math.max(...logits));
    model.dispose();
    results.push({ backend: currentBackend(), net: y, next });
    console.log(`${currentBackend().padEnd(6)} network ${y.map((v) => v.toFixed(5)).join(' ')} (${netMs.toFixed(1)} ms)  next token ${next} (${lmMs.toFixed(1)} ms)`);
  }
  const ref = results[0];
  const agree = results.every((r) => r.next === ref?.next && r.net.every((v, i) => Math.abs(v - (ref?.net[i] ?? NaN)) < 1e-4));
  console.log(`backends agree: ${agree}`);
  if (!agree) throw new Error('backends disagree');
});
