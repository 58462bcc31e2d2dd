/**
 * Text generation on a {@link CausalLM}: prefill the prompt once into a KV cache, then one token per
 * step through the chain logits processors -> sampler -> streamer. Per step only the last
 * position's logits (V floats) are read back to the host.
 *
 * Ref: loom-spec/transformer.md section 7 (LOOM's GenerateText, which this replaces: no cache, argmax only).
 */
import type * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../core/errors';
import type { WithSnakeCase } from '../core/option_keys';
import type { CausalLM } from '../transformer/types';
import { DecodeSession } from './decode_step';
import { buildLogitsProcessors } from './logits_processors';
import type { GenerateOptions } from './generate_options';
import { createRng } from '../core/rng';
import { beamSearch } from './beam_search';
import { resolveGenerateOptions } from './options';
import { IncrementalDecoder } from './streamer';
import type { ChatMessage, Streamer, TextTokenizer } from './types';

/** Why generation ended. */
export type FinishReason = 'stop' | 'length' | 'abort';

/** Timing of one generation. */
export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  /** Prompt tokens per second of the prefill forward pass (0 when there was none). */
  prefillTokensPerSecond: number;
  /** Tokens per second of the one-token steps after the prefill (0 when there were none). */
  decodeTokensPerSecond: number;
}

/** Result of {@link generate}. */
export interface GenerateResult {
  /** Decoded generated text (special tokens skipped), cut before a stop string. */
  text: string;
  /** Generated ids (prompt excluded); a stop token that ended generation is included, as in transformers. */
  tokenIds: number[];
  finishReason: FinishReason;
  stats: GenerationStats;
}

export type { GenerateOptions, TokenEvent } from './generate_options';

/** A prompt: text, chat messages (rendered with the chat template plus the generation prompt) or token ids. */
export type GenerateInput = string | readonly ChatMessage[] | ArrayLike<number>;

function isMessages(input: GenerateInput): input is readonly ChatMessage[] {
  return Array.isArray(input) && input.length > 0 && typeof input[0] === 'object' && input[0] !== null;
}

/** Token ids of a prompt. */
export function promptIds(tokenizer: TextTokenizer | null, input: GenerateInput, addSpecialTokens = true): number[] {
  if (typeof input === 'string') {
    if (!tokenizer) throw new ConfigError('generate: a text prompt needs a tokenizer, got null; pass token ids instead');
    return tokenizer.encode(input, { addSpecialTokens });
  }
  if (isMessages(input)) {
    if (!tokenizer) throw new ConfigError('generate: chat messages need a tokenizer, got null');
    return tokenizer.applyChatTemplate(input, { addGenerationPrompt: true });
  }
  return Array.from(input as ArrayLike<number>);
}

function checkOptions(o: GenerateOptions, vocabSize: number, ids: readonly number[]): void {
  const max = o.maxNewTokens;
  if (max !== undefined && (!Number.isInteger(max) || max < 0)) throw new ConfigError(`generate: maxNewTokens is ${max}, expected an integer >= 0`);
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature))) {
    throw new ConfigError(`generate: temperature is ${o.temperature}, expected a finite number >= 0`);
  }
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new ConfigError(`generate: topK is ${o.topK}, expected an integer >= 0`);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new ConfigError(`generate: prompt id ${id} at index ${i} is out of range, expected an integer in [0, ${vocabSize})`);
    }
  });
}

/** Whether `options` ask for sampling rather than greedy decoding. */
export function isSampling(o: GenerateOptions): boolean {
  if (o.greedy || o.temperature === 0) return false;
  return o.doSample ?? (o.temperature !== undefined || o.topK !== undefined || o.topP !== undefined || o.minP !== undefined);
}

const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

async function readLogits(logits: tf.Tensor): Promise<Float32Array> {
  try {
    // (1, V): the last position of the only sequence
    const data = await logits.data();
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  } finally {
    logits.dispose();
  }
}

/** Where in `text` (searching from `from`) the earliest stop string starts, or -1. */
function findStop(text: string, stops: readonly string[], from: number): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s, from);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** Start of the longest suffix of text[from:end] that could still grow into a stop string (end if none). */
function holdBackStart(text: string, stops: readonly string[], from: number, end: number): number {
  for (let p = Math.max(from, end - Math.max(0, ...stops.map((s) => s.length - 1))); p < end; p++) {
    const tail = text.slice(p, end);
    if (stops.some((s) => s.startsWith(tail))) return p;
  }
  return end;
}

/** Where a running stream keeps its session, so an abandoned stream's KV cache can be freed. */
interface SessionHolder {
  session: DecodeSession | null;
}

/** Frees the KV cache of a stream that was dropped while suspended (never finished nor returned). */
const abandonedStreams =
  typeof FinalizationRegistry !== 'undefined'
    ? new FinalizationRegistry<SessionHolder>((holder) => {
        holder.session?.dispose();
        holder.session = null;
      })
    : null;

