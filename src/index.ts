/**
 * loom-tfjs public API: LOOM's grid networks, file format and training on TensorFlow.js, plus a
 * Hugging Face transformer runner. The LOOM-compatible JSON-string API lives in `loom-tfjs/compat`.
 */
export * from './core/errors';
export * from './core/types';
export type { LayerRecord, GridPosition } from './core/layer_record';
export { emptyRecord, cloneRecord } from './core/layer_record';
export { useBackend, currentBackend, BACKEND_NAMES } from './backends';
export type { BackendName, UseBackendOptions } from './backends';

// grid network
export { Network } from './network/network';
export type {
  NetworkOptions,
  ResidualMode,
  ForwardTensorOptions,
  LayerDescription,
  NetworkDescription,
} from './network/network';
export type { GridShape, GridAddress } from './network/grid';

// layers
export * from '../layers/index';

// LOOM JSON files
export {
  loadModelFromString,
  saveModelToString,
  saveBundleToString,
  serializeModel,
  buildNetworkFromJSON,
  listModelIds,
  parseBundle,
} from '../loaders/loom_json';
export type { BundleEntry } from '../loaders/loom_json';
