/**
 * The math shared by the grid layers (layers/) and the transformer graphs (src/transformer/), one
 * op a file. Custom kernels (src/kernels/) register behind these functions; callers never reach
 * around them.
 */
export { rmsNorm } from './rms_norm';
export { layerNorm } from './layer_norm';
export { linear } from './linear';
export { silu, geluErf, geluTanh, loomActivation } from './activations';
export { LOOM_ROPE_THETA, loomRopeHalfTables, loomRopeTables, ropeTablesAt, applyRope, type RopeTables } from './rope';
export { MASKED, groupedAttention, appendKeyValues, causalMask, type KeyValues } from './grouped_attention';
