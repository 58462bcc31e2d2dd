/**
 * Logits processors: the first link of generation's chain (processors -> sampler -> streamer).
 * Each one rewrites a (V) vector of next-token scores in place and returns it; none keeps state,
 * so the same inputs always give the same outputs. Definitions follow transformers'
 * `RepetitionPenaltyLogitsProcessor`, `TemperatureLogitsWarper`, `TopKLogitsWarper`,
 * `TopPLogitsWarper` and `MinPLogitsWarper`, applied in that order.
 */
import { ConfigError } from '../core/errors';
import { badWordsProcessor, minNewTokensProcessor, noRepeatNgramProcessor } from './ban_processors';

/** Rewrites next-token scores (V) given every token id so far (prompt included); returns `scores`. */
export type LogitsProcessor = (scores: Float32Array, inputIds: readonly number[]) => Float32Array;

/**
 * transformers' repetition penalty (Keskar et al. 2019, CTRL): for each distinct id already in the
 * sequence, a positive score is divided by `penalty`, a negative one multiplied by it.
 * @throws ConfigError when `penalty` is not a positive finite number.
 */
export function repetitionPenaltyProcessor(penalty: number): LogitsProcessor {
  if (!(penalty > 0) || !Number.isFinite(penalty)) throw new ConfigError(`repetitionPenalty: got ${penalty}, expected a positive number (1 = off)`);
  return (scores, inputIds) => {
    const seen = new Set<number>();
    for (const id of inputIds) {
      if (seen.has(id) || id < 0 || id >= scores.length) continue;
      seen.add(id);
      const s = scores[id] as number;
      scores[id] = s < 0 ? s * penalty : s / penalty;
    }
    return scores;
  };
}

/**
 * Divides every score by `temperature` (> 0; temperature 0 is greedy and never reaches here).
 * @throws ConfigError when `temperature` is not a positive finite number.
 */
export function temperatureProcessor(temperature: number): LogitsProcessor {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new ConfigError(`temperature: got ${temperature}, expected a positive number here`);
  return (scores) => {
    for (let i = 0; i < scores.length; i++) scores[i] = (scores[i] as number) / temperature;
    return scores;
  };
}

/**
 * Keeps the `k` highest scores (and any tied with the k-th), sets the rest to -Infinity.
 * @throws ConfigError when `k` is not a positive integer.
 */
export function topKProcessor(k: number): LogitsProcessor {
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`topK: got ${k}, expected a positive integer`);
  return (scores) => {
    if (k >= scores.length) return scores;
    const sorted = Float32Array.from(scores).sort(); // ascending; NaN last
    const kth = sorted[scores.length - k] as number;
    for (let i = 0; i < scores.length; i++) if (!((scores[i] as number) >= kth)) scores[i] = -Infinity;
    return scores;
  };
}

/** Indices of the finite scores, ordered by ascending score (ties by index, as a stable sort). */
function ascendingFinite(scores: Float32Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i] as number)) idx.push(i);
  return idx.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
}

/**
 * Nucleus sampling (Holtzman et al. 2019): keeps the smallest set of highest-probability tokens whose
 * probabilities sum to at least `p`; transformers' definition: sort ascending, remove tokens whose
 * cumulative probability is `<= 1 - p`, always keep the top `minTokensToKeep`.
 * @throws ConfigError when `p` is not in (0, 1].
 */
export function topPProcessor(p: number, minTokensToKeep = 1): LogitsProcessor {
  if (!(p > 0 && p <= 1)) throw new ConfigError(`topP: got ${p}, expected a number in (0, 1]`);
  return (scores) => {
    if (p >= 1) return scores;
    // Native numeric sort of the finite values (fast for 50k-150k vocabularies); the cut is a score
    // threshold, so tokens tied with the last kept one are all kept.
    const sorted = scores.filter((v) => Number.isFinite(v)).sort(); // ascending
    const n = sorted.length;
    if (n === 0) return scores;
    const max = sorted[n - 1] as number;
    let total = 0;
    for (let r = 0; r < n; r++) total += Math.exp((sorted[r] as number) - max);
    let cum = 0;
    let first = Math.max(0, n - minTokensToKeep);
    for (let r = 0; r < n - minTokensToKeep; r++) {
      cum += Math.exp((sorted[r] as number) - max) / total;
      if (cum > 1 - p) {
        first = r;
        break;
      }
    }
    const cutoff = sorted[first] as number;
    for (let i = 0; i < scores.length; i++) if (!((scores[i] as number) >= cutoff)) scores[i] = -Infinity;
    return scores;
  };
}

