/**
 * `loom-tfjs/compat`: LOOM's WASM JavaScript API, so code written for `loom.wasm` runs unchanged
 * (Ref: loom-spec/api.md). Globals: `NewNetwork`, `LoadModelFromString`, `BuildNetworkFromJSON`,
 * `CallLayerInit`, `ListLayerInitFunctions`, one helper per layer init function
 * (`InitDenseLayer(784, 128, 0)` ...), and the inference functions.
 */
import { errorMessage } from '../core/errors';
import { Network } from '../network/network';
import { buildNetworkFromJSON, loadModelFromString } from '../../loaders/loom_json';
import { callLayerInit, layerInitFunctions, listLayerInitFunctions } from './layer_init';
import { errorJSON, networkOf, wrapNetwork, type LoomNetworkObject } from './network_object';
import { inferenceGlobals, SetGenerationSeed } from './inference';

export { networkOf, wrapNetwork, errorJSON } from './network_object';
export type { LoomNetworkObject } from './network_object';
export { callLayerInit as CallLayerInit, listLayerInitFunctions as ListLayerInitFunctions } from './layer_init';
export {
  LoadTokenizerFromBytes,
  EncodeText,
  DecodeTokens,
  LoadTransformerFromBytes,
  GenerateNextToken,
  GenerateText,
  SetGenerationSeed,
  disposeInference,
} from './inference';

/**
 * `NewNetwork(inputSize, gridRows, gridCols, layersPerCell)`: a grid of placeholder Dense layers
 * (replace them with `SetLayer`). Arguments are truncated to integers as Go's `Value.Int()` does.
 */
export function NewNetwork(inputSize: number, gridRows: number, gridCols: number, layersPerCell: number): LoomNetworkObject | string {
  if ([inputSize, gridRows, gridCols, layersPerCell].some((v) => typeof v !== 'number')) {
    return errorJSON('Expected 4 arguments: inputSize, gridRows, gridCols, layersPerCell');
  }
  try {
    const net = Network.create(
      { rows: Math.trunc(gridRows), cols: Math.trunc(gridCols), layersPerCell: Math.trunc(layersPerCell) },
      { inputSize: Math.trunc(inputSize), residualMode: 'loom' },
    );
    return wrapNetwork(net);
  } catch (e) {
    return errorJSON(errorMessage(e));
  }
}

/** `LoadModelFromString(jsonString, modelID)`: a network object, or `{"error": "Error loading model: ..."}`. */
export function LoadModelFromString(jsonString: string, modelID: string): LoomNetworkObject | string {
  if (typeof jsonString !== 'string' || typeof modelID !== 'string') return errorJSON('Expected 2 arguments: jsonString, modelID');
  try {
    return wrapNetwork(loadModelFromString(jsonString, modelID));
  } catch (e) {
    return errorJSON(`Error loading model: ${errorMessage(e)}`);
  }
}

/** `BuildNetworkFromJSON(jsonConfig)`: a network without weights (call `InitializeWeights`). */
export function BuildNetworkFromJSON(jsonConfig: string): LoomNetworkObject | string {
  if (typeof jsonConfig !== 'string') return errorJSON('Expected 1 argument: jsonConfig');
  try {
    return wrapNetwork(buildNetworkFromJSON(jsonConfig));
  } catch (e) {
    return errorJSON(`Error building network from JSON: ${errorMessage(e)}`);
  }
}

/** Frees the tensors of a network object made by this facade (LOOM has no such call; Go's GC did it). */
export function DisposeNetwork(obj: unknown): void {
  networkOf(obj)?.dispose();
}

/** One global helper per init function: `InitDenseLayer(784, 128, 0)` = `CallLayerInit('InitDenseLayer', '[784,128,0]')`. */
export function layerInitHelpers(): Record<string, (...args: unknown[]) => string> {
  const out: Record<string, (...args: unknown[]) => string> = {};
  for (const f of layerInitFunctions()) out[f.name] = (...args: unknown[]) => callLayerInit(f.name, JSON.stringify(args));
  return out;
}

/** Extra globals contributed by other modules (the inference API). */
const extraGlobals: Record<string, unknown> = {};

/** Adds functions to what {@link installGlobals} installs. */
export function registerGlobals(fns: Record<string, unknown>): void {
  Object.assign(extraGlobals, fns);
}

/** Everything LOOM's WASM module put on `globalThis`, plus our init helpers. */
export function loomGlobals(): Record<string, unknown> {
  return {
    NewNetwork,
    LoadModelFromString,
    BuildNetworkFromJSON,
    CallLayerInit: callLayerInit,
    ListLayerInitFunctions: listLayerInitFunctions,
    DisposeNetwork,
    ...layerInitHelpers(),
    ...inferenceGlobals,
    SetGenerationSeed,
    ...extraGlobals,
  };
}

/** Installs LOOM's globals on `target` (default `globalThis`), as `loom.wasm` + `wasm_exec.js` did. */
export function installGlobals(target: object = globalThis): void {
  Object.assign(target, loomGlobals());
}
