/**
 * transformers.js's batch calls on a tokenizer: `tokenizer(texts, { padding, truncation,
 * max_length })` (here `encodeBatch`, since loom-tfjs has no callable objects) giving
 * `input_ids` / `attention_mask`, and `batch_decode(ids, { skip_special_tokens })`. Option keys in
 * camelCase or snake_case; unknown keys are refused naming the closest valid one.
 * Ref: transformers `PreTrainedTokenizerBase.__call__` (padding / truncation semantics).
 */
import { TokenizerError } from '../src/core/errors';
import { normalizeOptionKeys, type WithSnakeCase } from '../src/core/option_keys';

/** Options of {@link encodeBatch} (snake_case spellings accepted). */
export interface EncodeBatchOptions {
  /** `true` / `'longest'`: pad to the longest row; `'max_length'`: to `maxLength`; `false`: none (default). */
  padding?: boolean | 'longest' | 'max_length' | 'do_not_pad';
  /** Cut rows longer than `maxLength` (default false). */
  truncation?: boolean;
  /** Row length for `truncation` and `padding: 'max_length'`. */
  maxLength?: number;
  /** Add the tokenizer's special tokens (default true). */
  addSpecialTokens?: boolean;
  /** Pad on the `'right'` (default, as transformers) or the `'left'` (for batched generation). */
  paddingSide?: 'left' | 'right';
  /** transformers.js's `return_tensor`: only `false` (plain arrays, what this returns) is accepted. */
  returnTensor?: false;
}

/** Result of {@link encodeBatch}: one row per text. */
export interface BatchEncoding {
  input_ids: number[][];
  /** 1 for a real token, 0 for padding. */
  attention_mask: number[][];
}

/** One encoded sequence with its mask (`apply_chat_template(..., { return_dict: true })`). */
export interface BatchEncodingRow {
  input_ids: number[];
  attention_mask: number[];
}

/** The tokenizer calls {@link encodeBatch} and {@link batchDecode} need. */
export interface BatchTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  readonly padTokenId?: number;
  readonly eosTokenId?: number;
}

const ENCODE_KEYS = ['padding', 'truncation', 'maxLength', 'addSpecialTokens', 'paddingSide', 'returnTensor'] as const satisfies readonly (keyof EncodeBatchOptions)[];

/**
 * Encodes one text or several, truncating and padding as transformers does.
 * @throws ConfigError for an unknown option key; TokenizerError for `maxLength` missing where needed, or padding
 *   without a pad token (as transformers, which asks for one).
 */
export function encodeBatch(tokenizer: BatchTokenizer, texts: string | readonly string[], options: WithSnakeCase<EncodeBatchOptions> = {}): BatchEncoding {
  const o = normalizeOptionKeys(options, { keys: ENCODE_KEYS, where: 'tokenizer' }) as EncodeBatchOptions;
  if ((o.returnTensor as boolean | undefined) === true) {
    throw new TokenizerError("tokenizer: return_tensor: true is not supported; the result holds plain arrays (make a tensor with tf.tensor2d(input_ids, undefined, 'int32'))");
  }
  const list = typeof texts === 'string' ? [texts] : texts;
  const max = o.maxLength;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new TokenizerError(`tokenizer: max_length is ${max}, expected an integer >= 1`);
  const padding = o.padding === true ? 'longest' : o.padding === false || o.padding === undefined ? 'do_not_pad' : o.padding;
  if (!['longest', 'max_length', 'do_not_pad'].includes(padding)) throw new TokenizerError(`tokenizer: padding is ${JSON.stringify(o.padding)}, expected true, false, 'longest' or 'max_length'`);
  if ((o.truncation || padding === 'max_length') && max === undefined) throw new TokenizerError(`tokenizer: ${o.truncation ? 'truncation' : "padding: 'max_length'"} needs max_length`);
  const rows = list.map((t) => {
    const ids = tokenizer.encode(t, { addSpecialTokens: o.addSpecialTokens ?? true });
    return o.truncation && max !== undefined ? ids.slice(0, max) : ids;
  });
  const target = padding === 'max_length' ? (max as number) : padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length)) : 0;
  const needsPad = rows.some((r) => r.length < target);
  const pad = tokenizer.padTokenId;
  if (needsPad && pad === undefined) throw new TokenizerError('tokenizer: padding needs a pad token, and this tokenizer has none (set pad_token in tokenizer_config.json)');
  const input_ids: number[][] = [];
  const attention_mask: number[][] = [];
  for (const r of rows) {
    const fill = Math.max(0, target - r.length);
    const pads = new Array<number>(fill).fill(pad as number);
    const zeros = new Array<number>(fill).fill(0);
    const ones = new Array<number>(r.length).fill(1);
    const left = o.paddingSide === 'left';
    input_ids.push(left ? [...pads, ...r] : [...r, ...pads]);
    attention_mask.push(left ? [...zeros, ...ones] : [...ones, ...zeros]);
  }
  return { input_ids, attention_mask };
}

/** Options of {@link batchDecode} (snake_case spellings accepted). */
export interface BatchDecodeOptions {
  /** Drop special tokens (default false, as transformers). */
  skipSpecialTokens?: boolean;
}

/**
 * Decodes each row of ids.
 * @throws ConfigError for an unknown option key; TokenizerError for a bad id.
 */
export function batchDecode(tokenizer: BatchTokenizer, rows: readonly ArrayLike<number>[], options: WithSnakeCase<BatchDecodeOptions> = {}): string[] {
  const o = normalizeOptionKeys(options, { keys: ['skipSpecialTokens'], where: 'batch_decode' }) as BatchDecodeOptions;
  return rows.map((r) => tokenizer.decode(r, o));
}
