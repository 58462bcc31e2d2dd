/**
 * Checks a parsed tokenizer.json before it is handed to @huggingface/tokenizers, which trusts it:
 * a vocab value "M" comes back as a token id, an id of 1e9 makes loading take time proportional
 * to it, and a malformed post-processor loads and then makes every `encode()` throw a TypeError.
 * Ref: https://github.com/huggingface/tokenizers (tokenizer.json schema: model, added_tokens,
 * post_processor types TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence).
 */
import { TokenizerError } from '../src/core/errors';
import { previewValue } from '../src/core/preview';

/** Largest token id accepted (real vocabularies: <= 262,144). */
export const MAX_TOKEN_ID = 2 ** 24;

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, got: unknown, expected: string): never {
  throw new TokenizerError(`tokenizer.json: ${where} is ${previewValue(got)}, expected ${expected}`);
}

function checkId(v: unknown, where: string, limit: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= limit) fail(where, v, `an integer token id in [0, ${limit})`);
}

function checkProcessor(p: unknown, where: string, limit: number, depth: number): void {
  if (p === null || p === undefined) return;
  if (!isObj(p) || typeof p.type !== 'string') fail(where, p, 'null or an object with a string "type"');
  if (depth > 8) fail(where, '(nested processors)', 'at most 8 levels of Sequence');
  switch (p.type) {
    case 'TemplateProcessing':
      for (const key of ['single', 'pair'] as const) {
        const items = p[key];
        if (!Array.isArray(items)) fail(`${where}.${key}`, items, 'an array of template pieces');
        items.forEach((it, i) => {
          const at = `${where}.${key}[${i}]`;
          if (!isObj(it)) fail(at, it, 'an object {SpecialToken: {...}} or {Sequence: {...}}');
          const piece = it.SpecialToken ?? it.Sequence;
          if (!isObj(piece) || typeof piece.id !== 'string') fail(at, it, 'a SpecialToken or Sequence with a string "id"');
        });
      }
      if (p.special_tokens !== undefined) {
        if (!isObj(p.special_tokens)) fail(`${where}.special_tokens`, p.special_tokens, 'an object');
        for (const [name, t] of Object.entries(p.special_tokens)) {
          if (!isObj(t) || !Array.isArray(t.ids)) fail(`${where}.special_tokens.${name}`, t, 'an object with an "ids" array');
          t.ids.forEach((id, i) => checkId(id, `${where}.special_tokens.${name}.ids[${i}]`, limit));
        }
      }
      return;
    case 'BertProcessing':
    case 'RobertaProcessing':
      for (const key of ['sep', 'cls'] as const) {
        const v = p[key];
        if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string') fail(`${where}.${key}`, v, '[token, id]');
        checkId(v[1], `${where}.${key}[1]`, limit);
      }
      return;
    case 'Sequence': {
      const list = p.processors;
      if (!Array.isArray(list)) fail(`${where}.processors`, list, 'an array of post-processors');
      list.forEach((q, i) => checkProcessor(q, `${where}.processors[${i}]`, limit, depth + 1));
      return;
    }
    default:
      return; // ByteLevel and others carry flags only
  }
}

/** The array key of each component's `Sequence` type. */
const SEQUENCE_KEYS = { normalizer: 'normalizers', pre_tokenizer: 'pretokenizers', decoder: 'decoders' } as const;

function checkComponent(c: unknown, where: string, seqKey: string, depth: number): void {
  if (c === null || c === undefined) return;
  if (!isObj(c) || typeof c.type !== 'string') fail(where, c, 'null or an object with a string "type"');
  if (c.type !== 'Sequence') return;
  if (depth > 8) fail(where, '(nested sequences)', 'at most 8 levels of Sequence');
  const list = c[seqKey];
  if (!Array.isArray(list)) fail(`${where}.${seqKey}`, list, 'an array');
  list.forEach((x, i) => checkComponent(x, `${where}.${seqKey}[${i}]`, seqKey, depth + 1));
}

function checkMerges(merges: unknown): void {
  if (merges === undefined) return;
  if (!Array.isArray(merges)) fail('model.merges', merges, 'an array of merges');
  merges.forEach((m, i) => {
    const ok = typeof m === 'string' ? m.includes(' ') : Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string';
    if (!ok) fail(`model.merges[${i}]`, m, '"a b" or ["a", "b"]');
  });
}

/**
 * Validates the parts of a parsed tokenizer.json that @huggingface/tokenizers would trust.
 * @throws TokenizerError naming the field, the value found and what was expected.
 */
export function validateTokenizerJson(json: Json): void {
  const model = json.model;
  if (!isObj(model)) fail('"model"', model, 'an object');
  const vocab = model.vocab;
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) fail('"added_tokens"', added, 'an array');
  let entries = added.length;
  if (Array.isArray(vocab)) entries += vocab.length;
  else if (isObj(vocab)) entries += Object.keys(vocab).length;
  else if (vocab !== undefined) fail('model.vocab', vocab, 'an object {token: id} or an array of [piece, score]');
  // Ids are dense in real files: allow slack, but never an id far beyond the entries (or 2^24).
  const limit = Math.min(MAX_TOKEN_ID, 2 * entries + 1024);
  if (Array.isArray(vocab)) {
    vocab.forEach((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) fail(`model.vocab[${i}]`, e, '[piece, finite score]');
    });
  } else if (isObj(vocab)) {
    for (const [token, id] of Object.entries(vocab)) checkId(id, `model.vocab[${previewValue(token)}]`, limit);
  }
  added.forEach((t, i) => {
    if (!isObj(t) || typeof t.content !== 'string') fail(`added_tokens[${i}]`, t, 'an object with a string "content"');
    checkId(t.id, `added_tokens[${i}].id`, limit);
  });
  if (model.type !== undefined && typeof model.type !== 'string') fail('model.type', model.type, 'a string');
  checkMerges(model.merges);
  for (const [key, seqKey] of Object.entries(SEQUENCE_KEYS)) checkComponent(json[key], key, seqKey, 0);
  checkProcessor(json.post_processor, 'post_processor', limit, 0);
}
