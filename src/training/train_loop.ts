/**
 * The one training loop behind `train()`, `trainSync()` and `loomTrain()`: a generator that
 * yields every scalar it needs on the host (the batch loss, once per batch; the validation
 * loss, once per validated epoch) so that a sync driver can `dataSync` it and an async driver
 * can `await data()` (no pipeline stall on WebGPU) and yield to the event loop.
 *
 * Per batch (LOOM's order, training.md section 3): forward, loss, exact gradients of every
 * parameter (`tf.variableGrads` through `Network.forwardTensor`), optional global-norm clipping,
 * one optimizer step. The loss is read before the step, so a non-finite loss stops training with
 * the weights of before that batch.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError, TrainingError } from '../core/errors';
import { createRng } from '../core/rng';
import type { TrainableModel } from './trainable';
import { evaluateNetwork, type DeviationMetrics } from './evaluate';
import { resolveLoss, type LossFunction } from './losses';
import { applyWeightDecay, createOptimizer, setOptimizerLearningRate } from './optimizers';
import { learningRateAt, validateSchedule } from './schedules';
import type { StopReason, TrainingBatch, TrainOptions, TrainResult } from './types';

/** Internal knobs used by the LOOM facade (`loomTrain`). */
export interface LoopHooks {
  /** Called instead of throwing when the LOOM evaluation fails (LOOM only prints it). */
  onEvaluationError?: (e: unknown) => void;
  /** Keep training through non-finite losses (LOOM does). Default false. */
  continueOnNonFinite?: boolean;
}

/** What the loop yields: a scalar to read on the host. */
export type LoopYield = tf.Scalar;


interface PreparedBatch {
  x: tf.Tensor1D; // (batchSize * in)
  t: tf.Tensor1D; // (out)
}

function toTensor1d(d: TrainingBatch['input'], owned: tf.Tensor[]): tf.Tensor1D {
  if (d instanceof tf.Tensor) {
    if (d.rank === 1) return d as tf.Tensor1D;
    const r = d.reshape([d.size]) as tf.Tensor1D; // (size)
    owned.push(r);
    return r;
  }
  const t = tf.tensor1d(d instanceof Float32Array ? d : Float32Array.from(d));
  owned.push(t);
  return t;
}

function prepare(network: TrainableModel, batches: readonly TrainingBatch[], owned: tf.Tensor[], what: string): PreparedBatch[] {
  const expected = network.expectedInputSize();
  return batches.map((b, i) => {
    const x = toTensor1d(b.input, owned);
    if (expected !== undefined && x.size !== expected) {
      throw new ShapeError(
        `${what} batch ${i}: input has ${x.size} values, expected ${expected} (batch size ${network.batchSize})`,
      );
    }
    return { x, t: toTensor1d(b.target, owned) };
  });
}

function checkOptions(o: TrainOptions, network: TrainableModel): void {
  const bs = o.batchSize;
  if (bs !== undefined && (!Number.isInteger(bs) || bs < 1 || bs % network.batchSize !== 0)) {
    throw new ConfigError(`batchSize must be a positive multiple of the network's batch size ${network.batchSize} (samples per batch given), got ${bs}`);
  }
  if (!Number.isInteger(o.epochs) || o.epochs <= 0) {
    throw new ConfigError(`epochs must be a positive integer, got ${o.epochs}`);
  }
  const lr = o.learningRate ?? 0.001;
  if (!Number.isFinite(lr)) throw new ConfigError(`learningRate must be finite, got ${lr}`);
  if (o.gradientClip !== undefined && !Number.isFinite(o.gradientClip)) {
    throw new ConfigError(`gradientClip must be finite, got ${o.gradientClip}`);
  }
  if (o.schedule) validateSchedule(o.schedule);
  const every = o.validation?.everyEpochs ?? 1;
  if (!Number.isInteger(every) || every <= 0) throw new ConfigError(`validation.everyEpochs must be a positive integer, got ${every}`);
  const v = o.validation;
  if (v && (v.inputs === undefined) !== (v.expected === undefined)) {
    throw new ConfigError('validation.inputs and validation.expected must be given together');
  }
  if (o.earlyStopping) {
    const es = o.earlyStopping;
    if (!Number.isInteger(es.patience) || es.patience < 0) {
      throw new ConfigError(`earlyStopping.patience must be a non-negative integer, got ${es.patience}`);
    }
    if (es.monitor === 'valLoss' && !v?.batches?.length) {
      throw new ConfigError("earlyStopping.monitor 'valLoss' needs validation.batches");
    }
  }
}

