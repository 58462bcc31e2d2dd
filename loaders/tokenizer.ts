/**
 * Tokenizers from Hugging Face files (tokenizer.json + tokenizer_config.json, or vocab.json +
 * merges.txt), run by the transformers.js tokenizer code (`@huggingface/tokenizers`), with chat
 * templates rendered by `@huggingface/jinja`. Nothing here hand-writes BPE: the byte-level BPE of
 * GPT-2/SmolLM/Qwen and the SentencePiece-style BPE of Llama 2 are the library's.
 *
 * Ref: loom-spec/transformer.md section 8 (LOOM's own BPE, whose deviations this replaces).
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { TokenizerError, errorMessage } from '../src/core/errors';
import { readBytes, isUrlString, joinSource } from './byte_source';
import type { ChatMessage, TextTokenizer } from '../src/generation/types';
import { normalizeOptionKeys, type WithSnakeCase } from '../src/core/option_keys';
import { batchDecode, encodeBatch, type BatchDecodeOptions, type BatchEncoding, type BatchEncodingRow, type EncodeBatchOptions } from './tokenizer_batch';
import { validateTokenizerJson } from './tokenizer_validate';
import { resolveHubGguf, resolveHubTokenizer, type HubLoadOptions } from './hub';
import { isGgufSource, loadGguf } from './gguf';
import { ggufTokenizerFiles } from './gguf_tokenizer';

/** JSON given as bytes, JSON text or an already-parsed object. */
export type JsonInput = Uint8Array | ArrayBuffer | string | Record<string, unknown>;

export type { ChatMessage };

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the special tokens of the tokenizer's post-processor (e.g. Llama's `<s>`). Default true. */
  addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (`<s>`, `<|endoftext|>`). Default false, as in transformers. */
  skipSpecialTokens?: boolean;
  /**
   * Apply transformers' `clean_up_tokenization` (`" ."` -> `"."`, `" 's"` -> `"'s"`). Default
   * false here, so `decode(encode(text)) === text`; pass `true` for transformers' config-driven output.
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** Options of {@link Tokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** Append the tokens that start an assistant reply (`<|im_start|>assistant\n`). Default false. */
  addGenerationPrompt?: boolean;
  /** Return token ids (default) or the rendered string (`false`). */
  tokenize?: boolean;
  /** A template string, or the name of one of the tokenizer's named templates; default: the tokenizer's. */
  chatTemplate?: string;
  /** Extra variables for the template (`tools`, `documents`, custom flags). */
  templateVariables?: Record<string, unknown>;
  /** Tool definitions (JSON schemas), passed to the template as `tools`, as transformers does. */
  tools?: readonly unknown[];
  /** Retrieval documents, passed to the template as `documents`. */
  documents?: readonly unknown[];
  /** Return `{ input_ids, attention_mask }` instead of bare ids (transformers' `return_dict`). */
  returnDict?: boolean;
}

const CHAT_TEMPLATE_KEYS = ['addGenerationPrompt', 'tokenize', 'chatTemplate', 'templateVariables', 'tools', 'documents', 'returnDict'] as const satisfies readonly (keyof ChatTemplateOptions)[];

/** Files of a tokenizer given in memory. */
export type TokenizerFiles =
  | { tokenizerJson: JsonInput; tokenizerConfig?: JsonInput }
  | { vocab: JsonInput; merges: Uint8Array | string | readonly string[]; tokenizerConfig?: JsonInput };

