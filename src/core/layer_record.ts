/**
 * `LayerRecord`: LOOM's one-struct-for-every-layer `LayerConfig` (Ref: loom-spec/layers.md section 2),
 * camelCase and typed. It is the interchange form between the typed layers, the LOOM JSON
 * file format and the LOOM facade's Go-struct objects; each layer kind converts it to and
 * from its own typed config.
 */
import type { LayerTypeCode } from './types';

/** Where one Parallel branch's output goes in `grid_scatter` mode (LOOM's `GridPosition`). */
export interface BranchPlacement {
  branchIndex: number;
  targetRow: number;
  targetCol: number;
  targetLayer: number;
}

/** @deprecated Renamed {@link BranchPlacement} (it places a parallel branch, not a grid cell). */
export type GridPosition = BranchPlacement;

/** LOOM's `LayerConfig` (all fields; unused ones are 0 / false / null / ''). */
export interface LayerRecord {
  type: LayerTypeCode | number;
  activation: number;
  kernelSize: number;
  stride: number;
  padding: number;
  filters: number;
  kernel: Float32Array | null;
  bias: Float32Array | null;
  inputHeight: number;
  inputWidth: number;
  inputChannels: number;
  outputHeight: number;
  outputWidth: number;
  numHeads: number;
  numKVHeads: number;
  headDim: number;
  dModel: number;
  seqLength: number;
  qWeights: Float32Array | null;
  kWeights: Float32Array | null;
  vWeights: Float32Array | null;
  outputWeight: Float32Array | null;
  qBias: Float32Array | null;
  kBias: Float32Array | null;
  vBias: Float32Array | null;
  outputBias: Float32Array | null;
  hiddenSize: number;
  rnnInputSize: number;
  weightIH: Float32Array | null;
  weightHH: Float32Array | null;
  biasH: Float32Array | null;
  weightIH_i: Float32Array | null;
  weightIH_f: Float32Array | null;
  weightIH_g: Float32Array | null;
  weightIH_o: Float32Array | null;
  weightHH_i: Float32Array | null;
  weightHH_f: Float32Array | null;
  weightHH_g: Float32Array | null;
  weightHH_o: Float32Array | null;
  biasH_i: Float32Array | null;
  biasH_f: Float32Array | null;
  biasH_g: Float32Array | null;
  biasH_o: Float32Array | null;
  softmaxVariant: number;
  softmaxRows: number;
  softmaxCols: number;
  temperature: number;
  gumbelNoise: boolean;
  mask: boolean[] | null;
  hierarchyLevels: number[] | null;
  adaptiveClusters: number[][] | null;
  mixtureWeights: Float32Array | null;
  entmaxAlpha: number;
  normSize: number;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  epsilon: number;
  gateWeights: Float32Array | null;
  upWeights: Float32Array | null;
  downWeights: Float32Array | null;
  gateBias: Float32Array | null;
  upBias: Float32Array | null;
  downBias: Float32Array | null;
  residualSkip: number;
  parallelBranches: LayerRecord[] | null;
  combineMode: string;
  gridPositions: BranchPlacement[] | null;
  gridOutputRows: number;
  gridOutputCols: number;
  gridOutputLayers: number;
  /**
   * loom-tfjs extensions that LOOM does not have (saved under extra JSON keys LOOM ignores).
   * Layer kinds define and read their own entries; values must be JSON-safe.
   */
  ext: Record<string, number | boolean | string | number[]>;
}

/** Value kinds of record fields (drives the Go-struct and JSON converters). */
export type FieldKind = 'int' | 'f32' | 'bool' | 'string' | 'f32s' | 'ints' | 'ints2' | 'bools' | 'records' | 'positions';

/** One field of {@link LayerRecord} with its Go name (`LayerConfig` field, in Go struct order). */
export interface RecordField {
  readonly field: Exclude<keyof LayerRecord, 'ext'>;
  readonly go: string;
  readonly kind: FieldKind;
}

const f = (field: RecordField['field'], go: string, kind: FieldKind): RecordField => ({ field, go, kind });

