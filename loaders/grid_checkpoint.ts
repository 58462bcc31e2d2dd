/**
 * Hugging Face LLaMA-family checkpoints (llama, mistral, qwen2) as LOOM grid networks: a 1x1 grid
 * with 4 layers per decoder block (RMSNorm, MultiHeadAttention, RMSNorm, SwiGLU) and LOOM's
 * implicit residual wiring, which is exactly the pre-norm residual stream of these models. Unlike
 * LOOM the attention uses the checkpoint's `rope_theta`, and (by default) the network also holds the
 * token embedding (a Dense layer on one-hot tokens), the final RMSNorm (which LOOM skips, gaps.md 35)
 * and the LM head, so its output is the logits Hugging Face computes.
 *
 * The grid path exists to save checkpoints in LOOM's format and to fine-tune them with `train()`;
 * {@link loadCausalLM} (KV cache, fused weights) stays the path for generation.
 * Ref: loom-spec/transformer.md sections 4-6, network.md section 4.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { Activation, LayerType } from '../src/core/types';
import { Network } from '../src/network/network';
import type { TrainingBatch } from '../src/training/types';
import type { LossFunction } from '../src/training/losses';
import type { ModelConfig } from '../src/transformer/config';
import { ARCHITECTURES } from '../src/transformer/architectures';
import { LLAMA_NAMES } from '../src/transformer/llama';
import type { ModelType } from '../src/transformer/types';
import { WeightReader, transposed, type WeightSource } from '../src/transformer/weights';
import { resolvePretrained, type ParsedCheckpoint, type PretrainedSource } from './pretrained';

export type { ParsedCheckpoint } from './pretrained';

/** Architectures the grid path supports (LOOM's RMSNorm / MHA / SwiGLU layers fit only these). */
export const GRID_MODEL_TYPES: readonly ModelType[] = ARCHITECTURES.filter((a) => a.grid !== undefined).map((a) => a.modelType);

/** What {@link checkpointToGridNetwork} reads: anything {@link loadCausalLM} accepts, or a parsed checkpoint. */
export type GridCheckpointSource = PretrainedSource | ParsedCheckpoint;

/** Options of {@link checkpointToGridNetwork}. */
export interface GridCheckpointOptions {
  /** Put the token embedding first, as a Dense layer (vocab -> hidden, zero bias) on one-hot tokens. Default true. */
  includeEmbedding?: boolean;
  /** Put the final RMSNorm and the LM head (a bias-free Dense, hidden -> vocab) last. Default true. */
  includeHead?: boolean;
}

function isParsed(s: GridCheckpointSource): s is ParsedCheckpoint {
  if (typeof s !== 'object' || s instanceof URL || s instanceof Uint8Array || s instanceof ArrayBuffer) return false;
  const c = s.config as unknown;
  return typeof c === 'object' && c !== null && 'modelType' in c && 'hiddenSize' in c;
}

/** The typed config and weights of a source (same rules as loadCausalLM). */
async function resolveSource(source: GridCheckpointSource): Promise<ParsedCheckpoint> {
  return isParsed(source) ? source : resolvePretrained(source);
}

/**
 * Checks that `config` describes a model the grid layers compute exactly.
 * @throws ConfigError naming the field otherwise (architecture, head size, rope scaling, activation).
 */
