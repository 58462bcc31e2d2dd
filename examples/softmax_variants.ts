/**
 * LOOM's softmax variants side by side on the same logits: each is a one-layer network read from
 * a LOOM JSON description, so the table shows exactly what each variant computes.
 *
 * Run: npm run build && node dist/examples/softmax_variants.js
 */
import { buildNetworkFromJSON, useBackend } from '../src/index';
import { runMain } from './example_util';

const LOGITS = [2.0, 1.0, 0.1, -1.0, 0.5, 3.0];

const VARIANTS: Record<string, Record<string, unknown>> = {
  standard: { softmax_variant: 'standard' },
  'temperature 0.5': { softmax_variant: 'temperature', temperature: 0.5 },
  'temperature 2': { softmax_variant: 'temperature', temperature: 2 },
  'grid 2x3 (per row)': { softmax_variant: 'grid', softmax_rows: 2, softmax_cols: 3 },
  'masked (no 4th)': { softmax_variant: 'masked', mask: [true, true, true, false, true, true] },
  sparsemax: { softmax_variant: 'sparse' },
  'entmax 1.5': { softmax_variant: 'entmax', entmax_alpha: 1.5 },
};

runMain(async () => {
  await useBackend('cpu');
  console.log(`${'logits'.padEnd(20)} ${LOGITS.map((v) => v.toFixed(3).padStart(6)).join(' ')}`);
  for (const [name, def] of Object.entries(VARIANTS)) {
    const net = buildNetworkFromJSON(
      JSON.stringify({ batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: 1, layers: [{ type: 'softmax', ...def }] }),
    );
    const p = net.forward(LOGITS);
    const sum = p.reduce((a, b) => a + b, 0);
    console.log(`${name.padEnd(20)} ${Array.from(p, (v) => v.toFixed(3).padStart(6)).join(' ')}   sum ${sum.toFixed(3)}`);
    net.dispose();
  }
});