/** Every `LayerConfig` field in Go declaration order (the order `CallLayerInit` / `GetLayer` print). */
export const RECORD_FIELDS: readonly RecordField[] = [
  f('type', 'Type', 'int'),
  f('activation', 'Activation', 'int'),
  f('kernelSize', 'KernelSize', 'int'),
  f('stride', 'Stride', 'int'),
  f('padding', 'Padding', 'int'),
  f('filters', 'Filters', 'int'),
  f('kernel', 'Kernel', 'f32s'),
  f('bias', 'Bias', 'f32s'),
  f('inputHeight', 'InputHeight', 'int'),
  f('inputWidth', 'InputWidth', 'int'),
  f('inputChannels', 'InputChannels', 'int'),
  f('outputHeight', 'OutputHeight', 'int'),
  f('outputWidth', 'OutputWidth', 'int'),
  f('numHeads', 'NumHeads', 'int'),
  f('numKVHeads', 'NumKVHeads', 'int'),
  f('headDim', 'HeadDim', 'int'),
  f('dModel', 'DModel', 'int'),
  f('seqLength', 'SeqLength', 'int'),
  f('qWeights', 'QWeights', 'f32s'),
  f('kWeights', 'KWeights', 'f32s'),
  f('vWeights', 'VWeights', 'f32s'),
  f('outputWeight', 'OutputWeight', 'f32s'),
  f('qBias', 'QBias', 'f32s'),
  f('kBias', 'KBias', 'f32s'),
  f('vBias', 'VBias', 'f32s'),
  f('outputBias', 'OutputBias', 'f32s'),
  f('hiddenSize', 'HiddenSize', 'int'),
  f('rnnInputSize', 'RNNInputSize', 'int'),
  f('weightIH', 'WeightIH', 'f32s'),
  f('weightHH', 'WeightHH', 'f32s'),
  f('biasH', 'BiasH', 'f32s'),
  f('weightIH_i', 'WeightIH_i', 'f32s'),
  f('weightIH_f', 'WeightIH_f', 'f32s'),
  f('weightIH_g', 'WeightIH_g', 'f32s'),
  f('weightIH_o', 'WeightIH_o', 'f32s'),
  f('weightHH_i', 'WeightHH_i', 'f32s'),
  f('weightHH_f', 'WeightHH_f', 'f32s'),
  f('weightHH_g', 'WeightHH_g', 'f32s'),
  f('weightHH_o', 'WeightHH_o', 'f32s'),
  f('biasH_i', 'BiasH_i', 'f32s'),
  f('biasH_f', 'BiasH_f', 'f32s'),
  f('biasH_g', 'BiasH_g', 'f32s'),
  f('biasH_o', 'BiasH_o', 'f32s'),
  f('softmaxVariant', 'SoftmaxVariant', 'int'),
  f('softmaxRows', 'SoftmaxRows', 'int'),
  f('softmaxCols', 'SoftmaxCols', 'int'),
  f('temperature', 'Temperature', 'f32'),
  f('gumbelNoise', 'GumbelNoise', 'bool'),
  f('mask', 'Mask', 'bools'),
  f('hierarchyLevels', 'HierarchyLevels', 'ints'),
  f('adaptiveClusters', 'AdaptiveClusters', 'ints2'),
  f('mixtureWeights', 'MixtureWeights', 'f32s'),
  f('entmaxAlpha', 'EntmaxAlpha', 'f32'),
  f('normSize', 'NormSize', 'int'),
  f('gamma', 'Gamma', 'f32s'),
  f('beta', 'Beta', 'f32s'),
  f('epsilon', 'Epsilon', 'f32'),
  f('gateWeights', 'GateWeights', 'f32s'),
  f('upWeights', 'UpWeights', 'f32s'),
  f('downWeights', 'DownWeights', 'f32s'),
  f('gateBias', 'GateBias', 'f32s'),
  f('upBias', 'UpBias', 'f32s'),
  f('downBias', 'DownBias', 'f32s'),
  f('residualSkip', 'ResidualSkip', 'int'),
  f('parallelBranches', 'ParallelBranches', 'records'),
  f('combineMode', 'CombineMode', 'string'),
  f('gridPositions', 'GridPositions', 'positions'),
  f('gridOutputRows', 'GridOutputRows', 'int'),
  f('gridOutputCols', 'GridOutputCols', 'int'),
  f('gridOutputLayers', 'GridOutputLayers', 'int'),
];

/** A record with every field zero / empty, as Go's zero `LayerConfig`. */
export function emptyRecord(type: number = 0): LayerRecord {
  const r: Record<string, unknown> = {};
  for (const { field, kind } of RECORD_FIELDS) {
    r[field] = kind === 'int' || kind === 'f32' ? 0 : kind === 'bool' ? false : kind === 'string' ? '' : null;
  }
  r['type'] = type;
  r['ext'] = {};
  return r as unknown as LayerRecord;
}

/** A deep copy (weights copied, so the result shares no arrays with `r`). */
export function cloneRecord(r: LayerRecord): LayerRecord {
  const out = emptyRecord(r.type);
  const o = out as unknown as Record<string, unknown>;
  const src = r as unknown as Record<string, unknown>;
  for (const { field, kind } of RECORD_FIELDS) {
    const v = src[field];
    if (v === null || v === undefined) continue;
    if (kind === 'f32s') o[field] = new Float32Array(v as Float32Array);
    else if (kind === 'records') o[field] = (v as LayerRecord[]).map(cloneRecord);
    else if (kind === 'ints2') o[field] = (v as number[][]).map((a) => [...a]);
    else if (kind === 'positions') o[field] = (v as BranchPlacement[]).map((p) => ({ ...p }));
    else if (Array.isArray(v)) o[field] = [...v];
    else o[field] = v;
  }
  out.ext = JSON.parse(JSON.stringify(r.ext ?? {})) as LayerRecord['ext'];
  return out;
}
