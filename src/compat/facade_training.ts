/**
 * The facade's `Train` and `EvaluateNetwork`: LOOM's training and evaluation with Go field names,
 * results as Go values (numbers as float64, key order kept). Ref: loom-spec/training.md.
 */
import type { Network } from '../network/network';
import { evaluateNetwork } from '../training/evaluate';
import { goF64, goInt, goObject, type GoValue } from '../../loaders/go_json';
import { loomTrain, type LoomTrainingBatch, type LoomTrainingConfig } from './loom_train';

/** A plain JSON-safe value as a Go value (numbers as float64, key order kept). */
export function toGo(v: unknown): GoValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return goF64(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toGo);
  return goObject(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toGo(x)]));
}

/** LOOM's `(*Network).Train(batches, config)`: the `TrainingResult` as a Go value. */
export function facadeTrain(net: Network, batches: unknown, config: unknown): GoValue {
  const r = loomTrain(net, batches as LoomTrainingBatch[], config as LoomTrainingConfig | null);
  return goObject([
    ['FinalLoss', goF64(r.FinalLoss)],
    ['BestLoss', goF64(r.BestLoss)],
    ['TotalTime', goInt(Math.round(r.TotalTime))],
    ['AvgThroughput', goF64(r.AvgThroughput)],
    ['LossHistory', r.LossHistory.map(goF64)],
    ['EvalMetrics', toGo(r.EvalMetrics)],
  ]);
}

/** LOOM's `(*Network).EvaluateNetwork(inputs, expected)`: the `DeviationMetrics` as a Go value. */
export function facadeEvaluate(net: Network, inputs: Float32Array[], expected: number[]): GoValue {
  return toGo(evaluateNetwork(net, inputs, expected));
}
