/**
 * `train()` options as tfjs's `model.fit` / `model.compile` users write them: optimizer and loss by
 * tfjs's string names (`optimizer: 'adam'`, `loss: 'meanSquaredError'`), `batchSize`,
 * `validationSplit` / `validationData`, `shuffle`, `verbose`; snake_case spellings of every key
 * too. Any other key is a ConfigError naming the closest valid one (a typo never silently trains
 * with defaults).
 * Ref: tfjs-layers `ModelFitArgs`, `ModelCompileArgs`, losses.ts (loss definitions).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';
import { closestName, normalizeOptionKeys } from '../core/option_keys';
import type { TrainableModel } from './trainable';
import { OPTIMIZER_TYPES, type OptimizerConfig } from './optimizers';
import { progressBar } from './progress';
import type { LossFunction, LossType } from './losses';
import type { TrainingBatch, TrainOptions } from './types';

/** tfjs loss names {@link resolveFitOptions} accepts, besides LOOM's `mse` / `cross_entropy`. */
export const TFJS_LOSS_NAMES = ['meanSquaredError', 'meanAbsoluteError', 'categoricalCrossentropy', 'binaryCrossentropy'] as const;

/** A tfjs loss name. */
export type TfjsLossName = (typeof TFJS_LOSS_NAMES)[number];

/** What a plain-JS caller may pass to `train()`: {@link TrainOptions} plus tfjs's `fit` spellings. */
export interface FitStyleOptions extends Omit<TrainOptions, 'optimizer' | 'loss' | 'epochs'> {
  /** Default 1, as tfjs's `fit`. */
  readonly epochs?: number;
  /** A config, a `tf.Optimizer`, or a tfjs name: `'sgd'`, `'momentum'`, `'adam'`, `'adamw'`, `'rmsprop'`. */
  readonly optimizer?: OptimizerConfig | tf.Optimizer | OptimizerConfig['type'];
  /** LOOM's `mse` / `cross_entropy`, a tfjs loss name, or a function. */
  readonly loss?: LossType | TfjsLossName | LossFunction;
  /** tfjs: the last fraction of the batches (before shuffling) is held out for validation. */
  readonly validationSplit?: number;
  /** tfjs: validation batches (same shape as training batches). */
  readonly validationData?: readonly TrainingBatch[];
  /** tfjs: 0 silent (default); 1 or 2 a progress bar on stderr (one line per epoch when not a terminal). */
  readonly verbose?: 0 | 1 | 2;
}

const KEYS = [
  'epochs', 'learningRate', 'loss', 'gradientClip', 'optimizer', 'weightDecay', 'schedule', 'batchSize', 'shuffle', 'seed',
  'validation', 'earlyStopping', 'callbacks', 'progress', 'signal', 'yieldEveryMs', 'validationSplit', 'validationData', 'verbose',
] as const satisfies readonly (keyof FitStyleOptions)[];

/**
 * tfjs-layers' loss of `name` over a batch of `samples` rows: the per-sample value averaged over
 * the rows (meanSquaredError, meanAbsoluteError: mean over the row; categoricalCrossentropy:
 * -sum t log p with p the row normalised and clipped; binaryCrossentropy: mean over the row).
 */
function tfjsLoss(name: TfjsLossName, samples: () => number): LossFunction {
  return (y, t) => {
    const rows = samples();
    const yp = y.reshape([rows, y.size / rows]); // (B, out)
    const yt = t.reshape([rows, t.size / rows]); // (B, out)
    const perSample =
      name === 'meanSquaredError'
        ? tf.metrics.meanSquaredError(yt, yp)
        : name === 'meanAbsoluteError'
          ? tf.metrics.meanAbsoluteError(yt, yp)
          : name === 'categoricalCrossentropy'
            ? tf.metrics.categoricalCrossentropy(yt, yp)
            : tf.metrics.binaryCrossentropy(yt, yp); // (B)
    return tf.mean(perSample) as tf.Scalar;
  };
}

function resolveLossOption(loss: FitStyleOptions["loss"], network: TrainableModel): TrainOptions['loss'] {
  if (typeof loss !== 'string') return loss;
  if (loss === 'mse' || loss === 'cross_entropy') return loss;
  if ((TFJS_LOSS_NAMES as readonly string[]).includes(loss)) return tfjsLoss(loss as TfjsLossName, () => network.batchSize);
  const names = ['mse', 'cross_entropy', ...TFJS_LOSS_NAMES];
  throw new ConfigError(`train: unknown loss '${loss}'; did you mean '${closestName(loss, names)}'? (expected one of ${names.join(', ')}, or a function)`);
}

function resolveOptimizerOption(opt: FitStyleOptions['optimizer']): TrainOptions['optimizer'] {
  if (typeof opt !== 'string') return opt;
  if ((OPTIMIZER_TYPES as readonly string[]).includes(opt)) return { type: opt } as OptimizerConfig;
  throw new ConfigError(`train: unknown optimizer '${opt}'; did you mean '${closestName(opt, OPTIMIZER_TYPES)}'? (expected one of ${OPTIMIZER_TYPES.join(', ')}, a config or a tf.Optimizer)`);
}

/**
 * The batches and {@link TrainOptions} a `train()` call runs with.
 * @throws ConfigError for an unknown key (naming the closest), an unknown optimizer or loss name,
 *   a `validationSplit` outside [0, 1) or one that leaves no training batch, or validation given twice.
 */
export function resolveFitOptions(network: TrainableModel, batches: readonly TrainingBatch[], raw: object | undefined): { batches: readonly TrainingBatch[]; options: TrainOptions } {
  const o = normalizeOptionKeys(raw, { keys: KEYS, where: 'train' }) as FitStyleOptions;
  const { validationSplit, validationData, verbose, optimizer, loss, epochs, ...rest } = o;
  let train = batches;
  let validation = o.validation;
  if (validationSplit !== undefined || validationData !== undefined) {
    if (validation?.batches) throw new ConfigError('train: give validation batches once (validation.batches, validationData or validationSplit)');
    if (validationSplit !== undefined && validationData !== undefined) throw new ConfigError('train: give validationSplit or validationData, not both');
    let held: readonly TrainingBatch[] = validationData ?? [];
    if (validationSplit !== undefined) {
      if (!(validationSplit >= 0 && validationSplit < 1)) throw new ConfigError(`train: validationSplit is ${validationSplit}, expected a number in [0, 1)`);
      // tfjs: the last samples, taken before any shuffling
      const cut = Math.floor(batches.length * (1 - validationSplit));
      if (cut < 1) throw new ConfigError(`train: validationSplit ${validationSplit} of ${batches.length} batches leaves none to train on`);
      train = batches.slice(0, cut);
      held = batches.slice(cut);
    }
    if (held.length > 0) validation = { ...validation, batches: held };
  }
  if (verbose !== undefined && verbose !== 0 && verbose !== 1 && verbose !== 2) throw new ConfigError(`train: verbose is ${String(verbose)}, expected 0, 1 or 2`);
  const progress = rest.progress ?? (verbose === 1 || verbose === 2 ? progressBar() : undefined);
  const options: TrainOptions = {
    ...rest,
    epochs: epochs ?? 1,
    ...(optimizer !== undefined ? { optimizer: resolveOptimizerOption(optimizer) } : {}),
    ...(loss !== undefined ? { loss: resolveLossOption(loss, network) } : {}),
    ...(validation ? { validation } : {}),
    ...(progress ? { progress } : {}),
  };
  return { batches: train, options };
}
