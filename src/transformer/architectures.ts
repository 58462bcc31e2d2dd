/**
 * The one registration list of architectures: adding one = a new `src/transformer/<arch>.ts`
 * exporting an {@link ArchitectureSpec} + one line here (and its `ModelType` in types.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';
import { planDtypes, resolveDtypePlan } from '../kernels/dtype_plan';
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
import { kernelsByDefault, onCpuBackend, type KernelOptions } from './kernel_options';
import { kernelUnsupportedReason } from './kernel_decoder';

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
  if (!spec) throw new ConfigError(`model_type ${`'${modelType.slice(0, 40)}'`} is not supported, expected one of ${MODEL_TYPES.join(', ')}`);
  return spec;
}

/**
 * Builds the model `config.modelType` names from `source`; on the `wasm` and `cpu` backends (or with
 * `kernels: true`) its weights then move to the wasm kernels (see {@link DecoderLM.useKernels}).
 * @throws SafetensorsError / ShapeError from the architecture's loader, OutOfMemoryError when the
 *   kernels cannot hold the model, ConfigError for a dtype without kernels; nothing is left allocated on failure.
 */
export function buildCausalLM(config: ModelConfig, source: WeightSource, options: KernelOptions = {}): DecoderLM {
  const spec = architectureOf(config.modelType);
  const kernels = options.kernels ?? (kernelsByDefault() && kernelUnsupportedReason(config) === undefined);
  // Validated before any weight is read (tied-table conflicts are checked once the weights say).
  const packed = planDtypes(resolveDtypePlan(options, false)).filter((d) => d !== 'fp32');
  if (!kernels) {
    if (packed.length > 0) {
      throw new ConfigError(
        `dtype '${packed.join("', '")}' cannot run on backend '${tf.getBackend()}' without the wasm kernels (kernels: true on backend wasm or cpu); the tfjs op chain runs fp32`,
      );
    }
    return spec.build(config, source);
  }
  // The tf tensors only carry the weights to the kernels: build them on the cpu backend, whose
  // tensors are plain JS arrays the GC frees, so a wasm backend's heap never grows to hold them.
  return onCpuBackend(() => {
    const model = spec.build(config, source);
    try {
      model.useKernels({ ...(options.dtype ? { dtype: options.dtype } : {}), ...(options.moduleDtypes ? { moduleDtypes: options.moduleDtypes } : {}) });
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  });
}
