/**
 * GPT-2: tensor names and conversion to {@link DecoderWeights}. GPT-2's Conv1D weights are
 * already [in, out]; c_attn's columns are [q | k | v], heads contiguous, so no reordering.
 * LM head is always tied to `wte`. Ref: transformers modeling_gpt2 (GPT2Attention, GPT2MLP).
 */
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
