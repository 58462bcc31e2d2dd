/**
 * Beam search (transformers' `num_beams` > 1 with `do_sample=False`): keep the `numBeams` most
 * likely continuations by summed log-probability; a beam that emits a stop id becomes a finished
 * hypothesis scored `sum_logprobs / generated_length ** lengthPenalty`; the best hypothesis wins.
 * Every step runs the model on all beams at once from scratch (no KV-cache reordering), so cost
 * grows with the square of the length: meant for short outputs.
 * Ref: transformers `BeamSearchScorer` / `BeamHypotheses` (generation/beam_search.py).
 */
import type * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';
import type { CausalLM } from '../transformer/types';
import { applyLogitsProcessors, type LogitsProcessor } from './logits_processors';

/** Knobs of {@link beamSearch}. */
export interface BeamSearchOptions {
  /** Beams kept per step (> 1). */
  readonly numBeams: number;
  /** Most new tokens. */
  readonly maxNewTokens: number;
  /** Ids that finish a hypothesis. */
  readonly stopTokenIds: ReadonlySet<number>;
  /** Exponent of the length normalisation (transformers' `length_penalty`, default 1). */
  readonly lengthPenalty?: number;
  /** Stop as soon as `numBeams` hypotheses are finished (transformers' `early_stopping=True`). Default false. */
  readonly earlyStopping?: boolean;
  /** Applied to each beam's log-probabilities (as transformers does in beam search). */
  readonly processors: readonly LogitsProcessor[];
}

interface Beam {
  ids: number[]; // prompt + generated
  score: number; // sum of log-probabilities of the generated ids
}

interface Hypothesis {
  ids: number[]; // generated ids (stop id included)
  score: number;
}

function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

/**
 * Runs beam search after `prompt`.
 * @returns the generated ids of the best hypothesis (a stop id that ended it included) and its score.
 * @throws ConfigError when `numBeams` is not an integer >= 2.
 */
export function beamSearch(model: CausalLM, prompt: readonly number[], options: BeamSearchOptions): { tokenIds: number[]; score: number; finished: boolean } {
  const { numBeams, maxNewTokens, stopTokenIds, processors } = options;
  if (!Number.isInteger(numBeams) || numBeams < 2) throw new ConfigError(`numBeams: got ${numBeams}, expected an integer >= 2 here`);
  const lengthPenalty = options.lengthPenalty ?? 1;
  const hypScore = (len: number, sum: number): number => sum / Math.max(1, len) ** lengthPenalty;
  const hyps: Hypothesis[] = [];
  const worst = (): number => (hyps.length < numBeams ? -Infinity : Math.min(...hyps.map((h) => h.score)));
  const addHyp = (h: Hypothesis): void => {
    if (hyps.length < numBeams || h.score > worst()) {
      hyps.push(h);
      if (hyps.length > numBeams) hyps.splice(hyps.indexOf(hyps.reduce((a, b) => (b.score < a.score ? b : a))), 1);
    }
  };
  let beams: Beam[] = [{ ids: [...prompt], score: 0 }];
  const room = Math.min(maxNewTokens, model.info.maxPositions - prompt.length);
  for (let step = 0; step < room; step++) {
    const logits = model.forward(beams.map((b) => b.ids)); // (beams, V)
    let rows: Float32Array;
    try {
      rows = logits.dataSync() as Float32Array;
    } finally {
      (logits as tf.Tensor).dispose();
    }
    const v = model.info.vocabSize;
    const candidates: { beam: number; id: number; score: number }[] = [];
    beams.forEach((b, bi) => {
      const lp = logSoftmax(rows.subarray(bi * v, (bi + 1) * v));
      const processed = applyLogitsProcessors(processors, Float32Array.from(lp), b.ids);
      for (let id = 0; id < v; id++) {
        const s = processed[id] as number;
        if (s > -Infinity) candidates.push({ beam: bi, id, score: b.score + s });
      }
    });
    // transformers keeps the top 2 * numBeams candidates so that enough non-stop ones remain
    candidates.sort((a, b) => b.score - a.score || a.beam - b.beam || a.id - b.id);
    const bestCandidate = candidates[0]?.score ?? -Infinity;
    const next: Beam[] = [];
    for (const [rank, c] of candidates.slice(0, 2 * numBeams).entries()) {
      const base = beams[c.beam] as Beam;
      if (stopTokenIds.has(c.id)) {
        // only candidates ranked among the first numBeams may finish (transformers' rule)
        // scored over the tokens before the stop id (transformers' generated_len)
        if (rank < numBeams) addHyp({ ids: [...base.ids.slice(prompt.length), c.id], score: hypScore(base.ids.length - prompt.length, c.score) });
      } else {
        next.push({ ids: [...base.ids, c.id], score: c.score });
      }
      if (next.length === numBeams) break;
    }
    beams = next;
    if (hyps.length >= numBeams) {
      if (options.earlyStopping) break;
      // transformers' heuristic (early_stopping=False): done when the best candidate of this
      // step, normalised at the current length, cannot beat the worst finished hypothesis
      if (worst() >= hypScore(step, bestCandidate)) break;
    }
    if (beams.length === 0) break;
  }
  const finished = hyps.length > 0;
  for (const b of beams) addHyp({ ids: b.ids.slice(prompt.length), score: hypScore(b.ids.length - prompt.length, b.score) });
  const best = hyps.reduce((a, b) => (b.score > a.score ? b : a));
  return { tokenIds: best.ids, score: best.score, finished: finished && stopTokenIds.has(best.ids[best.ids.length - 1] as number) };
}
