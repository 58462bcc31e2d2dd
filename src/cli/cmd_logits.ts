/**
 * `loom logits --model DIR --ids 1,2,3 [--backend cpu|wasm]`: next-token logits of every position
 * as JSON, and {@link modelInfo} behind `loom info --model DIR`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from './command';
import { backendFlag, parseIdList } from './flags';
import { useBackend } from '../backends';
import { loadCausalLM, loadModelConfig } from '../../loaders/pretrained';
import { readSafetensorsHeader } from '../../loaders/safetensors';
import { SafetensorsError } from '../core/errors';
import { packedLayout, type WeightDtype } from '../kernels/quantize';

const USAGE = `usage: loom logits --model DIR --ids 1,2,3 [--backend cpu|wasm|webgpu]

Runs the Hugging Face checkpoint in DIR (config.json + model.safetensors or its sharded index) on
the token ids and prints {"logits": [[...], ...]}: one row of vocab_size logits per position.`;

/** The `loom logits` command. */
export const logitsCommand: CliCommand = {
  name: 'logits',
  summary: 'print next-token logits of a Hugging Face checkpoint for token ids',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { model: { type: 'string' }, ids: { type: 'string' }, backend: { type: 'string', default: 'wasm' } },
      strict: true,
      allowPositionals: false,
    });
    if (!values.model) throw new UsageError('--model DIR is required');
    if (!values.ids) throw new UsageError('--ids is required');
    const backend = backendFlag(values.backend) ?? 'wasm';
    const ids = parseIdList(values.ids, '--ids');
    if (ids.length === 0) throw new UsageError('--ids needs at least one id');
    await useBackend(backend);
    const model = await loadCausalLM(values.model);
    try {
      const logits = model.forward([ids], { allPositions: true }); // (1, T, V)
      const data = logits.dataSync();
      logits.dispose();
      const v = model.config.vocabSize;
      const rows: number[][] = [];
      for (let t = 0; t < ids.length; t++) rows.push(Array.from(data.subarray(t * v, (t + 1) * v)));
      io.stdout(JSON.stringify({ logits: rows }) + '\n');
    } finally {
      model.dispose();
    }
    return 0;
  },
};

/** Buffers some checkpoints store beside the parameters (causal-mask and rotary caches). */
const NON_PARAMETER = /(\.attn\.(masked_)?bias|\.attention\.(masked_)?bias|rotary_emb\.inv_freq)$/;

/** What `loom info --model DIR` prints. */
export interface ModelInfo {
  modelType: string;
  architectures: string[];
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKVHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** Elements of every tensor in the checkpoint. */
  parameterCount: number;
  /** Bytes of the checkpoint's tensor data as stored. */
  storedBytes: number;
  /** Bytes the weights take once loaded (float32; the tied head is stored once, transposed). */
  weightBytes: number;
  /** Bytes of KV cache per position per sequence (float32). */
  kvCacheBytesPerToken: number;
  /** weightBytes + a full-length KV cache for one sequence. */
  memoryEstimateBytes: number;
  /** With {@link ModelInfoOptions.dtype}: that dtype, and the bytes the weights take stored in it on the kernels. */
  dtype?: WeightDtype;
  dtypeWeightBytes?: number;
}

/** Options of {@link modelInfo}. */
export interface ModelInfoOptions {
  /** Also report the bytes of the weights in this storage dtype (matrices packed, vectors fp32). */
  dtype?: WeightDtype;
}

/** Learned position tables stay float32 in every dtype. */
const POSITION_TABLE = /(^|\.)wpe\.weight$/;

/**
 * Architecture, parameter count and memory estimate of the checkpoint in `dir`, from config.json and
 * the safetensors headers only (no tensor data is read).
 * @throws ConfigError / SafetensorsError when the files are missing or malformed.
 */
export async function modelInfo(dir: string, options: ModelInfoOptions = {}): Promise<ModelInfo> {
  const config = await loadModelConfig(dir);
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { architectures?: unknown };
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  let files: string[];
  if (fs.existsSync(single)) {
    files = [single];
  } else if (fs.existsSync(index)) {
    const map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    files = [...new Set(Object.values(map))].map((f) => path.join(dir, f));
  } else {
    throw new SafetensorsError(`${dir}: neither model.safetensors nor model.safetensors.index.json found`);
  }
  let parameterCount = 0;
  let storedBytes = 0;
  let dtypeWeightBytes = 0;
  const dtype = options.dtype;
  for (const f of files) {
    const header = await readSafetensorsHeader(f);
    for (const e of header.tensors.values()) {
      if (NON_PARAMETER.test(e.name)) continue;
      const count = e.shape.reduce((a, b) => a * b, 1);
      parameterCount += count;
      storedBytes += e.end - e.begin;
      if (dtype && e.shape.length === 2 && !POSITION_TABLE.test(e.name)) {
        // Packed along the input dimension: the last for torch Linear [out, in], the first for GPT-2's Conv1D [in, out].
        const conv1d = config.modelType === 'gpt2' && !/wte\.weight$/.test(e.name);
        const [a, b] = e.shape as [number, number];
        dtypeWeightBytes += packedLayout(dtype, conv1d ? { rows: b, cols: a } : { rows: a, cols: b }).bytes;
      } else if (dtype) dtypeWeightBytes += count * 4;
    }
  }
  const kvCacheBytesPerToken = 2 * config.numLayers * config.numKVHeads * config.headDim * 4;
  const weightBytes = parameterCount * 4;
  return {
    modelType: config.modelType,
    architectures: Array.isArray(raw.architectures) ? raw.architectures.map(String) : [],
    vocabSize: config.vocabSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    numKVHeads: config.numKVHeads,
    headDim: config.headDim,
    intermediateSize: config.intermediateSize,
    maxPositions: config.maxPositions,
    tieWordEmbeddings: config.tieWordEmbeddings,
    parameterCount,
    storedBytes,
    weightBytes,
    kvCacheBytesPerToken,
    memoryEstimateBytes: weightBytes + kvCacheBytesPerToken * config.maxPositions,
    ...(dtype ? { dtype, dtypeWeightBytes } : {}),
  };
}
