/**
 * Tokenizer vectors from public sources (see __tests__/fixtures/SOURCES.md): llama.cpp's vocab tests
 * (produced by `AutoTokenizer.encode(text, add_special_tokens=False)`), transformers.js's test
 * generator cases kept by swift-transformers, and their long French paragraph.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer, loadTokenizer } from '../loaders/tokenizer';
import { TokenizerError } from '../src/core/errors';
import { FIXTURES } from './helpers/fixtures';

const FIX = FIXTURES;
const fix = (...p: string[]): string => path.join(FIX, ...p);

/** llama.cpp's .inp/.out pair: tests separated by `\n__ggml_vocab_test__\n`, one line of ids per test. */
function vocabTests(name: string): Array<{ text: string; ids: number[] }> {
  const inp = fs.readFileSync(fix('llamacpp-vocab-tests', `ggml-vocab-${name}.gguf.inp`), 'utf8').split('\n__ggml_vocab_test__\n');
  inp.pop(); // the file ends with a separator
  const out = fs.readFileSync(fix('llamacpp-vocab-tests', `ggml-vocab-${name}.gguf.out`), 'utf8').split('\n');
  return inp.map((text, i) => {
    const line = (out[i] ?? '').trim();
    return { text, ids: line === '' ? [] : line.split(/\s+/).map(Number) };
  });
}

const tokenizers: Record<string, Tokenizer> = {};
beforeAll(async () => {
  tokenizers.gpt2 = await loadTokenizer(fix('gpt2-tokenizer'));
  tokenizers.neox = await loadTokenizer(fix('gpt-neox-20b-tokenizer'));
  tokenizers.llama = await loadTokenizer(fix('llama2-spm-tokenizer'));
});
const tok = (name: string): Tokenizer => tokenizers[name] as Tokenizer;

describe.each([
  ['gpt2', 'gpt-2'],
  ['neox', 'mpt'],
  ['llama', 'llama-spm'],
])('llama.cpp vocab tests: %s tokenizer vs ggml-vocab-%s', (name, file) => {
  const cases = vocabTests(file);
  it('has the 46 tests', () => expect(cases).toHaveLength(46));
  it.each(cases.map((c, i) => [i, c] as const))('test %i: ids match and decode round-trips', (_i, c) => {
    const ids = tok(name).encode(c.text, { addSpecialTokens: false });
    expect(ids).toEqual(c.ids);
    expect(tok(name).decode(ids)).toBe(c.text);
  });
});

interface SwiftCase {
  input: string;
  encoded: { input_ids: number[] };
  decoded_with_special: string;
  decoded_without_special: string;
}
const swift = JSON.parse(fs.readFileSync(fix('swift-transformers-tokenizer-tests', 'tokenizer_tests.json'), 'utf8')) as Record<string, SwiftCase[]>;

describe.each([
  ['gpt2', 'distilgpt2'],
  ['llama', 'coreml-projects/Llama-2-7b-chat-coreml'],
])('swift-transformers cases: %s tokenizer vs %s', (name, key) => {
  const cases = swift[key] as SwiftCase[];
  it('has 18 cases', () => expect(cases).toHaveLength(18));
  it.each(cases.map((c) => [c.input, c] as const))('%j', (_input, c) => {
    const t = tok(name);
    const ids = t.encode(c.input);
    expect(ids).toEqual(c.encoded.input_ids);
    // transformers' decode with the tokenizer_config's clean_up_tokenization_spaces
    const cleanUp = name === 'gpt2';
    expect(t.decode(ids, { cleanUpTokenizationSpaces: cleanUp })).toBe(c.decoded_with_special);
    expect(t.decode(ids, { skipSpecialTokens: true, cleanUpTokenizationSpaces: cleanUp })).toBe(c.decoded_without_special);
    expect(t.decode(t.encode(c.input, { addSpecialTokens: false }))).toBe(c.input);
  });
});

describe('long French paragraph', () => {
  it.each([
    ['gpt2', 'gpt2_encoded_tokens.json', 221],
    ['llama', 'llama_encoded.json', 194],
  ])('%s: %s', (name, file, n) => {
    const c = JSON.parse(fs.readFileSync(fix('swift-transformers-tokenizer-tests', file), 'utf8')) as { text: string; token_ids: number[]; decoded_text: string };
    const ids = tok(name).encode(c.text);
    expect(ids).toHaveLength(n);
    expect(ids).toEqual(c.token_ids);
    expect(tok(name).decode(ids, { skipSpecialTokens: true })).toBe(c.text);
  });
});

