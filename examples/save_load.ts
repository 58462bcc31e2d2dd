/**
 * Save/load round trip: a network saved to a LOOM JSON file, read back with the typed API and with
 * the LOOM facade (`LoadModelFromString`), gives identical outputs.
 *
 * Run: npm run build && node dist/examples/save_load.js [out.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildNetworkFromJSON, loadModelFromString, saveModelToString, useBackend, createRng } from '../src/index';
import { LoadModelFromString, DisposeNetwork, type LoomNetworkObject } from '../src/compat/index';
import { runMain } from './example_util';

runMain(async () => {
  await useBackend('cpu');
  const file = process.argv[2] ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loom-')), 'model.json');
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: 1, grid_rows: 1, grid_cols: 2, layers_per_cell: 2,
      layers: [
        { type: 'dense', activation: 'relu', input_height: 4, output_height: 8 },
        { type: 'layer_norm', norm_size: 8, epsilon: 1e-5 },
        { type: 'dense', activation: 'tanh', input_height: 8, output_height: 8 },
        { type: 'dense', activation: 'sigmoid', input_height: 8, output_height: 3 },
      ],
    }),
  );
  net.initializeWeights(createRng(9));
  fs.writeFileSync(file, saveModelToString(net, 'demo'));
  console.log(`saved ${fs.statSync(file).size} bytes to ${file}`);

  const text = fs.readFileSync(file, 'utf8');
  const typed = loadModelFromString(text, 'demo');
  const facade = LoadModelFromString(text, 'demo') as LoomNetworkObject;
  const x = [0.5, -1, 2, 0.25];
  const a = Array.from(net.forward(x));
  const b = Array.from(typed.forward(x));
  const c = JSON.parse(facade.ForwardCPU!(JSON.stringify([x])) as string)[0] as number[];
  console.log(`original ${a.map((v) => v.toFixed(6)).join(' ')}`);
  console.log(`typed    ${b.map((v) => v.toFixed(6)).join(' ')}`);
  console.log(`facade   ${c.map((v) => v.toFixed(6)).join(' ')}`);
  // the facade prints float32 values as Go does (shortest decimal), so compare as float32
  const same = a.every((v, i) => v === b[i] && v === Math.fround(c[i] as number));
  const resaved = saveModelToString(typed, 'demo') === text;
  console.log(`identical outputs: ${same}; byte-identical re-save: ${resaved}`);
  net.dispose();
  typed.dispose();
  DisposeNetwork(facade);
  if (!same || !resaved) throw new Error('round trip changed the network');
});
