/**
 * Qwen2: the LLaMA graph and tensor names (llama.ts) with q/k/v biases always present and none on
 * the output or MLP projections. Per-layer sliding windows (`use_sliding_window` with
 * `max_window_layers`) are refused: the shared graph has one window for every layer.
 * Ref: transformers modeling_qwen2, Qwen2Config.
 */
import { ConfigError } from '../core/errors';
import type { ArchitectureSpec } from './architecture';
import { buildLlama, LLAMA_CONFIG_KEYS, llamaFamilyFields } from './llama';

/** Qwen2: q/k/v biases, no output or MLP bias. */
export const QWEN2: ArchitectureSpec = {
  modelType: 'qwen2',
  hfClass: 'Qwen2ForCausalLM',
  configKeys: LLAMA_CONFIG_KEYS,
  defaults: { eps: 1e-6, norm: 'rms', act: 'silu', tieWordEmbeddings: false, maxPositions: 32768 },
  readFields(r, sizes) {
    if (r.bool('use_sliding_window', false)) {
      // transformers applies the window only with use_sliding_window (per layer, from max_window_layers)
      const window = r.int('sliding_window', Number.MAX_SAFE_INTEGER);
      const positions = r.int('max_position_embeddings', Number.MAX_SAFE_INTEGER);
      if (window < positions && r.int('max_window_layers', 0, 0) < sizes.numLayers) {
        throw new ConfigError(
          `${r.file}: use_sliding_window with sliding_window ${window} < max_position_embeddings ${positions} (per-layer sliding attention) is not supported, expected use_sliding_window: false`,
        );
      }
    }
    return llamaFamilyFields(r, sizes, { qkv: true, out: false, mlp: false });
  },
  build: buildLlama,
  grid: {
    biases({ out, mlp }) {
      if (out || mlp) {
        throw new ConfigError(`gridNetworkToCheckpoint: qwen2 stores only q/k/v biases, but the network has nonzero ${out ? 'attention output' : 'MLP'} biases; use modelType 'llama'`);
      }
      return { qkv: true, out: false, mlp: false, configEntries: {} };
    },
  },
};
