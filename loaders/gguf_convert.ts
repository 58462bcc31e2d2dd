/**
 * A GGUF file as a Hugging Face folder's files: config.json, generation_config.json,
 * model.safetensors (F16/BF16 tensors kept, F32 and dequantized Q8_0/Q4_0 as F32) and, when the
 * file has a vocabulary, tokenizer.json + tokenizer_config.json. For `loom convert --from x.gguf`.
 */
import { ggufCheckpoint, type GgufFile } from './gguf';
import { ggufTokenizerFiles } from './gguf_tokenizer';
import { saveSafetensors, type TensorToSave } from './safetensors';

const ARCHITECTURES: Readonly<Record<string, string>> = {
  llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', gpt2: 'GPT2LMHeadModel', gpt_neox: 'GPTNeoXForCausalLM',
};

/**
 * The files of a Hugging Face folder holding the model of `gguf`.
 * @throws GgufError for unsupported architectures, tensor types or tokenizers.
 */
export function ggufToHFFiles(gguf: GgufFile): Record<string, Uint8Array> {
  const { hfConfig, weights } = ggufCheckpoint(gguf);
  const tensors: Record<string, TensorToSave> = {};
  for (const name of weights.names) {
    const t = weights.get(name);
    tensors[name] = { shape: t.shape, data: t.data, dtype: t.dtype === 'F16' || t.dtype === 'BF16' ? t.dtype : 'F32' };
  }
  const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
  const modelType = String(hfConfig.model_type);
  const files: Record<string, Uint8Array> = {
    'config.json': json({ architectures: [ARCHITECTURES[modelType] ?? modelType], ...hfConfig }),
    'model.safetensors': saveSafetensors(tensors, { format: 'pt' }),
  };
  const gen = Object.fromEntries(['bos_token_id', 'eos_token_id', 'pad_token_id'].filter((k) => hfConfig[k] !== undefined).map((k) => [k, hfConfig[k]]));
  files['generation_config.json'] = json(gen);
  const model = gguf.metadata.get('tokenizer.ggml.model');
  if (typeof model === 'string' && model !== 'no_vocab' && model !== 'none') {
    const { tokenizerJson, tokenizerConfig } = ggufTokenizerFiles(gguf.metadata, gguf.file);
    files['tokenizer.json'] = json(tokenizerJson);
    files['tokenizer_config.json'] = json(tokenizerConfig);
  }
  return files;
}
