/**
 * GGUF tokenizer metadata (`tokenizer.ggml.*`) <-> a tokenizer.json object for the Hugging Face
 * tokenizer code (@huggingface/tokenizers), so a GGUF file's tokenizer is the same `Tokenizer`
 * as a folder's (loadTokenizer('model.gguf')). Byte-level BPE (`gpt2`) keeps vocab and merges; SentencePiece (`llama`) gets the
 * normalizer/decoder of transformers' LlamaConverter and merges rebuilt from the scores as
 * transformers' SentencePieceExtractor does.
 * Ref: llama.cpp `src/llama-vocab.cpp` (token types, pre-tokenizer names), gguf-py `constants.py`,
 * transformers `convert_slow_tokenizer.py` (GPT2Converter, LlamaConverter, SentencePieceExtractor).
 */
import { GgufError } from '../src/core/errors';
import type { GgufValue } from './gguf_format';

type Json = Record<string, unknown>;

/** llama_token_type. */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const split = (regex: string): Json => ({
  type: 'Sequence',
  pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, { ...BYTE_LEVEL, use_regex: false }],
});

/** Pre-tokenizers of the `tokenizer.ggml.pre` names supported (byte-level BPE only). */
const PRE_TOKENIZERS: Readonly<Record<string, Json>> = {
  default: BYTE_LEVEL,
  'gpt-2': BYTE_LEVEL,
  gpt2: BYTE_LEVEL,
  'llama-bpe': split(LLAMA3_SPLIT),
  llama3: split(LLAMA3_SPLIT),
  qwen2: split(QWEN2_SPLIT),
  smollm: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, BYTE_LEVEL] },
};

function strings(meta: ReadonlyMap<string, GgufValue>, key: string, file: string): string[] | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new GgufError(`${file}: metadata '${key}' must be an array of strings`);
  return v as string[];
}

function numbers(meta: ReadonlyMap<string, GgufValue>, key: string, file: string, length: number): number[] | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== 'number')) {
    throw new GgufError(`${file}: metadata '${key}' must be an array of ${length} numbers (one per token)`);
  }
  return v as number[];
}

function idKey(meta: ReadonlyMap<string, GgufValue>, key: string, count: number, file: string): number | undefined {
  const v = meta.get(`tokenizer.ggml.${key}`);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= count) {
    throw new GgufError(`${file}: tokenizer.ggml.${key} is ${JSON.stringify(v)}, expected a token id below ${count}`);
  }
  return v;
}

function bool(meta: ReadonlyMap<string, GgufValue>, key: string, fallback: boolean): boolean {
  const v = meta.get(key);
  return typeof v === 'boolean' ? v : fallback;
}

/** merges from SentencePiece scores, as transformers' SentencePieceExtractor.extract. */
function mergesFromScores(tokens: readonly string[], scores: readonly number[], types: readonly number[]): string[][] {
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (!vocab.has(t)) vocab.set(t, i);
  });
  const byScore = [...vocab.values()].sort((a, b) => scores[b]! - scores[a]! || a - b);
  const out: { l: string; r: string; score: number }[] = [];
  for (const id of byScore) {
    if (types[id] !== undefined && types[id] !== TOKEN_TYPE.NORMAL && types[id] !== TOKEN_TYPE.USER_DEFINED) continue;
    const chars = Array.from(tokens[id]!);
    const local: { l: string; r: string; score: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      if (vocab.has(l) && vocab.has(r)) local.push({ l, r, score: scores[id]! });
    }
    local.sort((a, b) => vocab.get(a.l)! - vocab.get(b.l)! || vocab.get(a.r)! - vocab.get(b.r)!);
    out.push(...local);
  }
  // A stable sort by score (JS sort is stable), highest first.
  out.sort((a, b) => b.score - a.score);
  return out.map((x) => [x.l, x.r]);
}

