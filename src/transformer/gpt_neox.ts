/**
 * GPT-NeoX (Pythia): tensor names and conversion to {@link DecoderWeights}.
 * query_key_value's output rows are interleaved per head, (nHeads, 3, headDim): they are
 * regrouped to [q heads | k heads | v heads]. Partial rotary (rotary_pct) and the parallel
 * residual are handled by the shared graph from the config.
 * Ref: transformers modeling_gpt_neox (GPTNeoXAttention, GPTNeoXLayer).
 */
import type { ArchitectureSpec } from './architecture';
import type { ModelConfig } from './config';
import { evenHeadDim } from './gpt2';
import { DecoderLM } from './model';
import { transposeInto, withWeightReader, type BlockWeights, type WeightSource } from './weights';

/** Checkpoint tensor names of GPT-NeoX. */
export const GPT_NEOX_NAMES = {
  embed: 'gpt_neox.embed_in.weight',
  finalNorm: 'gpt_neox.final_layer_norm',
  lmHead: 'embed_out.weight',
  block: (i: number) => ({
    norm1: `gpt_neox.layers.${i}.input_layernorm`,
    norm2: `gpt_neox.layers.${i}.post_attention_layernorm`,
    qkv: `gpt_neox.layers.${i}.attention.query_key_value`,
    out: `gpt_neox.layers.${i}.attention.dense`,
    up: `gpt_neox.layers.${i}.mlp.dense_h_to_4h`,
    down: `gpt_neox.layers.${i}.mlp.dense_4h_to_h`,
  }),
} as const;

/**
 * Builds GPT-NeoX from its checkpoint.
 * @throws SafetensorsError for a missing tensor, ShapeError for a shape that contradicts config.json.
 */
export function buildGptNeox(config: ModelConfig, source: WeightSource): DecoderLM {
  return withWeightReader(source, (r) => {
    const { hiddenSize: d, numHeads: h, headDim: hd, intermediateSize: m, vocabSize: v } = config;
    const norm = (name: string) => r.layerNorm(name, d);
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const n = GPT_NEOX_NAMES.block(i);
      // Rows (h, part, j) -> columns (part, h, j), part 0/1/2 = q/k/v, transposed in the same
      // pass: each (head, part) block of hd rows becomes hd contiguous columns.
      const raw = r.read(`${n.qkv}.weight`, [3 * d, d]); // (3D, D) rows (h, part, j)
      const rawBias = config.qkvBias ? r.read(`${n.qkv}.bias`, [3 * d]) : null; // (3D)
      const qkv = new Float32Array(d * 3 * d); // (D, 3D)
      const bias = new Float32Array(3 * d); // (3D)
      for (let head = 0; head < h; head++) {
        for (let part = 0; part < 3; part++) {
          const from = (head * 3 + part) * hd;
          const to = part * d + head * hd;
          transposeInto(qkv, 3 * d, to, raw.subarray(from * d, (from + hd) * d), hd, d);
          if (rawBias) bias.set(rawBias.subarray(from, from + hd), to);
        }
      }
      const out = new Float32Array(d * d);
      transposeInto(out, d, 0, r.read(`${n.out}.weight`, [d, d]), d, d);
      const up = new Float32Array(d * m);
      transposeInto(up, m, 0, r.read(`${n.up}.weight`, [m, d]), m, d);
      const down = new Float32Array(m * d);
      transposeInto(down, d, 0, r.read(`${n.down}.weight`, [d, m]), d, m);
      blocks.push({
        norm1: norm(n.norm1),
        norm2: norm(n.norm2),
        qkv: r.matrix(qkv, d, 3 * d),
        ...(rawBias ? { qkvBias: r.vectorFrom(bias) } : {}),
        out: r.matrix(out, d, d),
        ...(config.attnOutBias ? { outBias: r.vector(`${n.out}.bias`, d) } : {}),
        up: r.matrix(up, d, m),
        upBias: r.vector(`${n.up}.bias`, m),
        down: r.matrix(down, m, d),
        downBias: r.vector(`${n.down}.bias`, d),
      });
    }
    const embedData = r.read(GPT_NEOX_NAMES.embed, [v, d]);
    const head = new Float32Array(d * v);
    transposeInto(head, v, 0, config.tieWordEmbeddings ? embedData : r.read(GPT_NEOX_NAMES.lmHead, [v, d]), v, d);
    const weights = {
      ...(config.tieWordEmbeddings ? {} : { embed: r.matrix(embedData, v, d) }),
      blocks,
      finalNorm: norm(GPT_NEOX_NAMES.finalNorm),
      lmHead: r.matrix(head, d, v),
      gatedMlp: false,
    };
    return new DecoderLM(config, weights, r.parameterCount);
  });
}

/** GPT-NeoX: partial rotary (`rotary_pct`, base `rotary_emb_base`), parallel residual, biases. */
export const GPT_NEOX: ArchitectureSpec = {
  modelType: 'gpt_neox',
  hfClass: 'GPTNeoXForCausalLM',
  configKeys: {
    hidden: 'hidden_size',
    layers: 'num_hidden_layers',
    heads: 'num_attention_heads',
    inner: 'intermediate_size',
    positions: 'max_position_embeddings',
    eps: ['layer_norm_eps'],
    act: 'hidden_act',
  },
  defaults: { eps: 1e-5, norm: 'layer', act: 'gelu', tieWordEmbeddings: false, maxPositions: 2048 },
  readFields(r, sizes) {
    const headDim = evenHeadDim(r, sizes, GPT_NEOX.configKeys);
    const attention = r.bool('attention_bias', true);
    return {
      numKVHeads: sizes.numHeads,
      headDim,
      intermediateSize: r.int('intermediate_size'),
      rope: { theta: r.num('rotary_emb_base', 10000), partialRotary: r.num('rotary_pct', 0.25) },
      parallelResidual: r.bool('use_parallel_residual', true),
      qkvBias: attention,
      attnOutBias: attention,
      mlpBias: true,
    };
  },
  build: buildGptNeox,
};
