/**
 * LOOM's activation codes in the grid layers: the op (`loomActivation` in src/ops) and the
 * JSON name of each code. Ref: loom-spec/layers.md section 1.2.
 */
import { ACTIVATION_NAMES } from '../src/core/types';

export { loomActivation as applyActivation } from '../src/ops/activations';

/** JSON name of an activation code (`linear` for every value outside 0..4). */
export function activationName(code: number): string {
  return code >= 0 && code <= 4 ? (ACTIVATION_NAMES[code] as string) : 'linear';
}
