/**
 * `train()` / `trainSync()`: LOOM's `Train` semantics (training.md section 3) with exact
 * gradients for every layer type, plus tfjs optimizers, schedules, callbacks, validation,
 * early stopping, progress, abort and seeded shuffling.
 */
import type * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../core/errors';
import type { TrainableModel } from './trainable';
import { trainLoop, type LoopHooks, type LoopYield } from './train_loop';
import type { WithSnakeCase } from '../core/option_keys';
import { resolveFitOptions, type FitStyleOptions } from './fit_options';
import type { TrainingBatch, TrainOptions, TrainResult } from './types';

function readSync(t: tf.Scalar): number {
  return (t.dataSync() as Float32Array)[0] as number;
}

/** Yields to the event loop (a macrotask, so timers and abort handlers run). */
function nextTask(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

function checkBatches(batches: readonly TrainingBatch[]): void {
  if (!Array.isArray(batches) || batches.length === 0) {
    throw new TrainingError(`train: expected a non-empty list of batches, got ${Array.isArray(batches) ? 'an empty list' : typeof batches}`);
  }
}

/**
 * Trains `network` in place and resolves with the history. One optimizer step per batch; the
 * loss of each batch is read back (asynchronously) and is the only per-batch host transfer.
 * Yields to the event loop every `yieldEveryMs` so `signal` aborts and UI updates get through.
 *
 * Ref: loom-spec/training.md sections 2-3 (with `{type: 'sgd'}`, the default, a Dense-only
 * network trains to LOOM's numbers).
 * Options may also be written as tfjs's `fit` takes them (`optimizer: 'adam'`, `loss:
 * 'meanSquaredError'`, `batchSize`, `validationSplit`, `validationData`, `verbose`; see
 * {@link resolveFitOptions}); unknown keys are refused naming the closest valid one.
 * @throws ConfigError on bad or unknown options; ShapeError when a batch does not fit the network;
 *   TrainingError when a batch loss is NaN/Inf (names epoch and batch; weights are those before that batch).
 */
export async function train(network: TrainableModel, batches: readonly TrainingBatch[], fitOptions: TrainOptions | WithSnakeCase<FitStyleOptions>): Promise<TrainResult> {
  checkBatches(batches);
  const { batches: trainBatches, options } = resolveFitOptions(network, batches, fitOptions);
  const gen = trainLoop(network, trainBatches, options);
  const every = options.yieldEveryMs ?? 50;
  let lastYield = performance.now();
  let r = gen.next();
  while (!r.done) {
    let v: number;
    try {
      v = ((await r.value.data()) as Float32Array)[0] as number;
    } catch (e) {
      r = gen.throw(e);
      continue;
    }
    if (performance.now() - lastYield >= every) {
      await nextTask();
      lastYield = performance.now();
    }
    r = gen.next(v);
  }
  return r.value;
}

/**
 * Synchronous {@link train} (no event-loop yields, so `signal` can only be aborted from callbacks).
 * Same semantics and errors.
 */
export function trainSync(network: TrainableModel, batches: readonly TrainingBatch[], fitOptions: TrainOptions | WithSnakeCase<FitStyleOptions>): TrainResult {
  checkBatches(batches);
  const { batches: trainBatches, options } = resolveFitOptions(network, batches, fitOptions);
  return runSync(network, trainBatches, options);
}

/** @internal Sync driver shared with the LOOM facade. */
export function runSync(network: TrainableModel, batches: readonly TrainingBatch[], options: TrainOptions, hooks: LoopHooks = {}): TrainResult {
  const gen = trainLoop(network, batches, options, hooks);
  let r = gen.next();
  while (!r.done) {
    const t: LoopYield = r.value;
    let v: number;
    try {
      v = readSync(t);
    } catch (e) {
      r = gen.throw(e);
      continue;
    }
    r = gen.next(v);
  }
  return r.value;
}
