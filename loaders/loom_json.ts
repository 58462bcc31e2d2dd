/**
 * LOOM's JSON bundle format: read every file LOOM writes, write files LOOM reads, byte-identical
 * to Go's output for what LOOM itself can represent. Ref: loom-spec/format.md.
 *
 * Deviations (docs/compat.md): `linear` reloads as linear; `residual` layers load; grid_scatter
 * placement, KV head count and `ResidualSkip` are saved under extra keys LOOM ignores; a
 * missing `batch_size` means 1, not 0; weight lengths and layer counts are validated.
 */
import { LoomFormatError, NonFiniteError } from '../src/core/errors';
import { emptyRecord, type BranchPlacement, type FieldKind, type LayerRecord } from '../src/core/layer_record';
import { activationFromName, SOFTMAX_VARIANTS } from '../src/core/types';
import { kindByName, kindByCode } from '../layers/index';
import { activationName } from '../layers/activations';
import { Network, type NetworkOptions } from '../src/network/network';
import { describePosition, type GridShape } from '../src/network/grid';
import { decodeBase64, encodeBase64 } from './base64';
import {
  goF32,
  goF32Array,
  goF64,
  goInt,
  goObject,
  marshalCompact,
  marshalIndent,
  type GoObject,
  type GoValue,
} from './go_json';
import {
  getKey,
  isJsonObject,
  parseJson,
  readArray,
  readBoolArray,
  readF32,
  readF32Array,
  readInt,
  readIntArray,
  readObject,
  readString,
  readBool,
  type JsonObject,
} from './json_read';
import { DEF_KEYS, WEIGHT_KEYS } from './loom_json_keys';
import { checkBranchDepth, cloneJsonBounded, countOccurrences } from '../src/core/limits';

/** Bundle type string LOOM writes and requires. */
export const BUNDLE_TYPE = 'modelhost/bundle';

/** Extension key (LOOM ignores it) holding loom-tfjs-only layer settings. */
const EXT_KEY = 'tfjs_ext';

/** One model entry of a bundle, not yet decoded. */
export interface BundleEntry {
  readonly id: string;
  readonly cfg: JsonObject;
  readonly weightsData: string;
}

/** How definitions are interpreted: a saved bundle (`DeserializeModel`) or a bare architecture (`BuildNetworkFromJSON`). */
type ReadMode = 'bundle' | 'architecture';

/**
 * Parses a bundle's outer document (weights stay encoded).
 * @throws LoomFormatError on malformed JSON or a wrong `type`.
 */
export function parseBundle(text: string): BundleEntry[] {
  const doc = parseJson(text, 'failed to unmarshal bundle');
  if (!isJsonObject(doc)) throw new LoomFormatError('failed to unmarshal bundle: top level is not a JSON object');
  const type = readString(getKey(doc, 'type'), 'type');
  if (type !== BUNDLE_TYPE) throw new LoomFormatError(`invalid bundle type: ${type} (expected ${BUNDLE_TYPE})`);
  const models = readArray(getKey(doc, 'models'), 'models') ?? [];
  return models.map((m, i) => {
    const path = `models[${i}]`;
    const obj = readObject(m, path) ?? {};
    const weights = readObject(getKey(obj, 'weights'), `${path}.weights`) ?? {};
    return {
      id: readString(getKey(obj, 'id'), `${path}.id`),
      cfg: readObject(getKey(obj, 'cfg'), `${path}.cfg`) ?? {},
      weightsData: readString(getKey(weights, 'data'), `${path}.weights.data`),
    };
  });
}

/** Model ids in a bundle, in file order. */
export function listModelIds(text: string): string[] {
  return parseBundle(text).map((m) => m.id);
}

function readPositions(v: unknown, path: string): BranchPlacement[] | null {
  const a = readArray(v, path);
  if (!a) return null;
  return a.map((p, i) => {
    const o = readObject(p, `${path}[${i}]`) ?? {};
    const at = (k: string): number => readInt(getKey(o, k), `${path}[${i}].${k}`);
    return { branchIndex: at('branch_index'), targetRow: at('target_row'), targetCol: at('target_col'), targetLayer: at('target_layer') };
  });
}

/** LOOM JSON value -> record field value, by field kind (`records` are branches, read by {@link recordFromDef}). */
const JSON_FIELD_READERS: Readonly<Record<Exclude<FieldKind, 'records'>, (v: unknown, path: string) => unknown>> = {
  int: readInt,
  f32: readF32,
  bool: readBool,
  string: readString,
  f32s: readF32Array,
  ints: readIntArray,
  bools: readBoolArray,
  ints2: (v, p) => readArray(v, p)?.map((x, i) => readIntArray(x, `${p}[${i}]`) ?? []) ?? null,
  positions: readPositions,
};

