/**
 * The options of `generate` / `generateStream` (src/generation/generate.ts), in their own file so
 * that option-name handling (options.ts) can list them without importing the generator.
 */
import type { Rng } from '../core/rng';
import type { SamplingOptions } from './logits_processors';
import type { PastKeyValues } from './past_key_values';
import type { Streamer } from './types';

/** One generated token, as reported to `onToken`. */
export interface TokenEvent {
  tokenId: number;
  /** 0-based index among the generated tokens. */
  index: number;
  /** New stable text released with this token (may be empty). */
  text: string;
}

/** Options of `generate` and `generateStream`. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate. Default 50. */
  maxNewTokens?: number;
  /** Always take the most likely token (also when temperature is 0). */
  greedy?: boolean;
  /**
   * Sample instead of taking the top token. Default: true when any of temperature (> 0), topK, topP
   * or minP is given, else false (greedy, as transformers' `do_sample=False`).
   */
  doSample?: boolean;
  /** Seed of the sampling RNG: same seed, same tokens. Default: random. */
  seed?: number;
  /** A custom RNG (overrides `seed`). */
  rng?: Rng;
  /** Ids that end generation. Default: the model's eos ids, else the tokenizer's eos id. */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; the text is cut just before the first one. */
  stopStrings?: readonly string[];
  /** Checked between tokens: when aborted, generation ends with `finishReason: 'abort'`. */
  signal?: AbortSignal;
  /** Called after each generated token. */
  onToken?: (event: TokenEvent) => void;
  /** A transformers.js-style streamer (`put(ids)`, `end()`). */
  streamer?: Streamer;
  /** Add the tokenizer's special tokens (e.g. BOS) when the prompt is a string. Default true. */
  addSpecialTokens?: boolean;
  /** Beam search width (> 1: beam search, greedy only; transformers' `num_beams`). Default 1. */
  numBeams?: number;
  /** Beam search: hypothesis score = sum of log-probs / length ** lengthPenalty. Default 1. */
  lengthPenalty?: number;
  /** Beam search: stop once `numBeams` hypotheses are finished. Default false. */
  earlyStopping?: boolean;
  /**
   * A cache kept across calls (transformers' `past_key_values`): only the prompt ids after the
   * longest prefix it holds are prefilled, and it is updated for the next call.
   */
  pastKeyValues?: PastKeyValues;
  /** Sequences per prompt: only 1; transformers' `num_return_sequences`. */
  numReturnSequences?: number;
}
