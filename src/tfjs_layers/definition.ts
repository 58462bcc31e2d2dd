/**
 * The serialisable definition of a LOOM layer inside a tfjs model: the `LayerRecord` (LOOM's
 * `LayerConfig`, Ref: loom-spec/layers.md section 2) without its trainable weights, as JSON,
 * packed into one string that survives tfjs' config case conversion.
 *
 * Why a string: `model.save` passes every layer config through `convertTsToPythonic` (keys and
 * string values to snake_case, lower-cased) and `tf.loadLayersModel` through `convertPythonicToTs`
 * (to camelCase). Record keys such as `numKVHeads` or `weightIH_i` and values such as
 * `grid_scatter` do not survive that trip. A string with no upper-case letter and no `_` is left
 * alone by both, so the JSON text is escaped into that alphabet: `^` + lower-case letter for an
 * upper-case letter, `^-` for `_`, `^^` for `^` (non-ASCII characters are first written as JSON
 * `\uxxxx` escapes). The result stays readable: `{"type":8,"norm^size":4}`.
 */
import { ConfigError } from '../core/errors';
import { emptyRecord, RECORD_FIELDS, type BranchPlacement, type LayerRecord, type RecordField } from '../core/layer_record';
import { previewValue } from '../core/preview';
import { cloneJsonBounded } from '../core/limits';

/** A JSON value of a definition. */
export type DefinitionValue = number | boolean | string | null | readonly DefinitionValue[] | { readonly [key: string]: DefinitionValue };

/** JSON form of a record: non-default fields by record field name; a trainable weight is written as its value count. */
export type LoomLayerDefinition = { readonly [field: string]: DefinitionValue };

const PARAM_BRANCH = /^branch(\d+)\.(.+)$/;

/** Splits `branch0.kernel`-style parameter paths (ParallelLayer's names) into own names and per-branch paths. */
function splitParamPaths(paths: readonly string[]): { own: Set<string>; branches: Map<number, string[]> } {
  const own = new Set<string>();
  const branches = new Map<number, string[]>();
  for (const p of paths) {
    const m = PARAM_BRANCH.exec(p);
    if (m) {
      const i = Number(m[1]);
      const list = branches.get(i) ?? [];
      list.push(m[2] as string);
      branches.set(i, list);
    } else {
      own.add(p);
    }
  }
  return { own, branches };
}

/**
 * The definition of `record` with the weights named by `paramPaths` (a GridLayer's `params`
 * names, `branchN.` prefixed inside Parallel) replaced by their lengths.
 * @throws ConfigError when a parameter name is not a weight field of the record.
 */
export function recordToDefinition(record: LayerRecord, paramPaths: readonly string[], where: string): LoomLayerDefinition {
  const { own, branches } = splitParamPaths(paramPaths);
  const src = record as unknown as Readonly<Record<string, unknown>>;
  for (const name of own) {
    const f = RECORD_FIELDS.find((x) => x.field === name);
    if (!f || f.kind !== 'f32s') throw new ConfigError(`${where}: parameter '${name}' is not a weight field of the LOOM record`);
  }
  const out: Record<string, DefinitionValue> = { type: record.type };
  for (const { field, kind } of RECORD_FIELDS) {
    const v = src[field];
    if (field === 'type' || v === null || v === undefined || v === 0 || v === false || v === '') continue;
    if (kind === 'f32s') out[field] = own.has(field) ? (v as Float32Array).length : Array.from(v as Float32Array);
    else if (kind === 'records') out[field] = (v as LayerRecord[]).map((b, i) => recordToDefinition(b, branches.get(i) ?? [], `${where} branch ${i}`));
    else if (kind === 'positions') out[field] = (v as BranchPlacement[]).map((p) => ({ ...p }));
    else if (kind === 'ints2') out[field] = (v as number[][]).map((a) => [...a]);
    else if (Array.isArray(v)) out[field] = [...(v as (number | boolean)[])];
    else out[field] = v as number | boolean | string;
  }
  if (Object.keys(record.ext).length > 0) out['ext'] = JSON.parse(JSON.stringify(record.ext)) as DefinitionValue;
  return out;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNum);