export function checkGridConfig(config: ModelConfig): void {
  const mt = config.modelType;
  if (!GRID_MODEL_TYPES.includes(mt)) {
    throw new ConfigError(
      `model_type '${mt}' is not supported by the grid path (LOOM's RMSNorm / MultiHeadAttention / SwiGLU layers), ` +
        `expected one of ${GRID_MODEL_TYPES.join(', ')}; use loadCausalLM for ${mt}`,
    );
  }
  const { hiddenSize: d, numHeads: hq, headDim: hd } = config;
  if (hq * hd !== d) {
    throw new ConfigError(`config.json: head_dim ${hd} x num_attention_heads ${hq} = ${hq * hd}, the grid path needs hidden_size ${d}`);
  }
  if (config.norm.kind !== 'rms') throw new ConfigError(`config.json: the grid path needs RMSNorm, got ${config.norm.kind} norm`);
  if (config.hiddenAct !== 'silu') throw new ConfigError(`config.json: hidden_act '${config.hiddenAct}' is not supported by SwiGLU, expected silu`);
  const rope = config.rope;
  if (!rope) throw new ConfigError(`config.json: the grid path needs rotary position embeddings`);
  if (rope.rotaryDim !== hd) throw new ConfigError(`config.json: partial rotary (${rope.rotaryDim} of head_dim ${hd}) is not supported by the grid path`);
  if (rope.scaling.type !== 'default') {
    throw new ConfigError(`config.json: rope scaling '${rope.scaling.type}' is not supported by the grid path, expected none (use loadCausalLM)`);
  }
  if (config.slidingWindow !== undefined && config.slidingWindow < config.maxPositions) {
    throw new ConfigError(
      `config.json: sliding_window ${config.slidingWindow} (< ${config.maxPositions} positions) is not supported by the grid path's attention layer; use loadCausalLM`,
    );
  }
}

function rmsNormRecord(gamma: Float32Array, eps: number): LayerRecord {
  const r = emptyRecord(LayerType.RMSNorm);
  r.normSize = gamma.length;
  r.epsilon = eps;
  r.gamma = new Float32Array(gamma);
  return r;
}

function denseRecord(nIn: number, nOut: number, kernel: Float32Array, bias: Float32Array | null): LayerRecord {
  const r = emptyRecord(LayerType.Dense);
  r.activation = Activation.Linear;
  r.inputHeight = nIn;
  r.outputHeight = nOut;
  r.kernel = kernel;
  r.bias = bias;
  if (!bias) r.ext = { use_bias: false };
  return r;
}

/** The 4 LOOM records of decoder block `i` (weights transposed from PyTorch [out, in] to LOOM [in, out]). */
function blockRecords(config: ModelConfig, r: WeightReader, i: number): LayerRecord[] {
  const { hiddenSize: d, numHeads: hq, numKVHeads: hkv, headDim: hd, intermediateSize: m } = config;
  const kv = hkv * hd;
  const n = LLAMA_NAMES.block(i);
  const eps = config.norm.eps;
  const optional = (present: boolean, name: string, size: number): Float32Array =>
    present ? new Float32Array(r.read(name, [size])) : new Float32Array(size);

  const mha = emptyRecord(LayerType.MultiHeadAttention);
  Object.assign(mha, { dModel: d, numHeads: hq, numKVHeads: hkv, headDim: hd, seqLength: config.maxPositions });
  mha.qWeights = transposed(r.read(`${n.q}.weight`, [d, d]), d, d); // (D, D)
  mha.kWeights = transposed(r.read(`${n.k}.weight`, [kv, d]), kv, d); // (D, kv)
  mha.vWeights = transposed(r.read(`${n.v}.weight`, [kv, d]), kv, d); // (D, kv)
  mha.outputWeight = transposed(r.read(`${n.o}.weight`, [d, d]), d, d); // (D, D)
  mha.qBias = optional(config.qkvBias, `${n.q}.bias`, d);
  mha.kBias = optional(config.qkvBias, `${n.k}.bias`, kv);
  mha.vBias = optional(config.qkvBias, `${n.v}.bias`, kv);
  mha.outputBias = optional(config.attnOutBias, `${n.o}.bias`, d);
  mha.ext = { rope_theta: (config.rope as { theta: number }).theta };

  const mlp = emptyRecord(LayerType.SwiGLU);
  mlp.inputHeight = d;
  mlp.outputHeight = m;
  mlp.gateWeights = transposed(r.read(`${n.gate}.weight`, [m, d]), m, d); // (D, M)
  mlp.upWeights = transposed(r.read(`${n.up}.weight`, [m, d]), m, d); // (D, M)
  mlp.downWeights = transposed(r.read(`${n.down}.weight`, [d, m]), d, m); // (M, D)
  mlp.gateBias = optional(config.mlpBias, `${n.gate}.bias`, m);
  mlp.upBias = optional(config.mlpBias, `${n.up}.bias`, m);
  mlp.downBias = optional(config.mlpBias, `${n.down}.bias`, d);

  return [rmsNormRecord(r.read(n.norm1, [d]), eps), mha, rmsNormRecord(r.read(n.norm2, [d]), eps), mlp];
}

