/**
 * LOOM's WASM bridge value rules (Ref: loom-spec/api.md section 3.1-3.2): converting JSON
 * arguments to Go parameter types, and Go-struct `LayerConfig` objects to and from records.
 */
import { cloneRecord, emptyRecord, RECORD_FIELDS, type BranchPlacement, type FieldKind, type LayerRecord } from '../core/layer_record';
import { ACTIVATION_NAMES } from '../core/types';
import { goF32, goF32Array, goInt, goObject, type GoObject, type GoValue } from '../../loaders/go_json';

/** A failed argument conversion; its message is LOOM's text, e.g. `parameter 0: expected int, got string`. */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

/** Go's `%T` of a decoded JSON value (as LOOM's messages print it). */
export function goTypeOf(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

const INT_TYPES = new Set(['int', 'int32', 'int64', 'nn.LayerType', 'nn.ActivationType', 'nn.SoftmaxType']);

function toInt(v: unknown, at: string): number {
  if (typeof v !== 'number') throw new ArgumentError(`${at}: expected int, got ${goTypeOf(v)}`);
  return Math.trunc(v);
}

/**
 * An activation code 0..5 (ACTIVATION_NAMES order). LOOM runs any other integer as linear and
 * saves it as "linear"; here it is refused (docs/compat.md), as it is almost always a mistake.
 */
function toActivation(v: unknown, at: string): number {
  const code = toInt(v, at);
  if (code < 0 || code >= ACTIVATION_NAMES.length) {
    throw new ArgumentError(`${at}: activation code ${code} is out of range, expected 0..${ACTIVATION_NAMES.length - 1} (${ACTIVATION_NAMES.map((n, i) => `${i} ${n}`).join(', ')})`);
  }
  return code;
}

function toF32Array(v: unknown, at: string): Float32Array | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) throw new ArgumentError(`${at}: expected slice, got ${goTypeOf(v)}`);
  return Float32Array.from(v, (x, j) => {
    if (typeof x !== 'number') throw new ArgumentError(`${at}: invalid slice element type ${goTypeOf(x)} at index ${j}`);
    return x;
  });
}

/**
 * Converts one JSON argument to the Go type `goType` (api.md 3.1 table).
 * Unlike LOOM, a struct may also be given as a one-element array (`JSON.parse(CallLayerInit(...))`),
 * which is what LOOM's own README passes.
 */
export function convertArg(v: unknown, goType: string, index: number): unknown {
  const at = `parameter ${index}`;
  if (goType === 'nn.ActivationType') return toActivation(v, at);
  if (INT_TYPES.has(goType)) return toInt(v, at);
  if (goType === 'float32' || goType === 'float64') {
    if (typeof v !== 'number') throw new ArgumentError(`${at}: expected float, got ${goTypeOf(v)}`);
    return goType === 'float32' ? Math.fround(v) : v;
  }
  if (goType === 'bool') {
    if (typeof v !== 'boolean') throw new ArgumentError(`${at}: expected bool, got ${goTypeOf(v)}`);
    return v;
  }
  if (goType === 'string') {
    if (typeof v !== 'string') throw new ArgumentError(`${at}: expected string, got ${goTypeOf(v)}`);
    return v;
  }
  if (goType === '[]float32') return toF32Array(v, at);
  if (goType === '[]float64' || goType === '[]int') {
    if (v === null) return null;
    if (!Array.isArray(v)) throw new ArgumentError(`${at}: expected slice, got ${goTypeOf(v)}`);
    return v.map((x, j) => {
      if (typeof x !== 'number') throw new ArgumentError(`${at}: invalid slice element type ${goTypeOf(x)} at index ${j}`);
      return goType === '[]int' ? Math.trunc(x) : x;
    });
  }
  if (goType === '[][]float32') {
    if (v === null) return null;
    if (!Array.isArray(v)) throw new ArgumentError(`${at}: expected slice, got ${goTypeOf(v)}`);
    return v.map((row) => toF32Array(row, at) ?? new Float32Array(0));
  }
  if (goType === '[]string') {
    if (v === null) return null;
    if (!Array.isArray(v)) throw new ArgumentError(`${at}: expected slice, got ${goTypeOf(v)}`);
    return v.map((x, j) => {
      if (typeof x !== 'string') throw new ArgumentError(`${at}: invalid slice element type ${goTypeOf(x)} at index ${j}`);
      return x;
    });
  }
  if (goType === '[][]int') {
    if (v === null) return null;
    if (!Array.isArray(v)) throw new ArgumentError(`${at}: expected slice, got ${goTypeOf(v)}`);
    return v.map((row) => (convertArg(row, '[]int', index) as number[] | null) ?? []);
  }
  if (goType === '[]nn.LayerConfig') {
    if (v === null) return null;
    if (!Array.isArray(v)) throw new ArgumentError(`${at}: expected slice, got ${goTypeOf(v)}`);
    return v.map((b) => convertArg(b, 'nn.LayerConfig', index));
  }
  if (goType === 'nn.LayerConfig' || goType === '*nn.LayerConfig') {
    const obj = Array.isArray(v) && v.length === 1 ? v[0] : v;
    if (obj === null || obj === undefined) return goType === '*nn.LayerConfig' ? null : emptyRecord();
    if (typeof obj !== 'object' || Array.isArray(obj)) {
      throw new ArgumentError(`${at}: expected map for struct, got ${goTypeOf(obj)}`);
    }
    return recordFromGoStruct(obj as Record<string, unknown>, at);
  }
  // structs and slices of structs handled by their callers (Train batches, TrainingConfig)
  return v;
}