/** Reads one definition value into the record field's type. @throws ConfigError when it has the wrong type. */
function readField(f: RecordField, v: DefinitionValue, where: string): unknown {
  const bad = (expected: string): ConfigError => new ConfigError(`${where}: field '${f.field}' is ${previewValue(v)}, expected ${expected}`);
  switch (f.kind) {
    case 'int':
    case 'f32':
      if (!isNum(v)) throw bad('a number');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('a boolean');
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'f32s':
      // a count: a trainable weight held by the tfjs layer (zeros until its weights are set)
      if (isNum(v) && Number.isInteger(v) && v >= 0) return new Float32Array(v);
      if (!isNumArray(v)) throw bad('a number array or a weight length');
      return Float32Array.from(v);
    case 'ints':
      if (!isNumArray(v)) throw bad('an integer array');
      return [...v];
    case 'ints2':
      if (!Array.isArray(v) || !v.every(isNumArray)) throw bad('an array of integer arrays');
      return (v as number[][]).map((a) => [...a]);
    case 'bools':
      if (!Array.isArray(v) || !v.every((b) => typeof b === 'boolean')) throw bad('a boolean array');
      return [...(v as boolean[])];
    case 'records':
      if (!Array.isArray(v)) throw bad('an array of layer definitions');
      return (v as DefinitionValue[]).map((b, i) => definitionToRecord(b, `${where} branch ${i}`));
    case 'positions':
      if (!Array.isArray(v)) throw bad('an array of grid positions');
      return (v as DefinitionValue[]).map((p) => {
        const o = p as Record<string, unknown>;
        if (typeof p !== 'object' || p === null || !['branchIndex', 'targetRow', 'targetCol', 'targetLayer'].every((k) => isNum(o[k]))) {
          throw bad('grid positions {branchIndex, targetRow, targetCol, targetLayer}');
        }
        return { branchIndex: o['branchIndex'], targetRow: o['targetRow'], targetCol: o['targetCol'], targetLayer: o['targetLayer'] } as BranchPlacement;
      });
  }
}

/**
 * The record of a definition; weights written as lengths come back as zero arrays of that length.
 * @throws ConfigError on unknown keys or values of the wrong type.
 */
export function definitionToRecord(def: DefinitionValue, where: string): LayerRecord {
  if (typeof def !== 'object' || def === null || Array.isArray(def)) throw new ConfigError(`${where}: layer definition must be an object, got ${previewValue(def)}`);
  const obj = def as LoomLayerDefinition;
  const type = obj['type'];
  if (!isNum(type)) throw new ConfigError(`${where}: layer definition needs a numeric 'type', got ${previewValue(type)}`);
  const r = emptyRecord(type);
  const o = r as unknown as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    if (key === 'type') continue;
    if (key === 'ext') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${where}: 'ext' must be an object`);
      r.ext = cloneJsonBounded(v, `${where}: 'ext'`, ConfigError) as LayerRecord['ext'];
      continue;
    }
    const f = RECORD_FIELDS.find((x) => x.field === key);
    if (!f) throw new ConfigError(`${where}: unknown layer definition key '${key}'`);
    o[key] = readField(f, v, where);
  }
  return r;
}

/** Packs JSON text into the case-proof alphabet (see the file comment). */
export function escapeConfigText(json: string): string {
  const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return ascii.replace(/[A-Z_^]/g, (c) => (c === '_' ? '^-' : c === '^' ? '^^' : `^${c.toLowerCase()}`));
}

/** Inverse of {@link escapeConfigText}. @throws ConfigError on a malformed escape. */
export function unescapeConfigText(text: string, where: string): string {
  return text.replace(/\^(.?)/g, (_m, c: string) => {
    if (c === '-') return '_';
    if (c === '^') return '^';
    if (c >= 'a' && c <= 'z') return c.toUpperCase();
    throw new ConfigError(`${where}: malformed escape '^${c}' in the LOOM layer definition`);
  });
}

/** A definition as the config string stored by tfjs. */
export function encodeDefinition(def: LoomLayerDefinition): string {
  return escapeConfigText(JSON.stringify(def));
}

/** The definition in a config string. @throws ConfigError when it is not valid escaped JSON. */
export function decodeDefinition(text: string, where: string): LayerRecord {
  let parsed: DefinitionValue;
  try {
    parsed = JSON.parse(unescapeConfigText(text, where)) as DefinitionValue;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${where}: LOOM layer definition is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return definitionToRecord(parsed, where);
}
