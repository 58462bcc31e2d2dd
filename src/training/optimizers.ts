/**
 * Optimizer choice for `train()`: typed configs mapped onto `tf.train` optimizers, plus
 * decoupled weight decay (AdamW) and learning-rate changes for schedules.
 * LOOM itself only has plain SGD (`w -= lr * g`, training.md section 3), which `{type: 'sgd'}`
 * reproduces exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';

/** Plain SGD: `w -= lr * g` (LOOM's update). */
export interface SgdConfig {
  readonly type: 'sgd';
}

/** SGD with momentum (`tf.train.momentum`). */
export interface MomentumConfig {
  readonly type: 'momentum';
  /** Default 0.9. */
  readonly momentum?: number;
  /** Default false. */
  readonly nesterov?: boolean;
}

/** Adam (`tf.train.adam`). */
export interface AdamConfig {
  readonly type: 'adam';
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-7 (tfjs's default). */
  readonly epsilon?: number;
}

/** AdamW: Adam plus decoupled weight decay `w -= lr * weightDecay * w` before each step (Loshchilov & Hutter 2019). */
export interface AdamWConfig {
  readonly type: 'adamw';
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  /** Default 0.01. */
  readonly weightDecay?: number;
}

/**
 * RMSProp (`tf.train.rmsprop`), TensorFlow's formula: `w -= lr g / sqrt(ms + eps)` (centered:
 * `sqrt(ms - mg^2 + eps)`). PyTorch's RMSprop puts eps outside the sqrt, `sqrt(ms) + eps`.
 */
export interface RmsPropConfig {
  readonly type: 'rmsprop';
  /** Default 0.9. */
  readonly decay?: number;
  /** Default 0. */
  readonly momentum?: number;
  /** Default 1e-7. */
  readonly epsilon?: number;
  /** Default false. */
  readonly centered?: boolean;
}

/** Optimizer of `train()`, discriminated by `type`. */
export type OptimizerConfig = SgdConfig | MomentumConfig | AdamConfig | AdamWConfig | RmsPropConfig;

/** Names accepted as `OptimizerConfig['type']`. */
export const OPTIMIZER_TYPES: readonly OptimizerConfig['type'][] = ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop'];

/** A created optimizer and the decoupled weight decay to apply with it. */
export interface OptimizerSetup {
  readonly optimizer: tf.Optimizer;
  /** Decoupled weight decay factor (0 = none). */
  readonly weightDecay: number;
}

/**
 * `tf.train.momentum` whose `dispose()` also frees its learning-rate scalar: tfjs 4.22's
 * MomentumOptimizer.dispose() does not call SGDOptimizer.dispose(), so every momentum optimizer
 * leaked one tensor.
 */
class MomentumOptimizer extends tf.MomentumOptimizer {
  override dispose(): void {
    super.dispose();
    this.c.dispose(); // idempotent
  }
}

/**
 * Creates the `tf.train` optimizer of a config at learning rate `lr`.
 * @throws ConfigError on an unknown type or a non-finite hyper-parameter.
 */
export function createOptimizer(config: OptimizerConfig, lr: number, weightDecay = 0): OptimizerSetup {
  if (!Number.isFinite(lr)) throw new ConfigError(`learningRate must be finite, got ${lr}`);
  switch (config.type) {
    case 'sgd':
      return { optimizer: tf.train.sgd(lr), weightDecay };
    case 'momentum':
      return { optimizer: new MomentumOptimizer(lr, config.momentum ?? 0.9, config.nesterov ?? false), weightDecay };
    case 'adam':
      return { optimizer: tf.train.adam(lr, config.beta1 ?? 0.9, config.beta2 ?? 0.999, config.epsilon), weightDecay };
    case 'adamw':
      return {
        optimizer: tf.train.adam(lr, config.beta1 ?? 0.9, config.beta2 ?? 0.999, config.epsilon),
        weightDecay: config.weightDecay ?? (weightDecay || 0.01),
      };
    case 'rmsprop': {
      const centered = config.centered ?? false;
      const eps = config.epsilon ?? tf.backend().epsilon();
      // tfjs 4.22's centered branch computes sqrt(ms - (mg^2 + eps)): the sign of eps is flipped
      // against TensorFlow's ApplyCenteredRMSProp, sqrt(ms - mg^2 + eps), so a parameter whose
      // gradient is 0 became NaN on the first step. Passing -eps gives TensorFlow's formula.
      return { optimizer: tf.train.rmsprop(lr, config.decay ?? 0.9, config.momentum ?? 0, centered ? -eps : eps, centered), weightDecay };
    }
    default: {
      const t: unknown = (config as { type?: unknown }).type;
      throw new ConfigError(`unknown optimizer type '${String(t)}', expected one of ${OPTIMIZER_TYPES.join(', ')}`);
    }
  }
}

/** The part of tfjs optimizers that holds the step size (protected in the typings, read at every step). */
interface HasLearningRate {
  learningRate: number;
  setLearningRate?: (lr: number) => void;
}

/**
 * Changes an optimizer's learning rate for the next step (schedules). SGD/momentum use their
 * `setLearningRate`; Adam, RMSProp and the others read their `learningRate` field at every
 * `applyGradients`, so it is set directly.
 */
export function setOptimizerLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as HasLearningRate;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Decoupled weight decay `w -= lr * decay * w` on every variable (no-op for decay 0). */
export function applyWeightDecay(variables: readonly tf.Variable[], lr: number, decay: number): void {
  if (decay === 0 || lr === 0) return;
  const factor = 1 - lr * decay;
  tf.tidy(() => {
    for (const v of variables) v.assign(tf.mul(v, factor));
  });
}
