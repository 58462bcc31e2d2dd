/**
 * One registration list: model_type -> the function that builds its graph from weights.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';
import { planDtypes, resolveDtypePlan } from '../kernels/dtype_plan';
import type { ModelConfig } from './config';
import type { ModelType } from './types';
import type { DecoderLM } from './model';
import type { WeightSource } from './weights';
import { buildLlama } from './llama';
import { buildGpt2 } from './gpt2';
import { buildGptNeox } from './gpt_neox';
import { kernelsByDefault, onCpuBackend, type KernelOptions } from './kernel_options';
import { kernelUnsupportedReason } from './kernel_decoder';

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
 * Builds the model `config.modelType` names from `source`; on the `wasm` and `cpu` backends (or with
 * `kernels: true`) its weights then move to the wasm kernels (see {@link DecoderLM.useKernels}).
 * @throws SafetensorsError / ShapeError from the architecture's loader, OutOfMemoryError when the
 *   kernels cannot hold the model, ConfigError for a dtype without kernels; nothing is left allocated on failure.
 */
export function buildCausalLM(config: ModelConfig, source: WeightSource, options: KernelOptions = {}): DecoderLM {
  const kernels = options.kernels ?? (kernelsByDefault() && kernelUnsupportedReason(config) === undefined);
  // Validated before any weight is read (tied-table conflicts are checked once the weights say).
  const packed = planDtypes(resolveDtypePlan(options, false)).filter((d) => d !== 'fp32');
  if (!kernels) {
    if (packed.length > 0) {
      throw new ConfigError(
        `dtype '${packed.join("', '")}' cannot run on backend '${tf.getBackend()}' without the wasm kernels (kernels: true on backend wasm or cpu); the tfjs op chain runs fp32`,
      );
    }
    return ARCHITECTURES[config.modelType](config, source);
  }
  // The tf tensors only carry the weights to the kernels: build them on the cpu backend, whose
  // tensors are plain JS arrays the GC frees, so a wasm backend's heap never grows to hold them.
  return onCpuBackend(() => {
    const model = ARCHITECTURES[config.modelType](config, source);
    try {
      model.useKernels({ ...(options.dtype ? { dtype: options.dtype } : {}), ...(options.moduleDtypes ? { moduleDtypes: options.moduleDtypes } : {}) });
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  });
}
