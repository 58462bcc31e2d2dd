/**
 * What LayerNorm and RMSNorm share: size / epsilon validation, the optional per-row gamma and
 * beta as trainable variables, the LOOM record, gradient layout, summary and the
 * `Init*NormLayer` constructors. The normalisation itself stays in each layer's file.
 * Ref: loom-spec/layers.md 3.7 (LayerNorm), 3.9 (RMSNorm); network.md 8.1.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { makeVariable, readVariable, type LayerInitFunction, type LayerParam, type LayerSummary, type LoomGradients } from './layer';

/** The fields of a norm layer's config that this module reads. */
export interface NormSizeConfig {
  /** Row length N. */
  readonly normSize: number;
  /** Added under the square root; 0 means the layer's default. */
  readonly epsilon: number;
  /** LOOM's `Activation` (unused; kept for saving). */
  readonly activation: number;
}

/** Optional per-row weights given to a norm layer; absent or empty means "skip this step". */
export interface NormRowWeights {
  readonly gamma: Float32Array | null; // (N)
  readonly beta?: Float32Array | null; // (N)
}

/** A norm layer's gamma / beta variables and its trainable parameters (gamma first, as LOOM). */
export interface NormVariables {
  readonly gamma: tf.Variable | null; // (N)
  readonly beta: tf.Variable | null; // (N)
  readonly params: readonly LayerParam[];
}

/**
 * Checks an optional per-row weight vector: absent, empty or exactly N long.
 * @returns the vector, or null when absent or empty.
 * @throws ShapeError when it holds values but not exactly `n`.
 */
export function checkRowWeight(w: Float32Array | null, n: number, name: string, where: string): Float32Array | null {
  if (!w || w.length === 0) return null;
  if (w.length !== n) throw new ShapeError(`${where}: ${name} has ${w.length} values, expected norm size ${n}`);
  return w;
}

/**
 * Validates a norm config and its row weights, then makes the variables (N) of those present.
 * Nothing is allocated when a check fails.
 * @throws ConfigError for a norm size that is not a positive integer or a negative / non-finite
 *   epsilon; ShapeError when gamma or beta is not N long.
 */
export function makeNormVariables(config: NormSizeConfig, weights: NormRowWeights, where: string): NormVariables {
  const n = config.normSize;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${where}: norm size must be a positive integer, got ${n}`);
  if (!Number.isFinite(config.epsilon) || config.epsilon < 0) throw new ConfigError(`${where}: epsilon must be >= 0, got ${config.epsilon}`);
  const g = checkRowWeight(weights.gamma, n, 'gamma', where);
  const b = checkRowWeight(weights.beta ?? null, n, 'beta', where);
  const gamma = g ? makeVariable(g, [n]) : null;
  const beta = b ? makeVariable(b, [n]) : null;
  const params: LayerParam[] = [];
  if (gamma) params.push({ name: 'gamma', variable: gamma });
  if (beta) params.push({ name: 'beta', variable: beta });
  return { gamma, beta, params };
}

/** The epsilon a norm layer runs with: `epsilon`, or `fallback` (LOOM's run-time default) when 0. */
export function normEpsilon(epsilon: number, fallback: number): number {
  return epsilon === 0 ? fallback : epsilon;
}

/**
 * The LOOM record of a norm layer: config fields, copies of gamma (and beta when the layer has
 * one) and a copy of `ext`.
 */
export function normRecord(loomType: number, config: NormSizeConfig, vars: NormVariables, ext: LayerRecord['ext']): LayerRecord {
  const r = emptyRecord(loomType);
  r.activation = config.activation;
  r.normSize = config.normSize;
  r.epsilon = config.epsilon;
  r.gamma = vars.gamma ? readVariable(vars.gamma) : null;
  r.beta = vars.beta ? readVariable(vars.beta) : null;
  r.ext = { ...ext };
  return r;
}

/** Gradients of `params` in LOOM's slots: kernel = dGamma, bias = dBeta (null for an absent weight). */
export function normGradients(vars: NormVariables, grads: readonly Float32Array[]): LoomGradients {
  let i = 0;
  const kernel = vars.gamma ? (grads[i++] ?? null) : null;
  const bias = vars.beta ? (grads[i] ?? null) : null;
  return { kernel, bias };
}

/** `describe()` entry of a norm layer, e.g. `16, eps 0.00001`; sizes follow the input. */
export function normSummary(type: string, config: NormSizeConfig, defaultEpsilon: number): LayerSummary {
  return {
    type,
    detail: `${config.normSize}, eps ${normEpsilon(config.epsilon, defaultEpsilon)}`,
    inputSize: () => undefined,
    outputSize: () => undefined,
  };
}

/** network.md 8.1: NormSize > 0 -> Gamma = 1s (and Beta = 0s when `withBeta`); else `r` unchanged. */
export function initializeNormWeights(r: LayerRecord, withBeta: boolean): LayerRecord {
  if (r.normSize <= 0) return r;
  const gamma = new Float32Array(r.normSize).fill(1);
  return withBeta ? { ...r, gamma, beta: new Float32Array(r.normSize) } : { ...r, gamma };
}

/**
 * A `Init*NormLayer(normSize, epsilon)` constructor (loom-tfjs; LOOM has none): a record of type
 * `loomType` with epsilon rounded to float32 and weights from {@link initializeNormWeights}.
 */
export function normInitFunction(name: string, loomType: number, withBeta: boolean): LayerInitFunction {
  return {
    name,
    argTypes: ['int', 'float32'],
    argNames: ['normSize', 'epsilon'],
    create([n, eps]) {
      const r = emptyRecord(loomType);
      r.normSize = n as number;
      r.epsilon = Math.fround(eps as number);
      return initializeNormWeights(r, withBeta);
    },
  };
}