/**
 * LOOM records of a LLaMA-family checkpoint, in flat order.
 * @throws ConfigError for an unsupported config, SafetensorsError for a missing tensor, ShapeError
 *   for a tensor whose shape contradicts config.json.
 */
export function checkpointToRecords(config: ModelConfig, weights: WeightSource, options: GridCheckpointOptions = {}): LayerRecord[] {
  checkGridConfig(config);
  const { hiddenSize: d, vocabSize: v } = config;
  const r = new WeightReader(weights); // only `read` is used: no tensors are created
  const records: LayerRecord[] = [];
  const needEmbed = options.includeEmbedding !== false || (options.includeHead !== false && config.tieWordEmbeddings);
  const embed = needEmbed ? r.read(LLAMA_NAMES.embed, [v, d]) : null; // (V, D)
  if (options.includeEmbedding !== false) {
    // One-hot row v times the kernel is embedding row v: the kernel (V, D) is embed_tokens as stored.
    records.push(denseRecord(v, d, new Float32Array(embed as Float32Array), new Float32Array(d)));
  }
  for (let i = 0; i < config.numLayers; i++) records.push(...blockRecords(config, r, i));
  if (options.includeHead !== false) {
    records.push(rmsNormRecord(r.read(LLAMA_NAMES.finalNorm, [d]), config.norm.eps));
    const head = config.tieWordEmbeddings ? (embed as Float32Array) : r.read(LLAMA_NAMES.lmHead, [v, d]); // (V, D)
    records.push(denseRecord(d, v, transposed(head, v, d), null)); // kernel (D, V)
  }
  return records;
}

/**
 * Softmax cross entropy over rows of `vocabSize` logits, averaged over rows: the next-token loss
 * for {@link GridCheckpoint} networks (targets one-hot or any distribution per row).
 * y (S*V) logits, t (S*V) -> scalar.
 */
export function tokenCrossEntropy(vocabSize: number): LossFunction {
  return (y, t) => {
    const rows = Math.floor(y.size / vocabSize);
    if (rows * vocabSize !== y.size || t.size !== y.size) {
      throw new ShapeError(`tokenCrossEntropy: output has ${y.size} values and target ${t.size}, expected equal multiples of vocab ${vocabSize}`);
    }
    const logp = tf.logSoftmax(y.reshape([rows, vocabSize])); // (S, V)
    return tf.div(tf.neg(tf.sum(tf.mul(logp, t.reshape([rows, vocabSize])))), rows) as tf.Scalar;
  };
}

/**
 * A checkpoint as a LOOM grid network, with helpers for token input. Owns the network: call
 * `dispose()`.
 *
 * Sequence length: Dense layers split their input into `network.batchSize` rows, and attention
 * treats the whole input as one sequence, so `network.batchSize` must equal the number of tokens
 * of each call. {@link forwardIds} and {@link nextTokenBatch} set it; before `network.forward` or
 * `network.train` on other inputs call {@link setSequenceLength} (all training batches of one
 * `train` call need the same length).
 */
export class GridCheckpoint {
  /** The config the network was built from. */
  readonly config: ModelConfig;
  /** Token ids are 0..vocabSize-1. */
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** The first layer is the token embedding (input: one-hot tokens, S x V); otherwise the input is S x D. */
  readonly includesEmbedding: boolean;
  /** The last layers are the final norm and the LM head (output: logits, S x V); otherwise hidden states S x D. */
  readonly includesHead: boolean;

  constructor(
    readonly network: Network,
    config: ModelConfig,
    options: GridCheckpointOptions = {},
  ) {
    this.config = config;
    this.vocabSize = config.vocabSize;
    this.hiddenSize = config.hiddenSize;
    this.includesEmbedding = options.includeEmbedding !== false;
    this.includesHead = options.includeHead !== false;
  }