/** Definition object -> record (sizes and settings; weights come separately). */
function recordFromDef(def: JsonObject, path: string, mode: ReadMode): LayerRecord {
  const typeName = readString(getKey(def, 'type'), `${path}.type`);
  const kind = kindByName(typeName, path);
  const r = emptyRecord(kind.loomType);
  const rec = r as unknown as Record<string, unknown>;
  r.activation = activationFromName(readString(getKey(def, 'activation'), `${path}.activation`));
  const own = kind.loomJsonKeys.definition;
  for (const { key, field, kind: fk } of DEF_KEYS) {
    if (!field || !own.includes(key) || fk === 'records') continue;
    rec[field] = JSON_FIELD_READERS[fk](getKey(def, key), `${path}.${key}`);
  }
  const variant = readString(getKey(def, 'softmax_variant'), `${path}.softmax_variant`);
  r.softmaxVariant = Math.max(0, (SOFTMAX_VARIANTS as readonly string[]).indexOf(variant));
  if (mode === 'architecture') {
    // BuildNetworkFromJSON's size priorities and defaults (format.md section 8)
    const int = (k: string): number => readInt(getKey(def, k), `${path}.${k}`);
    kind.applyArchitectureRules?.(r, (...keys) => keys.map(int).find((v) => v > 0) ?? 0);
  }
  kind.completeRecord?.(r, path);
  const branches = readArray(getKey(def, 'branches'), `${path}.branches`);
  if (branches?.length) checkBranchDepth(countOccurrences(path, '.branches[') + 1, path);
  if (branches) {
    r.parallelBranches = branches.map((b, i) =>
      recordFromDef(readObject(b, `${path}.branches[${i}]`) ?? {}, `${path}.branches[${i}]`, mode),
    );
  }
  const ext = readObject(getKey(def, EXT_KEY), `${path}.${EXT_KEY}`);
  if (ext) r.ext = cloneJsonBounded(ext, `${path}.${EXT_KEY}`) as LayerRecord['ext'];
  return r;
}

/** Copies a layer's weights from the inner document into its record (recursively for branches). */
function applyWeights(r: LayerRecord, w: JsonObject, path: string): void {
  const rec = r as unknown as Record<string, unknown>;
  const own = kindByCode(r.type, path).loomJsonKeys.weights;
  for (const { key, field } of WEIGHT_KEYS) {
    if (!own.includes(key)) continue;
    const v = readF32Array(getKey(w, key), `${path}.${key}`);
    if (v) rec[field] = v;
  }
  const bw = readArray(getKey(w, 'branch_weights'), `${path}.branch_weights`);
  if (bw && r.parallelBranches) {
    if (bw.length > r.parallelBranches.length) {
      throw new LoomFormatError(`${path}.branch_weights: ${bw.length} entries for ${r.parallelBranches.length} branches`);
    }
    bw.forEach((b, i) => {
      const br = r.parallelBranches?.[i];
      if (br) applyWeights(br, readObject(b, `${path}.branch_weights[${i}]`) ?? {}, `${path}.branch_weights[${i}]`);
    });
  }
}

function gridFromCfg(cfg: JsonObject): GridShape {
  return {
    rows: readInt(getKey(cfg, 'grid_rows'), 'cfg.grid_rows'),
    cols: readInt(getKey(cfg, 'grid_cols'), 'cfg.grid_cols'),
    layersPerCell: readInt(getKey(cfg, 'layers_per_cell'), 'cfg.layers_per_cell'),
  };
}

function checkLayerCount(grid: GridShape, n: number): void {
  const total = grid.rows * grid.cols * grid.layersPerCell;
  if (n !== total) {
    throw new LoomFormatError(
      `layer count mismatch: expected ${total} (rows=${grid.rows} x cols=${grid.cols} x layers_per_cell=${grid.layersPerCell}), got ${n}`,
    );
  }
}

/** Largest batch size accepted from a file. */
const MAX_BATCH_SIZE = 2 ** 20;

function checkBatchSize(n: number, path: string): number {
  if (n < 0 || n > MAX_BATCH_SIZE) throw new LoomFormatError(`${path}: ${n} is out of range, expected an integer in [0, ${MAX_BATCH_SIZE}] (0 means 1)`);
  return n;
}

