/**
 * LOOM's JavaScript network object: one function property per Go method, JSON-array-string
 * arguments and results (Ref: loom-spec/api.md section 3). A thin layer over {@link Network}.
 *
 * Deviations (docs/compat.md): errors come back as `{"error": "<message>"}` (LOOM returns `{}` or a
 * plain string and loses the message); `GetMethodSignature`/`HasMethod` also accept a JSON array;
 * `GetMethods` lists empty parameter/return lists as `[]`; the GPU methods run on the current tfjs
 * backend instead of failing.
 */
import * as fs from 'fs';
import { errorMessage } from '../core/errors';
import { Network } from '../network/network';
import { goF32Array, goInt, marshalCompact, marshalIndent, type GoValue } from '../../loaders/go_json';
import { saveModelToString, serializeModel } from '../../loaders/loom_json';
import { ArgumentError, convertArg, recordToGoStruct } from './go_values';
import { formatSignature, methodInfos, methodNameArg, METHOD_NAMES, METHODS } from './methods';
import { facadeEvaluate, facadeTrain } from './facade_training';

/** A LOOM network object: every method takes and returns strings (plus `HasMethod`'s boolean). */
export type LoomNetworkObject = { [method: string]: (arg?: string) => string | boolean };

const objects = new WeakMap<object, Network>();

/** The typed network behind a LOOM network object (undefined for other values). */
export function networkOf(obj: unknown): Network | undefined {
  return typeof obj === 'object' && obj !== null ? objects.get(obj) : undefined;
}

/** `{"error": message}` as a string: the facade's error convention. */
export function errorJSON(message: string): string {
  return marshalCompact({ kind: 'object', entries: [['error', message]] });
}

const errorValue = (e: unknown): GoValue => ({ kind: 'object', entries: [['error', errorMessage(e)]] });
const f32Rows = (rows: (Float32Array | null)[]): GoValue => rows.map((r) => (r ? goF32Array(r) : null));
const nowNs = (): number => Math.round((typeof performance !== 'undefined' ? performance.now() : Date.now()) * 1e6);

type Impl = (net: Network, args: unknown[]) => GoValue[];

/** Implementations of the reflected methods (the introspection ones are handled separately). */
const IMPLS: Readonly<Record<string, Impl>> = {
  Activations: (net) => [f32Rows(net.getActivations())],
  BackwardCPU: (net, [g]) => timed(() => goF32Array(net.backward(g as Float32Array))),
  BackwardGPU: (net, [g]) => [...timed(() => goF32Array(net.backward(g as Float32Array))), null],
  BiasGradients: (net) => [f32Rows(net.biasGradients())],
  EvaluateFromCheckpointFiles: () => [null, goInt(0), goInt(0), errorValue('checkpoint files are not supported; use EvaluateNetwork')],
  EvaluateNetwork: (net, [inputs, expected]) => {
    return [facadeEvaluate(net, inputs as Float32Array[], expected as number[]), null];
  },
  ForwardCPU: (net, [x]) => timed(() => goF32Array(net.forward(x as Float32Array))),
  ForwardGPU: (net, [x]) => [...timed(() => goF32Array(net.forward(x as Float32Array))), null],
  GetActivation: (net, [row, col, layer]) => {
    const a = { row: row as number, col: col as number, layer: layer as number };
    const l = net.layerAt(a);
    if (l) return [goInt(l.toRecord().activation)];
    const cell = a.row * net.grid.cols + a.col;
    return [goInt((((cell * net.grid.layersPerCell + a.layer) % 5) + 5) % 5)];
  },
  GetLayer: (net, [row, col, layer]) => {
    const l = net.layerAt({ row: row as number, col: col as number, layer: layer as number });
    return [l ? recordToGoStruct(l.toRecord()) : null];
  },
  GetMethodsJSON: () => [marshalIndent(methodsGo()), null],
  InitGPU: () => [null],
  InitializeWeights: (net) => (net.initializeWeights(), []),
  KernelGradients: (net) => [f32Rows(net.kernelGradients())],
  ReleaseGPU: () => [],
  SaveModel: (net, [file, id]) => {
    try {
      fs.writeFileSync(file as string, saveModelToString(net, id as string), { mode: 0o644 });
      return [null];
    } catch (e) {
      return [errorValue(e)];
    }
  },
  SaveModelToString: (net, [id]) => [saveModelToString(net, id as string), null],
  SerializeModel: (net, [id]) => [serializeModel(net, id as string), null],
  SetLayer: (net, [row, col, layer, rec]) => {
    net.setLayerRecord({ row: row as number, col: col as number, layer: layer as number }, rec as never);
    return [];
  },
  TotalLayers: (net) => [goInt(net.totalLayers())],
  Train: (net, [batches, config]) => {
    return [facadeTrain(net, batches, config), null];
  },
  UpdateWeights: (net, [lr]) => (net.updateWeights(lr as number), []),
  ZeroGradients: (net) => (net.zeroGradients(), []),
};

function timed(fn: () => GoValue): GoValue[] {
  const t0 = nowNs();
  const v = fn();
  return [v, goInt(Math.max(0, nowNs() - t0))];
}

function methodsGo(): GoValue {
  return methodInfos().map((mi) => ({
    kind: 'object' as const,
    entries: [
      ['method_name', mi.method_name],
      ['parameters', mi.parameters.map((p) => ({ kind: 'object' as const, entries: [['name', p.name], ['type', p.type]] as [string, GoValue][] }))],
      ['returns', mi.returns],
    ] as [string, GoValue][],
  }));
}

/** Parses and converts a method's JSON-array argument (api.md 3.1 steps 1-4). */
function parseArgs(name: string, params: readonly string[], arg: string | undefined): unknown[] {
  if (arg === undefined || arg === '') {
    if (params.length === 0) return [];
    throw new ArgumentError('No arguments provided');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(arg);
  } catch (e) {
    throw new ArgumentError(`Invalid JSON input: ${errorMessage(e)}`);
  }
  if (!Array.isArray(parsed)) throw new ArgumentError(`Invalid JSON input: ${name} expects a JSON array of parameters`);
  if (parsed.length !== params.length) throw new ArgumentError(`Expected ${params.length} parameters, got ${parsed.length}`);
  return parsed.map((v, i) => convertArg(v, params[i] as string, i));
}

/** Wraps a typed network as LOOM's network object. */
export function wrapNetwork(net: Network): LoomNetworkObject {
  const obj: LoomNetworkObject = {};
  for (const sig of METHODS) {
    const impl = IMPLS[sig.name];
    if (!impl) continue;
    obj[sig.name] = (arg?: string): string => {
      try {
        return marshalCompact(impl(net, parseArgs(sig.name, sig.params, arg)));
      } catch (e) {
        return errorJSON(errorMessage(e));
      }
    };
  }
  obj['GetMethods'] = (): string => marshalIndent(methodsGo());
  obj['ListMethods'] = (): string => JSON.stringify(METHOD_NAMES);
  obj['HasMethod'] = (arg?: string): boolean => {
    const name = methodNameArg(arg);
    return name !== undefined && METHOD_NAMES.includes(name);
  };
  obj['GetMethodSignature'] = (arg?: string): string => {
    const name = methodNameArg(arg);
    if (name === undefined) return 'Error: method name required';
    const sig = METHODS.find((s) => s.name === name);
    return sig ? formatSignature(sig) : `Error: method ${name} not found`;
  };
  objects.set(obj, net);
  return obj;
}