type SliceKind = 'ints' | 'bools' | 'ints2' | 'records' | 'positions';

/** Go scalar / weight value -> record field value, by field kind. @throws ArgumentError naming `where` */
const GO_SCALAR_READERS: Readonly<Record<Exclude<FieldKind, SliceKind>, (v: unknown, where: string) => unknown>> = {
  int: toInt,
  f32: (v, where) => {
    if (typeof v !== 'number') throw new ArgumentError(`${where}: expected float, got ${goTypeOf(v)}`);
    return Math.fround(v);
  },
  bool: (v, where) => {
    if (typeof v !== 'boolean') throw new ArgumentError(`${where}: expected bool, got ${goTypeOf(v)}`);
    return v;
  },
  string: (v, where) => {
    if (typeof v !== 'string') throw new ArgumentError(`${where}: expected string, got ${goTypeOf(v)}`);
    return v;
  },
  f32s: toF32Array,
};

/** Go slice (already checked to be an array) -> record field value, by field kind. */
const GO_SLICE_READERS: Readonly<Record<SliceKind, (v: readonly unknown[], where: string) => unknown>> = {
  ints: (v, where) => v.map((x) => toInt(x, where)),
  bools: (v) => v.map((x) => Boolean(x)),
  ints2: (v, where) => v.map((row) => (Array.isArray(row) ? row.map((x) => toInt(x, where)) : [])),
  records: (v, where) => v.map((b) => recordFromGoStruct((b ?? {}) as Record<string, unknown>, where)),
  positions: (v) =>
    v.map((p): BranchPlacement => {
      const o = (p ?? {}) as Record<string, unknown>;
      const n = (k: string): number => (typeof o[k] === 'number' ? Math.trunc(o[k] as number) : 0);
      return { branchIndex: n('BranchIndex'), targetRow: n('TargetRow'), targetCol: n('TargetCol'), targetLayer: n('TargetLayer') };
    }),
};

const isSliceKind = (k: FieldKind): k is SliceKind => k in GO_SLICE_READERS;

/** A Go `LayerConfig` object (exact Go field names, case-sensitive, unknown keys ignored) -> record. */
export function recordFromGoStruct(obj: Record<string, unknown>, at: string): LayerRecord {
  const r = emptyRecord();
  const rec = r as unknown as Record<string, unknown>;
  for (const { field, go, kind } of RECORD_FIELDS) {
    if (!(go in obj)) continue;
    const v = obj[go];
    const where = `${at}: field ${go}`;
    if (!isSliceKind(kind)) rec[field] = GO_SCALAR_READERS[kind](v, where);
    else if (v === null) rec[field] = null;
    else if (!Array.isArray(v)) throw new ArgumentError(`${where}: expected slice, got ${goTypeOf(v)}`);
    else rec[field] = GO_SLICE_READERS[kind](v, where);
  }
  return cloneRecord(r);
}

/** Record field value -> Go value, by field kind; a nil array (null) is written as null by the caller. */
const GO_WRITERS: Readonly<Record<FieldKind, (v: unknown) => GoValue>> = {
  int: (v) => goInt(v as number),
  f32: (v) => goF32(v as number),
  bool: (v) => v as boolean,
  string: (v) => v as string,
  f32s: (v) => goF32Array(v as Float32Array),
  ints: (v) => (v as number[]).map(goInt),
  bools: (v) => v as boolean[],
  ints2: (v) => (v as number[][]).map((a) => a.map(goInt)),
  records: (v) => (v as LayerRecord[]).map(recordToGoStruct),
  positions: (v) =>
    (v as BranchPlacement[]).map((p) =>
      goObject([
        ['BranchIndex', goInt(p.branchIndex)],
        ['TargetRow', goInt(p.targetRow)],
        ['TargetCol', goInt(p.targetCol)],
        ['TargetLayer', goInt(p.targetLayer)],
      ]),
    ),
};

/** A record as LOOM's Go `LayerConfig` JSON object (every field, nil arrays as null). */
export function recordToGoStruct(r: LayerRecord): GoObject {
  const rec = r as unknown as Record<string, unknown>;
  return goObject(
    RECORD_FIELDS.map(({ field, go, kind }): [string, GoValue] => {
      const v = rec[field];
      const scalar = kind === 'int' || kind === 'f32' || kind === 'bool' || kind === 'string';
      return [go, !scalar && (v === null || v === undefined) ? null : GO_WRITERS[kind](v)];
    }),
  );
}