/** Anything {@link loadTokenizer} reads: a folder path or URL, a path/URL of tokenizer.json or of a `.gguf` file, a hub id (`org/name`), or files in memory. */
export type TokenizerSource = string | URL | TokenizerFiles;

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(input: JsonInput, what: string): JsonObject {
  if (isObject(input) && !(input instanceof Uint8Array) && !(input instanceof ArrayBuffer)) return input;
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input instanceof ArrayBuffer ? new Uint8Array(input) : input);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${what}: not valid JSON (${errorMessage(e)}), got ${text.length} characters starting ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (!isObject(parsed)) throw new TokenizerError(`${what}: expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  return parsed;
}

/** Content of a special-token entry of tokenizer_config.json: a string or `{content: string}`. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

/**
 * A Hugging Face tokenizer: `encode`, `decode`, chat templates and special token ids.
 * Built with {@link loadTokenizer}, {@link Tokenizer.fromJSON} or {@link Tokenizer.fromVocabAndMerges}.
 */
export class Tokenizer implements TextTokenizer {
  private readonly hf: HfTokenizer;
  private readonly config: JsonObject;
  private readonly compiledTemplates = new Map<string, Template>();
  /** Number of ids (model vocabulary plus added tokens), as `len(tokenizer)` in transformers. */
  readonly vocabSize: number;
  /** Special token strings from tokenizer_config.json (`bos_token`, `eos_token`, ...), passed to chat templates. */
  readonly specialTokens: Readonly<Record<string, string>>;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  readonly unkTokenId?: number;
  /** Ids of every special added token (skipped by `decode({skipSpecialTokens: true})`). */
  readonly specialTokenIds: readonly number[];

  private constructor(tokenizerJson: JsonObject, config: JsonObject) {
    if (!isObject(tokenizerJson.model)) throw new TokenizerError(`tokenizer.json: missing "model" object, got keys ${Object.keys(tokenizerJson).join(', ')}`);
    const json = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson : { ...tokenizerJson, added_tokens: [] };
    validateTokenizerJson(json);
    try {
      this.hf = new HfTokenizer(json, config);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: cannot build the tokenizer: ${errorMessage(e)}`);
    }
    try {
      // A component the checks above do not cover may still build and then fail on every call.
      this.hf.decode(this.hf.encode('Test 1, a-b.').ids);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: the tokenizer builds but cannot encode or decode a test string: ${errorMessage(e)}`);
    }
    this.config = config;
    this.vocabSize = this.hf.get_vocab(true).size;
    const specials: Record<string, string> = {};
    for (const key of SPECIAL_KEYS) {
      const c = tokenContent(config[key]);
      if (c !== undefined) specials[key] = c;
    }
    this.specialTokens = specials;
    const id = (key: (typeof SPECIAL_KEYS)[number]): number | undefined => {
      const c = specials[key];
      return c === undefined ? undefined : this.hf.token_to_id(c);
    };
    this.bosTokenId = id('bos_token');
    this.eosTokenId = id('eos_token');
    this.padTokenId = id('pad_token');
    this.unkTokenId = id('unk_token');
    this.specialTokenIds = [...this.hf.get_added_tokens_decoder().values()].filter((t) => t.special).map((t) => t.id);
  }

  /**
   * A tokenizer from tokenizer.json (+ tokenizer_config.json) given as bytes, JSON text or objects.
   * @throws TokenizerError when a file is not valid JSON or the library rejects it.
   */
  static fromJSON(tokenizerJson: JsonInput, tokenizerConfig: JsonInput = {}): Tokenizer {
    return new Tokenizer(parseJson(tokenizerJson, 'tokenizer.json'), parseJson(tokenizerConfig, 'tokenizer_config.json'));
  }

  /**
   * A byte-level BPE tokenizer (GPT-2 style) from vocab.json + merges.txt, converted to a
   * tokenizer.json object the way transformers' `GPT2Converter` does; the BPE itself is the library's.
   * @throws TokenizerError when vocab.json is not a token -> id object.
   */
  static fromVocabAndMerges(vocab: JsonInput, merges: Uint8Array | string | readonly string[], tokenizerConfig: JsonInput = {}): Tokenizer {
    const vocabObj = parseJson(vocab, 'vocab.json');
    for (const [k, v] of Object.entries(vocabObj)) {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TokenizerError(`vocab.json: token ${JSON.stringify(k)} has id ${JSON.stringify(v)}, expected an integer`);
    }
    const lines = typeof merges === 'string' || merges instanceof Uint8Array
      ? (typeof merges === 'string' ? merges : new TextDecoder().decode(merges)).split(/\r?\n/)
      : [...merges];
    const mergeList = lines.filter((l, i) => l.trim() !== '' && !(i === 0 && l.startsWith('#version')));
    const config = parseJson(tokenizerConfig, 'tokenizer_config.json');
    return new Tokenizer(byteLevelBpeJson(vocabObj as Record<string, number>, mergeList, config), config);
  }

  /** The tokenizer's default chat template (tokenizer_config.json `chat_template`), or null. */
  get chatTemplate(): string | null {
    return this.findTemplate(undefined);
  }

  /**
   * Text to ids, exactly as the Hugging Face tokenizer does.
   * @returns token ids (special tokens of the post-processor included unless `addSpecialTokens: false`).
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode: expected a string, got ${typeof text}`);
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Ids to text. Empty input gives `''`. Ids the tokenizer does not know (a model's padded
   * vocabulary rows) are skipped, as Hugging Face's tokenizers do.
   * @throws TokenizerError when an id is not a non-negative integer.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`decode: id ${String(id)} at index ${i} is not a non-negative integer`);
      if (this.hf.id_to_token(id) !== undefined) list.push(id);
    }
    if (list.length === 0) return '';
    return this.hf.decode(list, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces ?? false,
    });
  }

  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /**
   * Renders `messages` with the chat template (Jinja, `@huggingface/jinja`) and, by default,
   * tokenizes the result without adding special tokens (as transformers' `apply_chat_template`).
   * @throws TokenizerError when there is no chat template or it fails to render.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions & { returnDict: true }): BatchEncodingRow;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
  applyChatTemplate(messages: readonly ChatMessage[], rawOptions: ChatTemplateOptions = {}): number[] | string | BatchEncodingRow {
    // camelCase or transformers' snake_case keys (add_generation_prompt, return_dict, ...); unknown keys refused
    const options = normalizeOptionKeys(rawOptions, { keys: CHAT_TEMPLATE_KEYS, where: 'applyChatTemplate' }) as ChatTemplateOptions;
    const source = this.findTemplate(options.chatTemplate);
    if (source === null) {
      throw new TokenizerError('applyChatTemplate: this tokenizer has no chat_template (tokenizer_config.json / chat_template.jinja); pass options.chatTemplate');
    }
    let template = this.compiledTemplates.get(source);
    if (!template) {
      try {
        template = new Template(source);
      } catch (e) {
        throw new TokenizerError(`applyChatTemplate: the chat template does not parse: ${errorMessage(e)}`);
      }
      this.compiledTemplates.set(source, template);
    }
    let text: string;
    try {
      text = template.render({
        ...this.specialTokens,
        ...options.templateVariables,
        ...(options.tools !== undefined ? { tools: options.tools } : {}),
        ...(options.documents !== undefined ? { documents: options.documents } : {}),
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new TokenizerError(`applyChatTemplate: rendering failed: ${errorMessage(e)}`);
    }
    if (options.tokenize === false) return text;
    const ids = this.encode(text, { addSpecialTokens: false });
    return options.returnDict ? { input_ids: ids, attention_mask: ids.map(() => 1) } : ids;
  }

  /** transformers.js's name of {@link applyChatTemplate}. */
  apply_chat_template(messages: readonly ChatMessage[], options: WithSnakeCase<ChatTemplateOptions> = {}): number[] | string | BatchEncodingRow {
    return this.applyChatTemplate(messages, options as ChatTemplateOptions & { returnDict: true });
  }

  /** transformers.js's `tokenizer(texts, { padding, truncation, max_length })`: see {@link encodeBatch}. */
  encodeBatch(texts: string | readonly string[], options: WithSnakeCase<EncodeBatchOptions> = {}): BatchEncoding {
    return encodeBatch(this, texts, options);
  }

  /** transformers.js's `batch_decode(rows, { skip_special_tokens })`. */
  batch_decode(rows: readonly ArrayLike<number>[], options: WithSnakeCase<BatchDecodeOptions> = {}): string[] {
    return batchDecode(this, rows, options);
  }

  private findTemplate(nameOrTemplate: string | undefined): string | null {
    const t = this.config.chat_template;
    if (Array.isArray(t)) {
      const named = new Map<string, string>();
      for (const e of t) if (isObject(e) && typeof e.name === 'string' && typeof e.template === 'string') named.set(e.name, e.template);
      if (nameOrTemplate !== undefined) return named.get(nameOrTemplate) ?? nameOrTemplate;
      return named.get('default') ?? null;
    }
    if (nameOrTemplate !== undefined) return nameOrTemplate;
    return typeof t === 'string' ? t : null;
  }
}

