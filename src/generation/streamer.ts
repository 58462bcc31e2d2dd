/**
 * Streaming: the last link of generation's chain. Text is decoded incrementally and only text whose
 * decoding is stable is released, so a multi-byte character split across tokens is never emitted
 * half (its partial decoding ends in U+FFFD, which is held back until the next token completes it).
 *
 * Decoding is windowed, as Hugging Face's `DecodeStream` and TGI do: each push decodes only the ids
 * since the last released text plus the few ids before them as left context, so a generation costs
 * O(n) decoding, not O(n^2).
 * Ref: huggingface/tokenizers `DecodeStream`; text-generation-inference `decode_token`.
 */
import { normalizeOptionKeys, type WithSnakeCase } from '../core/option_keys';
import type { Streamer, TextTokenizer } from './types';

const REPLACEMENT = '\uFFFD';

/** Text of `text` without its trailing U+FFFD (an incomplete character). */
function withoutTrailingReplacement(text: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === REPLACEMENT) end--;
  return text.slice(0, end);
}

/**
 * Decodes a growing id sequence and hands out the new, stable part of its text.
 * The full text is `decode(ids)` (for decoders that act token by token, as byte-level BPE and
 * SentencePiece do), so concatenating every piece plus {@link flush} gives it.
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  /** ids[prefixOffset:readOffset] are already in `head + stable`; they are decoded again only as left context. */
  private prefixOffset = 0;
  /** ids[readOffset:] have no stable text yet. */
  private readOffset = 0;
  /** Text handed out by take/flush (only appended to, never searched). */
  private head = '';
  /** Stable text of ids[:readOffset] not yet handed out. */
  private stable = '';
  /** Decoding of ids[readOffset:] in its left context; may end in U+FFFD. */
  private tail = '';
  /** Leading characters of `tail` already handed out (by a take past the stable text). */
  private tailTaken = 0;

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly skipSpecialTokens = true,
  ) {}

  private decode(from: number, to: number): string {
    return this.tokenizer.decode(this.ids.slice(from, to), { skipSpecialTokens: this.skipSpecialTokens });
  }

  /** Appends ids and decodes the window ids[prefixOffset:]. */
  push(...ids: number[]): void {
    if (ids.length === 0) return;
    for (const id of ids) this.ids.push(id);
    // The window starts at the ids of the last released piece: enough left context for byte-level
    // and SentencePiece decoders (a leading space, a completed byte sequence) to decode as in full.
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const newText = this.decode(this.prefixOffset, this.ids.length);
    const suffix = newText.slice(prefixText.length);
    if (newText.length > prefixText.length && !newText.endsWith(REPLACEMENT)) {
      this.stable += suffix.slice(this.tailTaken);
      this.tail = '';
      this.tailTaken = 0;
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
    } else {
      this.tail = suffix;
    }
  }

  /** Text not yet handed out: stable text, then the undecided tail. */
  get pending(): string {
    return this.stable + this.tail.slice(this.tailTaken);
  }

  /** The decoding of every id so far. */
  get text(): string {
    return this.head + this.pending;
  }

  /** Characters already handed out. */
  get emittedLength(): number {
    return this.head.length;
  }

  /** End of the stable text: the text without trailing U+FFFD (an incomplete character). */
  stableEnd(): number {
    return this.head.length + this.stable.length + withoutTrailingReplacement(this.tail.slice(this.tailTaken)).length;
  }

  /** Hands out text from the last emitted position up to `end` (default: the stable end). */
  take(end = this.stableEnd()): string {
    const start = this.head.length;
    if (end <= start) return '';
    const piece = this.pending.slice(0, end - start);
    this.head += piece;
    if (piece.length <= this.stable.length) {
      this.stable = this.stable.slice(piece.length);
    } else {
      this.tailTaken += piece.length - this.stable.length;
      this.stable = '';
    }
    return piece;
  }

  /** Hands out everything not yet emitted, incomplete characters included. */
  flush(): string {
    return this.take(this.head.length + this.pending.length);
  }
}

/** Options of {@link TextStreamer}. */
export interface TextStreamerOptions {
  /** Do not print the prompt (the first `put`). Default false. */
  skipPrompt?: boolean;
  /** Drop special tokens from the text. Default true. */
  skipSpecialTokens?: boolean;
  /** Receives each stable text piece; default: write to stdout (Node) or console.log. transformers.js: `callback_function`. */
  callback?: (text: string) => void;
  /** Receives the ids of each `put` (after `skipPrompt`); transformers.js: `token_callback_function`. */
  tokenCallback?: (ids: readonly number[]) => void;
  /** transformers.js's `decode_kwargs`: only `skip_special_tokens` / `skipSpecialTokens` is read. */
  decodeKwargs?: { readonly skip_special_tokens?: boolean; readonly skipSpecialTokens?: boolean };
}

const STREAMER_KEYS = ['skipPrompt', 'skipSpecialTokens', 'callback', 'tokenCallback', 'decodeKwargs'] as const satisfies readonly (keyof TextStreamerOptions)[];

function defaultPrint(text: string): void {
  const out = typeof process !== 'undefined' ? process.stdout : undefined;
  if (out && typeof out.write === 'function') out.write(text);
  else console.log(text);
}

/**
 * transformers.js's `TextStreamer` for loom-tfjs: pass it as `generate(..., {streamer})`; it prints
 * (or hands to `callback`) the text as tokens arrive, never splitting a multi-byte character.
 */
export class TextStreamer implements Streamer {
  private decoder: IncrementalDecoder;
  private promptSeen = false;
  private readonly print: (text: string) => void;

  private options: TextStreamerOptions;

  /**
   * @param options camelCase or transformers.js names (`skip_prompt`, `skip_special_tokens`,
   *   `callback_function`, `token_callback_function`).
   * @throws ConfigError for an unknown option key (naming the closest valid one).
   */
  constructor(
    private readonly tokenizer: TextTokenizer,
    options: WithSnakeCase<TextStreamerOptions> & { readonly callback_function?: (text: string) => void; readonly token_callback_function?: (ids: readonly number[]) => void } = {},
  ) {
    this.options = normalizeOptionKeys(options, {
      keys: STREAMER_KEYS,
      aliases: { callback_function: 'callback', token_callback_function: 'tokenCallback' },
      where: 'TextStreamer',
    }) as TextStreamerOptions;
    const kw = normalizeOptionKeys(this.options.decodeKwargs, { keys: ['skipSpecialTokens'], where: 'TextStreamer decode_kwargs' }) as { skipSpecialTokens?: boolean };
    if (kw.skipSpecialTokens !== undefined && this.options.skipSpecialTokens === undefined) this.options = { ...this.options, skipSpecialTokens: kw.skipSpecialTokens };
    this.decoder = new IncrementalDecoder(tokenizer, this.options.skipSpecialTokens ?? true);
    this.print = this.options.callback ?? defaultPrint;
  }

  /** Receives the prompt ids (first call) or new ids. */
  put(ids: readonly number[]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      if (this.options.skipPrompt) return;
    }
    this.options.tokenCallback?.(ids);
    this.decoder.push(...ids);
    const piece = this.decoder.take();
    if (piece) this.print(piece);
  }

  /** Prints what is left and resets for the next generation. */
  end(): void {
    const rest = this.decoder.flush();
    if (rest) this.print(rest);
    this.decoder = new IncrementalDecoder(this.tokenizer, this.options.skipSpecialTokens ?? true);
    this.promptSeen = false;
  }
}
