/**
 * One registration list: model_type -> the function that builds its graph from weights.
 */
import type { ModelConfig } from './config';
import type { ModelType } from './types';
import type { DecoderLM } from './model';
import type { WeightSource } from './weights';
import { buildLlama } from './llama';
import { buildGpt2 } from './gpt2';
import { buildGptNeox } from './gpt_neox';

/** Builds a model of one architecture from its config and weights. */
export type ArchitectureBuilder = (config: ModelConfig, source: WeightSource) => DecoderLM;

/** Every supported architecture. Adding one = one file + one line here. */
export const ARCHITECTURES: Readonly<Record<ModelType, ArchitectureBuilder>> = {
  llama: buildLlama,
  mistral: buildLlama,
  qwen2: buildLlama,
  gpt2: buildGpt2,
  gpt_neox: buildGptNeox,
};

/**
 * Builds the model `config.modelType` names from `source`.
 * @throws SafetensorsError / ShapeError from the architecture's loader; nothing is left allocated on failure.
 */
export function buildCausalLM(config: ModelConfig, source: WeightSource): DecoderLM {
  return ARCHITECTURES[config.modelType](config, source);
}