describe('loading', () => {
  it('vocab.json + merges.txt builds the same tokenizer as tokenizer.json', async () => {
    const t = await loadTokenizer({
      vocab: fs.readFileSync(fix('gpt2-tokenizer', 'vocab.json')),
      merges: fs.readFileSync(fix('gpt2-tokenizer', 'merges.txt'), 'utf8'),
      tokenizerConfig: fs.readFileSync(fix('gpt2-tokenizer', 'tokenizer_config.json')),
    });
    for (const c of vocabTests('gpt-2')) expect(t.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
    expect(t.encode('a<|endoftext|>b')).toEqual(tok('gpt2').encode('a<|endoftext|>b'));
    expect(t.eosTokenId).toBe(50256);
    expect(t.specialTokenIds).toEqual([50256]);
  });

  it('reads bytes, a tokenizer.json path and special token ids', async () => {
    const t = Tokenizer.fromJSON(
      new Uint8Array(fs.readFileSync(fix('llama2-spm-tokenizer', 'tokenizer.json'))),
      new Uint8Array(fs.readFileSync(fix('llama2-spm-tokenizer', 'tokenizer_config.json'))),
    );
    expect([t.bosTokenId, t.eosTokenId, t.unkTokenId]).toEqual([1, 2, 0]);
    expect(t.vocabSize).toBe(32000);
    const byPath = await loadTokenizer(fix('gpt2-tokenizer', 'tokenizer.json'));
    expect(byPath.eosTokenId).toBe(50256);
    expect(byPath.vocabSize).toBe(50257);
  });

  it('tiny-random-gpt2 folder (vocab 1000, <|endoftext|> = 0)', async () => {
    const t = await loadTokenizer(fix('tiny-random-gpt2'));
    expect(t.vocabSize).toBe(1000);
    expect(t.eosTokenId).toBe(0);
    expect(t.decode(t.encode('hello world'))).toBe('hello world');
  });

  it('fails with typed errors', async () => {
    expect(() => Tokenizer.fromJSON('{not json')).toThrow(TokenizerError);
    expect(() => Tokenizer.fromJSON({ version: '1.0' })).toThrow(/missing "model"/);
    await expect(loadTokenizer(fix('smollm2-config'))).rejects.toThrow(/no tokenizer files found/);
    expect(() => tok('gpt2').decode([1, -3])).toThrow(/id -3 at index 1/);
    expect(tok('gpt2').decode([31373, 99999, 995])).toBe('hello world'); // unknown ids skipped, as HF tokenizers do
    expect(() => tok('gpt2').applyChatTemplate([{ role: 'user', content: 'hi' }])).toThrow(/no chat_template/);
  });
});

describe('chat templates', () => {
  const chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const messages = [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Hi there' },
  ];

  it('renders a ChatML template from tokenizer_config.json and tokenizes without special tokens', () => {
    const json = JSON.parse(fs.readFileSync(fix('llama2-spm-tokenizer', 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const config = { ...JSON.parse(fs.readFileSync(fix('llama2-spm-tokenizer', 'tokenizer_config.json'), 'utf8')), chat_template: chatml };
    const t = Tokenizer.fromJSON(json, config);
    const expected = '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n';
    expect(t.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: false })).toBe(expected);
    expect(t.applyChatTemplate(messages, { tokenize: false })).toBe(expected.slice(0, -'<|im_start|>assistant\n'.length));
    const ids = t.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(ids).toEqual(t.encode(expected, { addSpecialTokens: false }));
    expect(ids[0]).not.toBe(1); // no BOS added by apply_chat_template's tokenization
  });

  it('passes special tokens to the template (bos_token)', () => {
    const t = Tokenizer.fromJSON(
      fs.readFileSync(fix('llama2-spm-tokenizer', 'tokenizer.json')),
      { ...JSON.parse(fs.readFileSync(fix('llama2-spm-tokenizer', 'tokenizer_config.json'), 'utf8')), chat_template: '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}' },
    );
    expect(t.applyChatTemplate(messages, { tokenize: false })).toBe('<s>[system] You are helpful.</s>[user] Hi there</s>');
  });
});

/** SmolLM2-135M-Instruct's tokenizer files are not in the fixtures; set LOOM_SMOLLM2_DIR to a folder holding them. */
const smolDir = [process.env.LOOM_SMOLLM2_DIR, fix('smollm2-tokenizer'), fix('SmolLM2-135M-Instruct')].find(
  (d): d is string => !!d && fs.existsSync(path.join(d, 'tokenizer.json')),
);
(smolDir ? describe : describe.skip)('SmolLM2 reference cases', () => {
  interface Case { text: string; expected_ids: number[]; prompt: string; expected_prompt_ids: number[] }
  const cases = JSON.parse(fs.readFileSync(fix('smollm2-reference-cases', 'reference-cases.json'), 'utf8')) as Case[];
  it.each(cases.map((c) => [c.text, c] as const))('%j', async (_t, c) => {
    const t = await loadTokenizer(smolDir as string);
    expect(t.encode(c.text)).toEqual(c.expected_ids);
    expect(t.decode(t.encode(c.text))).toBe(c.text);
    expect(t.encode(c.prompt)).toEqual(c.expected_prompt_ids);
    // The prompt is the official template's system + user turns followed by `<|im_start|>assistant`.
    const m = /^<\|im_start\|>system\n([\s\S]*?)<\|im_end\|>\n<\|im_start\|>user\n([\s\S]*?)<\|im_end\|>\n<\|im_start\|>assistant$/.exec(c.prompt);
    expect(m).not.toBeNull();
    const messages = [{ role: 'system', content: (m as RegExpExecArray)[1] as string }, { role: 'user', content: (m as RegExpExecArray)[2] as string }];
    const ids = t.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(ids).toEqual([...c.expected_prompt_ids, 198]); // the template ends the generation prompt with "\n"
  });
});
if (!smolDir) {
  // eslint-disable-next-line no-console
  console.log('SmolLM2 chat-template cases skipped: no SmolLM2 tokenizer.json (set LOOM_SMOLLM2_DIR to a SmolLM2-135M-Instruct folder)');
}