/**
 * An empty prompt starts from the model's BOS id, as transformers' `generate` does without
 * `input_ids` (`bos_token_id` from config.json / generation_config.json, else the tokenizer's).
 * @throws ConfigError when the prompt is empty and no BOS id is known.
 */
function startIds(prompt: number[], model: CausalLM, tokenizer: TextTokenizer | null): number[] {
  if (prompt.length > 0) return prompt;
  const bos = model.info.bosTokenId ?? tokenizer?.bosTokenId;
  if (bos === undefined) throw new ConfigError('generate: the prompt has no tokens and the model has no bos_token_id to start from, expected at least one token');
  return [bos];
}

/**
 * Generates tokens one at a time, yielding each stable text piece (non-empty); the iterator's return
 * value is the {@link GenerateResult}. Finishing, breaking out of a `for await` loop or calling
 * `return()` ends generation and frees the KV cache at once. A stream that is dropped half-way
 * (never finished nor returned) keeps its cache until the iterator is garbage-collected, when it
 * is freed; call `return()` to free it deterministically.
 * Options: camelCase or transformers' snake_case names, over the model's generation_config.json
 * defaults ({@link resolveGenerateOptions}).
 * @throws ConfigError for bad or unknown options, a prompt out of range or longer than the model's context.
 */
export function generateStream(
  model: CausalLM,
  tokenizer: TextTokenizer | null,
  input: GenerateInput,
  callOptions: WithSnakeCase<GenerateOptions> = {},
): AsyncGenerator<string, GenerateResult, undefined> {
  const holder: SessionHolder = { session: null };
  const it = streamTokens(model, tokenizer, input, callOptions, holder);
  abandonedStreams?.register(it, holder);
  return it;
}

async function* streamTokens(
  model: CausalLM,
  tokenizer: TextTokenizer | null,
  input: GenerateInput,
  callOptions: WithSnakeCase<GenerateOptions>,
  holder: SessionHolder,
): AsyncGenerator<string, GenerateResult, undefined> {
  const options = resolveGenerateOptions(model.info, callOptions);
  const prompt = startIds(promptIds(tokenizer, input, options.addSpecialTokens ?? true), model, tokenizer);
  const { vocabSize, maxPositions, eosTokenIds } = model.info;
  checkOptions(options, vocabSize, prompt);
  const maxNew = options.maxNewTokens ?? 50;
  if (prompt.length >= maxPositions && maxNew > 0) {
    throw new ConfigError(`generate: prompt has ${prompt.length} tokens, expected fewer than the model's ${maxPositions} positions`);
  }
  const sampling = isSampling(options);
  const rng = options.rng ?? createRng(options.seed);
  const stopIds = new Set(options.stopTokenIds ?? (eosTokenIds.length > 0 ? eosTokenIds : tokenizer?.eosTokenId !== undefined ? [tokenizer.eosTokenId] : []));
  const processors = buildLogitsProcessors(options, sampling, { promptLength: prompt.length, eosTokenIds: [...stopIds] });
  const stops = (options.stopStrings ?? []).filter((s) => s.length > 0);
  const maxStop = Math.max(0, ...stops.map((s) => s.length));
  const decoder = tokenizer ? new IncrementalDecoder(tokenizer, true) : null;
  const signal = options.signal;

  if ((options.numBeams ?? 1) > 1) return yield* beamGenerate(model, tokenizer, prompt, options, { sampling, maxNew, stopIds, processors });

  const generated: number[] = [];
  let finishReason: FinishReason = 'length';
  let text = '';
  let stopStringHit = false;
  // The last maxStop characters handed out: a stop string is searched in them plus the pending text.
  let lookBehind = '';
  let prefillSeconds = 0;
  let decodeStart = 0;
  let decodeEnd = 0;
  let session: DecodeSession | null = null;
  let failed = false;
  options.streamer?.put(prompt);
  try {
    if (maxNew > 0 && signal?.aborted) finishReason = 'abort';
    if (maxNew > 0 && !signal?.aborted) {
      const past = options.pastKeyValues;
      if (past && past.model !== model) throw new ConfigError('generate: pastKeyValues belongs to another model');
      session = new DecodeSession(model, prompt, { processors, sampling, rng, maxNewTokens: maxNew, ...(past ? { reuse: past.prepare(prompt, maxNew) } : {}) });
      holder.session = session;
      const t0 = now();
      let logits = await readLogits(session.forward());
      prefillSeconds = (now() - t0) / 1000;
      decodeStart = now();
      for (;;) {
        const id = session.choose(logits);
        generated.push(id);
        options.streamer?.put([id]);
        let piece = '';
        let stopped = stopIds.has(id);
        if (decoder && !stopped) {
          decoder.push(id);
          const emitted = decoder.emittedLength;
          const pending = decoder.pending;
          const base = emitted - lookBehind.length; // where lookBehind starts in the full text
          const at = stops.length > 0 ? findStop(lookBehind + pending, stops, 0) : -1;
          if (at >= 0) {
            const cut = base + at;
            piece = decoder.take(cut);
            text = decoder.text.slice(0, cut);
            stopped = true;
            stopStringHit = true;
          } else {
            const end = decoder.stableEnd();
            piece = decoder.take(stops.length > 0 ? emitted + holdBackStart(pending, stops, 0, end - emitted) : end);
            if (maxStop > 0 && piece) lookBehind = (lookBehind + piece).slice(-maxStop);
          }
        }
        options.onToken?.({ tokenId: id, index: generated.length - 1, text: piece });
        if (piece) yield piece;
        decodeEnd = now();
        if (stopped) {
          finishReason = 'stop';
          break;
        }
        // transformers' max_length rule: prompt + generated never exceeds the model's positions.
        if (generated.length >= maxNew || prompt.length + generated.length >= maxPositions) break;
        await yieldToEventLoop();
        if (signal?.aborted) {
          finishReason = 'abort';
          break;
        }
        logits = await readLogits(session.forward());
      }
    }
    if (decoder && !stopStringHit) {
      text = decoder.text;
      const rest = decoder.flush();
      if (rest) yield rest;
    }
  } catch (e) {
    failed = true;
    options.pastKeyValues?.dispose(); // the cache may hold part of a failed step: start afresh next time
    throw e;
  } finally {
    if (session && options.pastKeyValues && !failed) options.pastKeyValues.update(session.cachedIds);
    session?.dispose();
    holder.session = null;
    options.streamer?.end();
  }
  const steps = generated.length - 1;
  const decodeSeconds = (decodeEnd - decodeStart) / 1000;
  return {
    text,
    tokenIds: generated,
    finishReason,
    stats: {
      promptTokens: prompt.length,
      generatedTokens: generated.length,
      prefillTokensPerSecond: prefillSeconds > 0 ? prompt.length / prefillSeconds : 0,
      decodeTokensPerSecond: steps > 0 && decodeSeconds > 0 ? steps / decodeSeconds : 0,
    },
  };
}

