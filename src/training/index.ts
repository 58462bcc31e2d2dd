/**
 * Training and evaluation: `train()` (typed, tfjs optimizers), LOOM's `Train` (`loomTrain`) and
 * evaluation (`evaluateNetwork`). Ref: loom-spec/training.md.
 */
export { train, trainSync } from './train';
export { resolveFitOptions, TFJS_LOSS_NAMES } from './fit_options';
export type { FitStyleOptions, TfjsLossName } from './fit_options';
export type {
  BatchData,
  TrainingBatch,
  TrainOptions,
  TrainResult,
  TrainCallbacks,
  BatchEndInfo,
  EpochEndInfo,
  ValidationOptions,
  EarlyStoppingOptions,
  StopReason,
} from './types';
export { mseLoss, crossEntropyLoss, resolveLoss, loomLossType, loomLossValue, loomLossGradient, CE_EPSILON } from './losses';
export type { LossType, LossFunction } from './losses';
export { createOptimizer, setOptimizerLearningRate, OPTIMIZER_TYPES } from './optimizers';
export type { OptimizerConfig, SgdConfig, MomentumConfig, AdamConfig, AdamWConfig, RmsPropConfig, OptimizerSetup } from './optimizers';
export { learningRateAt } from './schedules';
export type { ScheduleConfig, ConstantSchedule, StepSchedule, CosineSchedule, ScheduleState } from './schedules';
export { progressBar, eventProgress, callbackProgress } from './progress';
export type { ProgressReporter, ProgressUpdate, ProgressBarOptions, TextSink, ProgressEventTarget } from './progress';
export {
  evaluateNetwork,
  evaluateModel,
  evaluatePrediction,
  predictionOf,
  newDeviationMetrics,
  updateMetrics,
  computeFinalMetrics,
  worstSamples,
  DEVIATION_BUCKETS,
} from './evaluate';
export type { DeviationMetrics, DeviationBucket, PredictionResult } from './evaluate';
