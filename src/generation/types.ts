/**
 * What generation needs from a tokenizer; `loaders/tokenizer`'s `Tokenizer` satisfies it, and a
 * test or a user can supply any other object of this shape.
 */

/** One chat message; extra keys (tool calls, names) are passed to the chat template as they are. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

/** The tokenizer side of generation. */
export interface TextTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options?: { addGenerationPrompt?: boolean }): number[];
  readonly eosTokenId?: number;
  /** Start id for an empty prompt when the model's config names none. */
  readonly bosTokenId?: number;
}

/** A transformers.js-style streamer: receives the prompt ids once, then each new id, then `end()`. */
export interface Streamer {
  put(ids: readonly number[]): void;
  end(): void;
}
