/**
 * LOOM's evaluation API (nn/evaluation.go) as JSON-safe data. Ref: loom-spec/training.md section 9.
 *
 * Keys are LOOM's JSON tags (`range_min`, `total_samples`, ...) because this is LOOM's wire
 * shape. Difference: LOOM's open bucket `"100%+"` has `range_max = +Inf`, which `json.Marshal`
 * rejects (so LOOM's WASM `EvaluateNetwork` always fails); here it is `null` ("no upper bound").
 * A non-finite `actual` (a NaN network output) is kept as is in `results` (JSON.stringify writes
 * null; LOOM's `SaveMetrics` writes 0); its deviation is 100 as in LOOM.
 */
import { ShapeError } from '../core/errors';
import type { TrainableModel } from './trainable';

/** One deviation bucket. `range_max` null = unbounded (LOOM: +Inf). */
export interface DeviationBucket {
  range_min: number;
  range_max: number | null;
  count: number;
  /** Sample indices in this bucket, in evaluation order. */
  samples: number[];
}

/** One scored prediction. */
export interface PredictionResult {
  sample_index: number;
  expected: number;
  actual: number;
  /** Percent deviation (NaN/Inf deviations are reported as 100, as LOOM). */
  deviation: number;
  bucket: string;
}

/** LOOM's `DeviationMetrics`, JSON-safe. */
export interface DeviationMetrics {
  buckets: Record<string, DeviationBucket>;
  score: number;
  total_samples: number;
  failures: number;
  results: PredictionResult[];
  avg_deviation: number;
}

/** Bucket names and bounds in LOOM's order (`NewDeviationMetrics`). */
export const DEVIATION_BUCKETS: readonly { name: string; min: number; max: number | null }[] = [
  { name: '0-10%', min: 0, max: 10 },
  { name: '10-20%', min: 10, max: 20 },
  { name: '20-30%', min: 20, max: 30 },
  { name: '30-40%', min: 30, max: 40 },
  { name: '40-50%', min: 40, max: 50 },
  { name: '50-100%', min: 50, max: 100 },
  { name: '100%+', min: 100, max: null },
];

/** LOOM's `NewDeviationMetrics()`: empty buckets, zero totals. */
export function newDeviationMetrics(): DeviationMetrics {
  const buckets: Record<string, DeviationBucket> = {};
  for (const b of DEVIATION_BUCKETS) buckets[b.name] = { range_min: b.min, range_max: b.max, count: 0, samples: [] };
  return { buckets, score: 0, total_samples: 0, failures: 0, results: [], avg_deviation: 0 };
}

/** LOOM's `EvaluatePrediction`: percent deviation and its bucket. */
export function evaluatePrediction(sampleIndex: number, expected: number, actual: number): PredictionResult {
  let dev = Math.abs(expected) < 1e-10 ? Math.abs(actual - expected) * 100 : Math.abs(((actual - expected) / expected) * 100);
  if (!Number.isFinite(dev)) dev = 100;
  const bucket = DEVIATION_BUCKETS.find((b) => b.max === null || dev <= b.max)?.name ?? '100%+';
  return { sample_index: sampleIndex, expected, actual, deviation: dev, bucket };
}

/** LOOM's `UpdateMetrics`: adds one result. */
export function updateMetrics(m: DeviationMetrics, r: PredictionResult): void {
  const b = m.buckets[r.bucket];
  if (b) {
    b.count++;
    b.samples.push(r.sample_index);
  }
  m.total_samples++;
  if (r.bucket === '100%+') m.failures++;
  m.results.push(r);
  m.score += Math.max(0, 100 - r.deviation);
}

/** LOOM's `ComputeFinalMetrics`: score = mean per-sample score, avg_deviation = mean deviation. */
export function computeFinalMetrics(m: DeviationMetrics): void {
  if (m.total_samples === 0) {
    m.score = 0;
    m.avg_deviation = 0;
    return;
  }
  m.score = Math.max(0, m.score / m.total_samples);
  m.avg_deviation = m.results.reduce((s, r) => s + r.deviation, 0) / m.total_samples;
}

/**
 * LOOM's `EvaluateModel(expected, actual)`: scores pairs of scalars.
 * @throws ShapeError `mismatched expected (a) vs actual (b) output sizes`.
 */
export function evaluateModel(expected: readonly number[], actual: readonly number[]): DeviationMetrics {
  if (expected.length !== actual.length) {
    throw new ShapeError(`mismatched expected (${expected.length}) vs actual (${actual.length}) output sizes`);
  }
  const m = newDeviationMetrics();
  expected.forEach((e, i) => updateMetrics(m, evaluatePrediction(i, e, actual[i] as number)));
  computeFinalMetrics(m);
  return m;
}

/** LOOM's prediction rule: `output[0]` for a single output, else the index of the first maximum. */
export function predictionOf(output: ArrayLike<number>): number {
  if (output.length === 1) return output[0] as number;
  let best = 0;
  for (let i = 1; i < output.length; i++) if ((output[i] as number) > (output[best] as number)) best = i;
  return best;
}

/**
 * LOOM's `(*Network).EvaluateNetwork(inputs, expected)`: runs every input with `batchSize = 1`
 * (restored afterwards) through `network.forward` (so `getActivations()` reflects the last input,
 * as in LOOM), predicts with {@link predictionOf} and scores against `expected`.
 * @throws ShapeError `mismatched inputs (a) vs expected outputs (b)`; forward errors propagate.
 */
export function evaluateNetwork(
  network: TrainableModel,
  inputs: readonly ArrayLike<number>[],
  expected: readonly number[],
): DeviationMetrics {
  if (inputs.length !== expected.length) {
    throw new ShapeError(`mismatched inputs (${inputs.length}) vs expected outputs (${expected.length})`);
  }
  const saved = network.batchSize;
  network.batchSize = 1;
  try {
    const m = newDeviationMetrics();
    inputs.forEach((x, i) => updateMetrics(m, evaluatePrediction(i, expected[i] as number, predictionOf(network.forward(x)))));
    computeFinalMetrics(m);
    return m;
  } finally {
    network.batchSize = saved;
  }
}

/** LOOM's `GetWorstSamples(n)`: results by deviation, largest first (stable here; LOOM's swap sort is not). */
export function worstSamples(m: DeviationMetrics, n: number): PredictionResult[] {
  return [...m.results].sort((a, b) => b.deviation - a.deviation).slice(0, Math.max(0, n));
}
