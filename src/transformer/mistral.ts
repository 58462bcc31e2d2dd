/**
 * Mistral: the LLaMA graph and tensor names (llama.ts) with sliding-window attention, applied by
 * the attention mask (config `slidingWindow`, src/transformer/positions.ts). Stores no biases.
 * Ref: transformers modeling_mistral, MistralConfig.
 */
import { ConfigError } from '../core/errors';
import type { ArchitectureSpec } from './architecture';
import { buildLlama, LLAMA_CONFIG_KEYS, llamaFamilyFields } from './llama';

/** Mistral: `attention_bias` / `mlp_bias` as LLaMA, plus `sliding_window`. */
export const MISTRAL: ArchitectureSpec = {
  modelType: 'mistral',
  hfClass: 'MistralForCausalLM',
  configKeys: LLAMA_CONFIG_KEYS,
  defaults: { eps: 1e-6, norm: 'rms', act: 'silu', tieWordEmbeddings: false, maxPositions: 4096 * 32 },
  readFields(r, sizes) {
    const attention = r.bool('attention_bias', false);
    const fields = llamaFamilyFields(r, sizes, { qkv: attention, out: attention, mlp: r.bool('mlp_bias', false) });
    return r.has('sliding_window') ? { ...fields, slidingWindow: r.int('sliding_window') } : fields;
  },
  build: buildLlama,
  grid: {
    biases({ attention, mlp }) {
      if (attention || mlp) {
        throw new ConfigError(`gridNetworkToCheckpoint: mistral stores no biases, but the network has nonzero ${attention ? 'attention' : 'MLP'} biases; use modelType 'llama'`);
      }
      return { qkv: false, out: false, mlp: false, configEntries: {} };
    },
  },
};
