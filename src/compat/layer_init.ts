/**
 * LOOM's layer-init registry: `CallLayerInit(name, paramsJSON)` and `ListLayerInitFunctions()`,
 * over the `initFunctions` of every registered layer kind (Ref: loom-spec/layers.md section 5,
 * api.md section 2). Unlike LOOM's five entries, every layer type has constructors here.
 */
import { errorMessage } from '../core/errors';
import { LAYER_KINDS } from '../../layers/index';
import type { LayerInitFunction } from '../../layers/layer';
import { marshalCompact } from '../../loaders/go_json';
import { convertArg, recordToGoStruct } from './go_values';
import { errorJSON } from './network_object';

/** Every init function of every layer kind, in registry order. */
export function layerInitFunctions(): LayerInitFunction[] {
  return LAYER_KINDS.flatMap((k) => k.initFunctions ?? []);
}

/**
 * `CallLayerInit(name, paramsJSON)`: `[<LayerConfig>]` as JSON text (Go field names), or
 * `{"error": ...}` with LOOM's message text.
 */
export function callLayerInit(name?: string, paramsJSON?: string, rng: () => number = Math.random): string {
  if (!name) return errorJSON('Error: function name required');
  const fn = layerInitFunctions().find((f) => f.name === name);
  if (!fn) return errorJSON(`Error: function ${name} not found in registry`);
  let params: unknown;
  try {
    params = JSON.parse(paramsJSON === undefined || paramsJSON === '' ? '[]' : paramsJSON);
  } catch (e) {
    return errorJSON(`Error parsing parameters: ${errorMessage(e)}`);
  }
  if (!Array.isArray(params)) return errorJSON('Error parsing parameters: expected a JSON array');
  if (params.length !== fn.argTypes.length) {
    return errorJSON(`Error: ${name} expects ${fn.argTypes.length} parameters, got ${params.length}`);
  }
  let args: unknown[];
  try {
    args = params.map((v, i) => convertArg(v, fn.argTypes[i] as string, i));
  } catch (e) {
    const i = /parameter (\d+)/.exec(errorMessage(e))?.[1] ?? '?';
    return errorJSON(`Error converting parameter ${i}: ${errorMessage(e)}`);
  }
  try {
    return marshalCompact([recordToGoStruct(fn.create(args, rng))]);
  } catch (e) {
    return errorJSON(`Error: ${errorMessage(e)}`);
  }
}

/** `ListLayerInitFunctions()`: `[{"Name","NumArgs","ArgTypes"}, ...]` as JSON text (registry order). */
export function listLayerInitFunctions(): string {
  return JSON.stringify(layerInitFunctions().map((f) => ({ Name: f.name, NumArgs: f.argTypes.length, ArgTypes: [...f.argTypes] })));
}
