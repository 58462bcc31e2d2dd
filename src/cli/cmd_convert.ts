/**
 * `loom convert`: LOOM JSON <-> safetensors + a small config JSON. The config is the bundle's
 * network description (LOOM's `cfg`: grid, batch size, layer definitions, no weights); every weight
 * array becomes one flat F32 tensor named `layers.<i>.<field>` (`layers.<i>.branches.<j>.<field>`
 * inside Parallel layers), in LOOM's memory layout. The round trip is lossless: converting back
 * writes the same LOOM JSON bytes.
 */
import * as fs from 'fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { decodeEntry, listModelIds, loadModelFromString, parseBundle, saveModelToString, serializeModel } from '../../loaders/loom_json';
import { marshalIndent } from '../../loaders/go_json';
import { SafetensorsFile, saveSafetensors, type TensorToSave } from '../../loaders/safetensors';
import { Network } from '../network/network';
import type { LayerRecord } from '../core/layer_record';
import { ConfigError } from '../core/errors';
import * as path from 'path';
import { loadGguf } from '../../loaders/gguf';
import { ggufToHFFiles } from '../../loaders/gguf_convert';
import { saveGGUF, type GgufWriteType } from '../../loaders/gguf_writer';

const USAGE = `usage: loom convert --from MODEL.json --to WEIGHTS.safetensors --config CONFIG.json [--id MODEL_ID]
       loom convert --from WEIGHTS.safetensors --config CONFIG.json --to MODEL.json
       loom convert --from MODEL.gguf --to DIR
       loom convert --from DIR --to MODEL.gguf [--type F32|F16|BF16|Q8_0|Q4_0]

LOOM JSON -> safetensors: writes every weight array of model MODEL_ID (default: the first) as a
flat F32 tensor (layers.<i>.<field>, LOOM's layout) and the network description (grid, batch
size, layer definitions) to CONFIG.json.
safetensors + CONFIG.json -> LOOM JSON: the inverse; the result is byte-identical to the original.
GGUF -> DIR: a Hugging Face folder (config.json, model.safetensors, tokenizer files); quantized
tensors are dequantized to F32. DIR -> GGUF: a file llama.cpp loads (2-D tensors in --type).`;

/** Record fields that hold weights (mixture weights are configuration, kept in the config). */
const WEIGHT_FIELDS = [
  'kernel', 'bias', 'qWeights', 'kWeights', 'vWeights', 'outputWeight', 'qBias', 'kBias', 'vBias', 'outputBias',
  'weightIH', 'weightHH', 'biasH', 'weightIH_i', 'weightIH_f', 'weightIH_g', 'weightIH_o', 'weightHH_i', 'weightHH_f',
  'weightHH_g', 'weightHH_o', 'biasH_i', 'biasH_f', 'biasH_g', 'biasH_o', 'gamma', 'beta', 'gateWeights', 'upWeights',
  'downWeights', 'gateBias', 'upBias', 'downBias',
] as const satisfies readonly (keyof LayerRecord)[];

function collect(r: LayerRecord, prefix: string, out: Record<string, TensorToSave>): void {
  for (const f of WEIGHT_FIELDS) {
    const v = r[f];
    if (v) out[`${prefix}.${f}`] = { shape: [v.length], data: v };
  }
  r.parallelBranches?.forEach((b, j) => collect(b, `${prefix}.branches.${j}`, out));
}

function fill(r: LayerRecord, prefix: string, file: SafetensorsFile, used: Set<string>): void {
  for (const f of WEIGHT_FIELDS) {
    const name = `${prefix}.${f}`;
    if (!file.has(name)) continue;
    const t = file.get(name);
    if (t.dtype !== 'F32') throw new ConfigError(`${file.file}: ${name} is ${t.dtype}, expected F32`);
    r[f] = new Float32Array(t.data as Float32Array);
    used.add(name);
  }
  r.parallelBranches?.forEach((b, j) => fill(b, `${prefix}.branches.${j}`, file, used));
}