/**
 * Min-p sampling (Nguyen et al. 2024): removes tokens whose probability is below `p` times the top
 * token's probability, always keeping the top `minTokensToKeep`.
 * @throws ConfigError when `p` is not in [0, 1].
 */
export function minPProcessor(p: number, minTokensToKeep = 1): LogitsProcessor {
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`minP: got ${p}, expected a number in [0, 1]`);
  return (scores) => {
    let max = -Infinity;
    for (let i = 0; i < scores.length; i++) if ((scores[i] as number) > max) max = scores[i] as number;
    if (!Number.isFinite(max)) return scores;
    // prob_i / prob_max = exp(s_i - max); compare in float64 so the cut does not depend on the vocabulary sum.
    const keep = new Set<number>();
    if (minTokensToKeep > 1) for (const i of ascendingFinite(scores).slice(-minTokensToKeep)) keep.add(i);
    for (let i = 0; i < scores.length; i++) {
      if (Math.exp((scores[i] as number) - max) < p && !keep.has(i)) scores[i] = -Infinity;
    }
    return scores;
  };
}

/** Knobs that shape the next-token distribution. */
export interface SamplingOptions {
  /** > 0 sharpens (< 1) or flattens (> 1); 0 means greedy. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: off). */
  topK?: number;
  /** Nucleus: keep the most likely tokens up to cumulative probability p (1 or undefined: off). */
  topP?: number;
  /** Drop tokens less likely than minP times the most likely one (0 or undefined: off). */
  minP?: number;
  /** transformers' repetition penalty over every id so far, prompt included (1 or undefined: off). */
  repetitionPenalty?: number;
  /** No eos before this many new tokens (0 or undefined: off). Needs the prompt length. */
  minNewTokens?: number;
  /** Never repeat an n-gram of this size (0 or undefined: off). */
  noRepeatNgramSize?: number;
  /** Token-id sequences that must not be generated. */
  badWordsIds?: readonly (readonly number[])[];
}

/** What the length-aware processors need to know about the current generation. */
export interface ProcessorContext {
  /** Ids of the prompt (the first ids the processors see). */
  readonly promptLength: number;
  /** Ids that end generation (forbidden by `minNewTokens`). */
  readonly eosTokenIds: readonly number[];
}

/**
 * The processor chain for `options`, in transformers' order: repetition penalty, no-repeat n-gram,
 * bad words, min new tokens, then (only when sampling) temperature, top-k, top-p, min-p.
 * @throws ConfigError for out-of-range values, or `minNewTokens` without a `context`.
 */
export function buildLogitsProcessors(options: SamplingOptions, sampling: boolean, context?: ProcessorContext): LogitsProcessor[] {
  const chain: LogitsProcessor[] = [];
  const { temperature, topK, topP, minP, repetitionPenalty, minNewTokens, noRepeatNgramSize, badWordsIds } = options;
  if (repetitionPenalty !== undefined && repetitionPenalty !== 1) chain.push(repetitionPenaltyProcessor(repetitionPenalty));
  if (noRepeatNgramSize !== undefined && noRepeatNgramSize !== 0) chain.push(noRepeatNgramProcessor(noRepeatNgramSize));
  if (badWordsIds !== undefined && badWordsIds.length > 0) chain.push(badWordsProcessor(badWordsIds));
  if (minNewTokens !== undefined && minNewTokens !== 0) {
    if (!context) throw new ConfigError('minNewTokens: needs the prompt length and eos ids (a ProcessorContext)');
    chain.push(minNewTokensProcessor(minNewTokens, context.promptLength, context.eosTokenIds));
  }
  if (!sampling) return chain;
  if (temperature !== undefined && temperature !== 1) chain.push(temperatureProcessor(temperature));
  if (topK !== undefined && topK !== 0) chain.push(topKProcessor(topK));
  if (topP !== undefined && topP !== 1) chain.push(topPProcessor(topP));
  if (minP !== undefined && minP !== 0) chain.push(minPProcessor(minP));
  return chain;
}

/** Runs `chain` over a copy of `logits`. */
export function applyLogitsProcessors(chain: readonly LogitsProcessor[], logits: Float32Array, inputIds: readonly number[]): Float32Array {
  let scores: Float32Array = Float32Array.from(logits);
  for (const p of chain) scores = p(scores, inputIds);
  return scores;
}
