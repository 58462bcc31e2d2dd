/**
 * GPT-2: tensor names and conversion to {@link DecoderWeights}. GPT-2's Conv1D weights are
 * already [in, out]; c_attn's columns are [q | k | v], heads contiguous, so no reordering.
 * LM head is always tied to `wte`. Ref: transformers modeling_gpt2 (GPT2Attention, GPT2MLP).
 */
import { ConfigError } from '../core/errors';
import type { ArchitectureSpec, CommonSizes, HFConfigReader } from './architecture';
import type { ModelConfig } from './config';
import { DecoderLM } from './model';
import { transposeInto, withWeightReader, type BlockWeights, type WeightSource } from './weights';

/** Checkpoint tensor names of GPT-2 (`prefix` is `transformer.` or empty, both occur on the Hub). */
export const GPT2_NAMES = {
  embed: (p: string) => `${p}wte.weight`,
  positions: (p: string) => `${p}wpe.weight`,
  finalNorm: (p: string) => `${p}ln_f`,
  block: (p: string, i: number) => ({
    norm1: `${p}h.${i}.ln_1`,
    norm2: `${p}h.${i}.ln_2`,
    qkv: `${p}h.${i}.attn.c_attn`,
    out: `${p}h.${i}.attn.c_proj`,
    up: `${p}h.${i}.mlp.c_fc`,
    down: `${p}h.${i}.mlp.c_proj`,
  }),
} as const;

/**
 * Builds GPT-2 from its checkpoint.
 * @throws SafetensorsError for a missing tensor, ShapeError for a shape that contradicts config.json.
 */
export function buildGpt2(config: ModelConfig, source: WeightSource): DecoderLM {
  return withWeightReader(source, (r) => {
    const p = source.has('transformer.wte.weight') ? 'transformer.' : '';
    const { hiddenSize: d, intermediateSize: m, vocabSize: v, maxPositions } = config;
    const norm = (name: string) => r.layerNorm(name, d);
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const n = GPT2_NAMES.block(p, i);
      blocks.push({
        norm1: norm(n.norm1),
        norm2: norm(n.norm2),
        qkv: r.matrix(r.read(`${n.qkv}.weight`, [d, 3 * d]), d, 3 * d),
        qkvBias: r.vector(`${n.qkv}.bias`, 3 * d),
        out: r.matrix(r.read(`${n.out}.weight`, [d, d]), d, d),
        outBias: r.vector(`${n.out}.bias`, d),
        up: r.matrix(r.read(`${n.up}.weight`, [d, m]), d, m),
        upBias: r.vector(`${n.up}.bias`, m),
        down: r.matrix(r.read(`${n.down}.weight`, [m, d]), m, d),
        downBias: r.vector(`${n.down}.bias`, d),
      });
    }
    const head = new Float32Array(d * v);
    transposeInto(head, v, 0, r.read(GPT2_NAMES.embed(p), [v, d]), v, d);
    const weights = {
      positions: r.matrix(r.read(GPT2_NAMES.positions(p), [maxPositions, d]), maxPositions, d),
      blocks,
      finalNorm: norm(GPT2_NAMES.finalNorm(p)),
      lmHead: r.matrix(head, d, v),
      gatedMlp: false,
    };
    return new DecoderLM(config, weights, r.parameterCount);
  });
}

/** `hidden_size` must split evenly into heads (GPT-2 and GPT-NeoX have no `head_dim` key). @returns the head size */
export function evenHeadDim(r: HFConfigReader, sizes: CommonSizes, keys: { hidden: string; heads: string }): number {
  if (sizes.hiddenSize % sizes.numHeads !== 0) {
    throw new ConfigError(`${r.file}: ${keys.hidden} ${sizes.hiddenSize} is not a multiple of ${keys.heads} ${sizes.numHeads}`);
  }
  return sizes.hiddenSize / sizes.numHeads;
}

/** GPT-2: learned positions, biases everywhere, tied LM head, MLP width `n_inner` or 4 x hidden. */
export const GPT2: ArchitectureSpec = {
  modelType: 'gpt2',
  hfClass: 'GPT2LMHeadModel',
  configKeys: {
    hidden: 'n_embd',
    layers: 'n_layer',
    heads: 'n_head',
    inner: 'n_inner',
    positions: 'n_positions',
    eps: ['layer_norm_epsilon'],
    act: 'activation_function',
  },
  defaults: { eps: 1e-5, norm: 'layer', act: 'gelu_new', tieWordEmbeddings: true, maxPositions: 1024 },
  readFields(r, sizes) {
    const headDim = evenHeadDim(r, sizes, GPT2.configKeys);
    if (r.bool('scale_attn_by_inverse_layer_idx', false) || !r.bool('scale_attn_weights', true)) {
      throw new ConfigError(`${r.file}: scale_attn_by_inverse_layer_idx true / scale_attn_weights false are not supported, expected the defaults (false / true)`);
    }
    return {
      numKVHeads: sizes.numHeads,
      headDim,
      intermediateSize: r.has('n_inner') ? r.int('n_inner') : 4 * sizes.hiddenSize,
      rope: null,
      parallelResidual: false,
      qkvBias: true,
      attnOutBias: true,
      mlpBias: true,
    };
  },
  build: buildGpt2,
};
