/**
 * Generation option names as transformers.js users write them: every camelCase key of
 * {@link GenerateOptions} also under its snake_case name (`max_new_tokens`, `do_sample`,
 * `top_k`, `repetition_penalty`, `no_repeat_ngram_size`, `bad_words_ids`, `stop_strings`, ...)
 * and `eos_token_id` for `stopTokenIds`; any other key is a ConfigError naming the closest valid
 * one. Then the model's `generation_config.json` defaults are applied under the call's options,
 * as transformers' `GenerationConfig` does.
 */
import { ConfigError } from '../core/errors';
import { normalizeOptionKeys } from '../core/option_keys';
import type { CausalLMInfo, GenerationDefaults } from '../transformer/types';
import type { GenerateOptions } from './generate_options';

/** Every key of {@link GenerateOptions}; `satisfies` keeps the list complete. */
const GENERATE_KEYS = {
  temperature: true,
  topK: true,
  topP: true,
  minP: true,
  repetitionPenalty: true,
  minNewTokens: true,
  noRepeatNgramSize: true,
  badWordsIds: true,
  maxNewTokens: true,
  greedy: true,
  doSample: true,
  seed: true,
  rng: true,
  stopTokenIds: true,
  stopStrings: true,
  signal: true,
  onToken: true,
  streamer: true,
  addSpecialTokens: true,
  numBeams: true,
  lengthPenalty: true,
  earlyStopping: true,
  numReturnSequences: true,
  pastKeyValues: true,
} as const satisfies Record<keyof GenerateOptions, true>;

/**
 * {@link GenerateOptions} from what a caller passed (camelCase or transformers' snake_case).
 * @throws ConfigError for an unknown key (naming the closest), a key given twice, or several
 *   sequences (`num_return_sequences` > 1), which are not implemented.
 */
export function normalizeGenerateOptions(options: object | undefined | null, where = 'generate'): GenerateOptions {
  const o = normalizeOptionKeys(options, { keys: Object.keys(GENERATE_KEYS), aliases: { eos_token_id: 'stopTokenIds' }, where }) as GenerateOptions & { stopTokenIds?: unknown };
  if (typeof o.stopTokenIds === 'number') o.stopTokenIds = [o.stopTokenIds];
  const beams = o.numBeams;
  if (beams !== undefined && (!Number.isInteger(beams) || beams < 1)) throw new ConfigError(`${where}: numBeams is ${String(beams)}, expected an integer >= 1`);
  const n = o.numReturnSequences;
  if (n !== undefined && n !== 1) throw new ConfigError(`${where}: numReturnSequences is ${String(n)}; only 1 is supported (one sequence per prompt)`);
  return o;
}

/** The model's generation_config.json defaults as options (empty when it has none). */
function defaultsOf(info: CausalLMInfo): GenerateOptions {
  const d: GenerationDefaults = info.generationDefaults ?? {};
  return { ...d };
}

/**
 * The options one generation runs with: the model's generation_config.json defaults (do_sample,
 * temperature, top_k, top_p, min_p, max_new_tokens, repetition_penalty, ...), overridden by the
 * call's own options (camelCase or snake_case). `greedy: true` or `temperature: 0` in the call
 * switches sampling off whatever the defaults say.
 * @throws ConfigError as {@link normalizeGenerateOptions}.
 */
export function resolveGenerateOptions(info: CausalLMInfo, options: object | undefined | null, where = 'generate'): GenerateOptions {
  const call = normalizeGenerateOptions(options, where);
  const merged: GenerateOptions = { ...defaultsOf(info), ...call };
  // a call that asks for greedy decoding is not overridden by a default do_sample
  if ((call.greedy || call.temperature === 0) && call.doSample === undefined) delete merged.doSample;
  return merged;
}
