/**
 * The sampling defaults of a Hugging Face `generation_config.json` (`do_sample`, `temperature`,
 * `top_k`, `top_p`, `min_p`, `max_new_tokens`, `repetition_penalty`, `min_new_tokens`,
 * `no_repeat_ngram_size`, `bad_words_ids`) as typed camelCase {@link GenerationDefaults}. Other
 * keys (ids, `transformers_version`, beam settings) are read elsewhere or not used. Each value is
 * checked: a wrong type is a ConfigError naming the key, never a silent default.
 * Ref: transformers `GenerationConfig` (its defaults: do_sample false, temperature 1, top_k 50).
 */
import { ConfigError } from '../src/core/errors';
import type { GenerationDefaults } from '../src/transformer/types';

const FILE = 'generation_config.json';

type Kind = 'bool' | 'number' | 'int' | 'ids2d';

/** snake_case key -> camelCase field and value kind. */
const FIELDS: readonly (readonly [string, keyof GenerationDefaults, Kind])[] = [
  ['do_sample', 'doSample', 'bool'],
  ['temperature', 'temperature', 'number'],
  ['top_k', 'topK', 'int'],
  ['top_p', 'topP', 'number'],
  ['min_p', 'minP', 'number'],
  ['max_new_tokens', 'maxNewTokens', 'int'],
  ['repetition_penalty', 'repetitionPenalty', 'number'],
  ['min_new_tokens', 'minNewTokens', 'int'],
  ['no_repeat_ngram_size', 'noRepeatNgramSize', 'int'],
  ['bad_words_ids', 'badWordsIds', 'ids2d'],
];

function read(key: string, v: unknown, kind: Kind): unknown {
  const bad = (want: string): never => {
    throw new ConfigError(`${FILE}: "${key}" is ${JSON.stringify(v)}, expected ${want}`);
  };
  if (kind === 'bool') return typeof v === 'boolean' ? v : bad('true or false');
  if (kind === 'number') return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : bad('a finite number >= 0');
  if (kind === 'int') return Number.isInteger(v) && (v as number) >= 0 ? v : bad('an integer >= 0');
  const ok = Array.isArray(v) && v.every((s) => Array.isArray(s) && s.length > 0 && s.every((id) => Number.isInteger(id) && id >= 0));
  return ok ? v : bad('a list of non-empty token-id lists');
}

/**
 * The sampling defaults of a parsed generation_config.json; keys that are absent or `null` are
 * left out (the caller's options and the library defaults then decide).
 * @throws ConfigError when a present value has the wrong type or range.
 */
export function parseGenerationDefaults(json: Readonly<Record<string, unknown>>): GenerationDefaults {
  const out: Record<string, unknown> = {};
  for (const [key, field, kind] of FIELDS) {
    const v = json[key];
    if (v !== undefined && v !== null) out[field] = read(key, v, kind);
  }
  return out as GenerationDefaults;
}