  /** Current sequence length (the network's batch size). */
  get seqLength(): number {
    return this.network.batchSize;
  }

  /** Sets the number of tokens the next forward / train calls run on. @throws ConfigError when < 1. */
  setSequenceLength(length: number): void {
    if (!Number.isInteger(length) || length < 1) throw new ConfigError(`sequence length must be a positive integer, got ${length}`);
    this.network.batchSize = length;
  }

  /** One-hot rows of `ids`: (S*V), row-major. @throws ShapeError for an id outside 0..V-1. */
  oneHot(ids: readonly number[]): Float32Array {
    const v = this.vocabSize;
    const out = new Float32Array(ids.length * v);
    ids.forEach((id, s) => {
      if (!Number.isInteger(id) || id < 0 || id >= v) throw new ShapeError(`token id ${id} at position ${s} is outside the vocabulary 0..${v - 1}`);
      out[s * v + id] = 1;
    });
    return out;
  }

  /**
   * Logits of every position, as Hugging Face computes them: ids (S) -> (S*V) row-major
   * (hidden states (S*D) when the network has no head). Sets the sequence length to S.
   * @throws ConfigError when the network has no embedding layer (feed embeddings to `network` then).
   */
  forwardIds(ids: readonly number[]): Float32Array {
    if (!this.includesEmbedding) throw new ConfigError('forwardIds needs the embedding layer (includeEmbedding: true); feed embeddings (S x D) to network.forward');
    const x = this.oneHot(ids);
    this.setSequenceLength(ids.length);
    const y = this.network.predict(x); // (S*V)
    const out = new Float32Array(y.dataSync() as Float32Array);
    y.dispose();
    return out;
  }

  /**
   * A next-token training batch from one sequence: input one-hot `ids[0..n-2]`, target one-hot
   * `ids[1..n-1]`; use with `loss: tokenCrossEntropy(vocabSize)`. Sets the sequence length to n-1.
   * @throws ShapeError for fewer than 2 ids; ConfigError without embedding and head.
   */
  nextTokenBatch(ids: readonly number[]): TrainingBatch {
    if (!this.includesEmbedding || !this.includesHead) throw new ConfigError('nextTokenBatch needs the embedding and head layers');
    if (ids.length < 2) throw new ShapeError(`nextTokenBatch needs at least 2 ids, got ${ids.length}`);
    this.setSequenceLength(ids.length - 1);
    return { input: this.oneHot(ids.slice(0, -1)), target: this.oneHot(ids.slice(1)) };
  }

  /** Frees the network's variables. */
  dispose(): void {
    this.network.dispose();
  }
}

/**
 * Loads a LLaMA-family checkpoint (llama, mistral, qwen2) into a LOOM grid network: 1x1 grid,
 * `residualMode: 'loom'`, layers [Dense embedding] + per block [RMSNorm, MHA, RMSNorm, SwiGLU] +
 * [RMSNorm, Dense LM head]. MHA uses the config's rope theta (saved under LOOM JSON's extension
 * keys), GQA and a causal mask; biases come from the checkpoint where it has them, else zeros.
 * The network's batch size starts at 1 (see {@link GridCheckpoint} on sequence lengths).
 * @throws ConfigError for other architectures or settings the layers cannot express;
 *   SafetensorsError for a missing tensor; ShapeError for a shape that contradicts config.json.
 *   Nothing stays allocated on error.
 * Ref: loom-spec/transformer.md section 4 (LOOM's mapping), section 9 (where we differ).
 */
export async function checkpointToGridNetwork(source: GridCheckpointSource, options: GridCheckpointOptions = {}): Promise<GridCheckpoint> {
  const { config, weights } = await resolveSource(source);
  const records = checkpointToRecords(config, weights, options);
  const network = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: records.length }, records, {
    residualMode: 'loom',
    batchSize: 1,
    inputSize: options.includeEmbedding !== false ? config.vocabSize : config.hiddenSize,
  });
  return new GridCheckpoint(network, config, options);
}
