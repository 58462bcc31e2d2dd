/**
 * `loom info <loom.json> [--id ID]`: what a LOOM model file holds (grid, layers, parameters).
 */
import * as fs from 'fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { listModelIds, loadModelFromString } from '../../loaders/loom_json';
import { modelInfo } from './cmd_logits';
import { backendFlag, dtypeFlag, modelDirFlag, printable } from './flags';
import { useBackend } from '../backends';
import { ggufInfo, ggufInfoLines } from './gguf_info';
import { downloadProgress } from './progress';
import { resolveHubCheckpoint } from '../../loaders/hub';

const USAGE = `usage: loom info <model.json> [--id ID] [--json] [--backend cpu|wasm|webgpu]
       loom info <model.gguf> [--json]
       loom info --model DIR|ORG/NAME|MODEL.gguf [--dtype fp32|bf16|q8|q4] [--json] [--backend cpu|wasm|webgpu]

Describes a LOOM JSON bundle (grid, layers, sizes, parameter counts), a GGUF file (architecture,
config, tensor types, tokenizer) or, with --model, a Hugging Face checkpoint folder (architecture,
parameter count, memory estimate; with --dtype, the bytes its weights take in that storage on the
wasm kernels).`;

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { id: { type: 'string' }, json: { type: 'boolean' }, model: { type: 'string' }, dtype: { type: 'string' }, backend: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const backend = backendFlag(values.backend);
  if (backend !== undefined) await useBackend(backend);
  if (values.model !== undefined) {
    if (/\.gguf$/i.test(values.model)) {
      io.stdout(JSON.stringify(await ggufInfo(values.model), null, 2) + '\n');
      return 0;
    }
    const dtype = dtypeFlag(values.dtype);
    // a hub id: the cache snapshot folder (downloaded when needed)
    const hub = await resolveHubCheckpoint(modelDirFlag(values.model), { onProgress: downloadProgress(io) });
    const info = await modelInfo(typeof hub === 'string' ? hub : values.model, dtype ? { dtype } : {});
    // text unless --json, as for LOOM files
    io.stdout((values.json ? JSON.stringify(info, null, 2) : Object.entries(info).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join('\n')) + '\n');
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new UsageError('expected exactly one LOOM JSON or GGUF file');
  if (/\.gguf$/i.test(file)) {
    const info = await ggufInfo(file);
    io.stdout((values.json ? JSON.stringify(info, null, 2) : ggufInfoLines(info).join('\n')) + '\n');
    return 0;
  }
  const text = fs.readFileSync(file, 'utf8');
  const ids = listModelIds(text);
  const net = loadModelFromString(text, values.id);
  try {
    const d = net.describe();
    if (values.json) {
      io.stdout(JSON.stringify({ file, models: ids, ...d }, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `file: ${file}`,
      `models: ${ids.join(', ')}`,
      `grid: ${d.grid.rows} x ${d.grid.cols} x ${d.grid.layersPerCell} (${d.layers.length} layers), batch size ${d.batchSize}`,
      `parameters: ${d.totalParameters} (${(d.tensorBytes / 1024).toFixed(1)} KiB float32)`,
      'layers:',
      ...d.layers.map(
        (l) =>
          `  ${String(l.index).padStart(3)} (${l.row},${l.col},${l.layer}) ${l.type.padEnd(20)} ${l.detail.padEnd(24)} in ${l.inputSize ?? '?'} out ${l.outputSize ?? '?'} params ${l.parameters}`,
      ),
    ];
    io.stdout(printable(lines.join('\n')) + '\n');
    return 0;
  } finally {
    net.dispose();
  }
}

/** `loom info`. */
export const infoCommand: CliCommand = { name: 'info', summary: 'describe a LOOM JSON model, a GGUF file or a checkpoint folder', usage: USAGE, run };
