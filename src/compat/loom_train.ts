/**
 * LOOM's `Train(batches, config)` with Go field names, for the facade (`Train(JSON.stringify([batches, config]))`).
 * Ref: loom-spec/training.md sections 1 and 3.
 *
 * Same loop as `train()` (plain SGD, LOOM's losses and clipping, one step per batch) but with
 * exact gradients for every layer (LOOM never updates Conv2D/RNN/LSTM/norm layers and
 * approximates MHA/RNN/LSTM gradients; for Dense-only networks the numbers are LOOM's).
 * Differences from LOOM, all deliberate:
 * - `UseGPU` is ignored (we run on the current tfjs backend).
 * - `Epochs <= 0` throws a TrainingError (LOOM panics on the empty loss history).
 * - A NaN/Inf batch loss throws a TrainingError naming epoch and batch (LOOM trains on with NaN weights).
 * - `EvalMetrics` is JSON-safe (the open bucket's `range_max` is null; LOOM's +Inf cannot be marshalled).
 */
import { TrainingError, errorMessage } from '../core/errors';
import type { TrainableModel } from '../training/trainable';
import type { DeviationMetrics } from '../training/evaluate';
import { loomLossType } from '../training/losses';
import type { ProgressReporter } from '../training/progress';
import { runSync } from '../training/train';
import type { TrainingBatch, TrainOptions } from '../training/types';

/** LOOM's `TrainingBatch` (Go field names; keys are matched case-insensitively, as Go's JSON decoder does). */
export interface LoomTrainingBatch {
  Input: ArrayLike<number>;
  Target: ArrayLike<number>;
}

/** LOOM's `TrainingConfig`. Missing fields take Go zero values (defaults apply only to a null config). */
export interface LoomTrainingConfig {
  Epochs?: number;
  LearningRate?: number;
  /** Ignored: training runs on the current tfjs backend. */
  UseGPU?: boolean;
  PrintEveryBatch?: number;
  GradientClip?: number;
  LossType?: string;
  Verbose?: boolean;
  EvaluateEveryN?: number;
  ValidationInputs?: number[][] | null;
  ValidationTargets?: number[] | null;
}

/** LOOM's `TrainingResult` as its WASM JSON (`TotalTime` in integer nanoseconds). */
export interface LoomTrainingResult {
  FinalLoss: number;
  BestLoss: number;
  TotalTime: number;
  AvgThroughput: number;
  LossHistory: number[];
  EvalMetrics: DeviationMetrics | null;
}

/** LOOM's `DefaultTrainingConfig()` (training.md 1.1). */
export function defaultTrainingConfig(): Required<LoomTrainingConfig> {
  return {
    Epochs: 10,
    LearningRate: 0.001,
    UseGPU: true,
    PrintEveryBatch: 0,
    GradientClip: 0,
    LossType: 'mse',
    Verbose: true,
    EvaluateEveryN: 0,
    ValidationInputs: null,
    ValidationTargets: null,
  };
}

/** The value of `key` in `obj`, matching the key case-insensitively (exact match first). */
function goField(obj: object, key: string): unknown {
  const rec = obj as Record<string, unknown>;
  if (key in rec) return rec[key];
  const lower = key.toLowerCase();
  const k = Object.keys(rec).find((x) => x.toLowerCase() === lower);
  return k === undefined ? undefined : rec[k];
}

function num(obj: object, key: string): number {
  const v = goField(obj, key);
  return typeof v === 'number' ? v : 0;
}

/** LOOM-like console output for `Verbose` (approximate wording; LOOM's exact lines are not part of the spec). */
function verboseReporter(printEvery: number): ProgressReporter {
  return {
    onBatch(u) {
      if (printEvery <= 0 || u.batch % printEvery === 0) {
        console.log(`  Epoch ${u.epoch + 1}/${u.epochs}, Batch ${u.batch}/${u.batches}, Loss: ${u.loss.toFixed(6)}`);
      }
    },
    onEpoch(u) {
      console.log(`Epoch ${u.epoch + 1}/${u.epochs} - Avg Loss: ${u.loss.toFixed(6)}`);
    },
  };
}

/**
 * LOOM's `Train`: trains `network` in place on `batches` and returns LOOM's `TrainingResult`.
 * Validation runs only when `Verbose` is true and `EvaluateEveryN > 0` with non-empty
 * validation data, as in LOOM (training.md section 3); its errors are printed, not thrown.
 * @throws TrainingError for `Epochs <= 0`, malformed batches, or a non-finite batch loss;
 *   ShapeError when a batch input does not fit the network.
 */
export function loomTrain(
  network: TrainableModel,
  batches: readonly LoomTrainingBatch[],
  config: LoomTrainingConfig | null,
): LoomTrainingResult {
  const cfg: object = config ?? defaultTrainingConfig();
  const epochs = num(cfg, 'Epochs');
  if (!Number.isInteger(epochs) || epochs <= 0) {
    throw new TrainingError(`Train: Epochs must be a positive integer, got ${epochs} (LOOM panics on an empty loss history)`);
  }
  if (!Array.isArray(batches)) throw new TrainingError(`Train: batches must be a list, got ${typeof batches}`);
  const list: TrainingBatch[] = batches.map((b, i) => {
    const input = goField(b, 'Input');
    const target = goField(b, 'Target');
    const ok = (v: unknown): v is ArrayLike<number> => v != null && typeof (v as ArrayLike<number>).length === 'number';
    if (!ok(input) || !ok(target)) throw new TrainingError(`Train: batch ${i} needs Input and Target arrays`);
    return { input, target };
  });
  const verbose = goField(cfg, 'Verbose') === true;
  const everyN = num(cfg, 'EvaluateEveryN');
  const vIn = goField(cfg, 'ValidationInputs');
  const vExp = goField(cfg, 'ValidationTargets');
  const validate =
    verbose && everyN > 0 && Array.isArray(vIn) && vIn.length > 0 && Array.isArray(vExp) && vExp.length > 0;
  const lt = goField(cfg, 'LossType');
  const options: TrainOptions = {
    epochs,
    learningRate: Math.fround(num(cfg, 'LearningRate')),
    loss: loomLossType(typeof lt === 'string' ? lt : ''),
    gradientClip: Math.fround(num(cfg, 'GradientClip')),
    optimizer: { type: 'sgd' },
    ...(validate ? { validation: { inputs: vIn as number[][], expected: vExp as number[], everyEpochs: everyN } } : {}),
    ...(verbose ? { progress: verboseReporter(num(cfg, 'PrintEveryBatch')) } : {}),
  };
  const r = runSync(network, list, options, {
    onEvaluationError: (e) => console.log(`Validation error: ${errorMessage(e)}`),
  });
  let best = Number.MAX_VALUE; // Go: math.MaxFloat64, replaced only by smaller epoch means
  for (const l of r.lossHistory) if (l < best) best = l;
  const seconds = r.totalTimeMs / 1000;
  return {
    FinalLoss: r.finalLoss,
    BestLoss: best,
    TotalTime: Math.round(r.totalTimeMs * 1e6),
    AvgThroughput: seconds > 0 ? (list.length * network.batchSize * epochs) / seconds : 0,
    LossHistory: r.lossHistory,
    EvalMetrics: r.evalMetrics,
  };
}
