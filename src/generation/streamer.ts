/**
 * Streaming: the last link of generation's chain. Text is decoded incrementally and only text whose
 * decoding is stable is released, so a multi-byte character split across tokens is never emitted
 * half (its partial decoding ends in U+FFFD, which is held back until the next token completes it).
 */
import type { Streamer, TextTokenizer } from './types';

const REPLACEMENT = '\uFFFD';

/**
 * Decodes a growing id sequence and hands out the new, stable part of its text.
 * The full text is always `decode(ids)`, so concatenating every piece plus {@link flush} gives it.
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private current = '';
  private emitted = 0;

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly skipSpecialTokens = true,
  ) {}

  /** Appends ids and re-decodes. */
  push(...ids: number[]): void {
    this.ids.push(...ids);
    this.current = this.tokenizer.decode(this.ids, { skipSpecialTokens: this.skipSpecialTokens });
  }

  /** The decoding of every id so far. */
  get text(): string {
    return this.current;
  }

  /** Characters already handed out. */
  get emittedLength(): number {
    return this.emitted;
  }

  /** End of the stable text: the current text without trailing U+FFFD (an incomplete character). */
  stableEnd(): number {
    let end = this.current.length;
    while (end > this.emitted && this.current[end - 1] === REPLACEMENT) end--;
    return end;
  }

  /** Hands out text from the last emitted position up to `end` (default: the stable end). */
  take(end = this.stableEnd()): string {
    if (end <= this.emitted) return '';
    const piece = this.current.slice(this.emitted, end);
    this.emitted = end;
    return piece;
  }

  /** Hands out everything not yet emitted, incomplete characters included. */
  flush(): string {
    return this.take(this.current.length);
  }
}

/** Options of {@link TextStreamer}. */
export interface TextStreamerOptions {
  /** Do not print the prompt (the first `put`). Default false. */
  skipPrompt?: boolean;
  /** Drop special tokens from the text. Default true. */
  skipSpecialTokens?: boolean;
  /** Receives each stable text piece; default: write to stdout (Node) or console.log. */
  callback?: (text: string) => void;
}

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

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly options: TextStreamerOptions = {},
  ) {
    this.decoder = new IncrementalDecoder(tokenizer, options.skipSpecialTokens ?? true);
    this.print = options.callback ?? defaultPrint;
  }

  /** Receives the prompt ids (first call) or new ids. */
  put(ids: readonly number[]): void {
    if (!this.promptSeen) {
      this.promptSeen = true;
      if (this.options.skipPrompt) return;
    }
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
