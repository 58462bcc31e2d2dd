/**
 * What a GGUF file holds, for `loom info model.gguf`: version, architecture, the config we derive,
 * tensor types, tokenizer. Reads the file once; builds no model.
 */
import { loadGguf, ggufCheckpoint } from '../../loaders/gguf';
import type { ModelConfig } from '../transformer/config';

/** Summary of a GGUF file. */
export interface GgufInfo {
  file: string;
  version: number;
  architecture: string;
  name: string | null;
  tensorCount: number;
  /** Tensors per ggml type, e.g. `{ Q8_0: 14, F32: 5 }`. */
  tensorTypes: Record<string, number>;
  parameterCount: number;
  fileBytes: number;
  tokenizer: { model: string | null; tokens: number; chatTemplate: boolean };
  config: ModelConfig;
}

/**
 * Reads and summarises a GGUF file.
 * @throws GgufError when the file is malformed or its architecture is not supported.
 */
export async function ggufInfo(file: string): Promise<GgufInfo> {
  const gguf = await loadGguf(file);
  const { config } = ggufCheckpoint(gguf);
  const types: Record<string, number> = {};
  let params = 0;
  for (const t of gguf.header.tensors.values()) {
    types[t.type.name] = (types[t.type.name] ?? 0) + 1;
    params += t.ne.reduce((a, b) => a * b, 1);
  }
  const meta = gguf.metadata;
  const str = (k: string): string | null => {
    const v = meta.get(k);
    return typeof v === 'string' ? v : null;
  };
  const tokens = meta.get('tokenizer.ggml.tokens');
  return {
    file,
    version: gguf.header.version,
    architecture: gguf.architecture,
    name: str('general.name'),
    tensorCount: gguf.header.tensors.size,
    tensorTypes: types,
    parameterCount: params,
    fileBytes: gguf.bytes.byteLength,
    tokenizer: { model: str('tokenizer.ggml.model'), tokens: Array.isArray(tokens) ? tokens.length : 0, chatTemplate: str('tokenizer.chat_template') !== null },
    config,
  };
}

/** Text lines of {@link GgufInfo}. */
export function ggufInfoLines(i: GgufInfo): string[] {
  const c = i.config;
  return [
    `file: ${i.file} (GGUF v${i.version}, ${(i.fileBytes / 1024).toFixed(1)} KiB)`,
    `architecture: ${i.architecture} -> ${c.modelType}${i.name ? ` (${i.name})` : ''}`,
    `layers ${c.numLayers}, hidden ${c.hiddenSize}, heads ${c.numHeads} (kv ${c.numKVHeads}), head_dim ${c.headDim}, ffn ${c.intermediateSize}, vocab ${c.vocabSize}, context ${c.maxPositions}`,
    `tensors: ${i.tensorCount} (${Object.entries(i.tensorTypes).map(([t, n]) => `${t} ${n}`).join(', ')}), parameters ${i.parameterCount}`,
    `tokenizer: ${i.tokenizer.model ?? 'none'}, ${i.tokenizer.tokens} tokens${i.tokenizer.chatTemplate ? ', chat template' : ''}`,
  ];
}
