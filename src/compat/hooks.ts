/**
 * Late-bound parts of the facade (training, evaluation), filled in by `src/compat/index.ts`,
 * so the network object does not import the trainer directly.
 */
import type { Network } from '../network/network';
import type { GoValue } from '../../loaders/go_json';

/** Implementations the facade calls for `Train` and `EvaluateNetwork`. */
export interface FacadeHooks {
  train?: (net: Network, batches: unknown, config: unknown) => GoValue;
  evaluate?: (net: Network, inputs: Float32Array[], expected: number[]) => GoValue;
}

/** The registered hooks. */
export const facadeHooks: FacadeHooks = {};