/**
 * The beam-search path of {@link generateStream}: the whole result at once (one text piece), the
 * streamer and `onToken` told after the search.
 * @throws ConfigError for beam search with sampling (transformers' beam sampling is not implemented).
 */
async function* beamGenerate(
  model: CausalLM,
  tokenizer: TextTokenizer | null,
  prompt: number[],
  options: GenerateOptions,
  run: { sampling: boolean; maxNew: number; stopIds: ReadonlySet<number>; processors: ReturnType<typeof buildLogitsProcessors> },
): AsyncGenerator<string, GenerateResult, undefined> {
  if (run.sampling) throw new ConfigError('generate: numBeams > 1 with sampling (beam sampling) is not supported; pass doSample: false (do_sample: false)');
  const t0 = now();
  const r = beamSearch(model, prompt, {
    numBeams: options.numBeams as number,
    maxNewTokens: run.maxNew,
    stopTokenIds: run.stopIds,
    processors: run.processors,
    ...(options.lengthPenalty !== undefined ? { lengthPenalty: options.lengthPenalty } : {}),
    ...(options.earlyStopping !== undefined ? { earlyStopping: options.earlyStopping } : {}),
  });
  const seconds = (now() - t0) / 1000;
  const ids = r.tokenIds;
  const stopped = ids.length > 0 && run.stopIds.has(ids[ids.length - 1] as number);
  let text = tokenizer ? tokenizer.decode(stopped ? ids.slice(0, -1) : ids, { skipSpecialTokens: true }) : '';
  const cut = findStop(text, (options.stopStrings ?? []).filter((s) => s.length > 0), 0);
  if (cut >= 0) text = text.slice(0, cut);
  options.streamer?.put(prompt);
  if (ids.length > 0) options.streamer?.put(ids);
  options.streamer?.end();
  ids.forEach((tokenId, index) => options.onToken?.({ tokenId, index, text: index === ids.length - 1 ? text : '' }));
  if (text) yield text;
  return {
    text,
    tokenIds: ids,
    finishReason: stopped || cut >= 0 ? 'stop' : 'length',
    stats: { promptTokens: prompt.length, generatedTokens: ids.length, prefillTokensPerSecond: 0, decodeTokensPerSecond: seconds > 0 ? ids.length / seconds : 0 },
  };
}

/**
 * Generates a continuation of `input` (text, chat messages or ids) with `model`; options as
 * {@link generateStream}.
 * `tokenizer` may be null for id prompts (the result's text is then empty).
 * @returns text, generated ids, why it ended, and timing.
 * @throws ConfigError for bad options, a prompt out of range or longer than the model's context.
 */
export async function generate(
  model: CausalLM,
  tokenizer: TextTokenizer | null,
  input: GenerateInput,
  options: WithSnakeCase<GenerateOptions> = {},
): Promise<GenerateResult> {
  const it = generateStream(model, tokenizer, input, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
