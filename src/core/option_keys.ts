/**
 * Option-object key checking for plain-JS callers: every key must be a known camelCase name, its
 * snake_case spelling (the name Hugging Face / transformers.js users type: `max_new_tokens`), or a
 * listed alias; anything else is a {@link ConfigError} naming the closest valid key, so a typo never
 * silently falls back to a default.
 */
import { ConfigError } from './errors';

/** `maxNewTokens` -> `max_new_tokens`. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Levenshtein distance of two short strings (case-insensitive). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[t.length] as number;
}

/** The candidate nearest to `name` by edit distance (first on ties). */
export function closestName(name: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? '';
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** How {@link normalizeOptionKeys} reads an options object. */
export interface OptionKeySpec {
  /** The valid camelCase keys. */
  readonly keys: readonly string[];
  /** Extra spellings (e.g. transformers' `eos_token_id` for `stopTokenIds`), alias -> key. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Where, for error messages: `generate`, `train`, `TextStreamer`. */
  readonly where: string;
}

/**
 * Returns a copy of `options` with every key in its camelCase form (values untouched, `undefined`
 * values dropped).
 * @throws ConfigError for an unknown key (naming the closest valid one, in the caller's spelling
 *   style), or when one option is given under two spellings with different values.
 */
export function normalizeOptionKeys(options: object | undefined | null, spec: OptionKeySpec): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(`${spec.where}: options must be an object, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const valid = new Set(spec.keys);
  const bySnake = new Map(spec.keys.map((k) => [snakeCase(k), k]));
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [raw, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const key = valid.has(raw) ? raw : (bySnake.get(raw) ?? spec.aliases?.[raw]);
    if (key === undefined) {
      const snake = raw.includes('_') || raw === raw.toLowerCase();
      const names = snake ? [...bySnake.keys(), ...Object.keys(spec.aliases ?? {})] : [...spec.keys];
      throw new ConfigError(`${spec.where}: unknown option '${raw}'; did you mean '${closestName(raw, names)}'?`);
    }
    if (key in out && out[key] !== value) {
      throw new ConfigError(`${spec.where}: option '${key}' given twice ('${from[key]}' and '${raw}') with different values`);
    }
    out[key] = value;
    from[key] = raw;
  }
  return out;
}

/** `maxNewTokens` -> `max_new_tokens` at the type level. */
export type SnakeCase<S extends string> = S extends `${infer H}${infer R}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<R>}`
  : S;

/** An options type whose keys may also be written in snake_case (transformers.js / Hugging Face style). */
export type WithSnakeCase<T> = T & { readonly [K in keyof T as SnakeCase<K & string>]?: T[K] };