/** Decodes one bundle entry into records (validated) plus grid and batch size. */
export function decodeEntry(entry: BundleEntry): { grid: GridShape; batchSize: number; records: LayerRecord[] } {
  const grid = gridFromCfg(entry.cfg);
  const batchRaw = getKey(entry.cfg, 'batch_size');
  const batchSize = batchRaw === undefined || batchRaw === null ? 1 : checkBatchSize(readInt(batchRaw, 'cfg.batch_size'), 'cfg.batch_size');
  const defs = readArray(getKey(entry.cfg, 'layers'), 'cfg.layers') ?? [];
  let inner: unknown;
  try {
    inner = parseJson(new TextDecoder().decode(decodeBase64(entry.weightsData)), 'failed to unmarshal weights');
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new LoomFormatError(msg.startsWith('failed to') ? msg : `failed to decode weights: ${msg}`);
  }
  if (!isJsonObject(inner)) throw new LoomFormatError('failed to unmarshal weights: not a JSON object');
  const wLayers = readArray(getKey(inner, 'layers'), 'weights.layers') ?? [];
  if (wLayers.length !== defs.length) {
    throw new LoomFormatError(`layer count mismatch: config=${defs.length}, weights=${wLayers.length}`);
  }
  checkLayerCount(grid, defs.length);
  const records = defs.map((d, i) => {
    const where = describePosition(grid, i, 'cfg.layers');
    const r = recordFromDef(readObject(d, `cfg.layers[${i}]`) ?? {}, `cfg.layers[${i}] (${where})`, 'bundle');
    applyWeights(r, readObject(wLayers[i], `weights.layers[${i}]`) ?? {}, `weights.layers[${i}]`);
    return r;
  });
  return { grid, batchSize, records };
}

/**
 * LOOM's `LoadModelFromString(json, id)`: the first model with that id (or the first model when
 * `id` is omitted) as a network with LOOM's residual wiring.
 * @throws LoomFormatError / UnsupportedLayerError / ShapeError naming what and where; nothing is half-loaded.
 */
export function loadModelFromString(text: string, id?: string, options: NetworkOptions = {}): Network {
  const models = parseBundle(text);
  const entry = id === undefined ? models[0] : models.find((m) => m.id === id);
  if (!entry) {
    throw new LoomFormatError(
      `model ${id ?? '(first)'} not found in bundle (ids: ${models.map((m) => JSON.stringify(m.id)).join(', ') || 'none'})`,
    );
  }
  const { grid, batchSize, records } = decodeEntry(entry);
  return Network.fromRecords(grid, records, { residualMode: 'loom', ...options, batchSize });
}

/**
 * LOOM's `BuildNetworkFromJSON`: a bare `cfg` object, architecture only (call `initializeWeights`).
 * Ref: format.md section 8.
 */
export function buildNetworkFromJSON(text: string, options: NetworkOptions = {}): Network {
  const cfg = parseJson(text, 'failed to parse network config');
  if (!isJsonObject(cfg)) throw new LoomFormatError('network config is not a JSON object');
  const grid = gridFromCfg(cfg);
  const batch = checkBatchSize(readInt(getKey(cfg, 'batch_size'), 'batch_size'), 'batch_size');
  const defs = readArray(getKey(cfg, 'layers'), 'layers') ?? [];
  checkLayerCount(grid, defs.length);
  const records = defs.map((d, i) => {
    const where = describePosition(grid, i, 'layer');
    return recordFromDef(readObject(d, `layers[${i}]`) ?? {}, `layers[${i}] (${where})`, 'architecture');
  });
  return Network.fromRecords(grid, records, { residualMode: 'loom', ...options, batchSize: batch === 0 ? 1 : batch });
}

// ---------------------------------------------------------------- writing

/** Record field value -> LOOM JSON value, by field kind (`records` are branches, written by {@link defToGo}). */
const JSON_FIELD_WRITERS: Readonly<Record<Exclude<FieldKind, 'records'>, (v: unknown) => GoValue>> = {
  int: (x) => goInt(x as number),
  f32: (x) => goF32(x as number),
  bool: (x) => x as boolean,
  string: (x) => x as string,
  f32s: (x) => goF32Array(x as Float32Array),
  ints: (x) => (x as number[]).map(goInt),
  bools: (x) => x as boolean[],
  ints2: (x) => (x as number[][]).map((a) => a.map(goInt)),
  positions: (x) =>
    (x as BranchPlacement[]).map((p) =>
      goObject([
        ['branch_index', goInt(p.branchIndex)],
        ['target_row', goInt(p.targetRow)],
        ['target_col', goInt(p.targetCol)],
        ['target_layer', goInt(p.targetLayer)],
      ]),
    ),
};

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || v === 0 || v === false || v === '' || (typeof v === 'object' && 'length' in v && (v as ArrayLike<unknown>).length === 0);

