/**
 * Logits processors that forbid tokens (set their score to -Infinity), as transformers'
 * `MinNewTokensLengthLogitsProcessor`, `NoRepeatNGramLogitsProcessor` and
 * `NoBadWordsLogitsProcessor` define them. Each reads the ids so far (prompt included).
 */
import { ConfigError } from '../core/errors';

/** Same shape as `LogitsProcessor` (logits_processors.ts, which imports this file). */
type LogitsProcessor = (scores: Float32Array, inputIds: readonly number[]) => Float32Array;

/**
 * Forbids every eos id until `minNewTokens` tokens follow the `promptLength` prompt ids.
 * @throws ConfigError when `minNewTokens` is not an integer >= 0.
 */
export function minNewTokensProcessor(minNewTokens: number, promptLength: number, eosTokenIds: readonly number[]): LogitsProcessor {
  if (!Number.isInteger(minNewTokens) || minNewTokens < 0) throw new ConfigError(`minNewTokens: got ${minNewTokens}, expected an integer >= 0`);
  return (scores, inputIds) => {
    if (inputIds.length - promptLength >= minNewTokens) return scores;
    for (const id of eosTokenIds) if (id >= 0 && id < scores.length) scores[id] = -Infinity;
    return scores;
  };
}

/**
 * Forbids any token that would repeat an n-gram of size `n` already in the sequence: the tokens
 * that followed an earlier occurrence of the last n-1 ids.
 * @throws ConfigError when `n` is not a positive integer.
 */
export function noRepeatNgramProcessor(n: number): LogitsProcessor {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`noRepeatNgramSize: got ${n}, expected a positive integer`);
  return (scores, inputIds) => {
    const len = inputIds.length;
    if (len + 1 < n) return scores;
    const start = len - (n - 1); // the n-1 ids an n-gram would start with
    for (let i = 0; i + n <= len; i++) {
      let same = true;
      for (let j = 0; j < n - 1 && same; j++) same = inputIds[i + j] === inputIds[start + j];
      const banned = inputIds[i + n - 1] as number;
      if (same && banned >= 0 && banned < scores.length) scores[banned] = -Infinity;
    }
    return scores;
  };
}

/**
 * Forbids each listed sequence: a one-id sequence always, a longer one as its last id when the
 * ids so far end with the rest of it.
 * @throws ConfigError for an empty sequence or an id that is not a non-negative integer.
 */
export function badWordsProcessor(badWordsIds: readonly (readonly number[])[]): LogitsProcessor {
  badWordsIds.forEach((seq, i) => {
    if (!Array.isArray(seq) || seq.length === 0) throw new ConfigError(`badWordsIds[${i}]: expected a non-empty array of token ids`);
    seq.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0) throw new ConfigError(`badWordsIds[${i}][${j}]: got ${String(id)}, expected a token id (integer >= 0)`);
    });
  });
  return (scores, inputIds) => {
    for (const seq of badWordsIds) {
      const prefix = seq.length - 1;
      if (prefix > inputIds.length) continue;
      let match = true;
      for (let j = 0; j < prefix && match; j++) match = inputIds[inputIds.length - prefix + j] === seq[j];
      const last = seq[prefix] as number;
      if (match && last < scores.length) scores[last] = -Infinity;
    }
    return scores;
  };
}
