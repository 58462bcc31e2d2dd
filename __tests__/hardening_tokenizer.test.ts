/**
 * tokenizer.json files that @huggingface/tokenizers would trust are validated first: each gives a
 * TokenizerError saying what is wrong (not a wrapped internal TypeError, not a slow load, not a
 * string returned as a token id).
 */
import * as fs from 'fs';
import * as path from 'path';
import { TokenizerError } from '../src/core/errors';
import { loadTokenizer } from '../loaders/tokenizer';

const BUILTIN = path.join(__dirname, '..', 'models', 'builtin', 'tokenizer.json');
const base = (): Record<string, unknown> => JSON.parse(fs.readFileSync(BUILTIN, 'utf8')) as Record<string, unknown>;

async function rejection(json: Record<string, unknown>): Promise<Error> {
  const err = await loadTokenizer({ tokenizerJson: JSON.stringify(json) }).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TokenizerError);
  return err as Error;
}

describe('tokenizer.json validation', () => {
  test('the built-in tokenizer passes and encodes', async () => {
    const tok = await loadTokenizer({ tokenizerJson: JSON.stringify(base()) });
    expect(tok.encode('Anna').every((x) => Number.isInteger(x))).toBe(true);
  });

  test('a vocab value "M" is rejected naming the token', async () => {
    const j = base();
    const vocab = (j.model as { vocab: Record<string, unknown> }).vocab;
    const first = Object.keys(vocab)[0]!;
    vocab[first] = 'M';
    expect((await rejection(j)).message).toMatch(/model\.vocab\[.*is "M", expected an integer token id/);
  });

  test('a token id of 1e9 is rejected at once (not a load proportional to the id)', async () => {
    const j = base();
    const vocab = (j.model as { vocab: Record<string, unknown> }).vocab;
    vocab[Object.keys(vocab)[1]!] = 1e9;
    const t0 = Date.now();
    expect((await rejection(j)).message).toMatch(/is 1000000000, expected an integer token id in \[0, \d+\)/);
    expect(Date.now() - t0).toBeLessThan(2000);
    const k = base();
    k.added_tokens = [{ id: 1e8, content: '<x>', special: true }];
    expect((await rejection(k)).message).toMatch(/added_tokens\[0\]\.id/);
  });

  test.each([
    ['single[0] = 5', { type: 'TemplateProcessing', single: [5], pair: [], special_tokens: {} }, /post_processor\.single\[0\]/],
    ['single = false', { type: 'TemplateProcessing', single: false, pair: [], special_tokens: {} }, /post_processor\.single is false/],
    ['special token ids not integers', { type: 'TemplateProcessing', single: [], pair: [], special_tokens: { a: { id: 'a', ids: ['x'], tokens: ['a'] } } }, /special_tokens\.a\.ids\[0\]/],
    ['Roberta cls without an id', { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>'] }, /post_processor\.cls/],
  ])('a malformed post-processor (%s) is rejected at load', async (_what, pp, pattern) => {
    const j = base();
    j.post_processor = pp;
    expect((await rejection(j)).message).toMatch(pattern);
  });

  test.each([
    ['normalizer', { type: 5 }, /normalizer is \{"type":5\}, expected null or an object with a string "type"/],
    ['pre_tokenizer', { type: 'Sequence', pretokenizers: 'x' }, /pre_tokenizer\.pretokenizers is "x", expected an array/],
    ['decoder', 'ByteLevel', /decoder is "ByteLevel"/],
  ])('a malformed %s is rejected naming it', async (key, value, pattern) => {
    const j = base();
    j[key] = value;
    expect((await rejection(j)).message).toMatch(pattern);
  });

  test('malformed merges are rejected naming the entry', async () => {
    const j = base();
    const m = j.model as { merges?: unknown[]; type?: string };
    expect(m.type).toBe('BPE');
    m.merges = ['a b', 5];
    expect((await rejection(j)).message).toMatch(/model\.merges\[1\] is 5/);
  });
});
