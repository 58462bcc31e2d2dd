/**
 * The one registration list of architectures: adding one = a new `src/transformer/<arch>.ts`
 * exporting an {@link ArchitectureSpec} + one line here (and its `ModelType` in types.ts).
 */
import { ConfigError } from '../core/errors';
import type { ArchitectureSpec } from './architecture';
import type { ModelConfig } from './config';
import { GPT2 } from './gpt2';
import { GPT_NEOX } from './gpt_neox';
import { LLAMA } from './llama';
import { MISTRAL } from './mistral';
import type { DecoderLM } from './model';
import { QWEN2 } from './qwen2';
import type { ModelType } from './types';
import type { WeightSource } from './weights';

/** Every supported architecture, in the order error messages list them. */
export const ARCHITECTURES: readonly ArchitectureSpec[] = [LLAMA, MISTRAL, QWEN2, GPT2, GPT_NEOX];

/** Every supported `model_type`. */
export const MODEL_TYPES: readonly ModelType[] = ARCHITECTURES.map((a) => a.modelType);

/**
 * The spec of `modelType`.
 * @throws ConfigError listing the supported types when there is none
 */
export function architectureOf(modelType: string): ArchitectureSpec {
  const spec = ARCHITECTURES.find((a) => a.modelType === modelType);
  if (!spec) throw new ConfigError(`model_type ${JSON.stringify(modelType)} is not supported, expected one of ${MODEL_TYPES.join(', ')}`);
  return spec;
}

/**
 * Builds the model `config.modelType` names from `source`.
 * @throws SafetensorsError / ShapeError from the architecture's loader; nothing is left allocated on failure.
 */
export function buildCausalLM(config: ModelConfig, source: WeightSource): DecoderLM {
  return architectureOf(config.modelType).build(config, source);
}