/** g * min(1, maxNorm / ||g||) over all gradients together (LOOM's clipGradients, training.md 3.1). */
function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  const names = Object.keys(grads);
  if (names.length === 0) return grads;
  const sq = names.map((n) => tf.sum(tf.square(grads[n] as tf.Tensor)));
  const norm = tf.sqrt(tf.addN(sq)); // ()
  const scale = tf.minimum(1, tf.div(maxNorm, norm)); // () ; 1 when norm <= maxNorm (and for norm 0)
  const out: tf.NamedTensorMap = {};
  for (const n of names) out[n] = tf.mul(grads[n] as tf.Tensor, scale);
  return out;
}

/**
 * The training loop. Yields scalars to read (the driver sends back their value and must not
 * dispose them). Throws TrainingError on a non-finite loss (naming epoch and batch), ConfigError /
 * ShapeError on bad options or data. Every tensor it makes is disposed when it returns or throws.
 */
export function* trainLoop(
  network: TrainableModel,
  batches: readonly TrainingBatch[],
  options: TrainOptions,
  hooks: LoopHooks = {},
): Generator<LoopYield, TrainResult, number> {
  checkOptions(options, network);
  const start = performance.now();
  const owned: tf.Tensor[] = [];
  const lossFn: LossFunction = resolveLoss(options.loss);
  const baseLr = options.learningRate ?? 0.001;
  const clip = options.gradientClip ?? 0;
  const vars = network.trainableVariables();
  const optCfg = options.optimizer ?? { type: 'sgd' as const };
  const ownOptimizer = !(optCfg instanceof tf.Optimizer);
  const setup =
    optCfg instanceof tf.Optimizer
      ? { optimizer: optCfg, weightDecay: options.weightDecay ?? 0 }
      : createOptimizer(optCfg, learningRateAt(options.schedule, baseLr, { step: 0, epoch: 0, totalSteps: 1 }), options.weightDecay ?? 0);
  const { optimizer, weightDecay } = setup;
  // A user's optimizer keeps its own rate unless a rate or schedule is given.
  const manageLr = ownOptimizer || options.learningRate !== undefined || options.schedule !== undefined;
  let pending: tf.NamedTensorMap | null = null;
  let bestWeights: tf.Tensor[] | null = null;
  const dropBest = (): void => {
    bestWeights?.forEach((t) => t.dispose());
    bestWeights = null;
  };
  try {
    const train = prepare(network, batches, owned, 'training');
    const val = prepare(network, options.validation?.batches ?? [], owned, 'validation');
    const rng = createRng(options.seed);
    const order = train.map((_, i) => i);
    // batches per optimizer step (tfjs's batchSize in samples / the network's batch size); the
    // last step of an epoch takes what is left, as tfjs's last batch
    const perStep = options.batchSize === undefined ? 1 : options.batchSize / network.batchSize;
    const steps = Math.ceil(train.length / perStep);
    const epochs = options.epochs;
    const totalSteps = epochs * steps;
    const every = options.validation?.everyEpochs ?? 1;
    const es = options.earlyStopping;
    const monitor = es?.monitor ?? (val.length ? 'valLoss' : 'loss');
    const lossHistory: number[] = [];
    const valLossHistory: number[] = [];
    let evalMetrics: DeviationMetrics | null = null;
    let stopReason: StopReason = 'completed';
    let step = 0;
    let currentLr = Number.NaN;
    let bestMonitored = Infinity;
    let sinceBest = 0;
    options.progress?.onStart?.({ epochs, batches: steps });

    outer: for (let epoch = 0; epoch < epochs; epoch++) {
      if (options.shuffle) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [order[i], order[j]] = [order[j] as number, order[i] as number];
        }
      }
      let total = 0;
      let seen = 0;
      for (let bi = 0; bi < steps; bi++) {
        if (options.signal?.aborted) {
          stopReason = 'aborted';
          break outer;
        }
        const group = order.slice(bi * perStep, (bi + 1) * perStep); // batches of this step
        const idx = group[0] as number;
        const lr = learningRateAt(options.schedule, baseLr, { step, epoch, totalSteps });
        if (manageLr && lr !== currentLr) {
          setOptimizerLearningRate(optimizer, lr);
          currentLr = lr;
        }
        const { value, grads } = tf.tidy(() => {
          // one step over `group`: mean loss and mean gradients of its batches (tfjs's batchSize)
          const lossOf = (b: PreparedBatch): tf.Scalar => lossFn(network.forwardTensor(b.x, { training: true }), b.t);
          const parts = group.map((i) => train[i] as PreparedBatch);
          if (vars.length === 0) {
            // Nothing to train (e.g. a Softmax-only network): report the loss, take no step.
            return { value: tf.div(tf.addN(parts.map(lossOf)), parts.length) as tf.Scalar, grads: {} as tf.NamedTensorMap };
          }
          const runs = parts.map((b) => tf.variableGrads(() => lossOf(b), vars));
          // Every variable gets a gradient (zeros where none flows): tfjs optimizers index their
          // slots by position in this map, so its key set must not change between steps.
          const full: tf.NamedTensorMap = {};
          for (const v of vars) {
            const gs = runs.map((r) => r.grads[v.name] ?? tf.zerosLike(v));
            full[v.name] = gs.length === 1 ? (gs[0] as tf.Tensor) : tf.div(tf.addN(gs), gs.length);
          }
          const value = runs.length === 1 ? (runs[0] as { value: tf.Scalar }).value : (tf.div(tf.addN(runs.map((r) => r.value)), runs.length) as tf.Scalar);
          return { value, grads: clip > 0 ? clipByGlobalNorm(full, clip) : full };
        });
        pending = grads;
        let loss: number;
        try {
          loss = yield value;
        } finally {
          value.dispose();
        }
        if (!Number.isFinite(loss) && !hooks.continueOnNonFinite) {
          throw new TrainingError(
            `loss is ${loss} at epoch ${epoch + 1}/${epochs}, batch ${bi + 1}/${steps} ` +
              `(batch index ${idx} in the given list); training stopped before this batch's update`,
          );
        }
        applyWeightDecay(vars, lr, weightDecay);
        if (vars.length > 0) optimizer.applyGradients(grads);
        tf.dispose(grads);
        pending = null;
        step++;
        total += loss * group.length; // weighted by batches, so the epoch mean is per sample (as tfjs)
        seen += group.length;
        options.callbacks?.onBatchEnd?.({ epoch, batch: bi, batchIndex: idx, loss, learningRate: lr, step });
        options.progress?.onBatch?.({
          epoch,
          epochs,
          batch: bi + 1,
          batches: steps,
          loss,
          epochLoss: total / seen,
          learningRate: lr,
          elapsedMs: performance.now() - start,
        });
      }
      const avg = total / train.length; // NaN for an empty list, as LOOM
      lossHistory.push(avg);
      let valLoss: number | undefined;
      let metrics: DeviationMetrics | undefined;
      if ((epoch + 1) % every === 0) {
        if (val.length) {
          const sum = tf.tidy(() => tf.addN(val.map((v) => lossFn(network.forwardTensor(v.x), v.t))) as tf.Scalar);
          try {
            valLoss = (yield sum) / val.length;
          } finally {
            sum.dispose();
          }
          valLossHistory.push(valLoss);
        }
        const vi = options.validation;
        if (vi?.inputs && vi.expected && vi.inputs.length && vi.expected.length) {
          try {
            metrics = evaluateNetwork(network, vi.inputs, vi.expected);
            evalMetrics = metrics;
          } catch (e) {
            if (!hooks.onEvaluationError) throw e;
            hooks.onEvaluationError(e);
          }
        }
      }
      options.progress?.onEpoch?.({ epoch, epochs, loss: avg, ...(valLoss !== undefined ? { valLoss } : {}) });
      const verdict = options.callbacks?.onEpochEnd?.({
        epoch,
        loss: avg,
        ...(valLoss !== undefined ? { valLoss } : {}),
        ...(metrics ? { metrics } : {}),
      });
      if (es) {
        const m = monitor === 'valLoss' ? valLoss : avg;
        if (m !== undefined) {
          if (m < bestMonitored - (es.minDelta ?? 0)) {
            bestMonitored = m;
            sinceBest = 0;
            if (es.restoreBestWeights) {
              dropBest();
              bestWeights = vars.map((v) => tf.clone(v));
            }
          } else if (++sinceBest > es.patience) {
            stopReason = 'early_stopping';
            break;
          }
        }
      }
      if (verdict === 'stop') {
        stopReason = 'callback';
        break;
      }
    }
    if (bestWeights) {
      const saved: tf.Tensor[] = bestWeights;
      vars.forEach((v, i) => v.assign(saved[i] as tf.Tensor));
    }
    const totalTimeMs = performance.now() - start;
    const finite = lossHistory.filter((l) => !Number.isNaN(l));
    const result: TrainResult = {
      lossHistory,
      valLossHistory,
      finalLoss: lossHistory.length ? (lossHistory[lossHistory.length - 1] as number) : Number.NaN,
      bestLoss: finite.length ? Math.min(...finite) : Number.NaN,
      epochsCompleted: lossHistory.length,
      stepsCompleted: step,
      stopReason,
      totalTimeMs,
      samplesPerSecond: totalTimeMs > 0 ? (step * network.batchSize) / (totalTimeMs / 1000) : 0,
      evalMetrics,
    };
    options.progress?.onEnd?.({ epochsCompleted: result.epochsCompleted, stopReason });
    return result;
  } finally {
    if (pending) tf.dispose(pending);
    dropBest();
    tf.dispose(owned);
    if (ownOptimizer) optimizer.dispose();
  }
}
