/**
 * Which storage dtype each weight matrix of a decoder gets in the kernels: one model-wide `dtype`
 * with per-module overrides, as `loadCausalLM(source, { dtype: 'q4', moduleDtypes: { lm_head: 'q8',
 * embed: 'q8' } })`. Validated once, before anything is loaded.
 */
import { ConfigError } from '../core/errors';
import type { WeightDtype } from './quantize';

/** Every weight dtype the kernels store. */
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['fp32', 'bf16', 'q8', 'q4'];

/** Groups of weight matrices that can take their own dtype. */
export type WeightModule = 'embed' | 'lm_head' | 'attention' | 'mlp';

/** The module names of {@link WeightModule}. */
export const WEIGHT_MODULES: readonly WeightModule[] = ['embed', 'lm_head', 'attention', 'mlp'];

/** Per-module dtype overrides. */
export type ModuleDtypes = Partial<Readonly<Record<WeightModule, WeightDtype>>>;

/** The dtype options of model loading. */
export interface DtypeOptions {
  /** Model-wide weight dtype (default fp32). */
  readonly dtype?: WeightDtype;
  /** Overrides per module; for tied embeddings `embed` and `lm_head` name one shared table. */
  readonly moduleDtypes?: ModuleDtypes;
}

/** A resolved plan: the dtype of every module. */
export interface DtypePlan {
  /** The model-wide dtype (what `model.info.dtype` reports). */
  readonly dtype: WeightDtype;
  readonly modules: Readonly<Record<WeightModule, WeightDtype>>;
}

function checkDtype(value: unknown, where: string): WeightDtype {
  if (typeof value !== 'string' || !(WEIGHT_DTYPES as readonly string[]).includes(value)) {
    throw new ConfigError(`${where}: ${JSON.stringify(value)} is not a weight dtype, expected one of ${WEIGHT_DTYPES.join(', ')}`);
  }
  return value as WeightDtype;
}

/**
 * Resolves `options` for a model whose LM head is (`tied`) or is not the embedding table.
 * @throws ConfigError for an unknown dtype or module name, or tied `embed` / `lm_head` overrides that differ.
 */
export function resolveDtypePlan(options: DtypeOptions, tied: boolean): DtypePlan {
  const dtype = options.dtype === undefined ? 'fp32' : checkDtype(options.dtype, 'dtype');
  const overrides = options.moduleDtypes ?? {};
  for (const [name, value] of Object.entries(overrides)) {
    if (!(WEIGHT_MODULES as readonly string[]).includes(name)) {
      throw new ConfigError(`moduleDtypes: unknown module '${name}', expected one of ${WEIGHT_MODULES.join(', ')}`);
    }
    if (value !== undefined) checkDtype(value, `moduleDtypes.${name}`);
  }
  const modules: Record<WeightModule, WeightDtype> = {
    embed: overrides.embed ?? dtype,
    lm_head: overrides.lm_head ?? dtype,
    attention: overrides.attention ?? dtype,
    mlp: overrides.mlp ?? dtype,
  };
  if (tied) {
    if (overrides.embed && overrides.lm_head && overrides.embed !== overrides.lm_head) {
      throw new ConfigError(`moduleDtypes: this model ties its LM head to the embedding table, so embed '${overrides.embed}' and lm_head '${overrides.lm_head}' must be equal`);
    }
    const shared = overrides.lm_head ?? overrides.embed ?? dtype;
    modules.embed = shared;
    modules.lm_head = shared;
  }
  return { dtype, modules };
}

/** True when any module of `plan` holds int8 / int4 weights (the activations then need quantizing). */
export function planQuantizesActivations(plan: DtypePlan): boolean {
  return WEIGHT_MODULES.some((m) => plan.modules[m] === 'q8' || plan.modules[m] === 'q4');
}

/** Distinct dtypes a plan uses. */
export function planDtypes(plan: DtypePlan): WeightDtype[] {
  return [...new Set(WEIGHT_MODULES.map((m) => plan.modules[m]))];
}
