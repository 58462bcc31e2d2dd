/**
 * Types of `train()`: batches, options, callbacks and the result.
 */
import type * as tf from '@tensorflow/tfjs';
import type { DeviationMetrics } from './evaluate';
import type { LossFunction, LossType } from './losses';
import type { OptimizerConfig } from './optimizers';
import type { ProgressReporter } from './progress';
import type { ScheduleConfig } from './schedules';

/** Values of one batch side: a flat array (sample-major) or a tensor of any shape (flattened). */
export type BatchData = ArrayLike<number> | tf.Tensor;

/**
 * One training batch (LOOM's `TrainingBatch`, camelCase): `input` holds `network.batchSize`
 * samples concatenated, `target` the expected flat output for that input.
 */
export interface TrainingBatch {
  readonly input: BatchData;
  readonly target: BatchData;
}

/** Why training stopped. */
export type StopReason = 'completed' | 'aborted' | 'early_stopping' | 'callback';

/** Passed to `onBatchEnd`. */
export interface BatchEndInfo {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based position of the batch within this epoch. */
  readonly batch: number;
  /** Index of the batch in the list given to `train()` (differs from `batch` when shuffling). */
  readonly batchIndex: number;
  /** Loss of this batch (before its update). */
  readonly loss: number;
  /** Learning rate used for this batch. */
  readonly learningRate: number;
  /** Optimizer steps done, this one included. */
  readonly step: number;
}

/** Passed to `onEpochEnd`. */
export interface EpochEndInfo {
  /** 0-based epoch. */
  readonly epoch: number;
  /** Mean of this epoch's batch losses (LOOM's `LossHistory` entry). */
  readonly loss: number;
  /** Mean validation loss, when validation batches are given and it ran this epoch. */
  readonly valLoss?: number;
  /** LOOM deviation metrics, when validation inputs are given and it ran this epoch. */
  readonly metrics?: DeviationMetrics;
}

/** Callbacks of `train()`. Exceptions thrown by them stop training and propagate. */
export interface TrainCallbacks {
  onBatchEnd?(info: BatchEndInfo): void;
  /** Return `'stop'` to end training after this epoch (stopReason `callback`). */
  onEpochEnd?(info: EpochEndInfo): void | 'stop';
}

/** Validation data. */
export interface ValidationOptions {
  /** Batches whose mean loss is reported as `valLoss` (same loss as training). */
  readonly batches?: readonly TrainingBatch[];
  /** LOOM-style evaluation: inputs (one sample each) and one expected scalar per input (training.md 9). */
  readonly inputs?: readonly ArrayLike<number>[];
  readonly expected?: readonly number[];
  /** Validate every N epochs (LOOM's `EvaluateEveryN`). Default 1. */
  readonly everyEpochs?: number;
}

/** Early stopping on a monitored quantity. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** Minimum decrease that counts as improvement. Default 0. */
  readonly minDelta?: number;
  /** Default `valLoss` when validation batches are given, else `loss`. */
  readonly monitor?: 'loss' | 'valLoss';
  /** Put back the weights of the best epoch when stopping or finishing. Default false. */
  readonly restoreBestWeights?: boolean;
}

/** Options of `train()`. */
export interface TrainOptions {
  /** Passes over the batch list (> 0). */
  readonly epochs: number;
  /** Base learning rate. Default 0.001 (LOOM's default). */
  readonly learningRate?: number;
  /** `mse` (default), `cross_entropy` (LOOM's definitions) or a custom loss. */
  readonly loss?: LossType | LossFunction;
  /** Global L2-norm gradient clipping over all parameters; <= 0 disables (LOOM's `GradientClip`). */
  readonly gradientClip?: number;
  /** A config (default `{type: 'sgd'}`, LOOM's update) or your own `tf.Optimizer` (not disposed). */
  readonly optimizer?: OptimizerConfig | tf.Optimizer;
  /** Decoupled weight decay for any optimizer (`adamw` defaults to 0.01). Default 0. */
  readonly weightDecay?: number;
  /** Learning-rate schedule. Default constant. */
  readonly schedule?: ScheduleConfig;
  /**
   * Samples per optimizer step, as tfjs's `fit` (a multiple of `network.batchSize`): that many
   * samples' batches are combined, their loss and gradients averaged. Default: one batch per step.
   */
  readonly batchSize?: number;
  /** Shuffle the batch order every epoch. Default false (LOOM's order). */
  readonly shuffle?: boolean;
  /** Seed of the shuffle. Default random. */
  readonly seed?: number;
  readonly validation?: ValidationOptions;
  readonly earlyStopping?: EarlyStoppingOptions;
  readonly callbacks?: TrainCallbacks;
  readonly progress?: ProgressReporter;
  /** Stops cleanly between batches; the result holds the epochs completed. */
  readonly signal?: AbortSignal;
  /** `train()` only: yield to the event loop at least this often (ms) so aborts and UI run. Default 50. */
  readonly yieldEveryMs?: number;
}

/** Result of `train()`. */
export interface TrainResult {
  /** Mean loss of every completed epoch. */
  readonly lossHistory: number[];
  /** Validation losses (one per validated epoch). */
  readonly valLossHistory: number[];
  /** Last entry of `lossHistory` (NaN when no epoch completed). */
  readonly finalLoss: number;
  /** Smallest entry of `lossHistory` (NaN when none). */
  readonly bestLoss: number;
  readonly epochsCompleted: number;
  /** Optimizer steps done (batches), including those of an unfinished epoch. */
  readonly stepsCompleted: number;
  readonly stopReason: StopReason;
  /** Wall time of the call in milliseconds. */
  readonly totalTimeMs: number;
  /** Training samples per second (steps x network.batchSize / time). */
  readonly samplesPerSecond: number;
  /** Last LOOM evaluation result, or null. */
  readonly evalMetrics: DeviationMetrics | null;
}