/** A LOOM bundle text -> safetensors bytes + config text (model `id`, default the first). */
export function loomToSafetensors(text: string, id?: string): { safetensors: Uint8Array; config: string; id: string } {
  const modelId = id ?? listModelIds(text)[0];
  if (modelId === undefined) throw new ConfigError('the bundle holds no model');
  const net = loadModelFromString(text, modelId);
  try {
    const tensors: Record<string, TensorToSave> = {};
    net.toRecords().forEach((r, i) => collect(r, `layers.${i}`, tensors));
    const cfg = serializeModel(net, modelId);
    const cfgValue = cfg.entries.find(([k]) => k === 'cfg')?.[1] ?? null;
    return { safetensors: saveSafetensors(tensors, { format: 'loom', model_id: modelId }), config: marshalIndent(cfgValue) + '\n', id: modelId };
  } finally {
    net.dispose();
  }
}

/** Safetensors bytes + config text -> a LOOM bundle text. @throws ConfigError on tensors the config has no place for. */
export function safetensorsToLoom(bytes: Uint8Array, config: string, file = 'safetensors'): string {
  const st = new SafetensorsFile(bytes, file);
  const cfgDoc = JSON.parse(config) as { id?: string; layers?: unknown[] };
  const id = (typeof cfgDoc.id === 'string' ? cfgDoc.id : st.header.metadata?.['model_id']) ?? 'model';
  const emptyWeights = Buffer.from(JSON.stringify({ layers: (cfgDoc.layers ?? []).map(() => ({})) })).toString('base64');
  const entry = parseBundle(JSON.stringify({ type: 'modelhost/bundle', version: 1, models: [{ id, cfg: cfgDoc, weights: { fmt: 'jsonModelB64', data: emptyWeights } }] }))[0];
  if (!entry) throw new ConfigError(`${file}: bad config`);
  const { grid, batchSize, records } = decodeEntry(entry);
  const used = new Set<string>();
  records.forEach((r, i) => fill(r, `layers.${i}`, st, used));
  const extra = st.names.filter((n) => !used.has(n));
  if (extra.length > 0) throw new ConfigError(`${file}: tensors not in the config: ${extra.slice(0, 5).join(', ')}`);
  const net = Network.fromRecords(grid, records, { batchSize });
  try {
    return saveModelToString(net, id);
  } finally {
    net.dispose();
  }
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, to: { type: 'string' }, config: { type: 'string' }, id: { type: 'string' }, type: { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  const { from, to, config } = values;
  if (from !== undefined && to !== undefined && (/\.gguf$/i.test(from) || /\.gguf$/i.test(to))) return convertGguf(from, to, values.type, io);
  if (from === undefined || to === undefined || config === undefined) throw new UsageError('--from, --to and --config are required');
  if (from.endsWith('.safetensors')) {
    if (values.id !== undefined) throw new UsageError('--id applies to LOOM JSON input only');
    const text = safetensorsToLoom(new Uint8Array(fs.readFileSync(from)), fs.readFileSync(config, 'utf8'), from);
    fs.writeFileSync(to, text);
    io.stdout(`wrote ${to} (${text.length} bytes of LOOM JSON)\n`);
  } else {
    if (!to.endsWith('.safetensors')) throw new UsageError('one of --from/--to must be a .safetensors file');
    const r = loomToSafetensors(fs.readFileSync(from, 'utf8'), values.id);
    fs.writeFileSync(to, r.safetensors);
    fs.writeFileSync(config, r.config);
    io.stdout(`wrote ${to} (${r.safetensors.byteLength} bytes) and ${config} for model '${r.id}'\n`);
  }
  return 0;
}

async function convertGguf(from: string, to: string, type: string | undefined, io: CliIO): Promise<number> {
  if (/\.gguf$/i.test(from)) {
    const files = ggufToHFFiles(await loadGguf(from));
    fs.mkdirSync(to, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(to, name), bytes);
    io.stdout(`wrote ${Object.keys(files).join(', ')} to ${to}\n`);
    return 0;
  }
  const types: readonly GgufWriteType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'];
  if (type !== undefined && !(types as readonly string[]).includes(type)) throw new UsageError(`--type ${type}: expected one of ${types.join(', ')}`);
  await saveGGUF(from, to, { type: (type ?? 'F32') as GgufWriteType });
  io.stdout(`wrote ${to} (${fs.statSync(to).size} bytes, ${type ?? 'F32'})\n`);
  return 0;
}

/** `loom convert`. */
export const convertCommand: CliCommand = { name: 'convert', summary: 'convert LOOM JSON <-> safetensors + config JSON (lossless), HF folder <-> GGUF', usage: USAGE, run };
