/**
 * A Hugging Face tokenizer.json (+ tokenizer_config.json) as `tokenizer.ggml.*` metadata for
 * {@link saveGGUF}: byte-level BPE as `gpt2`, SentencePiece-style BPE (byte fallback) as `llama`
 * with scores from the token ids, and a plain BPE without a pre-tokenizer (a character vocabulary,
 * like the built-in model's) as `gpt2` with its tokens re-spelled in GPT-2's byte-to-unicode
 * alphabet (the same ids for single-byte characters; merges are re-spelled too).
 * Ref: llama.cpp `convert_hf_to_gguf.py` (_set_vocab_gpt2, _set_vocab_llama_hf), GPT-2 `bytes_to_unicode`.
 */
import { GgufError } from '../src/core/errors';
import { TOKEN_TYPE } from './gguf_tokenizer';

type Json = Record<string, unknown>;

/** One metadata entry to write. */
export type GgufMetaEntry =
  | { key: string; type: 'u32' | 'i32' | 'f32'; value: number }
  | { key: string; type: 'bool'; value: boolean }
  | { key: string; type: 'str'; value: string }
  | { key: string; type: 'arr_str'; value: readonly string[] }
  | { key: string; type: 'arr_i32' | 'arr_f32'; value: readonly number[] };

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

let byteChars: string[] | null = null;

/** GPT-2's bytes_to_unicode: byte -> printable character. */
function byteToUnicode(): string[] {
  if (byteChars) return byteChars;
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  byteChars = map;
  return map;
}

function respell(token: string): string {
  const map = byteToUnicode();
  return Array.from(new TextEncoder().encode(token), (b) => map[b]!).join('');
}

function hasType(node: unknown, type: string): boolean {
  if (!isObject(node)) return false;
  if (node.type === type) return true;
  const kids = node.pretokenizers ?? node.normalizers ?? node.decoders;
  return Array.isArray(kids) && kids.some((k) => hasType(k, type));
}

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/**
 * `tokenizer.ggml.*` (and `tokenizer.chat_template`) entries for a tokenizer.json object.
 * @throws GgufError for tokenizer models other than BPE.
 */
export function tokenizerMetadata(tokenizerJson: Json, tokenizerConfig: Json = {}): GgufMetaEntry[] {
  const model = tokenizerJson.model;
  if (!isObject(model) || model.type !== 'BPE' || !isObject(model.vocab)) {
    throw new GgufError(`tokenizer.json: model type ${JSON.stringify(isObject(model) ? model.type : model)} cannot be written to GGUF, expected BPE`);
  }
  const vocab = model.vocab as Record<string, number>;
  const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as Json[]) : [];
  const n = Math.max(-1, ...Object.values(vocab), ...added.map((a) => Number(a.id))) + 1;
  const tokens = new Array<string>(n).fill('');
  const types = new Array<number>(n).fill(TOKEN_TYPE.UNUSED);
  for (const [t, id] of Object.entries(vocab)) {
    tokens[id] = t;
    types[id] = TOKEN_TYPE.NORMAL;
  }
  const specials = new Set<number>();
  for (const a of added) {
    const id = Number(a.id);
    tokens[id] = String(a.content);
    types[id] = a.special === false ? TOKEN_TYPE.USER_DEFINED : TOKEN_TYPE.CONTROL;
    specials.add(id);
  }
  for (let i = 0; i < n; i++) if (tokens[i] === '') tokens[i] = `[PAD${i}]`;
  const merges = (Array.isArray(model.merges) ? model.merges : []).map((x) => (Array.isArray(x) ? x.join(' ') : String(x)));
  const out: GgufMetaEntry[] = [];
  const byteLevel = hasType(tokenizerJson.pre_tokenizer, 'ByteLevel') || hasType(tokenizerJson.decoder, 'ByteLevel');
  if (model.byte_fallback === true) {
    out.push({ key: 'tokenizer.ggml.model', type: 'str', value: 'llama' });
    for (let i = 0; i < n; i++) if (/^<0x[0-9A-F]{2}>$/.test(tokens[i]!)) types[i] = TOKEN_TYPE.BYTE;
    out.push({ key: 'tokenizer.ggml.tokens', type: 'arr_str', value: tokens });
    out.push({ key: 'tokenizer.ggml.scores', type: 'arr_f32', value: tokens.map((_, i) => -i) });
    out.push({ key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: hasType(tokenizerJson.normalizer, 'Prepend') });
  } else {
    out.push({ key: 'tokenizer.ggml.model', type: 'str', value: 'gpt2' }, { key: 'tokenizer.ggml.pre', type: 'str', value: 'default' });
    const spell = byteLevel ? (t: string) => t : respell;
    out.push({ key: 'tokenizer.ggml.tokens', type: 'arr_str', value: tokens.map((t, i) => (specials.has(i) ? t : spell(t))) });
    out.push({ key: 'tokenizer.ggml.merges', type: 'arr_str', value: byteLevel ? merges : merges.map((mg) => mg.split(' ').map(spell).join(' ')) });
  }
  out.push({ key: 'tokenizer.ggml.token_type', type: 'arr_i32', value: types });
  const idOf = (key: string): number | undefined => {
    const c = tokenContent(tokenizerConfig[key]);
    if (c === undefined) return undefined;
    const a = added.find((x) => x.content === c);
    return a ? Number(a.id) : vocab[c];
  };
  for (const [key, gguf] of [['bos_token', 'bos_token_id'], ['eos_token', 'eos_token_id'], ['unk_token', 'unknown_token_id'], ['pad_token', 'padding_token_id']] as const) {
    const id = idOf(key);
    if (id !== undefined) out.push({ key: `tokenizer.ggml.${gguf}`, type: 'u32', value: id });
  }
  const post = tokenizerJson.post_processor;
  const single = isObject(post) && Array.isArray(post.single) ? (post.single as Json[]) : [];
  const bos = tokenContent(tokenizerConfig.bos_token);
  const first = single[0]?.SpecialToken;
  out.push({ key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: isObject(first) && first.id === bos });
  const last = single[single.length - 1]?.SpecialToken;
  out.push({ key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: single.length > 1 && isObject(last) && last.id === tokenContent(tokenizerConfig.eos_token) });
  if (typeof tokenizerConfig.chat_template === 'string') out.push({ key: 'tokenizer.chat_template', type: 'str', value: tokenizerConfig.chat_template });
  return out;
}
