/**
 * Small networks and data for the training tests.
 */
import { emptyRecord } from '../../src/core/layer_record';
import { LayerType } from '../../src/core/types';
import { Network } from '../../src/network/network';
import { createRng } from '../../src/core/rng';

/** Dense chain sizes[0] -> sizes[1] -> ... with the given LOOM activation codes, seeded U(-1,1)/sqrt(in) weights. */
export function denseNet(sizes: number[], activations: number[], batchSize = 1, seed = 1): Network {
  const rng = createRng(seed);
  const records = activations.map((act, i) => {
    const nIn = sizes[i] as number;
    const nOut = sizes[i + 1] as number;
    const r = emptyRecord(LayerType.Dense);
    r.activation = act;
    r.inputHeight = nIn;
    r.outputHeight = nOut;
    r.kernel = Float32Array.from({ length: nIn * nOut }, () => (rng() * 2 - 1) / Math.sqrt(nIn));
    r.bias = Float32Array.from({ length: nOut }, () => (rng() * 2 - 1) * 0.1);
    return r;
  });
  return Network.fromRecords({ rows: 1, cols: 1, layersPerCell: records.length }, records, { batchSize, residualMode: 'none' });
}

/** `n` seeded uniform numbers in [lo, hi). */
export function uniform(n: number, rng: () => number, lo = -1, hi = 1): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** All variables' values, copied. */
export function snapshot(net: Network): Float32Array[] {
  return net.trainableVariables().map((v) => new Float32Array(v.dataSync() as Float32Array));
}