function defToGo(r: LayerRecord, topLevel: boolean, path: string): GoObject {
  const kind = kindByCode(r.type, path);
  const typeName = kind.name;
  const rec = r as unknown as Record<string, unknown>;
  const written = kind.loomJsonKeys.definition;
  const entries: [string, GoValue | undefined][] = [
    ['type', typeName],
    ['activation', activationName(r.activation)],
  ];
  for (const { key, field, kind } of DEF_KEYS) {
    if (!written.includes(key)) continue;
    let v: GoValue | undefined;
    if (key === 'width' || key === 'height') v = topLevel ? goInt(1) : undefined;
    else if (key === 'softmax_variant') v = SOFTMAX_VARIANTS[r.softmaxVariant] ?? 'standard';
    else if (key === 'branches') {
      v = r.parallelBranches?.length ? r.parallelBranches.map((b, i) => defToGo(b, false, `${path}.branches[${i}]`)) : undefined;
    } else if (field && kind !== 'records' && !isEmpty(rec[field])) {
      v = JSON_FIELD_WRITERS[kind](rec[field]);
    }
    if (key === 'num_kv_heads' && r.numKVHeads === r.numHeads) v = undefined;
    entries.push([key, v]);
  }
  const extKeys = Object.keys(r.ext ?? {});
  if (extKeys.length > 0) entries.push([EXT_KEY, extToGo(r.ext)]);
  return goObject(entries);
}

function extToGo(ext: LayerRecord['ext']): GoObject {
  const num = (x: number): GoValue => (Number.isInteger(x) ? goInt(x) : goF64(x));
  return goObject(
    Object.keys(ext)
      .sort()
      .map((k) => {
        const v = ext[k];
        return [k, Array.isArray(v) ? v.map(num) : typeof v === 'number' ? num(v) : (v as GoValue)];
      }),
  );
}

function weightsToGo(r: LayerRecord, path: string): GoObject {
  const own = kindByCode(r.type, path).loomJsonKeys.weights;
  const rec = r as unknown as Record<string, unknown>;
  const entries: [string, GoValue | undefined][] = [];
  for (const { key, field } of WEIGHT_KEYS) {
    if (!own.includes(key)) continue;
    const v = rec[field] as Float32Array | null;
    if (!v || v.length === 0) continue;
    try {
      entries.push([key, goF32Array(v)]);
    } catch (e) {
      if (e instanceof NonFiniteError) throw new NonFiniteError(`${path}.${key}: ${e.message}`);
      throw e;
    }
  }
  if (r.parallelBranches?.length) {
    entries.push(['branch_weights', r.parallelBranches.map((b, i) => weightsToGo(b, `${path}.branch_weights[${i}]`))]);
  }
  return goObject(entries);
}

function checkFinite(records: readonly LayerRecord[]): void {
  records.forEach((r, i) => {
    for (const k of ['temperature', 'epsilon', 'entmaxAlpha'] as const) {
      if (!Number.isFinite(r[k])) throw new NonFiniteError(`json: unsupported value: ${r[k]} (layer ${i} ${k})`);
    }
  });
}

/**
 * LOOM's `SerializeModel(id)`: `{id, cfg, weights: {fmt, data}}` as a Go value.
 * @throws NonFiniteError when a weight or setting is NaN or infinite (Go's json refuses them).
 */
export function serializeModel(net: Network, id: string): GoObject {
  const records = net.toRecords();
  checkFinite(records);
  const layers = records.map((r, i) => defToGo(r, true, `layers[${i}]`));
  const weights = goObject([
    ['type', 'float32'],
    ['layers', records.map((r, i) => weightsToGo(r, `weights.layers[${i}]`))],
  ]);
  const data = encodeBase64(new TextEncoder().encode(marshalCompact(weights)));
  const cfg = goObject([
    ['id', id],
    ['batch_size', goInt(net.batchSize)],
    ['grid_rows', goInt(net.grid.rows)],
    ['grid_cols', goInt(net.grid.cols)],
    ['layers_per_cell', goInt(net.grid.layersPerCell)],
    ['layers', layers],
  ]);
  return goObject([
    ['id', id],
    ['cfg', cfg],
    ['weights', goObject([['fmt', 'jsonModelB64'], ['data', data]])],
  ]);
}

/** A bundle document holding the given saved models. */
export function bundleToGo(models: readonly GoObject[]): GoObject {
  return goObject([
    ['type', BUNDLE_TYPE],
    ['version', goInt(1)],
    ['models', [...models]],
  ]);
}

/**
 * LOOM's `SaveModelToString(id)`: the pretty-printed single-model bundle, byte-identical to Go's.
 * @throws NonFiniteError on NaN/Inf weights.
 */
export function saveModelToString(net: Network, id: string): string {
  return marshalIndent(bundleToGo([serializeModel(net, id)]));
}

/** Several networks in one bundle, in the given order (LOOM's `SaveBundle` order is random). */
export function saveBundleToString(models: ReadonlyArray<{ id: string; network: Network }>): string {
  return marshalIndent(bundleToGo(models.map((m) => serializeModel(m.network, m.id))));
}