function templateProcessor(bos: string | undefined, bosId: number | undefined, eos: string | undefined, eosId: number | undefined, addBos: boolean, addEos: boolean): Json | null {
  const single: Json[] = [];
  const special: Json = {};
  if (addBos && bos !== undefined && bosId !== undefined) {
    single.push({ SpecialToken: { id: bos, type_id: 0 } });
    special[bos] = { id: bos, ids: [bosId], tokens: [bos] };
  }
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (addEos && eos !== undefined && eosId !== undefined) {
    single.push({ SpecialToken: { id: eos, type_id: 0 } });
    special[eos] = { id: eos, ids: [eosId], tokens: [eos] };
  }
  if (single.length === 1) return null;
  return { type: 'TemplateProcessing', single, pair: [...single, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: special };
}

/** tokenizer.json + tokenizer_config.json objects built from GGUF metadata. */
export interface GgufTokenizerFiles {
  tokenizerJson: Json;
  tokenizerConfig: Json;
}

/**
 * Builds tokenizer.json / tokenizer_config.json objects from `tokenizer.ggml.*` metadata.
 * @throws GgufError when the metadata is missing or inconsistent (ids out of range, arrays of the
 *   wrong length), or the tokenizer model / pre-tokenizer is not supported.
 */
export function ggufTokenizerFiles(meta: ReadonlyMap<string, GgufValue>, file = 'gguf'): GgufTokenizerFiles {
  const model = meta.get('tokenizer.ggml.model');
  const tokens = strings(meta, 'tokenizer.ggml.tokens', file);
  if (typeof model !== 'string' || !tokens) throw new GgufError(`${file}: no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens are needed)`);
  const n = tokens.length;
  const types = numbers(meta, 'tokenizer.ggml.token_type', file, n) ?? [];
  const ids = {
    bos: idKey(meta, 'bos_token_id', n, file),
    eos: idKey(meta, 'eos_token_id', n, file),
    unk: idKey(meta, 'unknown_token_id', n, file),
    pad: idKey(meta, 'padding_token_id', n, file),
  };
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i;
  });
  const specialIds = new Set([ids.bos, ids.eos, ids.unk, ids.pad].filter((x): x is number => x !== undefined));
  const added: Json[] = [];
  tokens.forEach((t, i) => {
    const ty = types[i];
    const special = ty === TOKEN_TYPE.CONTROL || ty === TOKEN_TYPE.UNKNOWN || specialIds.has(i);
    if (special || ty === TOKEN_TYPE.USER_DEFINED) added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  });
  const tok = (id: number | undefined): string | undefined => (id === undefined ? undefined : tokens[id]);
  const config: Json = {};
  for (const [k, id] of [['bos_token', ids.bos], ['eos_token', ids.eos], ['unk_token', ids.unk], ['pad_token', ids.pad]] as const) if (id !== undefined) config[k] = tokens[id];
  const chat = meta.get('tokenizer.chat_template');
  if (typeof chat === 'string') config.chat_template = chat;

  if (model === 'gpt2') {
    const pre = meta.get('tokenizer.ggml.pre') ?? 'default';
    const preTokenizer = typeof pre === 'string' ? PRE_TOKENIZERS[pre] : undefined;
    if (!preTokenizer) throw new GgufError(`${file}: tokenizer.ggml.pre ${JSON.stringify(pre)} is not supported, expected one of ${Object.keys(PRE_TOKENIZERS).join(', ')} (or load a tokenizer.json beside the file)`);
    const merges = strings(meta, 'tokenizer.ggml.merges', file) ?? [];
    const addBos = bool(meta, 'tokenizer.ggml.add_bos_token', false);
    config.add_bos_token = addBos;
    return {
      tokenizerConfig: config,
      tokenizerJson: {
        version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null, pre_tokenizer: preTokenizer,
        post_processor: templateProcessor(tok(ids.bos), ids.bos, tok(ids.eos), ids.eos, addBos, bool(meta, 'tokenizer.ggml.add_eos_token', false)) ?? { ...BYTE_LEVEL, trim_offsets: false },
        decoder: BYTE_LEVEL,
        model: {
          type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false,
          ignore_merges: pre === 'llama-bpe' || pre === 'llama3', vocab, merges,
        },
      },
    };
  }
  if (model === 'llama') {
    const scores = numbers(meta, 'tokenizer.ggml.scores', file, n);
    if (!scores) throw new GgufError(`${file}: tokenizer.ggml.scores is missing, needed by a SentencePiece ('llama') tokenizer`);
    const addBos = bool(meta, 'tokenizer.ggml.add_bos_token', true);
    config.add_bos_token = addBos;
    const prefix = bool(meta, 'tokenizer.ggml.add_space_prefix', true);
    return {
      tokenizerConfig: config,
      tokenizerJson: {
        version: '1.0', truncation: null, padding: null, added_tokens: added,
        normalizer: { type: 'Sequence', normalizers: [...(prefix ? [{ type: 'Prepend', prepend: '\u2581' }] : []), { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
        pre_tokenizer: null,
        post_processor: templateProcessor(tok(ids.bos), ids.bos, tok(ids.eos), ids.eos, addBos, bool(meta, 'tokenizer.ggml.add_eos_token', false)),
        decoder: {
          type: 'Sequence',
          decoders: [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [])],
        },
        model: {
          type: 'BPE', dropout: null, unk_token: tok(ids.unk) ?? null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true,
          byte_fallback: true, ignore_merges: false, vocab, merges: mergesFromScores(tokens, scores, types),
        },
      },
    };
  }
  throw new GgufError(`${file}: tokenizer.ggml.model ${JSON.stringify(model)} is not supported, expected gpt2 (byte-level BPE) or llama (SentencePiece)`);
}
