/**
 * LLaMA family (llama, mistral, qwen2): tensor names and conversion to {@link DecoderWeights}.
 * Mistral's sliding window is applied by the attention mask in model.ts (config `slidingWindow`).
 * Ref: transformers modeling_llama / modeling_qwen2 / modeling_mistral.
 */
import { ConfigError } from '../core/errors';
import type { ArchitectureConfigKeys, ArchitectureFields, ArchitectureSpec, CommonSizes, HFConfigReader } from './architecture';
import type { ModelConfig } from './config';
import { DecoderLM } from './model';
import { concatFloat32 } from '../core/arrays';
import { WeightReader, transposeInto, type BlockWeights, type WeightSource } from './weights';

/** Checkpoint tensor names of the LLaMA family. */
export const LLAMA_NAMES = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  block: (i: number) => ({
    norm1: `model.layers.${i}.input_layernorm.weight`,
    norm2: `model.layers.${i}.post_attention_layernorm.weight`,
    q: `model.layers.${i}.self_attn.q_proj`,
    k: `model.layers.${i}.self_attn.k_proj`,
    v: `model.layers.${i}.self_attn.v_proj`,
    o: `model.layers.${i}.self_attn.o_proj`,
    gate: `model.layers.${i}.mlp.gate_proj`,
    up: `model.layers.${i}.mlp.up_proj`,
    down: `model.layers.${i}.mlp.down_proj`,
  }),
} as const;

/**
 * Builds a LLaMA-family model: q/k/v fused to (D, (hq + 2 hkv) hd), gate/up fused to (D, 2M),
 * every matrix transposed once to [in, out].
 * @throws SafetensorsError for a missing tensor, ShapeError for a shape that contradicts config.json.
 */
export function buildLlama(config: ModelConfig, source: WeightSource): DecoderLM {
  const r = new WeightReader(source);
  try {
    const { hiddenSize: d, numHeads: hq, numKVHeads: hkv, headDim: hd, intermediateSize: m, vocabSize: v } = config;
    const qkvCols = (hq + 2 * hkv) * hd;
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const n = LLAMA_NAMES.block(i);
      const qkv = new Float32Array(d * qkvCols);
      transposeInto(qkv, qkvCols, 0, r.read(`${n.q}.weight`, [hq * hd, d]), hq * hd, d);
      transposeInto(qkv, qkvCols, hq * hd, r.read(`${n.k}.weight`, [hkv * hd, d]), hkv * hd, d);
      transposeInto(qkv, qkvCols, (hq + hkv) * hd, r.read(`${n.v}.weight`, [hkv * hd, d]), hkv * hd, d);
      const out = new Float32Array(hq * hd * d);
      transposeInto(out, d, 0, r.read(`${n.o}.weight`, [d, hq * hd]), d, hq * hd);
      const up = new Float32Array(d * 2 * m);
      transposeInto(up, 2 * m, 0, r.read(`${n.gate}.weight`, [m, d]), m, d);
      transposeInto(up, 2 * m, m, r.read(`${n.up}.weight`, [m, d]), m, d);
      const down = new Float32Array(m * d);
      transposeInto(down, d, 0, r.read(`${n.down}.weight`, [d, m]), d, m);
      const qkvBias = config.qkvBias
        ? r.vectorFrom((concatFloat32([r.read(`${n.q}.bias`, [hq * hd]), r.read(`${n.k}.bias`, [hkv * hd]), r.read(`${n.v}.bias`, [hkv * hd])])))
        : undefined;
      const upBias = config.mlpBias ? r.vectorFrom((concatFloat32([r.read(`${n.gate}.bias`, [m]), r.read(`${n.up}.bias`, [m])]))) : undefined;
      blocks.push({
        norm1: { gamma: r.vector(n.norm1, d) },
        norm2: { gamma: r.vector(n.norm2, d) },
        qkv: r.matrix(qkv, d, qkvCols),
        ...(qkvBias ? { qkvBias } : {}),
        out: r.matrix(out, hq * hd, d),
        ...(config.attnOutBias ? { outBias: r.vector(`${n.o}.bias`, d) } : {}),
        up: r.matrix(up, d, 2 * m),
        ...(upBias ? { upBias } : {}),
        down: r.matrix(down, m, d),
        ...(config.mlpBias ? { downBias: r.vector(`${n.down}.bias`, d) } : {}),
      });
    }
    const embedData = r.read(LLAMA_NAMES.embed, [v, d]);
    const head = new Float32Array(d * v);
    if (config.tieWordEmbeddings) {
      transposeInto(head, v, 0, embedData, v, d);
    } else {
      transposeInto(head, v, 0, r.read(LLAMA_NAMES.lmHead, [v, d]), v, d);
    }
    const weights = {
      ...(config.tieWordEmbeddings ? {} : { embed: r.matrix(embedData, v, d) }),
      blocks,
      finalNorm: { gamma: r.vector(LLAMA_NAMES.finalNorm, d) },
      lmHead: r.matrix(head, d, v),
      gatedMlp: true,
    };
    return new DecoderLM(config, weights, r.parameterCount);
  } catch (e) {
    r.disposeAll();
    throw e;
  }
}


/** config.json keys of the LLaMA family (LlamaConfig, MistralConfig, Qwen2Config). */
export const LLAMA_CONFIG_KEYS: ArchitectureConfigKeys = {
  hidden: 'hidden_size',
  layers: 'num_hidden_layers',
  heads: 'num_attention_heads',
  inner: 'intermediate_size',
  positions: 'max_position_embeddings',
  eps: ['rms_norm_eps'],
  act: 'hidden_act',
};

/**
 * The LLaMA-family fields every member shares: grouped KV heads, `head_dim`, RoPE over the whole
 * head (base 10000 unless config.json says otherwise), biases as given.
 * @throws ConfigError for a missing or invalid key
 */
export function llamaFamilyFields(r: HFConfigReader, sizes: CommonSizes, biases: { qkv: boolean; out: boolean; mlp: boolean }): ArchitectureFields {
  const numKVHeads = r.int('num_key_value_heads', sizes.numHeads);
  if (sizes.numHeads % numKVHeads !== 0) throw new ConfigError(`${r.file}: num_attention_heads ${sizes.numHeads} is not a multiple of num_key_value_heads ${numKVHeads}`);
  return {
    numKVHeads,
    headDim: r.int('head_dim', Math.floor(sizes.hiddenSize / sizes.numHeads)),
    intermediateSize: r.int('intermediate_size'),
    rope: { theta: 10000, partialRotary: 1 },
    parallelResidual: false,
    qkvBias: biases.qkv,
    attnOutBias: biases.out,
    mlpBias: biases.mlp,
  };
}

/** LLaMA (and the grid export default): optional `attention_bias` (q/k/v/o) and `mlp_bias`. */
export const LLAMA: ArchitectureSpec = {
  modelType: 'llama',
  hfClass: 'LlamaForCausalLM',
  configKeys: LLAMA_CONFIG_KEYS,
  defaults: { eps: 1e-6, norm: 'rms', act: 'silu', tieWordEmbeddings: false, maxPositions: 2048 },
  readFields(r, sizes) {
    const attention = r.bool('attention_bias', false);
    return llamaFamilyFields(r, sizes, { qkv: attention, out: attention, mlp: r.bool('mlp_bias', false) });
  },
  build: buildLlama,
  grid: {
    biases: ({ attention, mlp }) => ({ qkv: attention, out: attention, mlp, configEntries: { attention_bias: attention, mlp_bias: mlp } }),
  },
};