/** tokenizer.json for byte-level BPE, as transformers' GPT2Converter writes it. */
function byteLevelBpeJson(vocab: Record<string, number>, merges: string[], config: JsonObject): JsonObject {
  const added = new Map<number, JsonObject>();
  const decoderEntries = config.added_tokens_decoder;
  if (isObject(decoderEntries)) {
    for (const [idText, entry] of Object.entries(decoderEntries)) {
      const content = tokenContent(entry);
      if (content === undefined || !/^\d+$/.test(idText)) continue;
      const e = entry as JsonObject;
      added.set(Number(idText), {
        id: Number(idText), content,
        single_word: e.single_word === true, lstrip: e.lstrip === true, rstrip: e.rstrip === true,
        normalized: e.normalized === true, special: e.special !== false,
      });
    }
  }
  for (const key of SPECIAL_KEYS) {
    const content = tokenContent(config[key]);
    const id = content === undefined ? undefined : vocab[content];
    if (content !== undefined && id !== undefined && !added.has(id)) {
      added.set(id, { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
  }
  const addPrefixSpace = config.add_prefix_space === true;
  const bos = tokenContent(config.bos_token);
  const bosId = bos === undefined ? undefined : vocab[bos];
  const byteLevel = { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true };
  const postProcessor = config.add_bos_token === true && bos !== undefined && bosId !== undefined
    ? {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
      }
    : { ...byteLevel, trim_offsets: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...added.values()].sort((a, b) => (a.id as number) - (b.id as number)),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: postProcessor,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

/** Reads an optional file: undefined when it does not exist (path) or the server says 404. */
async function readOptional(base: string, name: string): Promise<Uint8Array | undefined> {
  const where = joinSource(base, name);
  if (!isUrlString(where)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require('fs') as typeof import('fs');
    if (!fs.existsSync(where)) return undefined;
  }
  try {
    return await readBytes(where);
  } catch (e) {
    if (isUrlString(where) && /HTTP 404/.test(errorMessage(e))) return undefined;
    throw new TokenizerError(`${where}: cannot read: ${errorMessage(e)}`);
  }
}

function isDirectoryPath(s: string): boolean {
  if (isUrlString(s)) return false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  return fs.existsSync(s) && fs.statSync(s).isDirectory();
}

/** Folder (path or URL) holding `file`, and the file name. */
function splitFile(s: string): { base: string; name: string } {
  const cut = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
  return cut < 0 ? { base: '.', name: s } : { base: s.slice(0, cut + 1), name: s.slice(cut + 1) };
}

/**
 * Loads a tokenizer from a folder (Node path or URL) holding tokenizer.json (or vocab.json +
 * merges.txt) and optionally tokenizer_config.json, special_tokens_map.json and chat_template.jinja;
 * from the path/URL of a tokenizer.json (its folder is searched for the other files); or from
 * files in memory; or from a hub id (revision, cache and offline mode in `options`).
 * @throws TokenizerError when no tokenizer files are found or they are malformed; HubError when a
 *   hub file cannot be had.
 */
export async function loadTokenizer(source: TokenizerSource, options: HubLoadOptions = {}): Promise<Tokenizer> {
  const hub = typeof source === 'string' ? await resolveHubTokenizer(source, options) : undefined;
  if (hub !== undefined) return loadTokenizer(hub);
  const ggufSource = typeof source === 'string' ? ((await resolveHubGguf(source, options)) ?? source) : source;
  if (isGgufSource(ggufSource)) {
    const gguf = await loadGguf(ggufSource);
    const files = ggufTokenizerFiles(gguf.metadata, gguf.file);
    return Tokenizer.fromJSON(files.tokenizerJson, files.tokenizerConfig);
  }
  if (typeof source !== 'string' && !(source instanceof URL)) {
    if ('tokenizerJson' in source) return Tokenizer.fromJSON(source.tokenizerJson, source.tokenizerConfig);
    return Tokenizer.fromVocabAndMerges(source.vocab, source.merges, source.tokenizerConfig);
  }
  const s = source instanceof URL ? source.href : source;
  let base = s;
  let jsonName = 'tokenizer.json';
  if (!isDirectoryPath(s) && /\.json$/i.test(s)) ({ base, name: jsonName } = splitFile(s));
  const configBytes = await readOptional(base, 'tokenizer_config.json');
  const config = configBytes ? parseJson(configBytes, joinSource(base, 'tokenizer_config.json')) : {};
  const specialMap = await readOptional(base, 'special_tokens_map.json');
  if (specialMap) {
    for (const [k, v] of Object.entries(parseJson(specialMap, 'special_tokens_map.json'))) if (config[k] === undefined) config[k] = v;
  }
  if (config.chat_template === undefined) {
    const jinja = await readOptional(base, 'chat_template.jinja');
    if (jinja) config.chat_template = new TextDecoder().decode(jinja);
  }
  const json = await readOptional(base, jsonName);
  if (json) return Tokenizer.fromJSON(json, config);
  const vocab = await readOptional(base, 'vocab.json');
  const merges = await readOptional(base, 'merges.txt');
  if (vocab && merges) return Tokenizer.fromVocabAndMerges(vocab, merges, config);
  throw new TokenizerError(`${s}: no tokenizer files found, expected ${jsonName} or vocab.json + merges.txt`);
}
